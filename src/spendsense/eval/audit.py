"""Auditability and guardrails, re-checked from the stored rows (not by the code that made them)."""

from __future__ import annotations

from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share

AUDIT_TARGET: Final = 1.0
DISCLOSURE_TEXT: Final = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)
# Each requirement is met by any one of its top-level keys in the decision-trace JSON.
REQUIRED_TRACE_KEYS: Final[dict[str, tuple[str, ...]]] = {
    # what issue 5 asks every decision trace to carry; alternatives accepted per requirement
    "user": ("user_id",),
    "item": ("item.id", "item_id"),
    "personas": ("personas",),
    "signal_values": ("signal_values",),
    "rule": ("rule.id", "rule"),
    "eligibility": ("eligibility",),
    "tone": ("tone",),
    "rank_score": ("rank_score",),
    "catalog_version": ("catalog_version",),
    "config_version": ("config_version",),
    "time": ("generated_at",),
}


def _has_key(key: str) -> pl.Expr:
    """True when the trace JSON has a non-null top-level ``key`` (json_path_match: null if absent)."""
    return pl.col("trace").str.json_path_match(f"$.{key}").is_not_null()


def audit_table(recs: pl.DataFrame, traces: pl.DataFrame) -> pl.DataFrame:
    """Per recommendation: trace found, parses, has each required key, matches user and item."""
    joined = recs.select("recommendation_id", "user_id", "item_id", "trace_id").join(
        traces.select(
            "trace_id",
            "trace",
            pl.col("user_id").alias("trace_user"),
            pl.col("item_id").alias("trace_item"),
        ),
        on="trace_id",
        how="left",
    )
    parses = pl.col("trace").str.json_path_match("$").is_not_null() & pl.col(
        "trace"
    ).str.strip_chars().str.starts_with("{")
    return (
        joined.with_columns(
            trace_found=pl.col("trace").is_not_null(),
            trace_parses=parses.fill_null(False),
            **{
                f"key_{req}": pl.any_horizontal([_has_key(k) for k in keys]).fill_null(False)
                for req, keys in REQUIRED_TRACE_KEYS.items()
            },
            ids_match=(
                (pl.col("trace_user") == pl.col("user_id"))
                & (pl.col("trace_item") == pl.col("item_id"))
            ).fill_null(False),
        )
        .with_columns(
            complete=pl.all_horizontal(
                "trace_found",
                "trace_parses",
                "ids_match",
                *[f"key_{req}" for req in REQUIRED_TRACE_KEYS],
            )
        )
        .drop("trace")
    )


def auditability(recs: pl.DataFrame, traces: pl.DataFrame) -> tuple[list[Metric], pl.DataFrame]:
    """Share of recommendations with a complete decision trace."""
    table = audit_table(recs, traces)
    n = table.height
    missing = [
        f"{c.removeprefix('key_')}: {n - int(table[c].sum())}"
        for c in table.columns
        if c.startswith("key_") and n and int(table[c].sum()) < n
    ]
    out = [
        metric("auditability", "complete_decision_trace", share(int(table["complete"].sum()), n),
               target=AUDIT_TARGET, op=">=", unit="%", n=n,
               note="trace row exists, parses, names the same user and item, has the required keys"
               + (f"; missing {', '.join(missing)}" if missing else "")),
        metric("auditability", "trace_missing", float(n - int(table["trace_found"].sum())) if n else 0.0, n=n),
    ]  # fmt: skip
    return out, table


def _age_floor() -> pl.Expr:
    return pl.col("age_band").cast(pl.String).str.extract(r"^\s*(\d+)").cast(pl.Int64)


