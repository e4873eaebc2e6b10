"""Scenario 6: `parallel-adapters batch` against the emulator with latency.

1. Throughput: a batch of `batch_requests` with `batch_concurrency` in flight and answers
   that take `batch_latency` seconds. At best it runs at concurrency / latency requests a
   second; the share of that it reaches says whether the batch keeps its workers busy
   (every answer is appended, flushed and fsynced before the next item is taken).
2. Kill and resume: the same batch SIGKILLed once half of it is written, then run again
   with the same output. Counted from the emulator's request log: answers lost, requests
   sent twice, and whether every id ended up answered exactly once.

3. The engine alone: the same runner and journal with a client that answers after 10 ms
   without any HTTP, to show how many answers a second the batch machinery itself (worker
   hand-off, JSON line, write, shared fsync) could feed; the HTTP client's own CPU cost is
   measured in scenario 3.

1 and 2 run the real CLI as a subprocess, with the emulator in its own process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._emulator import ROOT, EmulatorProcess, Endpoint
from bench._settings import Settings


def _command(endpoint: Endpoint, source: Path, output: Path, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "parallel_adapters._cli", "batch", str(source), "-o", str(output),
        "--base-url", endpoint.base_url, "--concurrency", str(concurrency),
        "--requests-per-minute", "1000000", "--no-progress",
    ]  # fmt: skip


def _env(endpoint: Endpoint) -> dict[str, str]:
    return {**os.environ, "PARALLEL_API_KEY": endpoint.api_key, "PYTHONPATH": str(ROOT)}


def _answers(output: Path) -> list[Any]:
    data = output.read_bytes()
    whole = data[: data.rfind(b"\n") + 1].decode()
    return [json.loads(line)["id"] for line in whole.splitlines() if '"text"' in line]


def _throughput(
    server: EmulatorProcess, endpoint: Endpoint, source: Path, folder: Path, s: Settings, log: Any
) -> dict[str, Any]:
    server.control(endpoint, "reset")
    output = folder / "throughput.jsonl"
    started = time.perf_counter()
    done = subprocess.run(
        _command(endpoint, source, output, s.batch_concurrency),
        env=_env(endpoint),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the batch failed: {done.stderr[-2000:]}")
    arrivals = sorted(e["time"] for e in server.control(endpoint, "log"))
    span = arrivals[-1] - arrivals[0] + s.batch_latency
    rate = len(arrivals) / span
    ideal = s.batch_concurrency / s.batch_latency
    log(f"  batch: {rate:.0f} req/s of an ideal {ideal:.0f} ({rate / ideal:.0%})")
    return {
        "requests": len(arrivals),
        "answers": len(_answers(output)),
        "achieved_per_second": rate,
        "ideal_per_second": ideal,
        "busy_share": rate / ideal,
        "server_span_s": span,
        "process_wall_s": wall,
    }


def _kill_and_resume(
    server: EmulatorProcess, endpoint: Endpoint, source: Path, folder: Path, s: Settings
) -> dict[str, Any]:
    server.control(endpoint, "reset")
    output = folder / "killed.jsonl"
    command = _command(endpoint, source, output, s.batch_concurrency)
    process = subprocess.Popen(command, env=_env(endpoint), stderr=subprocess.DEVNULL)
    half = s.batch_requests // 2
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and output.read_bytes().count(b"\n") >= half:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    answered = len(_answers(output))
    sent_before = len(server.control(endpoint, "log"))
    done = subprocess.run(command, env=_env(endpoint), capture_output=True, check=False)
    sent_total = len(server.control(endpoint, "log"))
    ids = _answers(output)
    return {
        "requests": s.batch_requests,
        "concurrency": s.batch_concurrency,
        "answered_before_kill": answered,
        "sent_before_kill": sent_before,
        "lost_in_flight": sent_before - answered,
        "resume_sent": sent_total - sent_before,
        "missing_after_kill": s.batch_requests - answered,
        "sent_total": sent_total,
        "sent_twice": sent_total - s.batch_requests,
        "resume_exit_code": done.returncode,
        "every_id_once": sorted(ids) == list(range(1, s.batch_requests + 1)),
    }


def _engine(folder: Path, requests: int, concurrency: int) -> dict[str, Any]:
    import asyncio

    import parallel_adapters as pa
    from parallel_adapters._batch import BatchItem, BatchRunner
    from parallel_adapters._journal import Journal

    class NoHTTP(pa.ParallelChat):
        async def asend(self, request: Any) -> pa.Completion:
            await asyncio.sleep(0.010)
            return pa.Completion(text="An answer of a few hundred characters. " * 8, model="base")

    chat = NoHTTP(api_key="bench", requests_per_minute=None)
    items = [BatchItem(i, chat.request(f"Question {i}")) for i in range(requests)]
    journal = Journal(folder / "engine.jsonl")
    runner = BatchRunner(chat, items, concurrency=concurrency, journal=journal)
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(runner.arun())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    journal.close()
    return {
        "answers_per_second": requests / wall,
        "ideal_per_second": concurrency / 0.010,
        "cpu_ms_per_answer": cpu * 1000 / requests,
    }


def run(settings: Settings, log: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "questions.jsonl"
        source.write_text(
            "".join(
                json.dumps({"prompt": f"Question {i}: what is HTTP?"}) + "\n"
                for i in range(settings.batch_requests)
            )
        )
        server = EmulatorProcess(ttft=settings.batch_latency)
        with server as endpoint:
            throughput = _throughput(server, endpoint, source, folder, settings, log)
            killed = _kill_and_resume(server, endpoint, source, folder, settings)
        engine = _engine(folder, settings.batch_requests, settings.batch_concurrency)
    log(
        f"  kill and resume: {killed['answered_before_kill']} answered before SIGKILL, "
        f"{killed['lost_in_flight']} lost in flight, {killed['resume_sent']} sent on resume"
    )
    return {
        "title": "Batch jobs",
        "requests": settings.batch_requests,
        "concurrency": settings.batch_concurrency,
        "latency_s": settings.batch_latency,
        "throughput": throughput,
        "kill_and_resume": killed,
        "engine": engine,
    }


def section(data: dict[str, Any], charts: str) -> list[str]:
    t, k, e = data["throughput"], data["kill_and_resume"], data["engine"]
    return [
        "## 6. Batch jobs (`parallel-adapters batch`)",
        "",
        f"{data['requests']:,} questions, {data['concurrency']} in flight, every answer "
        f"{data['latency_s'] * 1000:.0f} ms late at the emulator (its own process); the CLI "
        "runs as a subprocess and fsyncs each answer into its output before taking the "
        "next item.",
        "",
        f"- Achieved: **{t['achieved_per_second']:,.0f} requests/s**, "
        f"{t['busy_share']:.0%} of the {t['ideal_per_second']:,.0f}/s that "
        f"{data['concurrency']} in flight allow at that latency (server-side span "
        f"{t['server_span_s']:.1f} s; the whole process, start-up and cost estimate included, "
        f"{t['process_wall_s']:.1f} s).",
        f"- Kill and resume: SIGKILL once half the answers were written: "
        f"{k['answered_before_kill']:,} answered, {k['lost_in_flight']} lost in flight "
        f"(at most the concurrency, {k['concurrency']}). The re-run sent "
        f"{k['resume_sent']:,} requests for {k['missing_after_kill']:,} missing answers; "
        f"{k['sent_total']:,} requests in all for {k['requests']:,} answers "
        f"({k['sent_twice']} paid twice). Every id answered exactly once: "
        f"{'yes' if k['every_id_once'] else '**no**'}.",
        f"- The engine alone (no HTTP, 10 ms answers, the same journal with its fsyncs): "
        f"{e['answers_per_second']:,.0f} answers/s of an ideal {e['ideal_per_second']:,.0f}, "
        f"{e['cpu_ms_per_answer']:.2f} ms of CPU per answer. Below that rate, the HTTP "
        "client's own CPU (scenario 3) and the machine's load set the pace, not the batch.",
        "",
    ]
