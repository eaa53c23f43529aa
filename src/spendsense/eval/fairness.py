"""Fairness: persona and offer rates by demographic group, parity gaps and significance."""

from __future__ import annotations

import math
from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric
from spendsense.personas.metadata import persona_name

ATTRIBUTES: Final = ("age_band", "gender", "income_tier", "region")
FOUR_FIFTHS: Final = 0.8
MIN_GROUP: Final = 30
ALPHA: Final = 0.05
POWER: Final = 0.8
# z for a two-sided ALPHA plus z for POWER: the smallest gap a test of these sizes detects
DETECTABLE_Z: Final = 1.959964 + 0.841621
# What each persona's rule reads: the feature compared across groups when a persona rate differs.
PERSONA_DRIVER: Final[dict[int, tuple[str, str]]] = {
    1: ("credit", "max_utilization"),
    2: ("income", "median_pay_gap_days"),
    3: ("subscriptions", "monthly_recurring_spend"),
    4: ("savings", "net_inflow_monthly"),
    5: ("cash_flow", "pct_days_below_100"),
}
# Eligibility exclusion reasons, by what gates the offer.
REASON_CLASSES: Final[dict[str, str]] = {
    "income": "offers gated by a minimum income",
    "utilization": "offers gated by a maximum card utilization",
    "overdue": "offers withheld while a payment is overdue",
    "already has": "offers for products the user already has",
    "age": "offers gated by a minimum age",
}


def two_sided_p(z: float | None) -> float | None:
    """Two-sided p-value of a standard-normal z (math.erfc; no scipy)."""
    if z is None or math.isnan(z):
        return None
    return math.erfc(abs(z) / math.sqrt(2.0))


def outcomes(
    consented: pl.DataFrame, assignments: pl.DataFrame, recs: pl.DataFrame, window: int
) -> pl.DataFrame:
    """One row per consented user: demographics and 0/1 outcomes at ``window``."""
    a = assignments.filter(pl.col("window_days").cast(pl.Int64) == window)
    offered = (
        recs.filter((pl.col("kind") == "offer") & (pl.col("window_days").cast(pl.Int64) == window))
        .select("user_id")
        .unique()
        .with_columns(offer=pl.lit(1))
    )
    persona = pl.col("primary_persona_id").cast(pl.Int64)
    return (
        consented.select("user_id", *ATTRIBUTES)
        .join(a.select("user_id", "status", "primary_persona_id"), on="user_id", how="left")
        .join(offered, on="user_id", how="left")
        .select(
            "user_id",
            *[pl.col(c).cast(pl.String).fill_null("unknown") for c in ATTRIBUTES],
            pl.col("offer").fill_null(0).alias("offer"),
            (pl.col("status") == "ASSIGNED").fill_null(False).cast(pl.Int32).alias("assigned"),
            *[
                (persona == pid).fill_null(False).cast(pl.Int32).alias(f"persona_{pid}")
                for pid in PERSONA_DRIVER
            ],
        )
    )


def outcome_names(outcome: pl.Expr) -> pl.Expr:
    """Plain names for the outcome columns: "Subscription-Heavy", not "persona_3"."""

    names = {"offer": "offered a partner offer", "assigned": "any persona assigned"}
    names |= {f"persona_{pid}": persona_name(pid) for pid in PERSONA_DRIVER}
    return outcome.replace_strict(names, default=outcome, return_dtype=pl.String)


def untested_groups(rates: pl.DataFrame, outcome: str = "offer") -> list[str]:
    """The groups too small to test (n < MIN_GROUP), as "attribute=group (n=…)"."""
    small = rates.filter((pl.col("outcome") == outcome) & ~pl.col("tested"))
    return small.select(pl.format("{}={} (n={})", "attribute", "group", "n")).to_series().to_list()