def offer_recheck(
    recs: pl.DataFrame,
    catalog: pl.DataFrame,
    features: dict[str, pl.DataFrame],
    users: pl.DataFrame,
) -> pl.DataFrame:
    """Each stored offer with its catalog rules re-applied to the user's stored features."""
    keys = ["user_id", "window_days"]

    def feat(table: str, *cols: str) -> pl.DataFrame:
        frame = features.get(table)
        if frame is None:
            return pl.DataFrame(schema={"user_id": pl.String, "window_days": pl.Int64})
        return frame.select("user_id", pl.col("window_days").cast(pl.Int64), *cols).unique(keys)

    offers = (
        recs.filter(pl.col("kind") == "offer")
        .select("recommendation_id", "user_id", pl.col("window_days").cast(pl.Int64), "item_id", "trace_id")
        .join(catalog.filter(pl.col("kind") == "offer").drop("kind"), on="item_id", how="left")
        .join(feat("income", "avg_monthly_income"), on=keys, how="left")
        .join(feat("credit", "max_utilization", "is_overdue", "card_count"), on=keys, how="left")
        .join(feat("savings", "has_savings_account"), on=keys, how="left")
        .join(users.select("user_id", "age_band"), on="user_id", how="left")
    )  # fmt: skip
    fails = {
        "not_in_catalog": pl.col("category").is_null(),
        "min_monthly_income": pl.col("elig_min_monthly_income").is_not_null()
        & ~(pl.col("avg_monthly_income") >= pl.col("elig_min_monthly_income")).fill_null(False),
        "max_utilization": (pl.col("max_utilization") > pl.col("elig_max_utilization")).fill_null(False),
        "no_overdue": pl.col("elig_no_overdue").fill_null(False) & pl.col("is_overdue").fill_null(False),
        "has_savings_account": pl.col("elig_exclude_savings_account").fill_null(False)
        & pl.col("has_savings_account").fill_null(False),
        "has_credit_card": pl.col("elig_exclude_credit_card").fill_null(False)
        & (pl.col("card_count").fill_null(0) > 0),
        "min_age": pl.col("elig_min_age").is_not_null()
        & ~(_age_floor() >= pl.col("elig_min_age")).fill_null(False),
    }  # fmt: skip
    failed = pl.concat_list(
        [
            pl.when(e).then(pl.lit(name)).otherwise(pl.lit(None, pl.String))
            for name, e in fails.items()
        ]
    ).list.drop_nulls()
    return offers.with_columns(failed=failed).with_columns(
        ineligible=pl.col("failed").list.len() > 0
    )


def consent_violations(
    recs: pl.DataFrame, users: pl.DataFrame, consents: pl.DataFrame
) -> pl.DataFrame:
    """Recommendations held for users without consent (delivered ones kept after a later revoke excepted)."""
    ever_granted = consents.filter(pl.col("status") == "granted").select("user_id").unique()
    return (
        recs.join(users.select("user_id", "consent_status"), on="user_id", how="left")
        .join(ever_granted.with_columns(had_grant=pl.lit(True)), on="user_id", how="left")
        .filter(
            (pl.col("consent_status") != "granted").fill_null(True)
            & ~((pl.col("status") == "delivered") & pl.col("had_grant").fill_null(False))
        )
    )


def guardrail_metrics(
    recs: pl.DataFrame,
    users: pl.DataFrame,
    consents: pl.DataFrame,
    catalog: pl.DataFrame,
    features: dict[str, pl.DataFrame],
) -> tuple[list[Metric], dict[str, pl.DataFrame]]:
    """Consent, eligibility, tone and disclosure violations: each must be 0."""
    from spendsense.guardrails.tone import tone_violations_expr

    tone = (
        recs.with_columns(shown=pl.concat_str([pl.col("title"), pl.col("rationale")], separator=" | "))
        .with_columns(tone_violations_expr("shown").alias("violations"))
        .filter(pl.col("violations").list.len() > 0)
    )  # fmt: skip
    offers = offer_recheck(recs, catalog, features, users)
    details = {
        "consent": consent_violations(recs, users, consents),
        "ineligible_offers": offers.filter(pl.col("ineligible")),
        "tone": tone,
        "disclosure": recs.filter(pl.col("disclosure").fill_null("") != DISCLOSURE_TEXT),
    }
    notes = {
        "consent": "recommendations for users whose consent is not granted",
        "ineligible_offers": "offers failing their catalog rules re-applied to stored features",
        "tone": "titles/rationales flagged by guardrails.tone",
        "disclosure": "recommendations whose disclosure differs from the required text",
    }
    checked = {k: offers.height if k == "ineligible_offers" else recs.height for k in details}
    out = [  # nothing to check is "not tested" (value None), never a vacuous pass
        metric("guardrails", f"{k}_violations", float(v.height) if checked[k] else None,
               target=0, op="==", n=checked[k],
               note=notes[k] if checked[k] else f"not tested: no {'offers' if k == 'ineligible_offers' else 'recommendations'} stored")
        for k, v in details.items()
    ]  # fmt: skip
    return out, details
