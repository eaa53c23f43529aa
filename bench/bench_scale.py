"""Benchmark: the whole pipeline from 1k to 1M users, embedded (Polars chunks) and on Spark.

    python bench/bench_scale.py                       # embedded 10k,100k,1M; spark 100k; naive 1k,10k
    python bench/bench_scale.py --embedded 10000 --spark 0 --naive 1000

Ledgers are built once under --cache: the generator writes a --source-users population as
Plaid-named Parquet parts (10k users each); ``spendsense.spark.convert`` maps them to a
canonical ledger part by part. Sizes above --source-users repeat the population with
re-keyed ids (1M = 10 copies of 100k). Each measurement runs in a child process, so its
peak RSS (ru_maxrss) is its own. Results merge into bench/results/scale.json; the plot
goes to docs/scaling.png.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from spendsense.allocator import keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scale.json"
PLOT = ROOT / "docs" / "scaling.png"
DOC = ROOT / "docs" / "performance.md"
TABLE_START = (
    "<!-- scale table: written by `python bench/bench_scale.py --write-doc`; do not edit -->"
)
TABLE_END = "<!-- end of scale table -->"
PART_USERS = 10_000
COMPUTED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def ensure_ledger(n: int, cache: Path, source_users: int, seed: int) -> Path:
    """A canonical ledger of ``n`` users (multiple of 10k) under ``cache``, built once."""
    from spendsense.spark.convert import convert_synth
    from spendsense.synth import generate_population

    folder = cache / f"ledger-{label(n)}"
    if (folder / "users").is_dir():
        return folder
    source = cache / f"synth-{label(source_users)}"
    if not (source / "parquet" / "users").is_dir():
        print(f"generating {source_users} users into {source}", flush=True)
        generate_population(source_users, seed, source, fmt="parquet")
    if n <= source_users:
        convert_synth(source, folder, max_parts=-(-n // PART_USERS))
    else:
        convert_synth(source, folder, copies=n // source_users, log=print)
    return folder


def ledger_rows(ledger: Path) -> tuple[int, int]:
    from spendsense.store.ledger_dir import read_ledger_dir

    frames = read_ledger_dir(ledger)
    users = frames["users"].select(pl.len()).collect().item()
    txns = frames["transactions"].select(pl.len()).collect().item()
    return users, txns


def child_embedded(ledger: Path, chunk_users: int) -> dict[str, object]:
    """One embedded run over a Parquet ledger (outputs to a scratch folder)."""
    from spendsense.config import Settings
    from spendsense.pipeline import run_pipeline_parquet

    users, txns = ledger_rows(ledger)
    with tempfile.TemporaryDirectory(prefix="spendsense-scale-") as out:
        settings = Settings(data_dir=Path(out), chunk_users=chunk_users)
        t0 = time.perf_counter()
        summary = run_pipeline_parquet(settings, ledger, computed_at=COMPUTED_AT, log=print)
        seconds = time.perf_counter() - t0
        out_mb = sum(p.stat().st_size for p in Path(out).rglob("*.parquet")) / 2**20
    return {
        "users": users,
        "consented_users": summary.users,
        "transactions": txns,
        "seconds": round(seconds, 1),
        "stages_s": {k: round(v, 1) for k, v in summary.timings.items()},
        "chunk_users": chunk_users,
        "peak_rss_mb": peak_rss_mb(),
        "outputs_mb": round(out_mb, 1),
    }


def child_spark(ledger: Path, chunk_users: int, master: str, memory: str) -> dict[str, object]:
    """One Spark local-mode run over a Parquet ledger."""
    from spendsense.config import Settings
    from spendsense.spark.engine import run_spark, spark_session

    users, txns = ledger_rows(ledger)
    t0 = time.perf_counter()
    spark = spark_session(master, memory=memory)
    spark.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="spendsense-spark-") as out:
        t1 = time.perf_counter()
        settings = Settings(chunk_users=chunk_users)
        result = run_spark(spark, str(ledger), out, settings, COMPUTED_AT)
        seconds = time.perf_counter() - t1
    spark.stop()
    return {
        "users": users,
        "consented_users": result.users,
        "transactions": txns,
        "seconds": round(seconds, 1),
        "session_start_s": round(start, 1),
        "partitions": result.partitions,
        "master": master,
        "driver_memory": memory,
        "chunk_users": chunk_users,
    }


def child_naive(ledger: Path, n: int) -> dict[str, object]:
    """The per-user Python reference vs compute_features vs the whole chunk function."""
    sys.path.insert(0, str(ROOT / "bench"))
    from naive_signals import run as naive_run

    from spendsense.config import Settings
    from spendsense.signals import SignalsConfig, compute_features
    from spendsense.stages import compute_stages, default_as_of, slice_users
    from spendsense.store.ledger_dir import granted_users, read_ledger_dir

    lazy = read_ledger_dir(ledger)
    as_of: date = default_as_of(lazy)
    ids = granted_users(lazy)[:n]
    frames = slice_users(lazy, ids)
    t0 = time.perf_counter()
    naive_run(frames, as_of)
    naive = time.perf_counter() - t0
    t1 = time.perf_counter()
    compute_features(frames, as_of, SignalsConfig())
    features = time.perf_counter() - t1
    timings: dict[str, float] = {}
    t2 = time.perf_counter()
    compute_stages(frames, as_of, Settings(), COMPUTED_AT, None, timings)
    whole = time.perf_counter() - t2
    return {
        "users": len(ids),
        "transactions": frames["transactions"].height,
        "naive_signals_s": round(naive, 2),
        "compute_features_s": round(features, 2),
        "whole_pipeline_s": round(whole, 2),
        "speedup_signals": round(naive / features, 1),
        "note": "naive covers streams, spend, pay gaps and daily balances only",
    }


def run_child(args: list[str]) -> dict[str, object]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result.

    The child's CPU seconds (user + system, every thread) and the 1-minute load average
    before and after are recorded beside it: on a shared machine wall time alone misleads.
    """
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ)
    keep_freed_memory(env)  # as `spendsense run` does, before the child loads Polars
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["cpu_s"] = round(cpu, 1)
    result["load_average_1m_before"] = round(load_before, 1)
    result["load_average_1m"] = round(os.getloadavg()[0], 1)
    return result


