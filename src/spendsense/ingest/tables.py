"""Per-table normalisation: staged text frame -> ledger columns plus a ``_reason`` per row.

Each function takes the whole staged frame of one table and returns it with the
ledger table's columns computed and ``_reason`` set on rows that must be
rejected (first failing check wins). Cross-table checks (references, users,
duplicates) live in ``validate``.
"""

from __future__ import annotations

import polars as pl

from spendsense.ingest import parse as P
from spendsense.ledger.vocab import (
    ACCOUNT_SUBTYPES,
    ACCOUNT_TYPES,
    APR_TYPES,
    CONFIDENCE_LEVELS,
    CONSENT_STATES,
    HOLDER_CATEGORIES,
    PAYMENT_CHANNELS,
    taxonomy,
)

_PAIRS = sorted(f"{t}|{s}" for t, subs in ACCOUNT_SUBTYPES.items() for s in subs)
NOT_OBJECT = "record is not a JSON object"


def _required(frame: pl.DataFrame, name: str, label: str | None = None) -> pl.Expr:
    return P.check(P.missing(frame, name), f"missing {label or name}")


def _not_object(frame: pl.DataFrame) -> pl.Expr:
    return P.check(P.col(frame, "_not_object").is_not_null(), NOT_OBJECT)


def _user(frame: pl.DataFrame) -> pl.Expr:
    return pl.coalesce(P.clean(P.col(frame, "user_id")), P.clean(P.col(frame, "_user")))


def users(frame: pl.DataFrame) -> pl.DataFrame:
    """User records: id required, consent one of granted/revoked/none (default none)."""
    consent = pl.coalesce(
        P.clean(P.col(frame, "consent")).str.to_lowercase(),
        P.clean(P.col(frame, "consent_status")).str.to_lowercase(),
        pl.lit("none"),
    )
    frame, d = P.with_days(frame, {"consent_changed_at": "consent_changed_at"})
    changed, changed_reason = d["consent_changed_at"]
    return P.drop_money(
        frame.with_columns(
            _user(frame).alias("user_id"),
            *[P.clean(P.col(frame, c)).alias(c) for c in ("age_band", "gender", "income_tier")],
            *[P.clean(P.col(frame, c)).alias(c) for c in ("name", "region")],
            consent.alias("consent_status"),
            changed.alias("_consent_day"),
            P.col(frame, "_file").alias("source"),
            P.first_reason(
                _not_object(frame),
                P.check(_user(frame).is_null(), "missing user_id"),
                P.check(
                    ~consent.is_in(sorted(CONSENT_STATES)),
                    "consent '{}' is not one of granted, revoked, none",
                    consent,
                ),
                changed_reason,
            ),
        )
    )


