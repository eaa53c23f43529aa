"""The guardrail check: catalog membership, tone, eligibility and disclosure, in one function.

The pipeline runs :func:`guardrail_check` over every recommendation it is about to store
(a row that fails is dropped and recorded as an exclusion), and every operator write
(approve, override) runs it over the row it would write; a failing write is refused with
the reasons. The earlier pipeline stages filter with the same building blocks (the tone
expression, the eligibility checks), so the gate normally passes everything: it is the one
place that says what may reach a customer.
"""

from __future__ import annotations

import polars as pl

from spendsense.guardrails.disclosure import DISCLOSURE, offer_disclosure_expr
from spendsense.guardrails.eligibility import CHECK_FIELDS, REQUIREMENT_COLUMNS, eligibility_checks
from spendsense.guardrails.tone import tone_flagged_expr, tone_violations_expr

CHECKS = ("catalog", "tone", "eligibility", "disclosure")
"""The checks, in the order their results and reasons are reported."""
KEYS = ["user_id", "window_days"]
REC_FIELDS = ("item_id", "kind", "title", "rationale", "disclosure", "offer_disclosure", "partner")
"""What the check reads from each recommendation (besides user_id and window_days)."""
ITEM_FIELDS = ("item_id", "kind", "partner", *REQUIREMENT_COLUMNS)
"""What it reads from the catalog frame (``Catalog.frame``)."""
RESULT_COLUMNS = (
    *(f"{c}_ok" for c in CHECKS),
    "tone_violations",
    "eligibility_failed",
    "guardrail_reasons",
    "guardrails_passed",
)


def guardrail_check(recs: pl.DataFrame, items: pl.DataFrame, view: pl.DataFrame) -> pl.DataFrame:
    """One row of results per row of ``recs``, in the same order (see :data:`RESULT_COLUMNS`).

    Args:
        recs: ``user_id``, ``window_days`` and :data:`REC_FIELDS` of each recommendation.
        items: the catalog frame (:data:`ITEM_FIELDS`).
        view: the users' fields the eligibility rules read (``user_id``, ``window_days``
            and ``guardrails.eligibility.CHECK_FIELDS``), one row per user and window.

    Catalog: the item exists and is of the recommendation's kind. Tone: no shaming wording
    in the title or rationale. Eligibility: an offer passes every requirement of its catalog
    item for this user (education always does). Disclosure: the educational disclosure is
    exact, and an offer names its catalog partner and carries that partner's offer
    disclosure (education carries none).

    Every row is first looked at with booleans only (:func:`_clear`); the lists of fragments,
    failed checks and reasons are built (:func:`_evaluate`) only for the rows that fail
    something. A clear row's results are constants: each check passed, nothing listed.
    """
    catalog = items.select(
        "item_id",
        pl.col("kind").alias("_item_kind"),
        pl.col("partner").alias("_item_partner"),
        *[c for c in ITEM_FIELDS if c not in ("item_id", "kind", "partner")],
        pl.lit(True).alias("_in_catalog"),
    )
    user_fields = view.select(
        pl.col("user_id").cast(pl.String),
        pl.col("window_days").cast(pl.Int32),
        *[pl.col(c) for c in CHECK_FIELDS],
    ).unique(KEYS, keep="first")
    frame = (
        recs.lazy()
        .select(
            pl.col("user_id").cast(pl.String),
            pl.col("window_days").cast(pl.Int32),
            *[pl.col(c) for c in REC_FIELDS],
        )
        .with_row_index("_gi")
        .join(catalog.lazy(), on="item_id", how="left")
        .join(user_fields.lazy(), on=KEYS, how="left")
        .with_columns(_clear().alias("_clear"))
        .collect()
    )
    clear = frame.filter(pl.col("_clear"))
    passed = clear.select(
        "_gi",
        *[pl.lit(True).alias(f"{c}_ok") for c in CHECKS],
        *[pl.lit([], pl.List(pl.String)).alias(c) for c in _LISTS],
        pl.lit(True).alias("guardrails_passed"),
    )
    failing = frame.filter(~pl.col("_clear"))
    if failing.height == 0:
        return passed.select(RESULT_COLUMNS)
    return (
        pl.concat([passed, _evaluate(failing).select("_gi", *RESULT_COLUMNS)])
        .sort("_gi")
        .select(RESULT_COLUMNS)
    )


_LISTS = ("tone_violations", "eligibility_failed", "guardrail_reasons")
"""The result columns that list what failed (empty for a row that passes every check)."""


def _in_catalog() -> pl.Expr:
    return pl.col("_in_catalog").fill_null(False)


def _catalog_ok() -> pl.Expr:
    return _in_catalog() & (pl.col("_item_kind") == pl.col("kind")).fill_null(False)


