"""`ParallelEmulator` (background thread, for tests) and `serve` (foreground, for demos)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

from ._app import EmulatorApp
from ._faults import Fault, FaultQueue
from ._latency import LatencyModel, LatencyPreset
from ._log import RequestLogEntry
from ._ratelimit import RateLimit
from ._research import CorpusPage, ResearchResponder
from ._responder import Responder
from ._server import ServerThread, run_foreground
from ._web import CorpusWebResponder, WebResponder
from ._wire import PROFILES, Profile

_R = TypeVar("_R")

DEFAULT_API_KEY = "test-key"
"""The key a `ParallelEmulator()` accepts unless given another (or None: any key)."""
DEFAULT_STALL_SECONDS = 30.0
"""How long the stall faults hold a request before answering, by default."""


class ParallelEmulator:
    """A local, faithful Parallel Chat, Responses, Search and Extract API on a loopback port.

    ```python
    with ParallelEmulator() as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key)
        client.chat.completions.create(model="base", messages=[...])
        assert emu.requests[-1].json["model"] == "base"
    ```

    `api_key=None` accepts any non-empty key (handy for demos); otherwise only `api_key`
    is accepted. `port=0` picks a free port. `responder` answers every request (an
    `EmulatorRequest` in, an `EmulatorAnswer` or a str out); the default is the research
    simulator over `corpus`. `web_responder` answers `/v1/search` and `/v1/extract` (a
    `WebQuery` in, a `WebAnswer` or a list of `WebPage`s out); the default ranks `corpus`
    with the same retrieval. `profile`, `latency`, `rate_limit`, `stall_seconds`,
    `responder` and `web_responder` can also be changed while it runs (they apply to the
    next requests).
    """

    def __init__(
        self,
        api_key: str | None = DEFAULT_API_KEY,
        *,
        profile: Profile = "documented",
        latency: LatencyModel | LatencyPreset = "fast",
        rate_limit: RateLimit | tuple[int, float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        corpus: Sequence[CorpusPage | dict[str, str]] | None = None,
        responder: Responder | None = None,
        web_responder: WebResponder | None = None,
    ) -> None:
        self.app = build_app(
            api_key=api_key,
            profile=profile,
            latency=latency,
            rate_limit=rate_limit,
            stall_seconds=stall_seconds,
            corpus=corpus,
            responder=responder,
            web_responder=web_responder,
        )
        """The ASGI application being served; `build_app` makes one to serve yourself."""
        self._host = host
        self._port = port
        self._server: ServerThread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> ParallelEmulator:
        """Serve on a thread of its own (a `with` block does this); returns itself."""
        if self._server is None:
            server = ServerThread(self.app, self._host, self._port)
            server.start()
            self._server = server
        return self

    def stop(self) -> None:
        """Stop serving; requests still waiting (latency, stalls) are cut off at once."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()

    def __enter__(self) -> ParallelEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether it is serving."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`: give it to the OpenAI SDK as `base_url`."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; use start() or a with block")
        host = f"[{self._server.host}]" if ":" in self._server.host else self._server.host
        return f"http://{host}:{self._server.port}"

    @property
    def port(self) -> int:
        """The port it listens on (a free one when constructed with `port=0`)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server.port

    # -- behaviour ----------------------------------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The only key accepted, or None when any non-empty key is."""
        return self.app.api_key

    @property
    def profile(self) -> Profile:
        """`"documented"` or `"openai"`: how the fields the API leaves empty are filled."""
        return self.app.profile

    @profile.setter
    def profile(self, value: Profile) -> None:
        self.app.profile = _check_profile(value)

    @property
    def latency(self) -> LatencyModel:
        """The delays before the first token and between chunks; settable while running."""
        return self.app.latency

    @latency.setter
    def latency(self, value: LatencyModel | LatencyPreset) -> None:
        self.app.latency = LatencyModel.of(value)

    @property
    def rate_limit(self) -> RateLimit | None:
        """Requests allowed per window for each key (429 beyond), or None; settable."""
        return self.app.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | tuple[int, float] | None) -> None:
        self.app.rate_limit = value

    @property
    def stall_seconds(self) -> float:
        """How long the `stall` faults hold a request by default; settable."""
        return self.app.stall_seconds

    @stall_seconds.setter
    def stall_seconds(self, value: float) -> None:
        self.app.stall_seconds = value

    @property
    def responder(self) -> Responder:
        """The callable answering every request (an `EmulatorRequest` in, an
        `EmulatorAnswer` or a str out). Assign another to script the next answers; assign
        None to restore the research simulator over the bundled corpus. Raises
        `TypeError` for a value that is not callable."""
        return self.app.responder

    @responder.setter
    def responder(self, value: Responder | None) -> None:
        """None restores the research simulator over the bundled corpus."""
        self.app.responder = _check_responder(value) if value is not None else ResearchResponder()

    @property
    def web_responder(self) -> WebResponder:
        """The callable answering every `/v1/search` and `/v1/extract` request (a
        `WebQuery` in, a `WebAnswer` or a list of `WebPage`s out). Assign another to script
        the next results; assign None to restore ranking the bundled corpus. Raises
        `TypeError` for a value that is not callable."""
        return self.app.web_responder

    @web_responder.setter
    def web_responder(self, value: WebResponder | None) -> None:
        """None restores the corpus-ranking default."""
        self.app.web_responder = (
            _check_responder(value) if value is not None else CorpusWebResponder()
        )

    @property
    def faults(self) -> FaultQueue:
        """Faults for the next requests, one each, in order."""
        return self.app.faults

    def inject(self, fault: Fault | str, times: int = 1) -> None:
        """Make the next `times` requests fail with `fault` (e.g. "503", Fault("stall", ...))."""
        self.app.faults.push(fault, times=times)

    @property
    def requests(self) -> list[RequestLogEntry]:
        """Every request received so far (a copy), oldest first, without credentials."""
        return self.app.log.snapshot()

    def reset(self) -> None:
        """Forget the request log, queued faults, rate-limit counts and conversation turns."""
        self.app.reset()


