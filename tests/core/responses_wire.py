"""Responses API wire payloads, transcribed from Parallel's docs (docs.parallel.ai, 2026-10).

No real capture of a full body is public; these follow the OpenAPI `Response` schema and
the verbatim fragments of the citations, web-search-tool, structured-outputs and
streaming-events pages (see the project's research note on the Responses API).
"""

from __future__ import annotations

import copy
import json
from typing import Any

RESPONSE_ID = "resp_a0fa0e42-fa1b-4bf0-ae62-baca311fd5b6"
NVIDIA_URL = "https://nvidianews.nvidia.com/bios/jensen-huang"
SIMPLYWALL_URL = "https://simplywall.st/stocks/de/semiconductors/etr-nvd/nvidia-shares/management"
JENSEN = "Jensen Huang has been the CEO of Nvidia since April 1993."

SEARCH_ITEM: dict[str, Any] = {
    "id": f"ws_{RESPONSE_ID}_0",
    "type": "web_search_call",
    "status": "completed",
    "action": {
        "type": "search",
        "query": "Nvidia CEO",
        "queries": ["Nvidia CEO", "Nvidia chief executive since"],
        "sources": None,
    },
}
OPEN_PAGE_ITEM: dict[str, Any] = {
    "id": f"ws_{RESPONSE_ID}_1",
    "type": "web_search_call",
    "status": "completed",
    "action": {"type": "open_page", "url": NVIDIA_URL},
}


def message_item(text: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"msg_{RESPONSE_ID}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "phase": None,
        "content": [
            {"type": "output_text", "text": text, "annotations": annotations, "logprobs": None}
        ],
    }


def citation(url: str, title: str, start: int, end: int) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": url,
        "title": title,
        "start_index": start,
        "end_index": end,
    }


def response(
    output: list[dict[str, Any]], *, status: str = "completed", **fields: Any
) -> dict[str, Any]:
    """A full Response object, every documented top-level field present."""
    body: dict[str, Any] = {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1790000000.0,
        "completed_at": 1790000009.4,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": "parallel",
        "instructions": None,
        "metadata": None,
        "previous_response_id": None,
        "reasoning": None,
        "text": None,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": None,
        "top_p": None,
        "max_output_tokens": None,
        "output": output,
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 15,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 27,
        },
    }
    body.update(fields)
    return body


# The citations page's example: two sources on the same span. The message comes last.
NVIDIA = response(
    [
        SEARCH_ITEM,
        OPEN_PAGE_ITEM,
        message_item(
            JENSEN,
            [
                citation(NVIDIA_URL, "Jensen Huang | NVIDIA Newsroom", 0, 56),
                citation(
                    SIMPLYWALL_URL,
                    "NVIDIA Corporation (NVD) Leadership & Management Team Analysis - "
                    "Simply Wall St",
                    0,
                    56,
                ),
            ],
        ),
    ]
)

# The marker example: spans end before the punctuation; non-ASCII before them
# makes code-point offsets differ from UTF-16 and UTF-8 ones.
PARALLEL_TEXT = (
    "Parallel Web Systems — founded by Parag Agrawal — builds web research APIs for AI agents. 🚀"
)
_founder_end = PARALLEL_TEXT.index(" — builds")
_agents_end = PARALLEL_TEXT.index(". 🚀")
PARALLEL_ABOUT = response(
    [
        message_item(
            PARALLEL_TEXT,
            [
                citation("https://parallel.ai/about", "About Parallel", 0, _founder_end),
                citation("https://parallel.ai/", "Parallel", _founder_end + 3, _agents_end),
                citation("https://parallel.ai/about", "About Parallel", 0, _agents_end),
            ],
        )
    ]
)

# Structured output: annotations anchored on the field values inside the JSON text.
CAPITAL_JSON = '{"capital": "Reykjavik", "population": 386506}'
_cap = CAPITAL_JSON.index('"Reykjavik"')
_pop = CAPITAL_JSON.index("386506")
CAPITAL = response(
    [
        message_item(
            CAPITAL_JSON,
            [
                citation(
                    "https://en.wikipedia.org/wiki/Reykjav%C3%ADk", "Reykjavík", _cap + 1, _cap + 10
                ),
                citation("https://www.statice.is/", "Statistics Iceland", _pop, _pop + 6),
            ],
        )
    ]
)
CAPITAL_SCHEMA = {
    "type": "object",
    "properties": {"capital": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["capital", "population"],
    "additionalProperties": False,
}

FAILED = response(
    [],
    status="failed",
    error={"code": "server_error", "message": "The research run failed: upstream unavailable."},
)

BAD_MODEL_ERROR = {
    "error": {
        "message": "The Responses API only supports model 'parallel'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
}


def sse(events: list[dict[str, Any]], *, done: bool = False) -> bytes:
    """`event:` + `data:` frames, as the streaming-events page shows."""
    frames = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events]
    if done:
        frames.append("data: [DONE]\n\n")
    return "".join(frames).encode()


def stream_events(final: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented event sequence for a final Response: acknowledgements, searches,
    one text delta, one annotation event per citation, then `response.completed`."""
    in_progress = {**copy.deepcopy(final), "status": "in_progress", "output": []}
    message_index = len(final["output"]) - 1
    message = final["output"][message_index]
    part = message["content"][0]
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
    ]
    for index, item in enumerate(final["output"][:message_index]):
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item, "status": "in_progress"},
            }
        )
        events.append(
            {
                "type": "response.web_search_call.searching",
                "output_index": index,
                "item_id": item["id"],
            }
        )
    events += [
        {
            "type": "response.output_item.added",
            "output_index": message_index,
            "item": {**message, "content": [], "status": "in_progress"},
        },
        {
            "type": "response.content_part.added",
            "item_id": message["id"],
            "output_index": message_index,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "item_id": message["id"],
            "output_index": message_index,
            "content_index": 0,
            "delta": part["text"],
            "logprobs": [],
        },
        {"type": "response.some_future_event", "detail": "ignored"},
    ]
    for number, note in enumerate(part["annotations"]):
        events.append(
            {
                "type": "response.output_text.annotation.added",
                "item_id": message["id"],
                "output_index": message_index,
                "content_index": 0,
                "annotation_index": number,
                "annotation": note,
            }
        )
    events += [
        {
            "type": "response.output_text.done",
            "item_id": message["id"],
            "output_index": message_index,
            "content_index": 0,
            "text": part["text"],
            "logprobs": [],
        },
        {"type": "response.output_item.done", "output_index": message_index, "item": message},
        {"type": "response.completed", "response": final},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


FAILED_EVENTS = [
    {
        "type": "response.created",
        "sequence_number": 0,
        "response": {**FAILED, "status": "in_progress", "error": None},
    },
    {"type": "response.failed", "sequence_number": 1, "response": FAILED},
]
