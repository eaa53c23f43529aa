"""Run every benchmark script in bench/ and collect bench/results/*.json into one summary.

    python bench/run_all.py                    # every bench_*.py with its own defaults
    python bench/run_all.py --only scale,signals --skip api_load
    python bench/run_all.py --collect-only     # just rebuild bench/results/summary.json

Each script runs in its own process (its defaults decide the sizes); a failing script
is recorded and the rest still run. The summary lists, per script, the exit status,
the wall time, and the results file's contents.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def scripts(only: set[str], skip: set[str]) -> list[Path]:
    """bench_*.py in name order, filtered by short name (``bench_scale.py`` -> ``scale``)."""
    found = sorted(BENCH.glob("bench_*.py"))
    short = {p: p.stem.removeprefix("bench_") for p in found}
    return [p for p in found if (not only or short[p] in only) and short[p] not in skip]


def run(script: Path, timeout: float | None) -> dict[str, object]:
    """Run one script from the repository root; keep the tail of its output."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=BENCH.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        status, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-5:]
    except subprocess.TimeoutExpired:
        status, tail = -1, [f"timed out after {timeout} s"]
    return {"exit_status": status, "seconds": round(time.perf_counter() - t0, 1), "tail": tail}


def collect(runs: dict[str, dict[str, object]]) -> dict[str, object]:
    """Every results file, with the run record of the script that writes it when there is one."""
    summary: dict[str, object] = {
        "collected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "results": {},
    }
    results: dict[str, object] = {}
    for path in sorted(RESULTS.glob("*.json")):
        if path.name == "summary.json":
            continue
        try:
            results[path.stem] = json.loads(path.read_text())
        except ValueError as exc:
            results[path.stem] = {"unreadable": str(exc)}
    summary["results"] = results
    summary["runs"] = runs
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="Comma-separated short names (scale, ...).")
    parser.add_argument("--skip", default="", help="Comma-separated short names to leave out.")
    parser.add_argument("--timeout", type=float, default=None, help="Seconds per script.")
    parser.add_argument("--collect-only", action="store_true")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    runs: dict[str, dict[str, object]] = {}
    if not args.collect_only:
        for script in scripts(only, skip):
            print(f"running {script.name} ...", flush=True)
            runs[script.stem] = run(script, args.timeout)
            print(f"  exit {runs[script.stem]['exit_status']} in {runs[script.stem]['seconds']} s")
    out = RESULTS / "summary.json"
    out.write_text(json.dumps(collect(runs), indent=2) + "\n")
    print(f"summary: {out}")
    failed = [name for name, r in runs.items() if r["exit_status"] != 0]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