def machine() -> dict[str, object]:
    """bench_ingest's machine description, with the Spark and Java versions."""
    from bench_ingest import machine as base

    info = base()
    try:
        import pyspark

        info["pyspark"] = pyspark.__version__
    except ImportError:
        info["pyspark"] = None
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    info["java"] = (java.stderr or java.stdout).splitlines()[0] if java.returncode == 0 else None
    return info


def plot(data: dict[str, dict[str, dict[str, object]]], path: Path) -> None:
    """Seconds against users, log-log, one line per engine."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = {
        "embedded (Polars, user chunks)": ("embedded", "seconds"),
        "Spark local[2] (mapInArrow)": ("spark", "seconds"),
        "naive per-user signals only": ("naive", "naive_signals_s"),
        "whole-table signals only": ("naive", "compute_features_s"),
    }
    for name, (kind, key) in series.items():
        points = sorted(
            (int(n), float(r[key]))  # type: ignore[arg-type]
            for n, r in data.get(kind, {}).items()
            if isinstance(r.get(key), int | float)
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("users")
    ax.set_ylabel("seconds (wall, contended 2-core machine)")
    ax.set_title("SpendSense pipeline: time against population size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _load(r: dict[str, object]) -> str:
    """The 1-minute load average around a measurement: ``before-after``, or after only."""
    after = r.get("load_average_1m")
    before = r.get("load_average_1m_before")
    if after is None:
        return "-"
    return f"{before}-{after}" if before is not None else f"{after}"


def markdown_table(data: dict[str, dict[str, dict[str, object]]]) -> str:
    """The results as the Markdown tables in docs/performance.md (between the markers)."""
    lines = [
        "| engine | users | transactions | chunk | wall s | CPU s | users/s | peak RSS | signals "
        "| personas | recommendations | read + write | load (1 min) | measured |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for kind in ("embedded", "spark"):
        for n, r in sorted(data.get(kind, {}).items(), key=lambda kv: int(kv[0])):
            if "seconds" not in r:
                continue
            secs = float(r["seconds"])  # type: ignore[arg-type]
            st: dict[str, float] = r.get("stages_s", {})  # type: ignore[assignment]
            share = {k: f"{100 * v / secs:.0f}%" for k, v in st.items()}
            io = sum(st.get(k, 0.0) for k in ("load ledger", "read chunk", "write"))
            rss = f"{float(r['peak_rss_mb']) / 1024:.1f} GB" if "peak_rss_mb" in r else "n/a"  # type: ignore[arg-type]
            cpu = f"{float(r['cpu_s']):,.0f}" if "cpu_s" in r else "-"  # type: ignore[arg-type]
            chunk = f"{int(r['chunk_users']):,}" if "chunk_users" in r else "-"  # type: ignore[call-overload]
            lines.append(
                f"| {kind} | {int(n):,} | {int(r['transactions']):,} | {chunk} | {secs:,.0f} "  # type: ignore[call-overload]
                f"| {cpu} | {int(n) / secs:,.0f} | {rss} | {share.get('signals', '-')} "
                f"| {share.get('personas', '-')} | {share.get('recommendations', '-')} "
                f"| {f'{100 * io / secs:.0f}%' if st else '-'} | {_load(r)} "
                f"| {str(r.get('measured_at', '-'))[:10]} |"
            )
    lines += [
        "",
        "| reference (same users, same ledger) | users | transactions | naive per-user signals s "
        "| whole-table signals s | speed-up | whole pipeline s | load (1 min) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for _, r in sorted(data.get("naive", {}).items(), key=lambda kv: int(kv[0])):
        if "naive_signals_s" in r:
            lines.append(
                f"| bench/naive_signals.py | {int(r['users']):,} | {int(r['transactions']):,} "  # type: ignore[call-overload]
                f"| {r['naive_signals_s']} | {r['compute_features_s']} "
                f"| {r['speedup_signals']}x | {r['whole_pipeline_s']} | {_load(r)} |"
            )
    return "\n".join(lines)


def doc_with_table(doc: str, data: dict[str, dict[str, dict[str, object]]]) -> str:
    """``doc`` with the text between the table markers replaced by :func:`markdown_table`."""
    head, found, rest = doc.partition(TABLE_START)
    _, found_end, tail = rest.partition(TABLE_END)
    if not (found and found_end):
        raise SystemExit(f"{DOC}: the scale table markers are missing")
    return f"{head}{TABLE_START}\n{markdown_table(data)}\n{TABLE_END}{tail}"


def sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip() and int(s) > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedded", type=sizes, default=sizes("10000,100000,1000000"))
    parser.add_argument("--spark", type=sizes, default=sizes("100000"))
    parser.add_argument("--naive", type=sizes, default=sizes("1000,10000"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/spendsense-bench/scale"))
    parser.add_argument("--source-users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-users", type=int, default=50_000)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-memory", default="6g")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=["embedded", "spark", "naive"], default=None)
    parser.add_argument("--ledger", type=Path, default=None)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--table", action="store_true", help="Print the results table and stop.")
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help="Rewrite the table in docs/performance.md and stop.",
    )
    args = parser.parse_args()
    if args.table:
        print(markdown_table(json.loads(args.out.read_text())))
        return
    if args.write_doc:
        DOC.write_text(doc_with_table(DOC.read_text(), json.loads(args.out.read_text())))
        return
    if args.child == "embedded":
        print(json.dumps(child_embedded(args.ledger, args.chunk_users)))
        return
    if args.child == "spark":
        out = child_spark(args.ledger, args.chunk_users, args.spark_master, args.spark_memory)
        print(json.dumps(out))
        return
    if args.child == "naive":
        print(json.dumps(child_naive(args.ledger, args.users)))
        return
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data["machine"] = machine()
    common = ["--chunk-users", str(args.chunk_users)]
    plan = [
        *[("embedded", n) for n in args.embedded],
        *[("spark", n) for n in args.spark],
        *[("naive", n) for n in args.naive],
    ]
    for kind, n in plan:
        ledger_n = max(n, PART_USERS) if kind == "naive" else n
        ledger = ensure_ledger(ledger_n, args.cache, args.source_users, args.seed)
        extra = ["--spark-master", args.spark_master, "--spark-memory", args.spark_memory]
        child = ["--child", kind, "--ledger", str(ledger), "--users", str(n), *common, *extra]
        print(f"{kind} {n} users ...", flush=True)
        result = run_child(child)
        result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(json.dumps(result), flush=True)
        data.setdefault(kind, {})[str(n)] = result
        args.out.write_text(json.dumps(data, indent=2) + "\n")
    plot(data, PLOT)
    DOC.write_text(doc_with_table(DOC.read_text(), data))


if __name__ == "__main__":
    main()