def group_rates(table: pl.DataFrame) -> pl.DataFrame:
    """(attribute, group, outcome) with n, rate, ratio to the best group, z and p vs the rest."""
    outcome_cols = [c for c in table.columns if c not in ("user_id", *ATTRIBUTES)]
    long = table.unpivot(
        index=["user_id", *outcome_cols], on=list(ATTRIBUTES), variable_name="attribute",
        value_name="group",
    ).unpivot(index=["user_id", "attribute", "group"], on=outcome_cols, variable_name="outcome")  # fmt: skip
    by = ["attribute", "outcome"]
    rates = (
        long.group_by("attribute", "group", "outcome")
        .agg(n=pl.len(), x=pl.col("value").sum())
        .with_columns(rate=pl.col("x") / pl.col("n"))
        .with_columns(
            rest_n=pl.col("n").sum().over(by) - pl.col("n"),
            rest_x=pl.col("x").sum().over(by) - pl.col("x"),
            best=pl.col("rate").max().over(by),
        )
        .with_columns(
            rest_rate=pl.when(pl.col("rest_n") > 0).then(pl.col("rest_x") / pl.col("rest_n")),
            ratio=pl.when(pl.col("best") > 0).then(pl.col("rate") / pl.col("best")),
            pooled=pl.col("x").sum().over(by) / pl.col("n").sum().over(by),
        )
    )
    se = (
        pl.col("pooled") * (1 - pl.col("pooled")) * (1 / pl.col("n") + 1 / pl.col("rest_n"))
    ).sqrt()
    rates = rates.with_columns(
        z=pl.when((se > 0) & (pl.col("rest_n") > 0)).then(
            (pl.col("rate") - pl.col("rest_rate")) / se
        ),
        # the smallest rate gap (vs the rest) this test finds 80% of the time, at the worst-case
        # variance (p = 0.5): the pooled rate is often 0 or 1, which would promise any gap
        detectable_gap=pl.when(pl.col("rest_n") > 0).then(
            DETECTABLE_Z * 0.5 * (1 / pl.col("n") + 1 / pl.col("rest_n")).sqrt()
        ),
        tested=(pl.col("n") >= MIN_GROUP) & (pl.col("rest_n") > 0),
        outcome_name=outcome_names(pl.col("outcome")),
    ).sort("attribute", "outcome", "group")
    p = pl.Series("p_value", [two_sided_p(z) for z in rates["z"].to_list()], dtype=pl.Float64)
    return (
        rates.with_columns(p)
        .with_columns(
            below_four_fifths=(pl.col("ratio") < FOUR_FIFTHS).fill_null(False),
            reliable=(pl.col("n") >= MIN_GROUP) & (pl.col("p_value") < ALPHA).fill_null(False),
        )
        .with_columns(
            significant_violation=pl.col("below_four_fifths") & pl.col("reliable"),
        )
        .drop("pooled")
    )


def parity(rates: pl.DataFrame) -> pl.DataFrame:
    """Per attribute and outcome: demographic parity difference and four-fifths ratio."""
    return (
        rates.group_by("attribute", "outcome")
        .agg(
            groups=pl.len(),
            parity_difference=pl.col("rate").max() - pl.col("rate").min(),
            four_fifths_ratio=pl.when(pl.col("rate").max() > 0).then(
                pl.col("rate").min() / pl.col("rate").max()
            ),
            significant_violations=pl.col("significant_violation").sum(),
            small_groups=(pl.col("n") < MIN_GROUP).sum(),
        )
        .sort("attribute", "outcome")
    )


