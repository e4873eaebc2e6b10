"""`ParallelLLM(model="parallel")`: the same LlamaIndex objects from the Responses API."""

from __future__ import annotations

from llama_index.core.llms import ChatMessage

from parallel_adapters.llama_index import ParallelLLM, citations_of, interaction_id_of

from ..core import responses_wire as wire
from ..core.loopback import Reply, replay


def _llm(base_url: str, **options: object) -> ParallelLLM:
    return ParallelLLM(
        model="parallel", api_key="k", base_url=base_url, requests_per_minute=None, **options
    )


def test_chat_and_stream_chat_on_the_responses_api() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="q"),
    ]
    events = wire.sse(wire.stream_events(wire.NVIDIA), done=True)
    with replay(Reply.json(wire.NVIDIA), Reply.sse(events)) as server:
        llm = _llm(server.base_url, reasoning_effort="high")
        response = llm.chat(messages)
        chunks = list(llm.stream_chat(messages))
        llm.client.close()
    assert [path for path, _, _ in server.requests] == ["/v1/responses"] * 2
    assert server.bodies[0]["reasoning"] == {"effort": "high"}
    assert server.bodies[0]["instructions"] == "Be brief."
    assert response.message.content == wire.JENSEN
    assert [c.url for c in citations_of(response)] == [wire.NVIDIA_URL, wire.SIMPLYWALL_URL]
    assert interaction_id_of(response) == wire.RESPONSE_ID
    assert chunks[-1].message.content == wire.JENSEN
    assert [c.url for c in citations_of(chunks[-1])] == [wire.NVIDIA_URL, wire.SIMPLYWALL_URL]
