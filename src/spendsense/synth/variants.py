"""Export variants: the generated Plaid tables reshaped the way outside exports come.

Each variant turns the Plaid-named tables of ``plaid.plaid_tables`` into a shape seen in
bank and team exports, so ingest and the signals are tested against them with a known
answer (the original tables). ``MAPPINGS`` gives, per variant, the mapping lines that
load it back (``mapping_text`` joins them); the ground truth is never changed.

- ``reverse-sign``: every transaction amount negated (income positive, spending negative).
- ``cents``: every amount and balance as integer cents.
- ``savings-without-history``: the savings accounts' transactions left out (balances kept);
  checking still shows the transfers into them.
- ``flat-categories``: one ``category`` string per transaction instead of the PFC object,
  the detailed code with a suffix difference (an ``S`` added, or a final ``S`` dropped).
- ``no-merchant-name``: ``merchant_name`` empty, only the raw ``name``.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from spendsense.ledger.vocab import SAVINGS_SUBTYPES

VARIANTS: tuple[str, ...] = (
    "reverse-sign",
    "cents",
    "savings-without-history",
    "flat-categories",
    "no-merchant-name",
)
PFC = "personal_finance_category"
MAPPING_FILE = "mapping.yaml"  # written beside generated variants: ``ingest --mapping`` it
# Mapping lines that load a variant back, for the JSON bundles (lists: the bundle's shape).
MAPPINGS: dict[str, str] = {
    "reverse-sign": "sign: inflow_positive",
    "cents": "unit: cents",
    "flat-categories": "rename: {transactions: {category: personal_finance_category_detailed}}",
}
BUNDLE_LISTS = (
    "user: {key: user.user_id}\n"
    "lists: {users: user, accounts: accounts, transactions: transactions, "
    "liabilities_credit: liabilities.credit, liabilities_mortgage: liabilities.mortgage, "
    "liabilities_student: liabilities.student}"
)


def check(variants: Iterable[str]) -> tuple[str, ...]:
    """The variants, in ``VARIANTS`` order; ValueError naming an unknown one."""
    given = set(variants)
    unknown = sorted(given - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variant {unknown[0]!r}: use any of {', '.join(VARIANTS)}")
    return tuple(v for v in VARIANTS if v in given)


def mapping_text(variants: Iterable[str], *, bundles: bool) -> str:
    """A mapping that loads output generated with ``variants`` (bundles or Parquet tables)."""
    chosen = check(variants)
    lines = [MAPPINGS[v] for v in chosen if v in MAPPINGS]
    if bundles and "flat-categories" in chosen:
        lines.insert(0, BUNDLE_LISTS)  # renames apply to a document the mapping describes
    return "\n".join(["name: generated", *lines]) + "\n"


def flat_category(detailed: pl.Expr) -> pl.Expr:
    """The detailed code with a suffix difference: a final S dropped, else an S added."""
    return (
        pl.when(detailed.str.ends_with("S"))
        .then(detailed.str.slice(0, detailed.str.len_chars() - 1))
        .otherwise(detailed + "S")
    )


def _money_columns(frame: pl.DataFrame) -> list[str]:
    """Amounts and balances (float dollars); rates (``*_percentage``) are not money."""
    return [
        c
        for c, t in frame.schema.items()
        if t in (pl.Float64, pl.Float32) and not c.endswith("_percentage")
    ]


def apply_variants(
    tables: dict[str, pl.DataFrame], variants: Iterable[str]
) -> dict[str, pl.DataFrame]:
    """The Plaid tables reshaped by each variant, in ``VARIANTS`` order."""
    out = dict(tables)
    for variant in check(variants):
        if variant == "reverse-sign":
            out["transactions"] = out["transactions"].with_columns(-pl.col("amount"))
        elif variant == "cents":
            out = {
                name: frame.with_columns(
                    (pl.col(c) * 100).round().cast(pl.Int64) for c in _money_columns(frame)
                )
                for name, frame in out.items()
            }
        elif variant == "savings-without-history":
            savings = out["accounts"].filter(
                (pl.col("type") == "depository") & pl.col("subtype").is_in(sorted(SAVINGS_SUBTYPES))
            )
            out["transactions"] = out["transactions"].join(
                savings.select("account_id"), on="account_id", how="anti", maintain_order="left"
            )
        elif variant == "flat-categories":
            tx = out["transactions"]
            out["transactions"] = tx.with_columns(
                category=flat_category(pl.col(f"{PFC}_detailed"))
            ).drop([c for c in tx.columns if c.startswith(f"{PFC}_")])
        else:  # no-merchant-name
            out["transactions"] = out["transactions"].with_columns(
                merchant_name=pl.lit(None, pl.String)
            )
    return out