def _is_offer() -> pl.Expr:
    """An offer of the catalog: the rows the eligibility checks apply to (null counts as not)."""
    return (pl.col("kind") == "offer") & _in_catalog()


def _disclosure_ok() -> pl.Expr:
    expected_offer_disclosure = offer_disclosure_expr("_item_partner")
    return (pl.col("disclosure") == DISCLOSURE).fill_null(False) & pl.when(
        pl.col("kind") == "offer"
    ).then(
        (pl.col("partner") == pl.col("_item_partner")).fill_null(False)
        & (pl.col("offer_disclosure") == expected_offer_disclosure).fill_null(False)
    ).otherwise(pl.col("offer_disclosure").is_null())


def _clear() -> pl.Expr:
    """True where a row passes every check (then :func:`_evaluate` would list nothing for it).

    Eligibility passes where the row is not an offer or every check is true (a null fails,
    as in :func:`_evaluate`); tone, where neither text has a shaming fragment.
    """
    every_check = pl.all_horizontal([ok for _, ok, _ in eligibility_checks()]).fill_null(False)
    shaming = tone_flagged_expr("title").fill_null(False) | tone_flagged_expr(
        "rationale"
    ).fill_null(False)
    return (
        _catalog_ok() & (~_is_offer().fill_null(False) | every_check) & ~shaming & _disclosure_ok()
    )


def _evaluate(frame: pl.DataFrame) -> pl.DataFrame:
    """Every check's outcome, with the fragments, failed checks and reasons, row by row."""
    is_offer = _is_offer()
    no_list = pl.lit([], pl.List(pl.String))
    eligibility = eligibility_checks()
    failed_ids = pl.concat_list(
        [pl.when(ok).then(pl.lit(None, pl.String)).otherwise(pl.lit(n)) for n, ok, _ in eligibility]
    ).list.drop_nulls()
    failed_why = pl.concat_list(
        [
            pl.when(ok).then(pl.lit(None, pl.String)).otherwise(why.cast(pl.String))
            for _, ok, why in eligibility
        ]
    ).list.drop_nulls()
    return (
        frame.lazy()
        .with_columns(
            catalog_ok=_catalog_ok(),
            tone_violations=pl.concat_list(
                tone_violations_expr("title").fill_null(no_list),
                tone_violations_expr("rationale").fill_null(no_list),
            ),
            eligibility_failed=pl.when(is_offer).then(failed_ids).otherwise(no_list),
            _eligibility_why=pl.when(is_offer).then(failed_why).otherwise(no_list),
            disclosure_ok=_disclosure_ok(),
        )
        .with_columns(
            tone_ok=pl.col("tone_violations").list.len() == 0,
            eligibility_ok=pl.col("eligibility_failed").list.len() == 0,
        )
        .with_columns(
            guardrail_reasons=pl.concat_list(
                pl.when(pl.col("catalog_ok"))
                .then(pl.lit(None, pl.String))
                .when(pl.col("_in_catalog").is_null())
                .then(pl.format("catalog: item '{}' is not in the catalog", pl.col("item_id")))
                .otherwise(
                    pl.format(
                        "catalog: item '{}' is {}, not {}",
                        pl.col("item_id"),
                        pl.col("_item_kind"),
                        pl.col("kind"),
                    )
                ),
                pl.when(pl.col("tone_ok"))
                .then(pl.lit(None, pl.String))
                .otherwise(
                    pl.format(
                        "tone: shaming or judgmental wording ({})",
                        pl.col("tone_violations").list.join(", "),
                    )
                ),
                pl.col("_eligibility_why").list.eval(pl.format("eligibility: {}", pl.element())),
                pl.when(pl.col("disclosure_ok"))
                .then(pl.lit(None, pl.String))
                .otherwise(
                    pl.lit(
                        "disclosure: the required disclosure (and, for an offer, its partner"
                        " and offer disclosure) is missing or altered"
                    )
                ),
            ).list.drop_nulls(),
        )
        .with_columns(guardrails_passed=pl.col("guardrail_reasons").list.len() == 0)
        .collect()
    )


def checks_summary(row: dict[str, object]) -> dict[str, object]:
    """One result row as the trace records it: each check's outcome, and the reasons."""
    return {
        **{c: bool(row[f"{c}_ok"]) for c in CHECKS},
        "tone_violations": list(row["tone_violations"] or []),  # type: ignore[call-overload]
        "eligibility_failed": list(row["eligibility_failed"] or []),  # type: ignore[call-overload]
        "reasons": list(row["guardrail_reasons"] or []),  # type: ignore[call-overload]
        "passed": bool(row["guardrails_passed"]),
    }
