"""build_report: every metric from the stored outputs, then metrics.json/csv, charts, HTML, PDF, traces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from spendsense.config import Settings
from spendsense.eval import (
    accuracy,
    audit,
    coverage,
    explain,
    fairness,
    latency,
    relevance,
    sentences,
)
from spendsense.eval.export import write_traces
from spendsense.eval.load import Stored, load_stored
from spendsense.eval.render import render_outputs
from spendsense.eval.result import EvalResult, Metric

SAMPLE_ROWS = 10


def _rows(frame: pl.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (dates as text)."""
    frame = frame.head(limit) if limit else frame
    return frame.with_columns(pl.col(pl.Date, pl.Datetime).cast(pl.String)).to_dicts()


def persona_mix(table: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """Share of consented users per primary persona, STABLE and no assignment, per window."""
    names = assignments.select(
        "user_id", pl.col("window_days").cast(pl.Int64), "primary_persona_name"
    ).unique(["user_id", "window_days"])
    label = (
        pl.when(pl.col("status") == "ASSIGNED")
        .then(pl.col("primary_persona_name").fill_null("ASSIGNED (no name)"))
        .when(pl.col("status") == "STABLE")
        .then(pl.lit("STABLE"))
        .otherwise(pl.lit("no assignment"))
    )
    return (
        table.join(names, on=["user_id", "window_days"], how="left")
        .with_columns(persona=label)
        .group_by("window_days", "persona")
        .agg(users=pl.len())
        .with_columns(share=pl.col("users") / pl.col("users").sum().over("window_days"))
        .sort("window_days", "persona")
    )


def _windows(settings: Settings, stored: Stored) -> list[int]:
    seen = stored.assignments["window_days"].drop_nulls().unique().to_list()
    return sorted({int(w) for w in [*settings.windows, *seen]})


def compute_metrics(
    settings: Settings,
    stored: Stored,
    *,
    latency_sample: int = 20,
    catalog_root: Path | None = None,
) -> EvalResult:
    """Every metric and the detail tables behind them (no files written)."""
    windows = _windows(settings, stored)
    longest = max(windows)
    consented = stored.consented
    recs = stored.recommendations
    metrics: list[Metric] = []
    details: dict[str, Any] = {"windows": windows, "consented_users": consented.height}
    frames: dict[str, pl.DataFrame] = {}

    cov_table = coverage.coverage_table(consented, stored.assignments, stored.features, windows)
    cov_metrics, counts = coverage.coverage_metrics(cov_table, windows)
    metrics += cov_metrics
    frames["coverage_counts"] = counts
    details["coverage"] = {
        "by_window": _rows(counts),
        "behaviour_definitions": {b[0]: b[3] for b in coverage.BEHAVIOURS},
        "behaviour_rates": _rows(coverage.behaviour_rates(cov_table)),
        "min_behaviours": coverage.MIN_BEHAVIOURS,
    }
    frames["persona_mix"] = persona_mix(cov_table, stored.assignments)
    details["persona_mix"] = _rows(frames["persona_mix"])

    exp_metrics, per_rec = explain.explainability(recs, stored.features)
    metrics += exp_metrics
    details["explainability_failures"] = _rows(
        per_rec.filter(~pl.col("explained")).select("recommendation_id", "rationale"), SAMPLE_ROWS
    )

    catalog, catalog_note = relevance.load_catalog_frame(catalog_root)
    details["catalog"] = catalog_note
    fit_metrics, _ = relevance.persona_fit(recs, stored.assignments, catalog)
    metrics += fit_metrics
    agree_metrics, confusion = accuracy.archetype_agreement(
        stored.assignments, stored.truth_users, consented, windows
    )
    metrics += agree_metrics
    details["archetype_confusion"] = _rows(confusion)

    acc_metrics, by_cadence = accuracy.stream_accuracy(
        stored.features["recurring_streams"], stored.truth_streams, consented
    )
    metrics += acc_metrics
    details["recurring_by_cadence"] = _rows(by_cadence)

    ids = consented["user_id"].to_list()
    sample = latency.sample_users(ids, latency_sample) if latency_sample > 0 else []
    timings = latency.time_users(settings, sample, stored.as_of) if sample else pl.DataFrame(
        schema={"user_id": pl.String, "seconds": pl.Float64, "error": pl.String}
    )  # fmt: skip
    metrics += latency.latency_metrics(timings, stored.runs)
    frames["latency"] = timings
    details["latency_errors"] = _rows(timings.filter(pl.col("error").is_not_null()), SAMPLE_ROWS)

    audit_metrics, _ = audit.auditability(recs, stored.traces)
    metrics += audit_metrics
    details["required_trace_keys"] = {k: list(v) for k, v in audit.REQUIRED_TRACE_KEYS.items()}
    guard_metrics, violations = audit.guardrail_metrics(
        recs, stored.users, stored.consents, catalog, stored.features
    )
    metrics += guard_metrics
    details["guardrail_violations"] = {
        k: _rows(v.select([c for c in ("recommendation_id", "user_id", "item_id", "failed", "violations") if c in v.columns]), SAMPLE_ROWS)
        for k, v in violations.items()
    }  # fmt: skip

    sentence_metrics, sentence_details = sentences.sentence_metrics(settings, stored, catalog_root)
    metrics += sentence_metrics
    details["sentences"] = sentence_details

    table = fairness.outcomes(consented, stored.assignments, recs, longest)
    rates = fairness.group_rates(table)
    metrics += fairness.fairness_metrics(rates, longest)
    causes = fairness.likely_causes(rates, table, stored.exclusions, stored.features, longest)
    frames["fairness_rates"] = rates
    frames["fairness_causes"] = causes
    details["fairness"] = {
        "window_days": longest,
        "parity": _rows(fairness.parity(rates)),
        "groups": _rows(rates),
        "below_four_fifths": _rows(causes),
        "min_group": fairness.MIN_GROUP,
        "untested_groups": fairness.untested_groups(rates),
        "tested_groups": int(
            rates.filter((pl.col("outcome") == "offer") & pl.col("tested")).height
        ),
        "offer_groups": int(rates.filter(pl.col("outcome") == "offer").height),
    }
    as_of = stored.as_of.isoformat() if stored.as_of else None
    return EvalResult(as_of, metrics, details, notes=[*stored.notes, catalog_note], frames=frames)


def build_report(
    settings: Settings,
    *,
    latency_sample: int = 20,
    catalog_root: Path | None = None,
    pdf: bool = True,
) -> EvalResult:
    """Compute every metric and write DIR/report: metrics.json/csv, charts, report.html/pdf, traces/.

    Args:
        settings: the run's settings (``data_dir`` is read; nothing in it is modified).
        latency_sample: consented users timed through ``pipeline.recompute_user`` on a copy.
        catalog_root: the content folder (default: the catalog shipped with the package).
        pdf: also print report.pdf with headless chromium when it is installed.
    """
    stored = load_stored(settings.data_dir)
    result = compute_metrics(
        settings, stored, latency_sample=latency_sample, catalog_root=catalog_root
    )
    out = settings.data_dir / "report"
    count = write_traces(stored, out / "traces")
    result.files["traces"] = f"{out / 'traces'} ({count} users)"
    render_outputs(result, out, pdf=pdf)
    result.write(out)
    return result
