"""Run the stages in order for the whole population, user chunk by user chunk, and store the outputs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from spendsense.config import Settings
from spendsense.errors import ConsentRequired, UserError
from spendsense.ledger.schema import TABLES
from spendsense.personas.assign import assign_personas
from spendsense.personas.confusion import confusion_matrix, render_confusion
from spendsense.recommend.catalog import CONTENT_DIR, Catalog, load_catalog
from spendsense.recommend.engine import recommend
from spendsense.signals.compute import compute_features
from spendsense.store.chunked import ChunkedParquetWriter, named_tables
from spendsense.store.consents import is_consented
from spendsense.store.db import connect, transaction
from spendsense.store.ledger import (
    LEDGER_DIR,
    export_parquet,
    ledger_version,
    read_ledger_parquet,
    read_table,
)
from spendsense.store.ledger_dir import granted_users, read_ledger_dir
from spendsense.store.outputs import FEATURES_DIR, StageOutputs, merge_parquet, replace_rows
from spendsense.store.personas import upsert_assignments
from spendsense.store.recommendations import store_recommendations
from spendsense.store.tables import FEATURES, PERSONA_ASSIGNMENTS, RECOMMENDATIONS


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


def load_ledger(settings: Settings) -> dict[str, pl.LazyFrame]:
    """The ledger's Parquet copies, re-exported first if SQLite moved on since the last export."""
    conn = connect(settings.db_path)
    version_file = settings.data_dir / LEDGER_DIR / "VERSION"
    current = ledger_version(conn)
    if not version_file.exists() or version_file.read_text().strip() != str(current):
        export_parquet(conn, settings.data_dir)
    return read_ledger_parquet(settings.data_dir)


def default_as_of(ledger: Mapping[str, pl.LazyFrame]) -> date:
    newest = ledger["transactions"].select(pl.col("date").max()).collect().item()
    if newest is None:
        raise UserError("the ledger has no transactions: run `spendsense ingest` first")
    return newest


def resolve_as_of(as_of: date | None, newest: date, *, force: bool = False) -> date:
    """The run's as-of date: the newest ledger date by default; a later one only when forced.

    A run past the end of the data sees empty windows (most users come out STABLE) and
    leaves a false transition in every persona history, so it is refused unless ``force``.
    """
    if as_of is None:
        return newest
    if as_of > newest and not force:
        raise UserError(
            f"--as-of {as_of} is after the newest transaction in the ledger ({newest}): the "
            "windows would be empty. Use a date up to the newest one, or --force to run anyway",
            field="as_of",
        )
    return as_of


def compute_stages(
    ledger: Mapping[str, pl.DataFrame | pl.LazyFrame],
    as_of: date,
    settings: Settings,
    computed_at: datetime,
    catalog: Catalog | None = None,
    timings: dict[str, float] | None = None,
) -> StageOutputs:
    """The pure chain for one chunk of users: signals -> personas -> recommendations.

    ``timings``, when given, accumulates seconds per stage (for the benchmarks).
    """

    clock = time.perf_counter()
    signals_cfg = settings.signals.model_copy(update={"windows": settings.windows})
    features = compute_features(ledger, as_of, signals_cfg)
    clock = _tick(timings, "signals", clock)
    assignments = assign_personas(features, settings.personas, computed_at)
    clock = _tick(timings, "personas", clock)
    users = ledger["users"]
    users_df = users.collect() if isinstance(users, pl.LazyFrame) else users
    result = recommend(
        features,
        assignments,
        users_df,
        catalog or load_content(settings),
        as_of=as_of,
        generated_at=computed_at,
        config_version=settings.version,
        config=settings.recommend,
        personas=settings.personas.thresholds,
    )
    _tick(timings, "recommendations", clock)
    extra = {
        "recommendations": result.recommendations,
        "traces": result.traces,
        "exclusions": result.exclusions,
        "shortfalls": result.shortfalls,
    }
    return StageOutputs(features=features, assignments=assignments, extra=extra)


