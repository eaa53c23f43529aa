"""Money conventions of an input, applied to each normalised table of a chunk.

``Conventions.adjust`` is the hook ``validate.validate_chunk`` calls after a table is
normalised: amounts in cents become dollars' cents (``unit: cents``), and transaction
amounts are checked against and converted from the declared sign convention
(``signs``). It keeps the account types it has seen (a ``by_category`` card payment is
money in on the card, and ``sign`` may differ by account type), so it lives for one
whole ingest, across chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from spendsense.ingest import signs
from spendsense.ledger.schema import TABLES

UNITS = ("dollars", "cents")


@dataclass
class Conventions:
    """The sign and unit an input's amounts are written in (Plaid's by default).

    ``sign``: one convention for every account, or one per account type (``default`` for
    the rest). ``with_mapping``/``declared_sign``: whether a mapping was given and whether
    it names the sign (they change the advice in a refusal).
    """

    sign: dict[str, str] = field(default_factory=lambda: {"default": signs.OUTFLOW_POSITIVE})
    unit: str = "dollars"
    with_mapping: bool = False
    declared_sign: bool = False
    kinds: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"account_id": pl.String, "_kind": pl.String})
    )

    def adjust(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """One normalised table of a chunk, with its money in Plaid's sign and in cents."""
        if frame.height == 0:
            return frame
        if self.unit == "cents":
            frame = _from_cents(table, frame)
        if table == "accounts":
            self.kinds = pl.concat(
                [
                    self.kinds,
                    frame.filter(pl.col("_reason").is_null()).select(
                        "account_id", pl.col("type").alias("_kind")
                    ),
                ]
            ).unique("account_id", keep="first", maintain_order=True)
        if table == "transactions":
            frame = self._signed(frame)
        return frame

    def _signed(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.join(self.kinds, on="account_id", how="left", maintain_order="left")
        default = self.sign.get("default", signs.OUTFLOW_POSITIVE)
        declared = pl.col("_kind").replace_strict(
            {k: v for k, v in self.sign.items() if k != "default"},
            default=pl.lit(default),
            return_dtype=pl.String,
        )
        is_credit = (pl.col("_kind") == "credit").fill_null(False)
        out = signs.apply_signs(
            frame,
            declared,
            is_credit,
            with_mapping=self.with_mapping,
            declared_sign=self.declared_sign,
        )
        return out.drop("_kind")


def _from_cents(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Amounts written in cents: parsed as dollars, so divided by 100 (must be whole)."""
    money = [c for c in TABLES.get(table, {}) if c.endswith("_cents") and c in frame.columns]
    if not money:
        return frame
    bad = [
        pl.when(pl.col(c).is_not_null() & (pl.col(c) % 100 != 0)).then(
            pl.format(
                "{}: {} is not a whole number of cents (the mapping says unit: cents)",
                pl.lit(c.removesuffix("_cents")),
                (pl.col(c).cast(pl.Float64) / 100).cast(pl.String),
            )
        )
        for c in money
    ]
    reason = pl.coalesce(pl.col("_reason"), *bad)
    return frame.with_columns(
        *[pl.when(reason.is_null()).then(pl.col(c) // 100).otherwise(None).alias(c) for c in money],
        reason.alias("_reason"),
    )
