"""Whole-batch validation: normalise each table, check references and duplicates, collect rejects."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spendsense.ingest import parse as P
from spendsense.ingest import tables as T
from spendsense.ingest.plaid import original
from spendsense.ingest.staging import Staged
from spendsense.ingest.tabular import original_row
from spendsense.ledger.batch import LedgerBatch, Reject
from spendsense.ledger.schema import PRIMARY_KEYS, conform, empty

LIABILITY_TABLES = ("liabilities_credit", "liabilities_mortgage", "liabilities_student")


def _split(frame: pl.DataFrame, key: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mark later duplicates of ``key`` among otherwise-valid rows, then split good / rejected."""
    if key is not None and frame.height:
        ok = pl.col("_reason").is_null()
        frame = frame.with_columns(pl.int_range(pl.len()).alias("_n"))
        first = pl.col("_n") == pl.col("_n").min().over(pl.when(ok).then(pl.col(key)))
        frame = frame.with_columns(
            pl.when(ok & ~first)
            .then(pl.format("duplicate {} '{}' (first occurrence kept)", pl.lit(key), pl.col(key)))
            .otherwise(pl.col("_reason"))
            .alias("_reason")
        ).drop("_n")
    bad = pl.col("_reason").is_not_null()
    return frame.filter(~bad), frame.filter(bad)


def _fill_user(frame: pl.DataFrame, owners: pl.DataFrame) -> pl.DataFrame:
    """Give rows without a user_id the user of their account (from this batch)."""
    if frame.height == 0:
        return frame
    keyed = frame.with_columns(
        P.clean(P.col(frame, "account_id")).alias("_acct"), pl.int_range(pl.len()).alias("_n")
    )
    joined = keyed.join(owners, left_on="_acct", right_on="account_id", how="left").sort("_n")
    return joined.with_columns(
        pl.coalesce(P.clean(P.col(frame, "user_id")), pl.col("_owner")).alias("user_id")
    ).drop("_acct", "_n", "_owner")


def _references(frame: pl.DataFrame, known: list[str]) -> pl.DataFrame:
    """Reject rows whose account is neither in this batch nor already stored, or that lack a user."""
    if frame.height == 0:
        return frame
    ok = pl.col("_reason").is_null()
    return frame.with_columns(
        pl.when(ok & ~pl.col("account_id").is_in(known))
        .then(pl.format("account_id '{}' is not a known account", pl.col("account_id")))
        .when(ok & pl.col("user_id").is_null())
        .then(pl.lit("no user: give --user or a user_id"))
        .otherwise(pl.col("_reason"))
        .alias("_reason")
    )


def _consents(users: pl.DataFrame) -> pl.DataFrame:
    """A consents row (source bundle) for each user whose record grants or revokes consent."""
    given = users.filter(pl.col("consent_status").is_in(["granted", "revoked"]))
    stamp = P.clean(P.col(given, "consent_changed_at"))
    exact = stamp.str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    return given.select(
        "user_id",
        pl.col("consent_status").alias("status"),
        pl.coalesce(exact, pl.col("_consent_day").cast(pl.Datetime("us", "UTC"))).alias(
            "changed_at"
        ),
        pl.lit("bundle").alias("source"),
        pl.format("ingest:{}", pl.col("_file")).alias("actor"),
    ).filter(pl.col("changed_at").is_not_null())


def _implicit_users(
    good: dict[str, pl.DataFrame], explicit: pl.DataFrame, known_users: list[str]
) -> pl.DataFrame:
    """Users referenced by loaded rows but not described anywhere: consent none."""
    seen = pl.concat(
        [
            good[t].select("user_id", pl.col("_file").alias("source"))
            for t in ("accounts", "transactions", *LIABILITY_TABLES)
            if good[t].height
        ]
        or [pl.DataFrame(schema={"user_id": pl.String, "source": pl.String})],
        how="vertical",
    )
    return (
        seen.filter(
            pl.col("user_id").is_not_null()
            & ~pl.col("user_id").is_in(explicit["user_id"].implode())
            & ~pl.col("user_id").is_in(known_users)
        )
        .unique("user_id", keep="first", maintain_order=True)
        .with_columns(pl.lit("none").alias("consent_status"))
    )


def _original(file: str, position: str) -> object:
    """A rejected record read again from its file (bulk-staged rows keep no copy)."""
    path = Path(file)
    if path.suffix.lower() == ".json":
        return original(path, position)
    return original_row(path, position)


def _rejects(table: str, bad: pl.DataFrame, staged: Staged) -> list[Reject]:
    """Rejected rows -> Reject records carrying the original input record."""
    if bad.height == 0:
        return []
    rows = bad.select("_file", "_pos", "_reason", pl.col("_rid").cast(pl.Int64)).to_dicts()
    originals = staged.originals
    return [
        Reject(
            r["_file"],
            r["_pos"],
            table,
            r["_reason"],
            originals[r["_rid"]]
            if r["_rid"] is not None
            else original(Path(r["_file"]), r["_pos"]),
        )
        for r in rows
    ]


def validate(
    staged: Staged,
    *,
    known_account_ids: set[str] | None = None,
    known_user_ids: set[str] | None = None,
) -> LedgerBatch:
    """Normalise and check every staged table; good rows -> ledger frames, bad rows -> rejects."""
    batch = LedgerBatch()
    good: dict[str, pl.DataFrame] = {}
    accounts = T.accounts(staged.table("accounts"))
    good["accounts"], bad = _split(accounts, "account_id")
    batch.rejects.extend(_rejects("accounts", bad, staged))
    owners = good["accounts"].select("account_id", pl.col("user_id").alias("_owner"))
    known = sorted({*(known_account_ids or set()), *good["accounts"]["account_id"].to_list()})
    for table in ("transactions", *LIABILITY_TABLES):
        raw = staged.table(table)
        if raw.height == 0:
            good[table] = empty(table).with_columns(pl.Series("_file", [], pl.String))
            continue
        frame = T.NORMALISERS[table](_fill_user(raw, owners))
        frame = _references(frame, known)
        key = PRIMARY_KEYS[table][0]
        good[table], bad = _split(frame, key)
        batch.rejects.extend(_rejects(table, bad, staged))
    users = T.users(staged.table("users"))
    explicit, bad = _split(users, "user_id")
    batch.rejects.extend(_rejects("users", bad, staged))
    implicit = _implicit_users(good, explicit, sorted(known_user_ids or set()))
    batch.add("users", pl.concat([conform("users", explicit), conform("users", implicit)]))
    batch.add("consents", _consents(explicit))
    for table in ("accounts", "transactions", *LIABILITY_TABLES):
        batch.add(table, good[table])
    batch.removed_transaction_ids.extend(staged.removed)
    batch.cursors.extend(staged.cursors)
    batch.rejects.extend(Reject(*r) for r in staged.file_rejects)
    return batch
