"""Benchmark (issue 14): product ingest + run against a per-user reference, side by side.

For each size N, in one run: the generator's Plaid JSON bundles (``spendsense generate
--users N``, cached under ``--cache``), then

- product: ``spendsense ingest`` then ``spendsense run`` as CLI subprocesses into a fresh
  data folder;
- reference: ``bench/naive_bundles.py`` (parses every bundle with ``json`` and computes
  signals and a persona one user at a time) over the same files.

Each child is waited for with ``os.wait4``, so its wall time, CPU (user + sys: the cores it
used on average) and peak RSS are its own. The load average is recorded before and after
each child (the machine is shared). Results: ``bench/results/ingest.json``;
``--table`` prints the Markdown table of docs/performance.md from it.

    python bench/bench_ingest.py --users 5000,20000 [--cache /tmp/spendsense-bench/bundles]
    python bench/bench_ingest.py --table       # or --write-doc: into docs/performance.md

``--incremental K`` measures instead what follows a loaded ledger of N users: an ingest of
K of its bundles again (changed users: the Parquet copies follow by user), a revocation
with the copies brought up to date after it (what the next ``run`` does first), and a full
export of the copies for comparison (what each of the two cost before the copies followed
by user).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "ingest.json"
CLI = [sys.executable, "-m", "spendsense"]
TARGET_SPEEDUP = 4.0  # the issue's: product ingest + run at least 4x faster than the reference
TARGET_TX_PER_S = 150_000  # the ingest throughput
DOC = BENCH.parent / "docs" / "performance.md"
TABLE_START = (
    "<!-- ingest table: written by `python bench/bench_ingest.py --write-doc`; do not edit -->"
)
TABLE_END = "<!-- end of ingest table -->"
SAMPLE_S = 0.5  # how often a child's CPU time is sampled (for its busiest stretch)
WARM_UP_FILES = 50  # bundles ingested and run untimed first, so every child imports from bytecode
# children write and use bytecode caches as an installed package does (a shell may turn that off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + sys) a live process and its waited-for children have used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime


def measure(cmd: list[str], cwd: Path | None = None) -> dict[str, object]:
    """Run ``cmd``; its wall, CPU, cores used (CPU / wall, overall and in its busiest second)
    and peak RSS, the load average around it, and its last output line."""
    before = _load()
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT)
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_S):
                cpu = _cpu_s(proc.pid)
                if cpu is not None:
                    samples.append((time.perf_counter(), cpu))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{text[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    busiest = max(
        ((c2 - c1) / (t2 - t1) for (t1, c1), (t2, c2) in zip(samples, samples[2:], strict=False)),
        default=None,
    )
    return {
        "wall_s": round(wall, 2),
        "user_s": round(usage.ru_utime, 2),
        "sys_s": round(usage.ru_stime, 2),
        "cores_used": round(cpu / wall, 2),
        "cores_used_busiest_1s": round(busiest, 2) if busiest is not None else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_before": before,
        "load_after": _load(),
        "last_line": text.splitlines()[-1] if text else "",
    }


def bundles(n: int, cache: Path, seed: int) -> tuple[Path, dict[str, object] | None]:
    """The bundles folder of ``n`` users (generated once into ``cache``); the generation's
    measurement when it ran now."""
    folder = cache / f"{n}-seed{seed}"
    if (folder / "bundles").is_dir():
        return folder / "bundles", None
    tmp = cache / f".{n}-seed{seed}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        gen = measure(
            [
                *CLI,
                "--data-dir",
                data,
                "generate",
                "--users",
                str(n),
                "--seed",
                str(seed),
                "--out",
                str(tmp),
            ]
        )
    tmp.rename(folder)
    return folder / "bundles", gen


def side_by_side(
    n: int, cache: Path, seed: int, as_of: str, ingest_only: bool = False
) -> dict[str, object]:
    """One size: product ingest, product run, then the reference, on the same files
    (``ingest_only``: the ingest alone, for its memory at sizes the others take long at)."""
    folder, gen = bundles(n, cache, seed)
    files = sorted(folder.rglob("*.json"))
    row: dict[str, object] = {
        "users": n,
        "files": len(files),
        "input_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
    }
    if gen is not None:
        row["generate"] = gen
    warm_up(files[:WARM_UP_FILES], cache, as_of)
    data = Path(tempfile.mkdtemp(prefix="bench_ingest_", dir=cache))
    try:
        ingest = measure([*CLI, "--data-dir", str(data), "ingest", str(folder)])
        transactions = _count(data / "ledger" / "transactions.parquet")
        if ingest_only:
            return row | {
                "transactions": transactions,
                "ingest": ingest,
                "ingest_tx_per_s": round(transactions / float(ingest["wall_s"])),  # type: ignore[arg-type]
            }
        run = measure([*CLI, "--data-dir", str(data), "run", "--as-of", as_of])
    finally:
        shutil.rmtree(data, ignore_errors=True)
    reference = measure(
        [sys.executable, str(BENCH / "naive_bundles.py"), str(folder), "--as-of", as_of]
    )
    ref = json.loads(str(reference["last_line"]))
    product_s = float(ingest["wall_s"]) + float(run["wall_s"])  # type: ignore[arg-type]
    row |= {
        "transactions": transactions,
        "reference_transactions": ref["transactions"],
        "ingest": ingest,
        "run": run,
        "reference": reference,
        "product_s": round(product_s, 2),
        "speedup": round(float(reference["wall_s"]) / product_s, 2),  # type: ignore[arg-type]
        "ingest_tx_per_s": round(transactions / float(ingest["wall_s"])),  # type: ignore[arg-type]
    }
    return row


def warm_up(files: list[Path], cache: Path, as_of: str) -> None:
    """An untimed ingest, run and reference over a few bundles (bytecode caches, page cache)."""
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        few = Path(tmp) / "bundles"
        few.mkdir()
        for path in files:
            shutil.copy(path, few)
        data = Path(tmp) / "data"
        measure([*CLI, "--data-dir", str(data), "ingest", str(few)])
        measure([*CLI, "--data-dir", str(data), "run", "--as-of", as_of])
        measure([sys.executable, str(BENCH / "naive_bundles.py"), str(few), "--as-of", as_of])


def _commit() -> str | None:
    """The code measured: $BENCH_COMMIT (a snapshot outside git), else git's HEAD."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True, text=True
    )
    return out.stdout.strip() or None