def build_app(
    *,
    api_key: str | None = DEFAULT_API_KEY,
    profile: Profile = "documented",
    latency: LatencyModel | LatencyPreset = "fast",
    rate_limit: RateLimit | tuple[int, float] | None = None,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
    corpus: Sequence[CorpusPage | dict[str, str]] | None = None,
    responder: Responder | None = None,
    web_responder: WebResponder | None = None,
) -> EmulatorApp:
    """The emulator's ASGI app alone, to mount elsewhere or to call in-process
    (`httpx.ASGITransport(app=build_app())`); the disconnect faults then raise instead."""
    if api_key is not None and not api_key.strip():
        raise ValueError("api_key must be a non-empty string, or None to accept any key")
    if responder is not None and corpus is not None:
        raise ValueError("pass corpus (for the research simulator) or responder, not both")
    return EmulatorApp(
        api_key=api_key,
        profile=_check_profile(profile),
        latency=latency,
        rate_limit=rate_limit,
        responder=_check_responder(responder) if responder else ResearchResponder(corpus),
        stall_seconds=stall_seconds,
        web_responder=(
            _check_responder(web_responder) if web_responder else CorpusWebResponder(corpus)
        ),
    )


def serve(host: str = "127.0.0.1", port: int = 8787, **options: Any) -> None:
    """Run the emulator in the foreground until Ctrl-C; `options` as for `ParallelEmulator`."""
    run_foreground(build_app(**options), host, port)


def _check_responder(value: _R) -> _R:
    if not callable(value):
        raise TypeError(f"responder must be a callable, not {type(value).__name__}")
    return value


def _check_profile(value: str) -> Profile:
    for profile in PROFILES:
        if value == profile:
            return profile
    raise ValueError(f"profile must be one of {PROFILES}, not {value!r}")
