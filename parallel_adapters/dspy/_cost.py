"""The `cost` of each `ParallelLM` history entry, and which entries were cache hits.

DSPy prices calls from token counts, which say nothing about Parallel's per-request bill,
so its history shows `cost: None`. Each live answer's `provider_data` carries its price
and a call id that the engine marks as live; the history entry that first shows that id
is the live call, and any later entry showing it (or an id this process never marked:
a disk-cache hit) is a cache hit, which costs nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .._core._prices import PRICES_SOURCE, PRICES_SOURCE_DATE

__all__ = ["COST_KEY", "mark_live", "price_entry"]

COST_KEY = "cost"
CALL_ID_KEY = "call_id"
# Ids of live answers not yet seen in a history entry; bounded for `disable_history`
# runs, where no entry ever takes them out.
_MAX_PENDING = 10_000
_pending: OrderedDict[str, None] = OrderedDict()
_lock = threading.Lock()


def mark_live(provider_data: dict[str, Any], cost: float | None) -> None:
    """Stamp a live answer's `provider_data` with its price and a fresh call id."""
    call_id = uuid.uuid4().hex
    provider_data[COST_KEY] = cost
    provider_data[CALL_ID_KEY] = call_id
    with _lock:
        _pending[call_id] = None
        while len(_pending) > _MAX_PENDING:
            _pending.popitem(last=False)


def _was_live(call_id: Any) -> bool:
    if not isinstance(call_id, str):
        return False
    with _lock:
        return _pending.pop(call_id, False) is None


def price_entry(entry: dict[str, Any]) -> None:
    """Set `cost`, `cost_details` and `cache_hit` on a `ParallelLM` history entry."""
    responses = entry.get("response")
    if not isinstance(responses, (list, tuple)):
        responses = [responses]
    datas: list[Mapping[str, Any]] = []
    for response in responses:
        data = getattr(response, "provider_data", None)
        if isinstance(data, Mapping) and CALL_ID_KEY in data:
            datas.append(data)
    if not datas:
        return  # not an answer of this kit's engines: leave DSPy's figures
    live = [_was_live(d[CALL_ID_KEY]) for d in datas]
    if not any(live):
        entry["cost"] = 0.0
        entry["cache_hit"] = True
        entry["cost_details"] = {"kind": "cache_hit", "reason": "answered from DSPy's cache"}
        return
    prices = [d.get(COST_KEY) for d, fresh in zip(datas, live, strict=True) if fresh]
    entry["cache_hit"] = False
    known = [float(p) for p in prices if isinstance(p, (int, float))]
    if len(known) != len(prices):
        entry["cost"] = None
        entry["cost_details"] = {"kind": "unknown", "reason": "no published price"}
        return
    entry["cost"] = round(sum(known), 9)
    entry["cost_details"] = {
        "kind": "per_request",
        "source": PRICES_SOURCE,
        "prices_as_of": PRICES_SOURCE_DATE,
    }
