"""Re-derive every number in every rationale from the feature tables, independently of rendering."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from spendsense.personas.config import PersonaThresholds
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.fields import KEYS, build_view
from spendsense.recommend.rationale import parse_template, template_regex
from spendsense.recommend.triggers import threshold_values
from spendsense.text import shown_matches


def verify_rationales(
    recommendations: pl.DataFrame,
    features: Mapping[str, pl.DataFrame],
    catalog: Catalog,
    personas: PersonaThresholds | None = None,
) -> list[str]:
    """Mismatches between rationales and features (empty when every number checks out).

    Each rationale must match its item's template exactly outside the
    placeholders; each placeholder's text is parsed back to a number and compared
    with the feature value (or the configured threshold) within the format's rounding
    (text must be equal).
    """
    thresholds = threshold_values(personas or PersonaThresholds())
    problems: list[str] = []
    templates = dict(
        zip(catalog.frame["item_id"].to_list(), catalog.frame["template"].to_list(), strict=True)
    )
    unknown = recommendations.filter(~pl.col("item_id").is_in(list(templates)))
    problems += (
        unknown.select(
            pl.format("{} {}: unknown catalog item", pl.col("user_id"), pl.col("item_id"))
        )
        .to_series()
        .to_list()
    )
    empty_users = pl.DataFrame(schema={"user_id": pl.String, "age_band": pl.String})
    for (as_of,), recs in recommendations.partition_by("as_of_date", as_dict=True).items():
        population = recs.select(*KEYS).unique()
        view = build_view(features, population, empty_users, as_of=as_of, thresholds=thresholds)
        for (item_id,), part in recs.partition_by("item_id", as_dict=True).items():
            template = templates.get(str(item_id))
            if template is None:
                continue
            holders = parse_template(template)[1]
            fields = list(dict.fromkeys(h.field for h in holders))
            rows = (
                part.select(*KEYS, "rationale")
                .join(view.select(*KEYS, *fields), on=KEYS, how="left")
                .with_columns(
                    pl.col("rationale").str.extract_groups(template_regex(template)).alias("_g")
                )
            )
            label = pl.format(
                "{} window {} {}", pl.col("user_id"), pl.col("window_days"), pl.lit(item_id)
            )
            no_match = (
                rows.filter(pl.col("_g").struct.field("g0").is_null())
                if holders
                else rows.filter(pl.col("rationale") != template)
            )
            problems += (
                no_match.select(
                    pl.format(
                        "{}: rationale does not follow the template: {}", label, pl.col("rationale")
                    )
                )
                .to_series()
                .to_list()
            )
            matched = rows.join(no_match.select(KEYS), on=KEYS, how="anti")
            for i, holder in enumerate(holders):
                token = pl.col("_g").struct.field(f"g{i}")
                value = pl.col(holder.field)
                bad = matched.filter(~shown_matches(token, value, holder.fmt).fill_null(False))
                problems += (
                    bad.select(
                        pl.format(
                            "{}: shows {} for {} but the features give {}",
                            label,
                            token,
                            pl.lit(holder.field),
                            value.cast(pl.String).fill_null("null"),
                        )
                    )
                    .to_series()
                    .to_list()
                )
    return sorted(problems)
