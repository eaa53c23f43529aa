"""Sign conventions: tell Plaid's sign (money out positive) from its reverse, and convert.

Exports disagree on the sign of an amount. Plaid (and the ledger) write money out of
the account as positive; many banks write income positive and spending negative; some
write every amount positive and leave the direction to the category. Loading one as
another inverts every balance, income and saving, so each account's amounts are
checked against the convention its mapping declares, on whole frames:

- evidence is the account's inflow-category rows (income, transfers in, loan
  disbursements) and spending-category rows (everything but transfers, loan payments
  and OTHER), each read only when one sign holds a clear majority (``CLEAR_MAJORITY``);
  an account with fewer than ``MIN_EVIDENCE`` such rows, or no clear majority, is
  judged with its file's rows pooled;
- the evidence leaves a set of compatible conventions (``compatible``); a row whose
  declared convention is not in its account's set is refused with a one-line reason
  naming the convention found and the mapping option that loads it;
- otherwise the declared convention converts the amounts to Plaid's sign (``to_plaid``).
"""

from __future__ import annotations

import polars as pl

OUTFLOW_POSITIVE = "outflow_positive"  # Plaid's sign: money out positive, money in negative
INFLOW_POSITIVE = "inflow_positive"  # the reverse: income positive, spending negative
BY_CATEGORY = "by_category"  # unsigned: every amount positive, direction from the category
CONVENTIONS: dict[str, str] = {  # what an account whose amounts follow it "writes"
    OUTFLOW_POSITIVE: "money out positive and money in negative",
    INFLOW_POSITIVE: "income positive and spending negative",
    BY_CATEGORY: "every amount positive, income included",
}
# Bits of a compatibility mask, in the order a fix is suggested.
BITS: dict[str, int] = {INFLOW_POSITIVE: 2, BY_CATEGORY: 4, OUTFLOW_POSITIVE: 1}
ALL = 7
MIN_EVIDENCE = 3  # categorised rows an account needs to be judged on its own
CLEAR_MAJORITY = 0.8  # share of a category's rows with one sign for it to say anything
INFLOW_PRIMARIES: tuple[str, ...] = ("INCOME", "TRANSFER_IN", "LOAN_DISBURSEMENTS")
NOT_SPENDING: tuple[str, ...] = (*INFLOW_PRIMARIES, "TRANSFER_OUT", "LOAN_PAYMENTS", "OTHER")
CARD_PAYMENT = "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"  # money in, on the card it pays


def _counts(valid: pl.Expr) -> list[pl.Expr]:
    """Evidence counts of a group: inflow / spending rows by sign, and any negative."""
    amount, primary = pl.col("amount_cents"), pl.col("pfc_primary")
    inflow = valid & primary.is_in(INFLOW_PRIMARIES).fill_null(False)
    spending = valid & primary.is_not_null() & ~primary.is_in(NOT_SPENDING).fill_null(True)
    return [
        (inflow & (amount > 0)).sum().alias("in_pos"),
        (inflow & (amount < 0)).sum().alias("in_neg"),
        (spending & (amount > 0)).sum().alias("sp_pos"),
        (spending & (amount < 0)).sum().alias("sp_neg"),
        (valid & (amount < 0)).sum().alias("any_neg"),
    ]


def _direction(pos: pl.Expr, neg: pl.Expr) -> pl.Expr:
    """1 when the rows are clearly positive, -1 clearly negative, 0 when neither (or none).

    Clearly: at least ``CLEAR_MAJORITY`` of them. Refunds make a few purchases negative in
    Plaid's sign; an even split says nothing.
    """
    n = pos + neg
    return (
        pl.when((n > 0) & (pos >= CLEAR_MAJORITY * n))
        .then(1)
        .when((n > 0) & (neg >= CLEAR_MAJORITY * n))
        .then(-1)
        .otherwise(0)
    )


def compatible() -> pl.Expr:
    """Mask of the conventions the counts of ``_counts`` allow (``ALL`` without evidence).

    Inflow categories decide when present (money in is the surest sign of direction):
    mostly negative, Plaid's; mostly positive, the reverse, or unsigned when spending is
    mostly positive too. Without them spending decides: mostly negative, the reverse;
    mostly positive, Plaid's (or unsigned, if nothing at all is negative).
    """
    in_pos, in_neg = pl.col("in_pos"), pl.col("in_neg")
    sp_pos, sp_neg = pl.col("sp_pos"), pl.col("sp_neg")
    inflow, spend = _direction(in_pos, in_neg), _direction(sp_pos, sp_neg)
    out, rev, cat = BITS[OUTFLOW_POSITIVE], BITS[INFLOW_POSITIVE], BITS[BY_CATEGORY]
    evidence = in_pos + in_neg + sp_pos + sp_neg
    return (
        pl.when(evidence < MIN_EVIDENCE)
        .then(ALL)
        .when(inflow == -1)
        .then(out)
        .when((inflow == 1) & (spend == 1))
        .then(cat)
        .when((inflow == 1) & (spend == -1))
        .then(rev)
        .when(inflow == 1)
        .then(rev | cat)
        .when(spend == -1)
        .then(rev)
        .when((spend == 1) & (pl.col("any_neg") == 0))
        .then(out | cat)
        .when(spend == 1)
        .then(out)
        .otherwise(ALL)
        .cast(pl.Int32)
    )


