"""The pipeline gates what it stores with guardrails.check.guardrail_check, the operator writes' check."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from recommend_builders import AS_OF, GENERATED, HIGH_UTIL, assignments_for, features_for, users_for

from spendsense.guardrails import check
from spendsense.recommend import engine
from spendsense.recommend.catalog import Catalog


def _run(catalog: Catalog) -> engine.RecommendationResult:
    users = {"hu": HIGH_UTIL, "plain": {}}
    return engine.recommend(
        features_for(users), assignments_for({"hu": (1, 3), "plain": (4, None)}),
        users_for(list(users)), catalog, as_of=AS_OF, generated_at=GENERATED,
        config_version="test",
    )  # fmt: skip


def test_everything_the_engine_stores_passes_the_gate(catalog: Catalog) -> None:
    result = _run(catalog)
    offers = result.recommendations.filter(pl.col("kind") == "offer")
    assert offers.height and offers["partner"].null_count() == 0
    assert offers["offer_disclosure"].null_count() == 0 and offers["offer_terms"].null_count() == 0
    view = pl.DataFrame(
        {"user_id": ["hu", "plain"], "window_days": [30, 30], "income.avg_monthly_income": [4000.0] * 2,
         "credit.max_utilization": [0.68, 0.12], "credit.is_overdue": [False] * 2,
         "savings.has_savings_account": [True] * 2, "credit.card_count": [1, 1],
         "user.age_band": ["25-34"] * 2},
    )  # fmt: skip
    gate = check.guardrail_check(result.recommendations, catalog.frame, view)
    assert gate["guardrails_passed"].all()
    for trace in result.traces["trace"]:
        assert (
            '"guardrails":{"checks":["catalog","tone","eligibility","disclosure"],"passed":true}'
            in trace
        )


def test_a_row_failing_the_gate_is_dropped_and_recorded(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.guardrail_check is check.guardrail_check
    plain = _run(catalog)
    calls: list[int] = []

    def failing_first(recs: pl.DataFrame, items: pl.DataFrame, view: pl.DataFrame) -> pl.DataFrame:
        out = check.guardrail_check(recs, items, view)
        calls.append(out.height)
        first = pl.int_range(pl.len()) == 0
        return out.with_columns(
            guardrails_passed=pl.when(first).then(False).otherwise(pl.col("guardrails_passed")),
            guardrail_reasons=pl.when(first)
            .then(pl.lit(["tone: test"]))
            .otherwise(pl.col("guardrail_reasons")),
        )

    monkeypatch.setattr(engine, "guardrail_check", failing_first)
    gated = _run(catalog)
    assert calls == [plain.recommendations.height]
    assert gated.recommendations.height == plain.recommendations.height - 1
    assert gated.traces.height == plain.traces.height - 1
    assert "tone: test" in gated.exclusions["reason"].to_list()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"item_id": "edu_nope"}, "catalog: item 'edu_nope' is not in the catalog"),
        ({"kind": "offer"}, "catalog: item 'edu_hysa_basics' is education, not offer"),
        ({"rationale": "You are so bad with money."}, "tone:"),
        ({"disclosure": "Trust us."}, "disclosure:"),
        ({"offer_disclosure": "An offer."}, "disclosure:"),
    ],
)
def test_each_check_names_its_failure(
    catalog: Catalog, change: dict[str, str], reason: str
) -> None:
    row = {"user_id": "u", "window_days": 30, "item_id": "edu_hysa_basics", "kind": "education",
           "title": "Savings", "rationale": "You have $800 saved.",
           "disclosure": check.DISCLOSURE, "offer_disclosure": None, "partner": None}  # fmt: skip
    view = pl.DataFrame(
        {"user_id": ["u"], "window_days": [30], "income.avg_monthly_income": [None],
         "credit.max_utilization": [None], "credit.is_overdue": [None],
         "savings.has_savings_account": [None], "credit.card_count": [None],
         "user.age_band": [None]},
        schema_overrides={"income.avg_monthly_income": pl.Float64, "credit.max_utilization": pl.Float64,
                          "credit.is_overdue": pl.Boolean, "savings.has_savings_account": pl.Boolean,
                          "credit.card_count": pl.Int32, "user.age_band": pl.String},
    )  # fmt: skip
    ok = check.guardrail_check(pl.DataFrame([row]), catalog.frame, view)
    assert ok["guardrails_passed"].to_list() == [True]
    bad = check.guardrail_check(
        pl.DataFrame([{**row, **change}], schema_overrides={"offer_disclosure": pl.String}),
        catalog.frame,
        view,
    )
    assert bad["guardrails_passed"].to_list() == [False]
    assert any(reason in r for r in bad["guardrail_reasons"][0])


def test_the_clear_rows_shortcut_gives_the_full_evaluation(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that pass everything get constant results; they must be what the full check says."""
    good = {"user_id": "u", "window_days": 30, "item_id": "edu_hysa_basics", "kind": "education",
            "title": "Savings", "rationale": "You have $800 saved.",
            "disclosure": check.DISCLOSURE, "offer_disclosure": None, "partner": None}  # fmt: skip
    changes: list[dict[str, object]] = [
        {}, {"item_id": "edu_nope"}, {}, {"kind": "offer"}, {"rationale": "You\u2019re so bad."},
        {"title": None}, {"rationale": None}, {"disclosure": "Trust us."}, {},
        {"offer_disclosure": "An offer."}, {"title": "Stop wasting money"}, {},
    ]  # fmt: skip
    recs = pl.DataFrame(
        [{**good, **change} for change in changes],
        schema_overrides={
            "window_days": pl.Int32,
            "offer_disclosure": pl.String,
            "partner": pl.String,
        },
    )
    view = pl.DataFrame(
        {"user_id": ["u"], "window_days": [30], "income.avg_monthly_income": [100.0],
         "credit.max_utilization": [0.9], "credit.is_overdue": [True],
         "savings.has_savings_account": [True], "credit.card_count": [2],
         "user.age_band": ["18-24"]},
        schema_overrides={"window_days": pl.Int32, "credit.card_count": pl.Int32},
    )  # fmt: skip
    offers = _run(catalog).recommendations.filter(pl.col("kind") == "offer")
    recs = pl.concat([recs, offers.select(recs.columns).with_columns(user_id=pl.lit("u"))])
    shortcut = check.guardrail_check(recs, catalog.frame, view)
    assert shortcut["guardrails_passed"].any() and not shortcut["guardrails_passed"].all()
    monkeypatch.setattr(check, "_clear", lambda: pl.lit(False))
    assert_frame_equal(shortcut, check.guardrail_check(recs, catalog.frame, view))
