"""`ParallelLM("parallel")`: a DSPy program on the Responses API, basis included."""

from __future__ import annotations

import dspy

from parallel_adapters.dspy import ParallelLM, collect_basis

from ..core import responses_wire as wire
from ..core.loopback import Reply, replay


def test_a_predict_on_the_responses_api() -> None:
    answer = '{"answer": "Reykjavik"}'
    start = answer.index("Reykjavik")
    body = wire.response(
        [
            wire.SEARCH_ITEM,
            wire.message_item(
                answer,
                [wire.citation("https://www.statice.is/", "Statistics Iceland", start, start + 9)],
            ),
        ]
    )
    with replay(Reply.json(body)) as server:
        lm = ParallelLM(
            "parallel-low",
            api_key="k",
            base_url=server.base_url,
            requests_per_minute=None,
            cache=False,
        )
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
            prediction = dspy.Predict("question -> answer")(question="Capital of Iceland?")
        lm.engine.close()
    assert server.requests[0][0] == "/v1/responses"
    assert server.bodies[0]["model"] == "parallel"
    assert server.bodies[0]["reasoning"] == {"effort": "low"}
    assert prediction.answer == "Reykjavik"
    assert calls.last is not None
    assert [c.url for c in calls.last.citations] == ["https://www.statice.is/"]
