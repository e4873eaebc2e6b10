"""What `ask` and `batch` share: the model and effort options, one meaning for both.

Kept free of the core: the parser is built for every command, `--help` included.
"""

from __future__ import annotations

__all__ = ["EFFORT_HELP", "MODEL_HELP", "EffortError", "model_for_effort"]

# The names of `_core._config.MODELS` and `RESPONSES_MODELS`; a test keeps them in step.
MODEL_HELP = (
    "speed (default), lite, base or core (Chat API); parallel, parallel-low, "
    "parallel-medium or parallel-high (Responses API)"
)
EFFORT_HELP = (
    "low, medium or high: the Responses API at that effort (--model parallel, implied "
    "when --model is not given); refused with a Chat API model, which has no effort"
)
EFFORTS = ("low", "medium", "high")
_RESPONSES = "parallel"


class EffortError(ValueError):
    """`--effort` cannot go with the `--model` given; the message says why."""


def model_for_effort(model: str | None, effort: str | None) -> str | None:
    """The model `--model` and `--effort` mean together.

    `--effort X` is the Responses API at effort X: `parallel-X`, with `--model` unset,
    `parallel` or `parallel-X` itself. Any other model is refused (a Chat API model has
    no effort; a pinned name has its own), rather than the effort ignored.
    """
    if effort is None:
        return model
    if effort not in EFFORTS:
        raise EffortError(f"--effort must be one of {', '.join(EFFORTS)}, not {effort!r}")
    pinned = f"{_RESPONSES}-{effort}"
    name = (model or _RESPONSES).strip().lower()
    if name in (_RESPONSES, pinned):
        return pinned
    own = name.removeprefix(f"{_RESPONSES}-")
    if name.startswith(f"{_RESPONSES}-") and own in EFFORTS:
        raise EffortError(
            f"--model {model} pins reasoning_effort {own}; drop --effort {effort}, or use "
            f"--model parallel --effort {effort}"
        )
    raise EffortError(
        f"--effort is for the Responses API (--model parallel), not --model {model}: "
        "a Chat API model has no effort"
    )