def accounts(frame: pl.DataFrame) -> pl.DataFrame:
    """Plaid Account records (flattened balances) -> ledger accounts."""
    kind = P.clean(P.col(frame, "type")).str.to_lowercase()
    sub = P.clean(P.col(frame, "subtype")).str.to_lowercase()
    holder = pl.coalesce(
        P.clean(P.col(frame, "holder_category")).str.to_lowercase(), pl.lit("personal")
    )
    frame, m = P.with_money(
        frame,
        {
            "balances_current": "balances.current",
            "balances_available": "balances.available",
            "balances_limit": "balances.limit",
        },
    )
    (cur, cur_r), (avail, avail_r), (limit, limit_r) = m.values()
    frame, d = P.with_days(frame, {"balances_last_updated_datetime": "balances.last_updated"})
    when, when_r = d["balances_last_updated_datetime"]
    frame, (code, code_r) = P.with_currency(
        frame,
        pl.coalesce(P.col(frame, "balances_iso_currency_code"), P.col(frame, "iso_currency_code")),
        pl.coalesce(
            P.col(frame, "balances_unofficial_currency_code"),
            P.col(frame, "unofficial_currency_code"),
        ),
    )
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            P.clean(P.col(frame, "name")).alias("name"),
            P.clean(P.col(frame, "official_name")).alias("official_name"),
            kind.alias("type"),
            sub.alias("subtype"),
            holder.alias("holder_category"),
            P.clean(P.col(frame, "mask")).str.slice(-4).alias("mask"),
            cur.alias("current_cents"),
            avail.alias("available_cents"),
            limit.alias("limit_cents"),
            code.alias("iso_currency_code"),
            when.alias("balance_date"),
            P.first_reason(
                _not_object(frame),
                _required(frame, "account_id"),
                P.check(_user(frame).is_null(), "no user: give --user or a user_id"),
                _required(frame, "type"),
                P.check(
                    ~kind.is_in(sorted(ACCOUNT_TYPES)),
                    "account type '{}' is not one of depository, credit, loan, investment, other",
                    kind.str.slice(0, 40),
                ),
                P.check(
                    sub.is_not_null() & ~pl.concat_str([kind, sub], separator="|").is_in(_PAIRS),
                    "subtype '{}' is not valid for type '{}'",
                    sub.str.slice(0, 40),
                    kind,
                ),
                P.check(
                    ~holder.is_in(sorted(HOLDER_CATEGORIES)),
                    "holder_category '{}' is not one of personal, business, unrecognized",
                    holder.str.slice(0, 40),
                ),
                cur_r,
                avail_r,
                limit_r,
                when_r,
                code_r,
            ),
        )
    )


def _pfc(frame: pl.DataFrame) -> pl.DataFrame:
    """Map (primary, detailed) in v1, v2 or mapped text to PFC v2; unknown -> OTHER_OTHER."""
    primary = pl.coalesce(
        P.clean(P.col(frame, "personal_finance_category_primary")),
        P.clean(P.col(frame, "pfc_primary")),
    )
    detailed = pl.coalesce(
        P.clean(P.col(frame, "personal_finance_category_detailed")),
        P.clean(P.col(frame, "pfc_detailed")),
    )
    conf = pl.coalesce(
        P.clean(P.col(frame, "personal_finance_category_confidence_level")),
        P.clean(P.col(frame, "pfc_confidence")),
    ).str.to_uppercase()
    frame = frame.with_columns(
        primary.alias("_p"),
        detailed.alias("_d"),
        conf.alias("_conf"),
    )
    pairs = frame.select("_p", "_d").unique()
    tax = taxonomy()
    mapped = [tax.to_v2(p, d) for p, d in zip(pairs["_p"], pairs["_d"], strict=True)]
    lookup = pairs.with_columns(
        pl.Series("_vp", [m[0] if m else None for m in mapped], pl.String),
        pl.Series("_vd", [m[1] if m else None for m in mapped], pl.String),
    )
    known = pl.col("_vd").is_not_null()
    given = pl.col("_p").is_not_null() | pl.col("_d").is_not_null()
    return (
        frame.join(lookup, on=["_p", "_d"], how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            pl.when(known).then("_vp").when(given).then(pl.lit("OTHER")).alias("pfc_primary"),
            pl.when(known)
            .then("_vd")
            .when(given)
            .then(pl.lit("OTHER_OTHER"))
            .alias("pfc_detailed"),
            pl.when(known & pl.col("_conf").is_in(sorted(CONFIDENCE_LEVELS)))
            .then("_conf")
            .when(given & ~known)
            .then(pl.lit("UNKNOWN"))
            .alias("pfc_confidence"),
        )
        .drop("_p", "_d", "_conf", "_vp", "_vd")
    )


