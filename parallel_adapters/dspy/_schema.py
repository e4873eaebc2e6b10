"""A `text.format` JSON schema from the output fields of the DSPy signature being run.

`dspy.JSONAdapter` asks for `{"type": "json_object"}` when a signature has an open-ended
output (`dict[str, Any]`, as `dspy.ReAct`'s `next_tool_args`), because OpenAI's strict
schemas cannot express one. The Responses API answers `json_object` with plain text, but
takes a non-strict `json_schema` in which such a field is `{"type": "object"}` with
additional properties allowed. DSPy hands the signature to the adapter, never to the LM,
so it is found on the adapter's frame, which called the LM.
"""

from __future__ import annotations

import logging
from types import FrameType
from typing import Any

import dspy  # type: ignore[import-untyped]
import pydantic

__all__ = ["signature_schema"]

logger = logging.getLogger("parallel_adapters")

# ParallelLM.__call__/acall -> dspy's Adapter.__call__/acall: a few frames up at most.
_MAX_FRAMES = 6
SCHEMA_NAME = "DSPyProgramOutputs"


def _calling_signature(frame: FrameType | None) -> Any:
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        signature = frame.f_locals.get("signature")
        is_signature = isinstance(signature, type) and issubclass(signature, dspy.Signature)
        if isinstance(owner, dspy.JSONAdapter) and is_signature:
            return signature
        frame = frame.f_back
    return None


def signature_schema(frame: FrameType | None) -> dict[str, Any] | None:
    """A `json_schema` response format for the output fields of the signature that the
    `JSONAdapter` calling from `frame` runs; None when there is none or it has no schema."""
    signature = _calling_signature(frame)
    if signature is None:
        return None
    fields = {
        name: (field.annotation, ...)
        for name, field in signature.output_fields.items()
        if field.annotation is not dspy.ToolCalls
    }
    try:
        model = pydantic.create_model(SCHEMA_NAME, **fields)  # type: ignore[call-overload]
        schema: dict[str, Any] = model.model_json_schema()
    except (TypeError, ValueError, pydantic.PydanticUserError) as exc:
        logger.warning(
            "no JSON schema for %s's outputs (%s): JSON is left to the prompt",
            signature.__name__,
            exc,
        )
        return None
    schema["required"] = list(fields)
    schema["additionalProperties"] = False
    return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "schema": schema}}
