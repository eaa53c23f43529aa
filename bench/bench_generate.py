"""Benchmark: generate_population at 10k/100k users (parquet) and 10k (plaid-json); rows/s, peak RSS.

Each run happens in its own subprocess so its peak RSS (resource.getrusage) is its own.
Usage: python bench/bench_generate.py [--runs 10000:parquet,100000:parquet,10000:plaid-json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_RUNS = "10000:parquet,100000:parquet,10000:plaid-json"
RESULTS = Path(__file__).parent / "results" / "generate.json"


def one(n_users: int, fmt: str, seed: int) -> dict[str, object]:
    """Generate once into a temporary folder and measure it."""
    from spendsense.synth import generate_population

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = generate_population(n_users, seed, Path(tmp), fmt)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "users": result.users,
        "format": fmt,
        "accounts": result.accounts,
        "transactions": result.transactions,
        "seconds": round(seconds, 2),
        "users_per_s": round(result.users / seconds, 1),
        "transactions_per_s": round(result.transactions / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "output_mb": round(size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="comma list of USERS:FORMAT")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n, fmt = args.one.split(":")
        print(json.dumps(one(int(n), fmt, args.seed)))
        return
    results = []
    for run in args.runs.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", run, "--seed", str(args.seed)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"generate": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
