"""One PNG bar chart per scenario (matplotlib, imported only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_COLORS = {"floor": "#7f7f7f", "kit": "#1f77b4", "peer": "#ff7f0e", "baseline": "#c7c7c7"}


def _plain(label: str) -> str:
    return label.replace("`", "")


def _bars(
    ax: Any,
    labels: list[str],
    stats: list[dict[str, Any]],
    kinds: list[str],
    xlabel: str,
    fmt: str,
) -> None:
    medians = [s["median"] for s in stats]
    low = [max(s["median"] - s["min"], 0.0) for s in stats]
    high = [max(s["max"] - s["median"], 0.0) for s in stats]
    positions = list(range(len(labels)))[::-1]
    ax.barh(
        positions,
        medians,
        xerr=[low, high],
        color=[_COLORS.get(k, "#999999") for k in kinds],
        capsize=3,
        error_kw={"elinewidth": 1},
    )
    ax.set_yticks(positions, [_plain(label) for label in labels], fontsize=8)
    ax.set_xlabel(xlabel)
    # Labels right of the whisker, where no bar or error bar covers them.
    for pos, value, stat in zip(positions, medians, stats, strict=True):
        ax.annotate(
            format(value, fmt),
            (max(stat["max"], value, 0.0), pos),
            xytext=(5, -3),
            textcoords="offset points",
            fontsize=7,
        )
    ax.margins(x=0.12)
    ax.grid(axis="x", alpha=0.3)


def _legend(fig: Any, kinds: list[str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=_COLORS[k], label=k) for k in _COLORS if k in kinds]
    fig.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)


def draw(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        path = out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if data := results.get("overhead"):
        rows = data["contenders"]
        kinds = [r["kind"] for r in rows]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        labels = [r["label"] for r in rows]
        _bars(axes[0], labels, [r["ms_per_call"] for r in rows], kinds, "ms per call", ".2f")
        _bars(axes[1], labels, [r["ratio_to_floor"] for r in rows], kinds, "x floor", ".2f")
        axes[1].axvline(1.0, color="black", linewidth=0.8)
        fig.suptitle("1. Per-call overhead, non-streaming, zero server latency (median, min-max)")
        _legend(fig, kinds)
        save(fig, "overhead")
    if data := results.get("ttft"):
        rows = data["contenders"]
        kinds = [r["kind"] for r in rows]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        labels = [r["label"] for r in rows]
        _bars(axes[0], labels, [r["ttft_ms"] for r in rows], kinds, "ms to first delta", ".1f")
        _bars(axes[1], labels, [r["added_ms"] for r in rows], kinds, "ms added vs floor", "+.2f")
        axes[1].axvline(2.0, color="red", linewidth=0.8, linestyle="--")
        server = data["server"]
        fig.suptitle(
            f"2. Time to first token (server TTFT {server['ttft_s'] * 1000:.0f} ms, "
            f"{server['chunk_interval_s'] * 1000:.0f} ms between chunks)"
        )
        _legend(fig, kinds)
        save(fig, "ttft")
    if data := results.get("throughput"):
        levels = [(data["concurrency"], data["contenders"])]
        if low := data.get("low_concurrency"):
            levels.append((low["concurrency"], low["contenders"]))
        fig, axes = plt.subplots(
            len(levels), 2, figsize=(12, 2.6 * len(levels) + 0.8), squeeze=False
        )
        for row_axes, (concurrency, rows) in zip(axes, levels, strict=True):
            kinds = [r["kind"] for r in rows]
            labels = [f"{r['label']} ({concurrency} in flight)" for r in rows]
            rps = [r["requests_per_second"] for r in rows]
            cpu = [r["client_cpu_ms_per_request"] for r in rows]
            _bars(row_axes[0], labels, rps, kinds, "requests/s", ".0f")
            _bars(row_axes[1], labels, cpu, kinds, "client CPU ms per request", ".2f")
            row_axes[1].set_yticks([])
        fig.suptitle(
            f"3. Async throughput: {data['requests']} requests, "
            f"{data['server']['latency_s'] * 1000:.0f} ms server latency (median, min-max)"
        )
        _legend(fig, [r["kind"] for r in data["contenders"]])
        save(fig, "throughput")
    if data := results.get("ratelimit"):
        runs = data["runs"]
        fig, ax = plt.subplots(figsize=(8, 2.8))
        positions = list(range(len(runs)))[::-1]
        values = [r["achieved_pct_of_limit"] for r in runs]
        ax.barh(positions, values, color=_COLORS["kit"])
        ax.set_yticks(positions, [f"{_plain(r['label'])}\n{r['status_429']} x 429" for r in runs])
        ax.axvline(97.0, color="red", linewidth=0.8, linestyle="--")
        ax.set_xlim(0, max(105.0, *values))
        for pos, value in zip(positions, values, strict=True):
            ax.annotate(f"{value:.1f}%", (value, pos), xytext=(4, -3), textcoords="offset points")
        limit = data["server_limit"]
        ax.set_xlabel("achieved rate, % of the server's limit")
        ax.set_title(
            f"4. Rate-limit adherence ({limit['requests']} per {limit['window_s']:g} s, "
            f"{data['requests']} requests)"
        )
        save(fig, "ratelimit")
    if data := results.get("imports"):
        rows = [r for r in data["imports"] if r["kind"] != "baseline"]
        kinds = [r["kind"] for r in rows]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        labels = [r["statement"] for r in rows]
        _bars(axes[0], labels, [r["added_ms"] for r in rows], kinds, "ms over bare python", ".0f")
        _bars(axes[1], labels, [r["added_mib"] for r in rows], kinds, "MiB over bare python", ".1f")
        fig.suptitle("5. Import time and peak memory, fresh interpreter (median, min-max)")
        _legend(fig, kinds)
        save(fig, "imports")
    return written
