"""interaction_id: issued on every response, accepted back as previous_interaction_id.

The Responses API's `id` / `previous_response_id` work the same way (ids `resp_...`).

IDs are derived from the request (model, messages, response_format, previous id), so the same
request always gets the same id and recorded cassettes stay stable. A follow-up that names a
known previous id reaches the responder with the earlier turns (`EmulatorRequest.history`);
the research simulator uses their questions as extra retrieval context, so "What about its
population?" after "What is the capital of France?" is about France. On the Chat API an
unknown previous id is accepted and simply adds no context: the real API's behaviour there
is undocumented, and rejecting it would break replays against a fresh emulator. The
Responses API answers one with a 404 (the app's concern; `known` tells it).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from ._responder import Turn

_CONTEXT_TURNS = 3  # how many earlier turns a follow-up carries along


def request_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def interaction_id_for(digest: str) -> str:
    return f"int_{digest[:32]}"


def response_id_for(digest: str) -> str:
    """`resp_` and a UUID-shaped hex string, as the real ids look."""
    d = digest
    return f"resp_{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:32]}"


class Interactions:
    """Bounded memory of recent turns: id -> that turn with the turns before it, oldest
    first."""

    def __init__(self, size: int = 10_000) -> None:
        self._turns: OrderedDict[str, tuple[Turn, ...]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def context(self, previous_id: str | None) -> tuple[Turn, ...]:
        """The turns a follow-up to `previous_id` carries (none for an unknown id)."""
        if previous_id is None:
            return ()
        with self._lock:
            return self._turns.get(previous_id, ())

    def known(self, previous_id: str) -> bool:
        with self._lock:
            return previous_id in self._turns

    def remember(self, interaction_id: str, turns: tuple[Turn, ...]) -> None:
        """`turns`: the earlier turns and, last, the one `interaction_id` names."""
        with self._lock:
            self._turns[interaction_id] = turns[-_CONTEXT_TURNS:]
            self._turns.move_to_end(interaction_id)
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()
