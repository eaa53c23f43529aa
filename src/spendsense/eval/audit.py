"""Auditability and guardrails, re-checked from the stored rows (not by the code that made them)."""

from __future__ import annotations

from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share
from spendsense.guardrails.disclosure import missing_disclosure
from spendsense.guardrails.eligibility import CHECK_FIELDS, failed_check_ids
from spendsense.guardrails.tone import tone_violations_expr
from spendsense.signals.schema import FEATURE_TABLES

AUDIT_TARGET: Final = 1.0
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


def offer_recheck(
    recs: pl.DataFrame,
    catalog: pl.DataFrame,
    features: dict[str, pl.DataFrame],
    users: pl.DataFrame,
) -> pl.DataFrame:
    """Each stored offer with the guardrail's own checks re-applied to the user's stored features.

    ``catalog`` is the catalog frame (requirements as ``REQUIREMENT_COLUMNS``); the user's
    fields are joined under the names the checks read (``CHECK_FIELDS``).
    """
    keys = ["user_id", "window_days"]
    offers = (
        recs.filter(pl.col("kind") == "offer")
        .select("recommendation_id", "user_id", pl.col("window_days").cast(pl.Int64), "item_id", "trace_id")
        .join(catalog.filter(pl.col("kind") == "offer").drop("kind"), on="item_id", how="left")
    )  # fmt: skip
    for family in sorted({f.split(".")[0] for f in CHECK_FIELDS} - {"user"}):
        cols = [f.split(".", 1)[1] for f in CHECK_FIELDS if f.startswith(f"{family}.")]
        frame = features.get(family)
        table = (
            pl.DataFrame(
                schema={"user_id": pl.String, "window_days": pl.Int64}
                | {f"{family}.{c}": FEATURE_TABLES[family][c] for c in cols}
            )
            if frame is None
            else frame.select(
                "user_id",
                pl.col("window_days").cast(pl.Int64),
                *(pl.col(c).alias(f"{family}.{c}") for c in cols),
            ).unique(keys)
        )
        offers = offers.join(table, on=keys, how="left")
    offers = offers.join(
        users.select("user_id", pl.col("age_band").cast(pl.String).alias("user.age_band")),
        on="user_id",
        how="left",
    )
    in_catalog = pl.col("category").is_not_null()
    failed = pl.when(in_catalog).then(failed_check_ids()).otherwise(pl.lit(["not_in_catalog"]))
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
        "disclosure": missing_disclosure(recs),
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