def likely_causes(
    rates: pl.DataFrame, table: pl.DataFrame, exclusions: pl.DataFrame,
    features: dict[str, pl.DataFrame], window: int,
) -> pl.DataFrame:  # fmt: skip
    """For each group below four-fifths: the exclusion reason or persona driver that differs most."""
    flagged = rates.filter(pl.col("below_four_fifths"))
    if flagged.height == 0:
        return flagged.with_columns(cause=pl.lit(None, pl.String))
    excl = exclusions.filter(pl.col("window_days").cast(pl.Int64) == window)
    reason_cls = pl.coalesce(
        [pl.when(pl.col("reason").str.to_lowercase().str.contains(k)).then(pl.lit(k)) for k in REASON_CLASSES]
    )  # fmt: skip
    per_user = excl.select("user_id", reason_cls.alias("cls")).drop_nulls().unique()
    demo = table.select("user_id", *ATTRIBUTES).unpivot(
        index="user_id", variable_name="attribute", value_name="group"
    )
    sizes = demo.group_by("attribute", "group").agg(n=pl.len())
    excl_rates = (
        demo.join(per_user, on="user_id")
        .group_by("attribute", "group", "cls")
        .agg(k=pl.len())
        .join(sizes, on=["attribute", "group"])
        .with_columns(share=pl.col("k") / pl.col("n"))
        .with_columns(
            excess=pl.col("share")
            - (pl.col("k").sum().over("attribute", "cls") - pl.col("k"))
            / pl.max_horizontal(pl.lit(table.height) - pl.col("n"), pl.lit(1))
        )
        .sort("excess", descending=True)
        .unique(["attribute", "group"], keep="first", maintain_order=True)
        .select("attribute", "group", "cls", "excess", "share")
    )
    drivers = []
    for pid, (fam, col) in PERSONA_DRIVER.items():
        frame = features.get(fam)
        if frame is None or col not in frame.columns:
            continue
        vals = frame.filter(pl.col("window_days").cast(pl.Int64) == window).select(
            "user_id", pl.col(col).cast(pl.Float64).alias("v")
        )
        drivers.append(
            demo.join(vals, on="user_id").group_by("attribute", "group").agg(g=pl.col("v").mean())
            .join(vals.select(all_=pl.col("v").mean()), how="cross")
            .with_columns(outcome=pl.lit(f"persona_{pid}"), feature=pl.lit(f"{fam}.{col}"))
        )  # fmt: skip
    out = flagged.join(excl_rates, on=["attribute", "group"], how="left")
    if drivers:
        out = out.join(pl.concat(drivers), on=["attribute", "group", "outcome"], how="left")
    else:
        out = out.with_columns(
            g=pl.lit(None, pl.Float64),
            all_=pl.lit(None, pl.Float64),
            feature=pl.lit(None, pl.String),
        )
    cls_text = pl.coalesce(
        [pl.when(pl.col("cls") == k).then(pl.lit(v)) for k, v in REASON_CLASSES.items()]
    )
    cause = (
        pl.when(pl.col("outcome") == "offer")
        .then(
            pl.when(pl.col("cls").is_not_null() & (pl.col("excess") > 0))
            .then(pl.format("{}: {}% of this group excluded vs {}% of everyone else", cls_text,
                            (pl.col("share") * 100).round(0), ((pl.col("share") - pl.col("excess")) * 100).round(0)))
            .otherwise(pl.lit("fewer offer-triggering signals in this group (no eligibility exclusion stands out)"))
        )
        .when(pl.col("feature").is_not_null())
        .then(pl.format("persona rule reads {}: group mean {} vs {} overall", pl.col("feature"),
                        pl.col("g").round(2), pl.col("all_").round(2)))
        .otherwise(pl.lit("group's financial features differ; no single driver identified"))
    )  # fmt: skip
    return (
        out.with_columns(cause=cause)
        .select(
            "attribute",
            "outcome",
            "outcome_name",
            "group",
            "n",
            "rate",
            "ratio",
            "p_value",
            "reliable",
            "cause",
        )
        .sort("attribute", "outcome", "group")
    )


def fairness_metrics(rates: pl.DataFrame, window: int) -> list[Metric]:
    """Significant four-fifths violations of the offer rate per attribute (target 0), plus gaps."""
    par = parity(rates)
    offers = rates.filter(pl.col("outcome") == "offer")
    measured = offers.height > 0 and int(offers["x"].sum()) > 0
    out = []
    for attr in ATTRIBUTES:
        row = par.filter((pl.col("attribute") == attr) & (pl.col("outcome") == "offer"))
        r = row.to_dicts()[0] if row.height else {}
        groups = offers.filter(pl.col("attribute") == attr)
        n = int(groups["n"].sum())
        tested = groups.filter(pl.col("tested"))
        violations = float(r.get("significant_violations", 0)) if measured else None
        if tested.height == 0:
            violations = None  # no group is big enough: not tested, never a vacuous pass
        gap = tested["detectable_gap"].min() if tested.height else None
        power = (
            f"; {tested.height} of {groups.height} groups tested (n >= {MIN_GROUP})"
            + (f", smallest detectable gap {float(gap) * 100:.0f} points" if gap is not None else "")  # type: ignore[arg-type]
            + (f"; not tested: {', '.join(untested_groups(groups))}" if tested.height < groups.height else "")
        )  # fmt: skip
        note = (
            f"groups with offer rate < {FOUR_FIFTHS} of the best group, n >= {MIN_GROUP} and "
            f"p < {ALPHA} ({window}d){power}"
            if measured
            else "no offers stored: not tested"
        )
        out += [
            metric("fairness", f"offer_significant_violations_{attr}", violations,
                   target=0, op="==", n=n, note=note),
            metric("fairness", f"offer_four_fifths_ratio_{attr}", r.get("four_fifths_ratio"), n=n,
                   note="lowest / highest group offer rate (all group sizes)"),
            metric("fairness", f"offer_parity_difference_{attr}", r.get("parity_difference"), unit="%", n=n),
        ]  # fmt: skip
    return out
