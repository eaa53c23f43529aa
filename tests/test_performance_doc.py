"""docs/performance.md quotes bench/results/scale.json and ingest.json: its tables are generated from them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _bench(name: str) -> ModuleType:
    """The benchmark script ``bench/<name>.py`` as a module (its tables are built there)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scale_table_in_the_doc_is_the_results_file() -> None:
    """Edit the results (a rerun) and not regenerating the doc fails here; so does a hand edit."""
    bench = _bench("bench_scale")
    doc = (ROOT / "docs" / "performance.md").read_text()
    data = json.loads((ROOT / "bench" / "results" / "scale.json").read_text())
    assert doc == bench.doc_with_table(doc, data), (
        "docs/performance.md is stale: python bench/bench_scale.py --write-doc"
    )


def test_scale_table_shows_load_cpu_and_date_of_each_result() -> None:
    bench = _bench("bench_scale")
    result = {
        "users": 100, "consented_users": 90, "transactions": 2_000, "seconds": 10.0,
        "stages_s": {"signals": 5.0, "recommendations": 2.0, "read chunk": 1.0},
        "chunk_users": 25_000, "peak_rss_mb": 2048.0, "cpu_s": 17.0,
        "load_average_1m_before": 3.5, "load_average_1m": 4.5,
        "measured_at": "2026-12-04T20:00:00+00:00",
    }  # fmt: skip
    table = bench.markdown_table({"embedded": {"100": result}})
    row = next(line for line in table.splitlines() if line.startswith("| embedded"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == [
        "embedded", "100", "2,000", "25,000", "10", "17", "10", "2.0 GB", "50%", "-", "20%",
        "10%", "3.5-4.5", "2026-12-04",
    ]  # fmt: skip
    doc = f"intro\n{bench.TABLE_START}\nold\n{bench.TABLE_END}\nrest\n"
    assert bench.doc_with_table(doc, {"embedded": {"100": result}}) == (
        f"intro\n{bench.TABLE_START}\n{table}\n{bench.TABLE_END}\nrest\n"
    )


def test_ingest_tables_in_the_doc_are_the_results_file() -> None:
    bench = _bench("bench_ingest")
    doc = (ROOT / "docs" / "performance.md").read_text()
    data = json.loads((ROOT / "bench" / "results" / "ingest.json").read_text())
    assert doc == bench.doc_with_table(doc, data), (
        "docs/performance.md is stale: python bench/bench_ingest.py --write-doc"
    )
