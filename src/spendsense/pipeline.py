"""Run modes: the whole population chunk by chunk, a Parquet ledger, one user on demand.

The chain itself is ``stages``; writing the outputs is ``store.writer``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from spendsense.config import Settings
from spendsense.errors import ConsentRequired
from spendsense.ledger.schema import TABLES
from spendsense.personas.confusion import confusion_matrix, render_confusion
from spendsense.signals.windows import TXN_CATEGORICAL
from spendsense.stages import (
    compute_stages,
    default_as_of,
    load_content,
    resolve_as_of,
    slice_users,
    tick,
    user_chunks,
)
from spendsense.store.chunked import ChunkedParquetWriter, named_tables
from spendsense.store.consents import consented_user_ids, granted_among, is_consented
from spendsense.store.db import connect
from spendsense.store.ledger import current_ledger, read_table
from spendsense.store.ledger_dir import granted_users, read_chunk, read_ledger_dir
from spendsense.store.outputs import FEATURES_DIR, StageOutputs
from spendsense.store.runs import newest_run_as_of, record_run
from spendsense.store.writer import write_outputs


@dataclass
class RunSummary:
    """What a run did, for the CLI and the logs."""

    as_of: date
    windows: list[int]
    users: int
    timings: dict[str, float]
    persona_counts: pl.DataFrame
    confusion: str | None = None

    def render(self) -> str:
        lines = [
            f"as of {self.as_of}, windows {self.windows}: {self.users} consented users processed"
        ]
        lines += [f"  {stage}: {secs:.2f} s" for stage, secs in self.timings.items()]
        lines.append(f"  total: {sum(self.timings.values()):.2f} s")
        if self.persona_counts.height:
            lines.append("primary persona by window:")
            lines += (
                self.persona_counts.select(
                    pl.format(
                        "  {}d  {} {}",
                        pl.col("window_days").cast(pl.String).str.pad_start(4),
                        pl.col("persona").str.pad_end(26),
                        pl.col("users"),
                    )
                )
                .to_series()
                .to_list()
            )
        if self.confusion:
            lines += [
                f"archetype -> primary persona ({max(self.windows)}-day window):",
                self.confusion,
            ]
        return "\n".join(lines)


def run_pipeline(
    settings: Settings,
    as_of: date | None = None,
    log: Callable[[str], object] = print,
    computed_at: datetime | None = None,
    *,
    force: bool = False,
) -> RunSummary:
    """Compute and store every stage for all consented users at ``as_of``.

    Every step is timed (``RunSummary.timings``), so that the steps add up to the run's time.
    ``force`` allows an ``as_of`` after the newest ledger date (see ``resolve_as_of``).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    conn = connect(settings.db_path)
    ledger = current_ledger(conn, settings.data_dir)
    as_of = resolve_as_of(as_of, default_as_of(ledger), force=force)
    consented = consented_user_ids(conn)
    clock = tick(timings, "load ledger", clock)
    computed_at = computed_at or datetime.now(UTC).replace(microsecond=0)
    parts: list[StageOutputs] = []
    catalog = load_content(settings)
    clock = tick(timings, "load catalog", clock)
    for chunk in user_chunks(consented, settings.chunk_users):
        part = slice_users(ledger, chunk)
        clock = tick(timings, "read chunk", clock)
        parts.append(compute_stages(part, as_of, settings, computed_at, catalog, timings))
        clock = time.perf_counter()
    outputs = _concat(parts)
    clock = tick(timings, "combine chunks", clock)
    written = write_outputs(
        conn, settings.data_dir / FEATURES_DIR, outputs, as_of, consented=consented
    )
    record_run(
        conn,
        as_of=as_of,
        windows=settings.windows,
        config_version=settings.version,
        computed_at=computed_at,
        users=len(written),
    )
    clock = tick(timings, "store (SQLite + Parquet)", clock)
    counts = persona_counts(outputs.assignments)
    summary = RunSummary(as_of, settings.windows, len(consented), timings, counts)
    summary.confusion = _confusion_report(settings, outputs.assignments)
    tick(timings, "persona counts + confusion report", clock)
    return summary