def _count(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def machine() -> dict[str, object]:
    import polars as pl
    import pyarrow

    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def _cpu(child: dict[str, float]) -> float:
    return child["user_s"] + child["sys_s"]


def markdown_table(data: dict[str, object]) -> str:
    """The side-by-side results as the Markdown table in docs/performance.md."""
    lines = [
        "| code | users | transactions | ingest s (CPU s) | run s (CPU s) | product s "
        "| reference s (CPU s) | speed-up | ingest tx/s | ingest peak RSS "
        "| ingest cores used (busiest 1 s) | load before |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    found = [("before", r) for r in data.get("before", {}).values()]  # type: ignore[attr-defined]
    found += [("now", r) for r in data.get("side_by_side", {}).values()]  # type: ignore[attr-defined]
    for when, r in sorted(found, key=lambda kr: (kr[0] != "before", int(kr[1]["users"]))):
        ing, run, ref = r["ingest"], r["run"], r["reference"]
        code = f"{when} ({str(r.get('commit', '?')).split()[0]})"
        lines.append(
            f"| {code} | {r['users']:,} | {r['transactions']:,} "
            f"| {ing['wall_s']:.0f} ({_cpu(ing):.0f}) | {run['wall_s']:.0f} ({_cpu(run):.0f}) "
            f"| {r['product_s']:.0f} | {ref['wall_s']:.0f} ({_cpu(ref):.0f}) | {r['speedup']:.2f}x "
            f"| {r['ingest_tx_per_s']:,} | {ing['peak_rss_mb'] / 1024:.2f} GB "
            f"| {ing['cores_used']:.2f} ({ing['cores_used_busiest_1s']:.2f}) "
            f"| {ing['load_before'][0]:.1f} |"
        )
    lines += [
        "",
        "| ingest alone (now) | users | transactions | ingest s (CPU s) | tx/s | peak RSS | load before |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    sizes: dict[str, dict] = {**data.get("side_by_side", {}), **data.get("ingest_only", {})}  # type: ignore[dict-item]
    for _, r in sorted(sizes.items(), key=lambda kv: int(kv[0])):
        ing = r["ingest"]
        lines.append(
            f"| {str(r.get('commit', '?')).split()[0]} | {r['users']:,} | {r['transactions']:,} "
            f"| {ing['wall_s']:.0f} ({_cpu(ing):.0f}) | {r['ingest_tx_per_s']:,} "
            f"| {ing['peak_rss_mb'] / 1024:.2f} GB | {ing['load_before'][0]:.1f} |"
        )
    pairs: list[dict] = data.get("ab_same_load", [])  # type: ignore[assignment]
    if pairs:
        lines += [
            "",
            "| ingest alone, back to back | users | before s (CPU s) | now s (CPU s) "
            "| before / now | before RSS | now RSS | load before |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for pair in pairs:
            old, new = pair["before"]["ingest"], pair["now"]["ingest"]
            lines.append(
                f"| {pair['before']['commit']} -> {pair['now']['commit']} "
                f"| {pair['now']['users']:,} | {old['wall_s']:.0f} ({_cpu(old):.0f}) "
                f"| {new['wall_s']:.0f} ({_cpu(new):.0f}) | {old['wall_s'] / new['wall_s']:.1f}x "
                f"| {old['peak_rss_mb'] / 1024:.2f} GB | {new['peak_rss_mb'] / 1024:.2f} GB "
                f"| {old['load_before'][0]:.1f} / {new['load_before'][0]:.1f} |"
            )
    return "\n".join(lines)


COPIES = """
import sys
from pathlib import Path
from spendsense.store.db import connect
from spendsense.store.ledger import current_ledger, export_parquet
data = Path(sys.argv[2])
conn = connect(data / "spendsense.db")
if sys.argv[1] == "full":
    export_parquet(conn, data, full=True)
else:
    current_ledger(conn, data)
"""


def incremental(n: int, k: int, cache: Path, seed: int) -> dict[str, object]:
    """A ledger of ``n`` users loaded once (cached), then on a copy of it: ``k`` of its
    bundles ingested again, a revocation and the copies brought up to date, a full export."""
    files = sorted(bundles(n, cache, seed)[0].rglob("*.json"))
    loaded = cache / f"loaded-{n}-seed{seed}"
    if not (loaded / "spendsense.db").exists():
        shutil.rmtree(loaded, ignore_errors=True)
        measure([*CLI, "--data-dir", str(loaded), "ingest", str(files[0].parents[1])])
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(loaded, data)
        measure([sys.executable, "-c", COPIES, "full", str(data)])  # copies whole, marks none
        again = files[:: max(1, len(files) // k)][:k]
        ingest = measure([*CLI, "--data-dir", str(data), "ingest", *map(str, again)])
        revoke = measure([*CLI, "--data-dir", str(data), "consent", "revoke", again[0].stem])
        copies = measure([sys.executable, "-c", COPIES, "current", str(data)])
        full = measure([sys.executable, "-c", COPIES, "full", str(data)])
    return {
        "users": n,
        "bundles_again": len(again),
        "ingest": ingest,
        "revoke": revoke,
        "copies_after_revoke": copies,
        "full_export": full,
        "commit": _commit(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def incremental_table(data: dict[str, object]) -> str:
    rows: dict[str, dict] = data.get("incremental", {})  # type: ignore[assignment]
    if not rows:
        return ""
    lines = [
        "",
        "| loaded ledger (now) | users | bundles ingested again | ingest s (CPU s) "
        "| copies after a revocation s (CPU s) | full export s (CPU s) | load before |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for _, r in sorted(rows.items(), key=lambda kv: int(kv[0])):
        ing, cop, full = r["ingest"], r["copies_after_revoke"], r["full_export"]
        lines.append(
            f"| {str(r.get('commit', '?')).split()[0]} | {r['users']:,} | {r['bundles_again']:,} "
            f"| {ing['wall_s']:.1f} ({_cpu(ing):.1f}) | {cop['wall_s']:.1f} ({_cpu(cop):.1f}) "
            f"| {full['wall_s']:.1f} ({_cpu(full):.1f}) | {ing['load_before'][0]:.1f} |"
        )
    return "\n" + "\n".join(lines)  # after the ingest tables, a blank line between


def doc_with_table(doc: str, data: dict[str, object]) -> str:
    """``doc`` with the text between the ingest table markers replaced by ``markdown_table``."""
    head, found, rest = doc.partition(TABLE_START)
    _, found_end, tail = rest.partition(TABLE_END)
    if not (found and found_end):
        raise SystemExit(f"{DOC}: the ingest table markers are missing")
    table = markdown_table(data) + incremental_table(data)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="5000,20000", help="comma list of population sizes")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/spendsense-bench/bundles"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=None, help="default: the generator's as-of")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--ingest-only", action="store_true", help="Measure the ingest alone (memory at 100k)."
    )
    parser.add_argument(
        "--incremental",
        type=int,
        default=0,
        metavar="K",
        help="Measure K bundles ingested again into a loaded ledger, a revocation, a full export.",
    )
    parser.add_argument("--table", action="store_true", help="Print the results table and stop.")
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help="Rewrite the table in docs/performance.md and stop.",
    )
    args = parser.parse_args()
    if args.table:
        results = json.loads(args.out.read_text())
        print(markdown_table(results) + incremental_table(results))
        return
    if args.write_doc:
        DOC.write_text(doc_with_table(DOC.read_text(), json.loads(args.out.read_text())))
        return
    from spendsense.synth import DEFAULT_AS_OF

    as_of = args.as_of or DEFAULT_AS_OF.isoformat()
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data["machine"] = machine()
    data["targets"] = {"speedup": TARGET_SPEEDUP, "ingest_tx_per_s": TARGET_TX_PER_S}
    for n in (int(s) for s in args.users.split(",") if s.strip()):
        print(f"{n} users ...", flush=True)
        if args.incremental:
            row = incremental(n, args.incremental, args.cache, args.seed)
            kind = "incremental"
        else:
            row = side_by_side(n, args.cache, args.seed, as_of, args.ingest_only)
            kind = "ingest_only" if args.ingest_only else "side_by_side"
        print(json.dumps(row), flush=True)
        data.setdefault(kind, {})[str(n)] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
