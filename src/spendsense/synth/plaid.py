"""Convert a generated block to Plaid-named flat tables (dollars, ISO dates) and ground truth."""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.ledger.vocab import taxonomy
from spendsense.synth.block import Block, day_to_date

RECURRING_KINDS = ("payroll", "bill", "sub", "card_pay", "save")


def dollars(col: str) -> pl.Expr:
    """Integer cents -> dollars with two decimals (output only)."""
    return (pl.col(col).cast(pl.Float64) / 100.0).round(2)


def _user_id(col: str = "uid") -> pl.Expr:
    return pl.format("u_{}", pl.col(col).cast(pl.String).str.zfill(7))


def _transactions(block: Block, as_of: date) -> pl.DataFrame:
    txns = (
        block.txns.lazy()
        .with_columns(
            user_id=_user_id(),
            seq=pl.int_range(pl.len()).over("uid"),
            is_twin=pl.lit(False),
        )
        .with_columns(
            transaction_id=pl.format(
                "tx_{}_{}",
                pl.col("uid").cast(pl.String).str.zfill(7),
                pl.col("seq").cast(pl.String).str.zfill(5),
            ),
            date=day_to_date(pl.col("day"), as_of),
        )
        .with_columns(authorized_date=pl.col("date") - pl.duration(days=pl.col("auth_lag")))
    )
    posted = txns.with_columns(
        pending_transaction_id=pl.when("twin").then(pl.col("transaction_id") + "p")
    )
    tip = pl.col("pfc_detailed") == "FOOD_AND_DRINK_RESTAURANT"
    twins = txns.filter("twin").with_columns(
        transaction_id=pl.col("transaction_id") + "p",
        date=pl.col("authorized_date"),
        amount_cents=pl.when(tip)
        .then((pl.col("amount_cents") / 1.18).round().cast(pl.Int64))
        .otherwise("amount_cents"),
        pending=pl.lit(True),
        pending_transaction_id=pl.lit(None, pl.String),
        is_twin=pl.lit(True),
    )
    both = pl.concat([posted, twins]).sort("uid", "seq", "is_twin")
    primary = taxonomy().v2_detailed_to_primary
    return both.select(
        "transaction_id",
        "account_id",
        "user_id",
        amount=dollars("amount_cents"),
        iso_currency_code=pl.lit("USD"),
        unofficial_currency_code=pl.lit(None, pl.String),
        date=pl.col("date").dt.to_string(),
        authorized_date=pl.col("authorized_date").dt.to_string(),
        name="name",
        merchant_name="merchant_name",
        payment_channel="channel",
        pending="pending",
        pending_transaction_id="pending_transaction_id",
        personal_finance_category_primary=pl.col("pfc_detailed").replace_strict(primary),
        personal_finance_category_detailed="pfc_detailed",
        personal_finance_category_confidence_level=pl.when(pl.col("kind").is_in(RECURRING_KINDS))
        .then(pl.lit("VERY_HIGH"))
        .otherwise(pl.lit("HIGH")),
        personal_finance_category_version=pl.lit("v2"),
    ).collect()


def _accounts(block: Block) -> pl.DataFrame:
    credit = pl.col("type") == "credit"
    depository = pl.col("type") == "depository"
    return block.accounts.sort("account_id").select(
        "account_id",
        user_id=_user_id(),
        balances_available=pl.when(credit)
        .then(((pl.col("limit_cents") - pl.col("current_cents")) / 100.0).round(2))
        .when(depository)
        .then(dollars("current_cents")),
        balances_current=dollars("current_cents"),
        balances_limit=pl.when(credit).then(dollars("limit_cents")),
        balances_iso_currency_code=pl.lit("USD"),
        mask="mask",
        name="name",
        official_name="official_name",
        type="type",
        subtype="subtype",
        holder_category="holder_category",
    )