def run_pipeline_parquet(
    settings: Settings,
    ledger_path: Path,
    as_of: date | None = None,
    log: Callable[[str], object] = print,
    computed_at: datetime | None = None,
    *,
    force: bool = False,
) -> RunSummary:
    """Every stage over a canonical-schema Parquet ledger, chunk by chunk; outputs to Parquet only.

    Consent comes from the ledger's users table (``consent_status``) and, when the data
    folder has a database, from it too (it is the authority: a user must be granted in
    both); the files are renamed into place under its writer lock without users revoked
    meanwhile. Each chunk's outputs are appended to DIR/features/<table>.parquet as they are
    computed, so memory is bounded by one chunk (``Settings.chunk_users``). The files are
    replaced, not merged by as-of date.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ledger = read_ledger_dir(ledger_path)
    as_of = resolve_as_of(as_of, default_as_of(ledger), force=force)
    consented = granted_users(ledger)
    store = connect(settings.db_path) if settings.db_path.exists() else None
    if store is not None:
        granted = granted_among(store, consented)
        consented = [u for u in consented if u in granted]
    catalog = load_content(settings)
    timings["load ledger"] = time.perf_counter() - t0
    computed_at = computed_at or datetime.now(UTC).replace(microsecond=0)
    counts: list[pl.DataFrame] = []
    with ChunkedParquetWriter(settings.data_dir / FEATURES_DIR, store) as writer:
        for chunk in user_chunks(consented, settings.chunk_users):
            clock = time.perf_counter()
            # The text columns the signals group by arrive as Categorical (read_chunk).
            part = read_chunk(ledger_path, ledger, chunk, {"transactions": TXN_CATEGORICAL})
            clock = tick(timings, "read chunk", clock)
            # The Parquet contract has no traces: none are built (compute_stages, traces=).
            outputs = compute_stages(
                part, as_of, settings, computed_at, catalog, timings, traces=False
            )
            clock = time.perf_counter()
            writer.write(named_tables(outputs))
            counts.append(persona_counts(outputs.assignments))
            tick(timings, "write", clock)
    if store is not None:
        store.close()
    total = pl.concat(counts).group_by("window_days", "persona").agg(pl.col("users").sum())
    total = total.sort("window_days", "users", descending=[False, True])
    return RunSummary(as_of, settings.windows, len(consented), timings, total)


def _concat(parts: list[StageOutputs]) -> StageOutputs:
    features = {k: pl.concat([p.features[k] for p in parts]) for k in parts[0].features}
    assignments = pl.concat([p.assignments for p in parts])
    extra_keys = parts[0].extra.keys()
    extra = {k: pl.concat([p.extra[k] for p in parts]) for k in extra_keys}
    return StageOutputs(features, assignments, extra)


def persona_counts(assignments: pl.DataFrame) -> pl.DataFrame:
    """Users per primary persona (STABLE included) and window."""
    if assignments.height == 0:
        return pl.DataFrame(
            schema={"window_days": pl.Int32, "persona": pl.String, "users": pl.UInt32}
        )
    return (
        assignments.with_columns(persona=pl.coalesce("primary_persona_name", pl.col("status")))
        .group_by("window_days", "persona")
        .agg(users=pl.len())
        .sort("window_days", "users", descending=[False, True])
    )


def _confusion_report(settings: Settings, assignments: pl.DataFrame) -> str | None:
    """Archetype -> primary persona matrix when the generator's ground truth is at hand."""

    truth_path = _ground_truth(settings.data_dir)
    if truth_path is None or assignments.height == 0:
        return None
    truth = pl.read_parquet(truth_path)
    window = max(settings.windows)
    matrix = confusion_matrix(assignments, truth, window)
    report_dir = settings.data_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    matrix.write_csv(report_dir / f"persona_confusion_{window}d.csv")
    text = render_confusion(matrix)
    (report_dir / f"persona_confusion_{window}d.txt").write_text(text + "\n")
    return text


def _ground_truth(data_dir: Path) -> Path | None:
    path = data_dir / "raw" / "ground_truth" / "users.parquet"
    return path if path.exists() else None


def recompute_user(settings: Settings, user_id: str, as_of: date | None = None) -> StageOutputs:
    """Recompute one user on demand (the API path): same stage functions, read straight from SQLite."""

    conn = connect(settings.db_path)
    if not is_consented(conn, user_id):
        raise ConsentRequired(f"user {user_id!r} has not granted consent: nothing is computed")
    ledger = {t: read_table(conn, t, "WHERE user_id = ?", (user_id,)) for t in TABLES}
    as_of = (
        as_of or newest_run_as_of(conn) or default_as_of({k: v.lazy() for k, v in ledger.items()})
    )
    outputs = compute_stages(ledger, as_of, settings, datetime.now(UTC).replace(microsecond=0))
    write_outputs(conn, settings.data_dir / FEATURES_DIR, outputs, as_of, user_ids=[user_id])
    return outputs