def transactions(frame: pl.DataFrame) -> pl.DataFrame:
    """Plaid Transaction records (flattened) -> ledger transactions."""
    frame = _pfc(frame)
    frame, d = P.with_days(frame, {"date": "date", "authorized_date": "authorized_date"})
    (posted, posted_r), (authed, authed_r) = d.values()
    frame, m = P.with_money(frame, {"amount": "amount"})
    amount, amount_r = m["amount"]
    frame, (code, code_r) = P.with_currency(
        frame, P.col(frame, "iso_currency_code"), P.col(frame, "unofficial_currency_code")
    )
    channel = pl.coalesce(
        P.clean(P.col(frame, "payment_channel")).str.to_lowercase(), pl.lit("other")
    )
    pending, pending_r = P.flag_of(frame, "pending", "pending")
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "transaction_id")).alias("transaction_id"),
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            posted.alias("date"),
            authed.alias("authorized_date"),
            amount.alias("amount_cents"),
            code.alias("iso_currency_code"),
            P.clean(P.col(frame, "name")).alias("name"),
            P.clean(P.col(frame, "merchant_name")).alias("merchant_name"),
            channel.alias("payment_channel"),
            pending.fill_null(False).alias("pending"),
            P.clean(P.col(frame, "pending_transaction_id")).alias("pending_transaction_id"),
            P.first_reason(
                _not_object(frame),
                _required(frame, "transaction_id"),
                _required(frame, "account_id"),
                _required(frame, "date"),
                posted_r,
                authed_r,
                _required(frame, "amount"),
                amount_r,
                code_r,
                P.check(
                    ~channel.is_in(sorted(PAYMENT_CHANNELS)),
                    "payment_channel '{}' is not one of online, in store, other",
                    channel.str.slice(0, 40),
                ),
                pending_r,
            ),
        )
    )


def liabilities_credit(frame: pl.DataFrame) -> pl.DataFrame:
    """Credit-card liabilities: purchase APR, payments, statement, interest charged."""
    apr, apr_r = P.rate_of(frame, ["aprs_purchase_apr_percentage", "purchase_apr"], "purchase_apr")
    frame, m = P.with_money(
        frame,
        {
            "last_payment_amount": "last_payment_amount",
            "last_statement_balance": "last_statement_balance",
            "minimum_payment_amount": "minimum_payment_amount",
            **{f"aprs_{k}_interest_charge_amount": "interest" for k in APR_TYPES},
        },
    )
    money = {c: m[c] for c in list(m)[:3]}
    charges = [m[f"aprs_{k}_interest_charge_amount"] for k in APR_TYPES]
    frame, days = P.with_days(
        frame,
        {c: c for c in ("last_payment_date", "last_statement_issue_date", "next_payment_due_date")},
    )
    overdue, overdue_r = P.flag_of(frame, "is_overdue", "is_overdue")
    any_charge = pl.any_horizontal([v.is_not_null() for v, _ in charges])
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            apr.alias("purchase_apr_pct"),
            overdue.alias("is_overdue"),
            *[v.alias(f"{c}_cents") for c, (v, _) in money.items()],
            *[v.alias(c) for c, (v, _) in days.items()],
            pl.when(any_charge)
            .then(pl.sum_horizontal([v for v, _ in charges]))
            .alias("interest_charge_cents"),
            P.first_reason(
                _not_object(frame),
                _required(frame, "account_id"),
                apr_r,
                overdue_r,
                *[r for _, r in money.values()],
                *[r for _, r in charges],
                *[r for _, r in days.values()],
            ),
        )
    )


def liabilities_mortgage(frame: pl.DataFrame) -> pl.DataFrame:
    """Mortgage liabilities: rate, next payment, past due."""
    rate, rate_r = P.rate_of(frame, ["interest_rate_percentage"], "interest_rate.percentage")
    frame, m = P.with_money(
        frame,
        {"next_monthly_payment": "next_monthly_payment", "past_due_amount": "past_due_amount"},
    )
    (nxt, nxt_r), (past, past_r) = m.values()
    frame, d = P.with_days(frame, {"next_payment_due_date": "next_payment_due_date"})
    due, due_r = d["next_payment_due_date"]
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            rate.alias("interest_rate_pct"),
            P.clean(P.col(frame, "interest_rate_type")).alias("interest_rate_type"),
            nxt.alias("next_monthly_payment_cents"),
            due.alias("next_payment_due_date"),
            past.alias("past_due_amount_cents"),
            P.first_reason(
                _not_object(frame), _required(frame, "account_id"), rate_r, nxt_r, past_r, due_r
            ),
        )
    )


