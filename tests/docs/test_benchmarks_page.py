"""docs/benchmarks.md and its charts are what `python -m bench.report_docs` makes of
bench/results.json, so the site never shows figures from another run."""

from __future__ import annotations

import json

from bench import report_docs


def _results() -> dict[str, object]:
    data = json.loads(report_docs.RESULTS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_page_matches_results_json() -> None:
    expected = report_docs.render_page(_results())
    assert report_docs.PAGE.read_text(encoding="utf-8") == expected, (
        "docs/benchmarks.md is stale: run `python -m bench.report_docs`"
    )


def test_page_states_date_commit_and_machine() -> None:
    results = _results()
    machine = results["machine"]
    assert isinstance(machine, dict)
    page = report_docs.PAGE.read_text(encoding="utf-8")
    for fact in (results["started_at"], f"commit {machine['git_commit']}", machine["cpu"]):
        assert str(fact) in page


def test_charts_are_the_runs_charts() -> None:
    names = report_docs.chart_names()
    assert names, "bench/charts/ has no charts"
    copies = sorted(path.name for path in report_docs.DOCS_CHARTS.glob("*.png"))
    assert copies == names
    for name in names:
        original = (report_docs.CHARTS / name).read_bytes()
        assert (report_docs.DOCS_CHARTS / name).read_bytes() == original, name
