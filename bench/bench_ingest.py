"""Benchmark: generate a population, then ingest it end to end (parse, validate, SQLite, Parquet).

Generation and ingest each run in their own subprocess, so each peak RSS
(resource.getrusage) is its own. Ingest reads the whole generated folder (as
`spendsense ingest DIR` would), so ground_truth/ must be skipped.
Usage: python bench/bench_ingest.py [--runs 1000:plaid-json,10000:plaid-json,10000:parquet]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_RUNS = "1000:plaid-json,1000:parquet,10000:plaid-json,10000:parquet"
RESULTS = Path(__file__).parent / "results" / "ingest.json"


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def generate(n_users: int, fmt: str, seed: int, out: Path) -> dict[str, object]:
    """Generate once into ``out``."""
    from spendsense.synth import generate_population

    start = time.perf_counter()
    result = generate_population(n_users, seed, out, fmt)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "transactions": result.transactions,
        "transactions_per_s": round(result.transactions / seconds),
        "peak_rss_mb": _peak_mb(),
        "input_mb": round(sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20, 1),
    }


def ingest(folder: Path, data_dir: Path) -> dict[str, object]:
    """``ingest_into_store`` on the generated folder, into a fresh data folder."""
    from spendsense.config import Settings
    from spendsense.services import ingest_into_store

    start = time.perf_counter()
    report = ingest_into_store(Settings(data_dir=data_dir), [folder])
    seconds = time.perf_counter() - start
    loaded = report.per_table.get("transactions", (0, 0))[0]
    return {
        "seconds": round(seconds, 2),
        "transactions_loaded": loaded,
        "transactions_per_s": round(loaded / seconds),
        "loaded": report.total_loaded,
        "rejected": report.total_rejected,
        "per_table": {t: list(v) for t, v in report.per_table.items()},
        "peak_rss_mb": _peak_mb(),
    }


def _child(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma list of USERS:FORMAT")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)  # N FMT DIR
    parser.add_argument("--ingest", nargs=2, help=argparse.SUPPRESS)  # DIR DATA_DIR
    args = parser.parse_args()
    if args.generate:
        n, fmt, out = args.generate
        print(json.dumps(generate(int(n), fmt, args.seed, Path(out))))
        return
    if args.ingest:
        print(json.dumps(ingest(Path(args.ingest[0]), Path(args.ingest[1]))))
        return
    results = []
    for run in args.runs.split(","):
        n, fmt = run.split(":")
        tmp = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
        try:
            gen = _child("--generate", n, fmt, str(tmp / "raw"), "--seed", str(args.seed))
            ing = _child("--ingest", str(tmp / "raw"), str(tmp / "data"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        row = {"users": int(n), "format": fmt, "generate": gen, "ingest": ing}
        print(json.dumps(row), flush=True)
        results.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
