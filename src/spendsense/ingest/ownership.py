"""Ownership rules for incoming records: every record belongs to its file's user, nothing moves.

A file names its owner (the bundle's user, the path user of an upload, ``--user`` or the
file name); a record in it that names another user, or whose id or account is already
another user's, is rejected with a reason ending in ``OWNERSHIP_NOTE``. Stored owners come
from an ``OwnerLookup`` the store provides; without one (pure validation), only the rules
within the input apply. ``store.ledger`` checks the same invariant again inside its write
transaction, so a race between two ingests cannot move a record either.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

# (table, ids, repeats allowed) -> the stored rows with those ids: a frame of ``id``, ``user_id``
OwnerLookup = Callable[[str, pl.Series], pl.DataFrame]
OWNERSHIP_NOTE = "records are never moved between users"
NOT_THEIRS = f"is not one of this user's transactions ({OWNERSHIP_NOTE})"


def is_ownership(reason: str) -> bool:
    """Whether a reject reason is one of this module's (they all end with the note)."""
    return reason.endswith(f"({OWNERSHIP_NOTE})")


def _flag(frame: pl.DataFrame, bad: pl.Expr, reason: pl.Expr) -> pl.DataFrame:
    ok = pl.col("_reason").is_null()
    return frame.with_columns(
        pl.when(ok & bad.fill_null(False))
        .then(reason)
        .otherwise(pl.col("_reason"))
        .alias("_reason")
    )


def file_owner(frame: pl.DataFrame) -> pl.DataFrame:
    """Reject records that name a user other than their file's (``_user``)."""
    if frame.height == 0:
        return frame
    foreign = pl.col("_user").is_not_null() & (pl.col("user_id") != pl.col("_user"))
    return _flag(
        frame,
        foreign,
        pl.format(
            "names user '{}' but this input is user '{}''s ({})",
            "user_id",
            "_user",
            pl.lit(OWNERSHIP_NOTE),
        ),
    )


def stored_owner(
    frame: pl.DataFrame, table: str, key: str, lookup: OwnerLookup | None
) -> pl.DataFrame:
    """Reject records whose ``key`` is already stored under another user."""
    if lookup is None or frame.height == 0:
        return frame
    stored = lookup(table, frame[key].drop_nulls())  # the lookup makes them unique if it must
    if stored.height == 0:
        return frame
    owners = stored.select(pl.col("id").alias(key), pl.col("user_id").alias("_stored_owner"))
    joined = frame.with_row_index("_n").join(owners, on=key, how="left").sort("_n")
    label = key.removesuffix("_id")
    return _flag(
        joined,
        pl.col("_stored_owner").is_not_null() & (pl.col("_stored_owner") != pl.col("user_id")),
        pl.format(
            "{} '{}' belongs to another user ({})",
            pl.lit(label),
            pl.col(key),
            pl.lit(OWNERSHIP_NOTE),
        ),
    ).drop("_n", "_stored_owner")


def account_owner(
    frame: pl.DataFrame, batch_owners: pl.DataFrame, lookup: OwnerLookup | None
) -> pl.DataFrame:
    """Reject rows (transactions, liabilities) on an account that is another user's."""
    if frame.height == 0:
        return frame
    ids = frame["account_id"].drop_nulls().unique()
    parts = [batch_owners.select("account_id", pl.col("_owner").alias("_acct_owner"))]
    if lookup is not None:
        stored = lookup("accounts", ids)
        parts.append(
            stored.select(pl.col("id").alias("account_id"), pl.col("user_id").alias("_acct_owner"))
        )
    owners = pl.concat(parts).unique("account_id", keep="first")
    joined = frame.with_row_index("_n").join(owners, on="account_id", how="left").sort("_n")
    return _flag(
        joined,
        pl.col("_acct_owner").is_not_null() & (pl.col("_acct_owner") != pl.col("user_id")),
        pl.format(
            "account '{}' belongs to another user ({})", "account_id", pl.lit(OWNERSHIP_NOTE)
        ),
    ).drop("_n", "_acct_owner")


def removals(
    removed: list[tuple[str, str, str, str]], lookup: OwnerLookup | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Split ``removed`` (file, position, user, id) into allowed (user, id) and rejected
    (file, position, reason). A removal must name one of the user's own transactions, stored
    or already removed; someone else's and one that never existed answer the same."""
    if not removed:
        return [], []
    frame = pl.DataFrame(
        removed, schema=["_file", "_pos", "user_id", "id"], orient="row"
    ).with_row_index("_n")
    if lookup is None:
        return frame.select("user_id", "id").rows(), []
    ids = frame["id"].unique()
    mine = pl.concat([lookup("transactions", ids), lookup("removed_transactions", ids)])
    frame = frame.join(
        mine.unique().with_columns(pl.lit(True).alias("_mine")), on=["id", "user_id"], how="left"
    ).sort("_n")
    mine_row = pl.col("_mine").fill_null(False)
    reason = pl.format("removed transaction '{}' {}", "id", pl.lit(NOT_THEIRS))
    return (
        frame.filter(mine_row).select("user_id", "id").rows(),
        frame.filter(~mine_row).select("_file", "_pos", reason).rows(),
    )
