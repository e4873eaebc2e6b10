"""A local emulator of the Parallel Chat and Responses APIs, and helpers for recorded-cassette
tests.

Needs the `emulator` extra: `pip install "parallel-adapters[emulator]"`.

```python
import openai
from parallel_adapters.testing import ParallelEmulator

with ParallelEmulator(api_key="test-key") as emu:      # a free 127.0.0.1 port, own thread
    client = openai.OpenAI(base_url=emu.base_url, api_key="test-key")
    reply = client.chat.completions.create(
        model="base", messages=[{"role": "user", "content": "What is DSPy?"}]
    )
    reply.model_extra["basis"]          # citations, reasoning, confidence
    emu.inject("503")                   # the next request fails with a 503
    emu.requests[-1].json               # what the client sent (credentials removed)
```

- Endpoints: `POST /chat/completions` and `POST /v1beta/chat/completions`, with
  `Authorization: Bearer <key>` or `x-api-key: <key>`. Models speed, lite, base, core; a
  basis (citations with url/title/excerpts, reasoning, confidence) for lite/base/core.
- `POST /v1/responses` (model `parallel`, `reasoning.effort`): web_search_call items,
  url_citation annotations with code-point offsets, the documented validation errors,
  `previous_response_id`, the documented stream events and `failed` status; OpenAI's
  error envelope.
- `POST /v1/search` and `POST /v1/extract`: the corpus ranked by the same BM25 retrieval
  (`CorpusWebResponder`), source policies applied, the documented 422/400 errors in
  Parallel's envelope; `ParallelEmulator(web_responder=...)` scripts exact results
  (`WebQuery` in, `WebAnswer` or a list of `WebPage`s out).
- One answer, two wires: each request becomes an `EmulatorRequest`, the responder returns an
  `EmulatorAnswer` (text; citations, a per-field basis or exact spans), and the API's wire
  layer renders it. `ParallelEmulator(responder=...)` scripts exact answers in tests.
- The default responder, `ResearchResponder`, extracts answers from a bundled offline
  corpus by BM25, deterministic per request; `response_format` json_schema/json_object
  are honoured (one basis entry per field).
- Framework prompts are followed like a research model follows them: DSPy's ChatAdapter
  gets its `[[ ## field ## ]]` sections back (typed fields typed, one basis entry per
  field) and retrieval uses the input fields' values; LlamaIndex's QA/refine/context
  templates are answered from their `Query:` and the supplied context, whose passages are
  not cited (no web address; the basis reasoning says the answer came from the context).
- `profile="documented"` (blank id/object/model, null finish_reason, no usage: what the
  compatibility table promises) or `"openai"` (every standard field filled); Chat only.
- `latency="fast"` (no waiting), `"realistic"` (documented times to first token, and per
  effort on the Responses API) or a `LatencyModel`, e.g.
  `LatencyModel.fixed(ttft=0.1, chunk_interval=0.005)`.
- `rate_limit=(n, window_seconds)` per key: 429 with Retry-After and retry-after-ms.
- Faults: `emu.inject(name_or_Fault, times=1)` or the `x-emulator-fault` request header;
  the names are in `FAULTS`; they apply to both APIs.
- Errors (Chat): 401 and 429 in Parallel's `{"type": "error", "error": {...}}` envelope,
  422 in FastAPI's `{"detail": [...]}`, an unknown model 403 in Parallel's envelope.
- Foreground: `serve(host, port, ...)`, `python -m parallel_adapters.testing --port 8787`
  or `parallel-adapters emulator --port 8787`.
- Cassettes: `vcr_config()`, `register_matchers()`, `recording_backend()`,
  `live_recording_skip()`, `find_secrets()`; see cassettes/README.md in the repository.
"""

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # exercised in a subprocess by tests/testing/test_import.py
    raise ImportError(
        "parallel_adapters.testing (the emulator) needs its extra: "
        'pip install "parallel-adapters[emulator]"'
    ) from exc

from ._cassettes import (
    EMULATOR_ONLY_MARKER,
    PROVENANCE_HEADER,
    RecordingBackend,
    backend_kind,
    emulator_provenance,
    find_secrets,
    json_body_matcher,
    live_recording_skip,
    provenance_for,
    recording_backend,
    register_matchers,
    vcr_config,
)
from ._emulator import DEFAULT_API_KEY, DEFAULT_STALL_SECONDS, ParallelEmulator, build_app, serve
from ._faults import FAULT_HEADER, FAULTS, Fault, FaultQueue
from ._latency import LatencyModel
from ._log import RequestLogEntry
from ._ratelimit import RateLimit
from ._research import CorpusPage, ResearchResponder, load_default_corpus
from ._responder import (
    Citation,
    CitedSpan,
    EmulatorAnswer,
    EmulatorRequest,
    FieldBasis,
    Message,
    Responder,
    ResponseFormat,
    SchemaError,
    Turn,
    WebAction,
)
from ._web import CorpusWebResponder, WebAnswer, WebFailure, WebPage, WebQuery, WebResponder
from ._wire import PROFILES, Profile

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_STALL_SECONDS",
    "EMULATOR_ONLY_MARKER",
    "FAULTS",
    "FAULT_HEADER",
    "PROFILES",
    "PROVENANCE_HEADER",
    "Citation",
    "CitedSpan",
    "CorpusPage",
    "CorpusWebResponder",
    "EmulatorAnswer",
    "EmulatorRequest",
    "Fault",
    "FaultQueue",
    "FieldBasis",
    "LatencyModel",
    "Message",
    "ParallelEmulator",
    "Profile",
    "RateLimit",
    "RecordingBackend",
    "RequestLogEntry",
    "ResearchResponder",
    "Responder",
    "ResponseFormat",
    "SchemaError",
    "Turn",
    "WebAction",
    "WebAnswer",
    "WebFailure",
    "WebPage",
    "WebQuery",
    "WebResponder",
    "backend_kind",
    "build_app",
    "emulator_provenance",
    "find_secrets",
    "json_body_matcher",
    "live_recording_skip",
    "load_default_corpus",
    "provenance_for",
    "recording_backend",
    "register_matchers",
    "serve",
    "vcr_config",
]