def judge(frame: pl.DataFrame) -> pl.DataFrame:
    """Per ``account_id``: the mask of conventions its amounts allow (its file's when too few).

    ``frame`` holds normalised transactions (``amount_cents``, ``pfc_primary``, ``_file``,
    ``_reason``); only rows without a reason count.
    """
    valid = pl.col("_reason").is_null() & pl.col("amount_cents").is_not_null()
    by_account = frame.group_by("account_id").agg(
        *_counts(valid), pl.col("_file").first().alias("_f")
    )
    by_file = (
        frame.group_by("_file")
        .agg(*_counts(valid))
        .select(pl.col("_file").alias("_f"), compatible().alias("_file_mask"))
    )
    return (
        by_account.with_columns(compatible().alias("_own"))
        .join(by_file, on="_f", how="left")
        .select(
            "account_id",
            pl.when(pl.col("_own") == ALL)
            .then(pl.col("_file_mask").fill_null(ALL))
            .otherwise("_own")
            .alias("_mask"),
        )
    )


def _first(mask: pl.Expr, text: dict[str, str], none: str) -> pl.Expr:
    """``text`` of the first convention (in ``BITS`` order) a mask allows, else ``none``."""
    out: pl.Expr = pl.lit(none)
    for name in reversed(BITS):
        out = pl.when((mask & BITS[name]) > 0).then(pl.lit(text[name])).otherwise(out)
    return out


def reason(mask: pl.Expr, declared: pl.Expr, with_mapping: bool, declared_sign: bool) -> pl.Expr:
    """One line: the account, the convention its amounts follow, and the option that loads them."""
    found = _first(mask, {n: f"{d} ({n})" for n, d in CONVENTIONS.items()}, "")
    how = (
        "set `sign: {}` in the mapping"
        if with_mapping
        else ("load it with a mapping (--mapping FILE) that sets `sign: {}`")
    )
    fix = _first(mask, {n: how.format(n) for n in CONVENTIONS}, "")
    expected = (
        pl.format("not {} as the mapping declares", declared)
        if declared_sign
        else pl.lit(f"not Plaid's {OUTFLOW_POSITIVE}")
    )
    return pl.format(
        "sign: account '{}' writes {}, {}; {}", pl.col("account_id"), found, expected, fix
    )


def to_plaid(declared: pl.Expr, is_credit: pl.Expr) -> pl.Expr:
    """``amount_cents`` in the declared convention -> Plaid's sign.

    ``by_category``: money in when the category is an inflow (income, transfers in, loan
    disbursements) or a card payment on the card; everything else is money out.
    """
    amount, primary = pl.col("amount_cents"), pl.col("pfc_primary")
    money_in = primary.is_in(INFLOW_PRIMARIES).fill_null(False) | (
        (pl.col("pfc_detailed") == CARD_PAYMENT).fill_null(False) & is_credit
    )
    return (
        pl.when(declared == INFLOW_POSITIVE)
        .then(-amount)
        .when(declared == BY_CATEGORY)
        .then(pl.when(money_in).then(-amount.abs()).otherwise(amount.abs()))
        .otherwise(amount)
    )


def apply_signs(
    frame: pl.DataFrame,
    declared: pl.Expr,
    is_credit: pl.Expr,
    *,
    with_mapping: bool,
    declared_sign: bool,
) -> pl.DataFrame:
    """Refuse rows whose account contradicts the declared convention; convert the rest.

    ``declared``: the convention of each row (text); ``is_credit``: the row's account is a
    credit account. ``with_mapping``/``declared_sign``: whether a mapping was given and
    whether it names a sign (they change the advice). Rows already carrying a ``_reason``
    are left alone.
    """
    if frame.height == 0:
        return frame
    masks = judge(frame)
    bit = pl.lit(0, pl.Int32)
    for name, value in BITS.items():
        bit = pl.when(pl.col("_declared") == name).then(value).otherwise(bit)
    out = frame.with_columns(declared.alias("_declared"), is_credit.alias("_credit")).join(
        masks, on="account_id", how="left", maintain_order="left"
    )
    refuse = pl.col("_reason").is_null() & ((pl.col("_mask").fill_null(ALL) & bit) == 0)
    why = reason(pl.col("_mask"), pl.col("_declared"), with_mapping, declared_sign)
    return out.with_columns(
        pl.when(refuse).then(why).otherwise(pl.col("_reason")).alias("_reason"),
        pl.when(refuse)
        .then(pl.col("amount_cents"))
        .otherwise(to_plaid(pl.col("_declared"), pl.col("_credit")))
        .alias("amount_cents"),
    ).drop("_declared", "_credit", "_mask")
