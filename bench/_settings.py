"""The scenarios, and how much each measures: the full run and the `--quick` smoke run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# In run order; `--only 3` is the third. The report reads the same list.
SCENARIOS = [
    "overhead",
    "ttft",
    "throughput",
    "ratelimit",
    "imports",
    "responses",
    "batch",
    "emulator",
    "annotations",
    "tracing",
]


@dataclass(frozen=True)
class Settings:
    # 1. per-call overhead: `repeats` rounds, each timing `calls` calls per contender
    overhead_repeats: int = 7
    overhead_calls: int = 200
    overhead_warmup: int = 30
    profile_calls: int = 300
    # 2. time to first token (emulator: ttft, then chunk_interval between chunks)
    ttft_seconds: float = 0.100
    chunk_interval: float = 0.005
    ttft_repeats: int = 7
    ttft_calls: int = 5
    ttft_warmup: int = 2
    # 3. async throughput
    throughput_requests: int = 1000
    throughput_concurrency: int = 64
    throughput_latency: float = 0.020
    # Also measured with fewer in flight, where httpcore's pool costs less (0: skip).
    throughput_low_concurrency: int = 8
    throughput_low_requests: int = 500
    throughput_low_repeats: int = 4
    throughput_repeats: int = 6
    # 4. rate-limit adherence: the server allows `limit` per `window` seconds
    ratelimit_requests: int = 120
    ratelimit_limit: int = 20
    ratelimit_window: float = 2.0
    ratelimit_concurrency: int = 8
    # 5. import time and memory
    import_repeats: int = 7
    # 6. `parallel-adapters batch`: throughput, then a SIGKILL half-way and a resume
    batch_requests: int = 2000
    # The client's own CPU (~7 ms a request in scenario 3) must not be the limit: 32 in
    # flight at 0.5 s is 64 requests/s at best, well within one core.
    batch_concurrency: int = 32
    batch_latency: float = 0.500
    # 8. the emulator's sequential rate (raw SDK, one request at a time)
    emulator_calls: int = 500
    emulator_repeats: int = 5
    emulator_warmup: int = 50
    # 9. reading one Responses answer with this many url_citation annotations (issue 21)
    annotations_count: int = 100_000
    annotations_repeats: int = 7
    # 10. tracing overhead: scenario 1's calls per repeat, more repeats (microseconds)
    tracing_repeats: int = 15
    # ... and the span hook alone, without HTTP: calls per repeat
    tracing_hook_calls: int = 20_000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Settings()
QUICK = Settings(
    overhead_repeats=3,
    overhead_calls=30,
    overhead_warmup=5,
    profile_calls=30,
    ttft_repeats=3,
    ttft_calls=2,
    ttft_warmup=1,
    throughput_requests=200,
    throughput_low_requests=100,
    throughput_low_repeats=2,
    throughput_repeats=2,
    ratelimit_requests=40,
    import_repeats=2,
    annotations_repeats=3,
    batch_requests=300,
    emulator_calls=100,
    emulator_repeats=2,
    emulator_warmup=10,
    tracing_repeats=3,
    tracing_hook_calls=2_000,
)
