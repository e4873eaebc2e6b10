"""interaction_id: issued on every response, accepted back as previous_interaction_id.

IDs are derived from the request (model, messages, response_format, previous id), so the same
request always gets the same id and recorded cassettes stay stable. A follow-up that names a
known previous id is answered with that turn's questions as extra retrieval context, so
"What about its population?" after "What is the capital of France?" is about France. An
unknown previous id is accepted and simply adds no context: the real API's behaviour there
is undocumented, and rejecting it would break replays against a fresh emulator.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

_CONTEXT_TURNS = 3  # how many earlier questions a follow-up carries along


def request_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def interaction_id_for(digest: str) -> str:
    return f"int_{digest[:32]}"


class Interactions:
    """Bounded memory of recent turns: id -> that turn's questions, oldest first."""

    def __init__(self, size: int = 10_000) -> None:
        self._turns: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def context(self, previous_id: str | None) -> tuple[str, ...]:
        if previous_id is None:
            return ()
        with self._lock:
            return self._turns.get(previous_id, ())

    def remember(self, interaction_id: str, questions: tuple[str, ...]) -> None:
        with self._lock:
            self._turns[interaction_id] = questions[-_CONTEXT_TURNS:]
            self._turns.move_to_end(interaction_id)
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()