def liabilities_student(frame: pl.DataFrame) -> pl.DataFrame:
    """Student-loan liabilities: rate, overdue, minimum payment, status."""
    rate, rate_r = P.rate_of(frame, ["interest_rate_percentage"], "interest_rate_percentage")
    frame, m = P.with_money(frame, {"minimum_payment_amount": "minimum_payment_amount"})
    minimum, min_r = m["minimum_payment_amount"]
    frame, d = P.with_days(frame, {"next_payment_due_date": "next_payment_due_date"})
    due, due_r = d["next_payment_due_date"]
    overdue, overdue_r = P.flag_of(frame, "is_overdue", "is_overdue")
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            rate.alias("interest_rate_pct"),
            overdue.alias("is_overdue"),
            minimum.alias("minimum_payment_amount_cents"),
            due.alias("next_payment_due_date"),
            pl.coalesce(
                P.clean(P.col(frame, "loan_status_type")), P.clean(P.col(frame, "loan_status"))
            ).alias("loan_status"),
            P.first_reason(
                _not_object(frame), _required(frame, "account_id"), rate_r, min_r, due_r, overdue_r
            ),
        )
    )


def liabilities_other(frame: pl.DataFrame) -> pl.DataFrame:
    """Other loans (auto, personal, ...): kind, rate, balance, payments, due date, overdue.

    ``kind`` is the loan account's subtype (set by the flat-liabilities routing) or a given
    ``kind``/``loan_type``; the balance is ``outstanding_principal_balance`` or
    ``last_statement_balance``; the payment ``minimum_payment_amount`` or
    ``next_monthly_payment``.
    """
    rate, rate_r = P.rate(
        pl.coalesce(P.col(frame, "interest_rate_percentage"), P.col(frame, "interest_rate")),
        "interest_rate_percentage",
    )
    frame = frame.with_columns(
        pl.coalesce(
            P.col(frame, "outstanding_principal_balance"), P.col(frame, "last_statement_balance")
        ).alias("_balance"),
        pl.coalesce(
            P.col(frame, "minimum_payment_amount"), P.col(frame, "next_monthly_payment")
        ).alias("_payment"),
    )
    frame, m = P.with_money(
        frame,
        {
            "_balance": "balance",
            "_payment": "minimum_payment_amount",
            "last_payment_amount": "last_payment_amount",
        },
    )
    (balance, balance_r), (payment, payment_r), (last, last_r) = m.values()
    days = {c: P.day(P.col(frame, c), c) for c in ("last_payment_date", "next_payment_due_date")}
    overdue, overdue_r = P.flag(P.col(frame, "is_overdue"), "is_overdue")
    kind = pl.coalesce(
        P.clean(P.col(frame, "kind")), P.clean(P.col(frame, "loan_type"))
    ).str.to_lowercase()
    return P.drop_money(
        frame.with_columns(
            P.clean(P.col(frame, "account_id")).alias("account_id"),
            _user(frame).alias("user_id"),
            kind.alias("kind"),
            rate.alias("interest_rate_pct"),
            balance.alias("balance_cents"),
            payment.alias("minimum_payment_amount_cents"),
            last.alias("last_payment_amount_cents"),
            *[v.alias(c) for c, (v, _) in days.items()],
            overdue.alias("is_overdue"),
            P.first_reason(
                _not_object(frame),
                _required(frame, "account_id"),
                rate_r,
                balance_r,
                payment_r,
                last_r,
                *[r for _, r in days.values()],
                overdue_r,
            ),
        )
    ).drop("_balance", "_payment")


NORMALISERS = {
    "users": users,
    "accounts": accounts,
    "transactions": transactions,
    "liabilities_credit": liabilities_credit,
    "liabilities_mortgage": liabilities_mortgage,
    "liabilities_student": liabilities_student,
    "liabilities_other": liabilities_other,
}