def _tick(timings: dict[str, float] | None, stage: str, since: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - since
    return now


_CATALOGS: dict[tuple[object, ...], Catalog] = {}


def load_content(settings: Settings) -> Catalog:
    """The education and offer catalog (validated and tone-checked on load).

    Kept per process while its files are unchanged (path, size, mtime): the on-demand
    path recomputes one user per request, and loading plus planning the catalog would
    otherwise cost more than the user's own stages.
    """

    root = Path(settings.content_dir or CONTENT_DIR).resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    key = (str(root), *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _CATALOGS:
        _CATALOGS.clear()
        _CATALOGS[key] = load_catalog(root)
    return _CATALOGS[key]


def user_chunks(user_ids: list[str], size: int) -> list[list[str]]:
    """``user_ids`` cut into runs of at most ``size`` (one empty chunk when there are none)."""
    return [user_ids[i : i + size] for i in range(0, len(user_ids), size)] or [[]]


def slice_users(ledger: Mapping[str, pl.LazyFrame], user_ids: list[str]) -> dict[str, pl.DataFrame]:
    """The ledger rows of ``user_ids`` (one chunk), collected."""
    keep = pl.LazyFrame({"user_id": user_ids}, schema={"user_id": pl.String})
    # The range filter lets a scan of a user-sorted ledger skip row groups; the semi-join decides.
    span = (
        pl.col("user_id").is_between(pl.lit(min(user_ids)), pl.lit(max(user_ids)))
        if user_ids
        else pl.lit(True)
    )
    return {
        name: frame.filter(span).join(keep, on="user_id", how="semi").collect()
        for name, frame in ledger.items()
    }


def consented_users(settings: Settings) -> list[str]:
    """Users with granted consent, read from SQLite (authoritative, and changed outside ingest)."""
    rows = connect(settings.db_path).execute(
        "SELECT user_id FROM users WHERE consent_status = 'granted' ORDER BY user_id"
    )
    return [r[0] for r in rows]


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
    ledger = load_ledger(settings)
    as_of = resolve_as_of(as_of, default_as_of(ledger), force=force)
    consented = consented_users(settings)
    clock = _tick(timings, "load ledger", clock)
    computed_at = computed_at or datetime.now(UTC).replace(microsecond=0)
    parts: list[StageOutputs] = []
    catalog = load_content(settings)
    clock = _tick(timings, "load catalog", clock)
    for chunk in user_chunks(consented, settings.chunk_users):
        part = slice_users(ledger, chunk)
        clock = _tick(timings, "read chunk", clock)
        parts.append(compute_stages(part, as_of, settings, computed_at, catalog, timings))
        clock = time.perf_counter()
    outputs = _concat(parts)
    clock = _tick(timings, "combine chunks", clock)
    store_outputs(settings, outputs, as_of, consented=consented)
    record_run(settings, as_of, computed_at, len(consented))
    clock = _tick(timings, "store (SQLite + Parquet)", clock)
    counts = persona_counts(outputs.assignments)
    summary = RunSummary(as_of, settings.windows, len(consented), timings, counts)
    summary.confusion = _confusion_report(settings, outputs.assignments)
    _tick(timings, "persona counts + confusion report", clock)
    return summary


def record_run(settings: Settings, as_of: date, computed_at: datetime, users: int) -> None:
    """A pipeline_runs row in SQLite (what ``latest_as_of`` reads)."""
    conn = connect(settings.db_path)
    conn.execute(
        "INSERT OR REPLACE INTO pipeline_runs VALUES (?,?,?,?,?,?,?)",
        (
            computed_at.strftime("%Y%m%dT%H%M%S") + f"-{as_of.isoformat()}",
            as_of.isoformat(),
            ",".join(map(str, settings.windows)),
            settings.version,
            computed_at.isoformat(),
            datetime.now(UTC).isoformat(),
            users,
        ),
    )


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

    Consent comes from the ledger's users table (``consent_status``); each chunk's outputs
    are appended to DIR/features/<table>.parquet as they are computed, so memory is bounded
    by one chunk (``Settings.chunk_users``). The files are replaced, not merged by as-of date.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ledger = read_ledger_dir(ledger_path)
    as_of = resolve_as_of(as_of, default_as_of(ledger), force=force)
    consented = granted_users(ledger)
    catalog = load_content(settings)
    timings["load ledger"] = time.perf_counter() - t0
    computed_at = computed_at or datetime.now(UTC).replace(microsecond=0)
    counts: list[pl.DataFrame] = []
    with ChunkedParquetWriter(settings.data_dir / FEATURES_DIR) as writer:
        for chunk in user_chunks(consented, settings.chunk_users):
            clock = time.perf_counter()
            part = slice_users(ledger, chunk)
            clock = _tick(timings, "read chunk", clock)
            outputs = compute_stages(part, as_of, settings, computed_at, catalog, timings)
            clock = time.perf_counter()
            writer.write(named_tables(outputs))
            counts.append(persona_counts(outputs.assignments))
            _tick(timings, "write", clock)
    total = pl.concat(counts).group_by("window_days", "persona").agg(pl.col("users").sum())
    total = total.sort("window_days", "users", descending=[False, True])
    return RunSummary(as_of, settings.windows, len(consented), timings, total)


def _concat(parts: list[StageOutputs]) -> StageOutputs:
    features = {k: pl.concat([p.features[k] for p in parts]) for k in parts[0].features}
    assignments = pl.concat([p.assignments for p in parts])
    extra_keys = parts[0].extra.keys()
    extra = {k: pl.concat([p.extra[k] for p in parts]) for k in extra_keys}
    return StageOutputs(features, assignments, extra)


def store_outputs(
    settings: Settings,
    outputs: StageOutputs,
    as_of: date,
    user_ids: list[str] | None = None,
    consented: list[str] | None = None,
) -> None:
    """Write every output in one SQLite transaction, then the Parquet copies (atomic renames).

    ``consented`` (a full run's population) also drops everyone else's older Parquet rows.
    """

    conn = connect(settings.db_path)
    with transaction(conn):
        for name, frame in outputs.features.items():
            replace_rows(conn, FEATURES[name].name, frame, as_of=as_of, user_ids=user_ids)
        if user_ids is None:
            conn.execute(
                f"DELETE FROM {PERSONA_ASSIGNMENTS.name} WHERE as_of_date = ?", (as_of.isoformat(),)
            )
        upsert_assignments(conn, outputs.assignments)
        if "recommendations" in outputs.extra:
            store_recommendations(
                conn,
                outputs.extra["recommendations"],
                outputs.extra["traces"],
                outputs.extra["exclusions"],
                as_of=as_of,
                user_ids=user_ids,
            )
    features_dir = settings.data_dir / FEATURES_DIR
    copies = [(FEATURES[name], frame) for name, frame in outputs.features.items()]
    if "recommendations" in outputs.extra:
        copies.append((RECOMMENDATIONS, outputs.extra["recommendations"]))
    copies.append((PERSONA_ASSIGNMENTS, outputs.assignments))
    for table, frame in copies:
        merge_parquet(
            features_dir, table, frame, as_of=as_of, user_ids=user_ids, consented=consented
        )


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


def latest_as_of(settings: Settings) -> date | None:
    """The as-of date of the newest pipeline run, if any."""
    row = (
        connect(settings.db_path)
        .execute("SELECT as_of_date FROM pipeline_runs ORDER BY finished_at DESC LIMIT 1")
        .fetchone()
    )
    return date.fromisoformat(row[0]) if row else None


def recompute_user(settings: Settings, user_id: str, as_of: date | None = None) -> StageOutputs:
    """Recompute one user on demand (the API path): same stage functions, read straight from SQLite."""

    conn = connect(settings.db_path)
    if not is_consented(conn, user_id):
        raise ConsentRequired(f"user {user_id!r} has not granted consent: nothing is computed")
    ledger = {t: read_table(conn, t, "WHERE user_id = ?", (user_id,)) for t in TABLES}
    as_of = (
        as_of or latest_as_of(settings) or default_as_of({k: v.lazy() for k, v in ledger.items()})
    )
    outputs = compute_stages(ledger, as_of, settings, datetime.now(UTC).replace(microsecond=0))
    store_outputs(settings, outputs, as_of, user_ids=[user_id])
    return outputs
