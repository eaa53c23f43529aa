"""From generated Plaid bundles to stored recommendations, through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from spendsense.cli import main
from spendsense.config import Settings
from spendsense.stages import compute_stages, default_as_of
from spendsense.store.consents import consented_user_ids
from spendsense.store.db import connect
from spendsense.store.ledger import current_ledger

# The contract's wording (ARCHITECTURE.md), written out: not the constant the code uses.
GENERATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
CONTRACT_DISCLOSURE = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("e2e") / "data"
    main(["--data-dir", str(data), "generate", "--users", "60", "--seed", "11"])
    main(["--data-dir", str(data), "ingest", str(data / "raw" / "bundles")])
    main(["--data-dir", str(data), "run"])
    return data


def _q(data: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data / "spendsense.db") as conn:
        return conn.execute(sql).fetchall()


def test_every_consented_user_has_an_assignment_per_window(pipeline_dir: Path) -> None:
    consented = {
        r[0] for r in _q(pipeline_dir, "SELECT user_id FROM users WHERE consent_status='granted'")
    }
    others = {
        r[0] for r in _q(pipeline_dir, "SELECT user_id FROM users WHERE consent_status!='granted'")
    }
    assert consented and others
    rows = _q(pipeline_dir, "SELECT user_id, window_days, status FROM persona_assignments")
    assert {(u, w) for u, w, _ in rows} == {(u, w) for u in consented for w in (30, 180)}
    assert {s for _, _, s in rows} <= {"ASSIGNED", "STABLE"}
    assert not {u for u, _, _ in rows} & others
    assert not {r[0] for r in _q(pipeline_dir, "SELECT user_id FROM recommendations")} & others


def test_recommendation_counts_rationales_and_disclosure(pipeline_dir: Path) -> None:
    recs = pl.read_parquet(pipeline_dir / "features" / "recommendations.parquet")
    counts = (
        recs.group_by("user_id", "window_days", "kind")
        .len()
        .pivot(on="kind", index=["user_id", "window_days"], values="len")
    )
    assert counts["education"].min() >= 3 and counts["education"].max() <= 5  # type: ignore[operator]
    assert counts["offer"].max() <= 3  # type: ignore[operator]
    assert recs["disclosure"].unique().to_list() == [CONTRACT_DISCLOSURE]
    assert recs["rationale"].str.contains("because").all()
    # no repeats per user and window
    assert recs.select(pl.struct("user_id", "window_days", "item_id").is_unique().all()).item()


def test_every_recommendation_has_a_parseable_trace(pipeline_dir: Path) -> None:
    rows = _q(
        pipeline_dir,
        "SELECT r.item_id, t.trace FROM recommendations r LEFT JOIN decision_traces t USING (trace_id)",
    )
    assert rows
    for item_id, trace in rows:
        assert trace is not None
        body = json.loads(str(trace))
        assert body["item"]["id"] == item_id
        assert {
            "personas",
            "signal_values",
            "eligibility",
            "tone",
            "catalog_version",
        } <= body.keys()


def test_rerun_is_idempotent(pipeline_dir: Path) -> None:
    before = _q(pipeline_dir, "SELECT * FROM recommendations ORDER BY recommendation_id")
    personas = _q(
        pipeline_dir,
        "SELECT user_id, window_days, primary_persona_id, status FROM persona_assignments "
        "ORDER BY 1, 2",
    )
    main(["--data-dir", str(pipeline_dir), "run"])
    assert _q(pipeline_dir, "SELECT * FROM recommendations ORDER BY recommendation_id") == before
    assert (
        _q(
            pipeline_dir,
            "SELECT user_id, window_days, primary_persona_id, status FROM persona_assignments "
            "ORDER BY 1, 2",
        )
        == personas
    )


def test_revoking_consent_removes_undelivered_recommendations(pipeline_dir: Path) -> None:
    user = _q(pipeline_dir, "SELECT user_id FROM recommendations LIMIT 1")[0][0]
    main(["--data-dir", str(pipeline_dir), "consent", "revoke", str(user)])
    assert (
        _q(pipeline_dir, f"SELECT count(*) FROM recommendations WHERE user_id='{user}'")[0][0] == 0
    )
    assert (
        _q(pipeline_dir, f"SELECT count(*) FROM feature_credit WHERE user_id='{user}'")[0][0] == 0
    )
    history = _q(
        pipeline_dir,
        f"SELECT status, source FROM consents WHERE user_id='{user}' ORDER BY changed_at",
    )
    assert history[-1] == ("revoked", "cli")
    main(["--data-dir", str(pipeline_dir), "run"])
    assert (
        _q(pipeline_dir, f"SELECT count(*) FROM recommendations WHERE user_id='{user}'")[0][0] == 0
    )
    main(["--data-dir", str(pipeline_dir), "consent", "grant", str(user)])


def test_full_run_sweeps_rows_of_users_without_consent(pipeline_dir: Path) -> None:
    """A revoke whose Parquet rewrite was lost still disappears at the next full run."""
    path = pipeline_dir / "features" / "persona_assignments.parquet"
    frame = pl.read_parquet(path)
    outsider = _q(
        pipeline_dir, "SELECT user_id FROM users WHERE consent_status != 'granted' LIMIT 1"
    )[0][0]
    ghost = frame.head(1).with_columns(
        user_id=pl.lit(outsider), as_of_date=pl.col("as_of_date") - pl.duration(days=30)
    )
    pl.concat([frame, ghost]).write_parquet(path)
    main(["--data-dir", str(pipeline_dir), "run"])
    assert outsider not in pl.read_parquet(path)["user_id"].to_list()


def test_a_persona_threshold_in_the_run_configuration_reaches_recommendations(
    pipeline_dir: Path,
) -> None:
    """The run's stage chain hands the configured persona threshold to the recommend stage."""
    base = Settings(data_dir=pipeline_dir)
    conn = connect(base.db_path)
    ledger = current_ledger(conn, base.data_dir)
    as_of = default_as_of(ledger)
    frames = {name: frame.collect() for name, frame in ledger.items()}
    assert consented_user_ids(conn)

    def high_utilization(settings: Settings) -> tuple[int, int]:
        out = compute_stages(frames, as_of, settings, GENERATED_AT)
        util_met = "$.evaluations.persona_1.criteria.max_utilization.met"
        personas = (
            out.assignments["assignment_trace"].str.json_path_match(util_met) == "true"
        ).sum()
        traces = out.extra["traces"]["trace"].str.json_decode(infer_schema_length=None)
        signals = traces.struct.field("matched_signals").list.contains("high_utilization").sum()
        return int(personas), int(signals)

    strict = base.model_copy(deep=True)
    strict.personas.thresholds.persona_1.utilization_threshold = 1.5  # no card is that far over
    before, after = high_utilization(base), high_utilization(strict)
    assert before[0] > 0 and before[1] > 0
    assert after == (0, 0)