def _credit(block: Block, as_of: date) -> pl.DataFrame:
    stmt = day_to_date(pl.col("sday"), as_of)
    return block.credit.sort("account_id").select(
        "account_id",
        user_id=_user_id(),
        aprs_apr_type=pl.lit("purchase_apr"),
        aprs_apr_percentage="apr",
        aprs_balance_subject_to_apr=dollars("balance_subject_cents"),
        aprs_interest_charge_amount=dollars("interest_charge_cents"),
        is_overdue="is_overdue",
        last_payment_amount=dollars("last_payment_amount_cents"),
        last_payment_date=day_to_date(pl.col("last_payment_day"), as_of).dt.to_string(),
        last_statement_issue_date=stmt.dt.to_string(),
        last_statement_balance=dollars("last_statement_balance_cents"),
        minimum_payment_amount=dollars("minimum_payment_amount_cents"),
        next_payment_due_date=(stmt + pl.duration(days=25)).dt.to_string(),
    )


def _loans(block: Block, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    pays = (
        block.txns.filter(
            pl.col("pfc_detailed").is_in(
                ["LOAN_PAYMENTS_MORTGAGE_PAYMENT", "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"]
            )
        )
        .group_by("uid", "pfc_detailed")
        .agg(pay=pl.col("amount_cents").last(), last=pl.col("day").max())
    )
    kind = {"mtg": "LOAN_PAYMENTS_MORTGAGE_PAYMENT", "stu": "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"}
    loans = (
        block.accounts.filter(pl.col("type") == "loan")
        .with_columns(pfc_detailed=pl.col("kind").replace_strict(kind))
        .join(pays, on=["uid", "pfc_detailed"], how="left")
        .with_columns(
            due=(day_to_date(pl.col("last"), as_of).dt.offset_by("1mo")).dt.to_string(),
            rate_bp=pl.col("current_cents") % 397 + 300,  # 3.00-6.96%, fixed per account
        )
        .sort("account_id")
    )
    mortgage = loans.filter(pl.col("kind") == "mtg").select(
        "account_id",
        user_id=_user_id(),
        interest_rate_percentage=(pl.col("rate_bp") / 100.0).round(2),
        interest_rate_type=pl.lit("fixed"),
        next_monthly_payment=dollars("pay"),
        next_payment_due_date="due",
        past_due_amount=pl.lit(0.0),
    )
    student = loans.filter(pl.col("kind") == "stu").select(
        "account_id",
        user_id=_user_id(),
        interest_rate_percentage=((pl.col("rate_bp") + 150) / 100.0).round(2),
        is_overdue=pl.lit(False),
        minimum_payment_amount=dollars("pay"),
        next_payment_due_date="due",
        loan_status_type=pl.lit("repayment"),
    )
    return mortgage, student


def plaid_tables(block: Block, as_of: date) -> dict[str, pl.DataFrame]:
    """The block's users, accounts, transactions and liabilities with Plaid field names."""
    mortgage, student = _loans(block, as_of)
    return {
        "users": block.users.select(
            "user_id", "name", "consent", "age_band", "gender", "income_tier", "region"
        ),
        "accounts": _accounts(block),
        "transactions": _transactions(block, as_of),
        "liabilities_credit": _credit(block, as_of),
        "liabilities_mortgage": mortgage,
        "liabilities_student": student,
    }


def truth_tables(block: Block, as_of: date) -> dict[str, pl.DataFrame]:
    """Ground truth: each user's archetypes and every true recurring stream."""
    users = block.users.select(
        "user_id", "archetypes", "primary_archetype", "consent", "age_band", "gender",
        "income_tier", "region",
    )  # fmt: skip
    streams = block.truth.select(
        user_id=_user_id(),
        account_id="account_id",
        merchant_name="merchant_name",
        direction="direction",
        cadence="cadence",
        amount_cents="amount_cents",
        is_subscription="is_subscription",
        pfc_detailed="pfc_detailed",
        first_date=day_to_date(pl.col("first_day"), as_of),
        last_date=day_to_date(pl.col("last_day"), as_of),
        business="business",
        new_amount_cents="new_amount_cents",
        price_change_date=day_to_date(pl.col("price_change_day"), as_of),
        missed_count=pl.col("missed_count").cast(pl.Int32),
        n_charges=pl.col("n_charges").cast(pl.Int32),
    )
    return {"users": users, "recurring_streams": streams}
