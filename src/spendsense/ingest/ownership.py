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
from dataclasses import dataclass, field

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


@dataclass
class _Id:
    """Where one transaction id stands in an ingest's page order (see ``Removals``)."""

    owner: str | None  # whose it is (who may remove it): stored, removed or added by this ingest
    staged_by: str | None  # whose row of it this ingest staged (another user's row must not join)
    live: bool  # that row not removed since: a new row repeats it
    gone: bool = False  # the last event was an allowed removal: it goes at the end


@dataclass
class Removals:
    """Sync removals judged in page order, kept between the chunks of one ingest.

    Pages apply in order (files in the order read; within a response its ``removed`` after
    its ``added`` and ``modified``): a removal must name one of the user's own transactions
    as it stands at that point (stored, already removed, or added earlier in this ingest by
    the same user); another user's and one that never existed answer the same
    (``NOT_THEIRS``). A row of the same user after an allowed removal adds it again (not a
    duplicate of the row removed); the last event decides, so ``net`` (what the store
    deletes, after every upsert) holds only ids whose last event is a removal. Only ids a
    removal named are followed (few), so this is per event, not per row.
    """

    ids: dict[str, _Id] = field(default_factory=dict)

    def judge(
        self,
        frame: pl.DataFrame | None,
        removed: list[tuple[str, str, str, str, int]],
        lookup: OwnerLookup | None,
        staged: Callable[[pl.Series], pl.DataFrame],
    ) -> tuple[pl.DataFrame | None, list[tuple[str, str, str]], bool]:
        """One chunk: its transactions ``frame`` (``_reason`` set where a row repeats a live
        id, ``_judged`` on the rows followed here), the refused removals (file, position,
        reason), and whether an id was added twice in the chunk (then sort by ``_seq``).

        ``staged(ids)``: the ids earlier chunks staged, with their user (``id``,
        ``user_id``); ``lookup``: the stored owners (None: no store, a removal of an id
        nobody holds is allowed).
        """
        if not removed and not self.ids:  # no sync removal so far: nothing to follow
            return frame, [], False
        new = sorted({r[3] for r in removed} - self.ids.keys())
        if new:
            self._start(pl.Series(new, dtype=pl.String), lookup, staged)
        followed = pl.Series(sorted(self.ids), dtype=pl.String)
        rows: list[tuple[int, int, int, str, str, bool]] = []
        if frame is not None:
            frame = frame.with_columns(
                pl.col("transaction_id").is_in(followed.implode()).fill_null(False).alias("_judged")
            )
            subset = frame.with_row_index("_n").filter(pl.col("_judged"))
            if "_seq" not in subset.columns:
                subset = subset.with_columns(pl.lit(0, pl.Int64).alias("_seq"))
            rows = [
                (s, 0, n, i, u, ok)
                for s, n, i, u, ok in zip(
                    subset["_seq"],
                    subset["_n"],
                    subset["transaction_id"],
                    subset["user_id"],
                    subset["_reason"].is_null(),
                    strict=True,
                )
            ]
        events = rows + [(r[4], 1, n, r[3], r[2], True) for n, r in enumerate(removed)]
        repeats: dict[int, str] = {}  # row -> reason
        refused: list[tuple[str, str, str]] = []
        added: dict[str, int] = {}
        for _, kind, n, tid, user, ok in sorted(events, key=lambda e: e[:3]):
            state = self.ids[tid]
            if kind == 0 and ok:
                if state.live or state.staged_by not in (None, user):
                    repeats[n] = f"duplicate transaction_id '{tid}' (first occurrence kept)"
                else:
                    state.owner = state.staged_by = user
                    state.live, state.gone = True, False
                    added[tid] = added.get(tid, 0) + 1
            elif kind == 1:
                if state.owner == user or (lookup is None and state.owner is None):
                    state.owner, state.live, state.gone = user, False, True
                else:
                    file, pos = removed[n][:2]
                    refused.append((file, pos, f"removed transaction '{tid}' {NOT_THEIRS}"))
        if frame is not None and repeats:
            marks = pl.DataFrame(
                {"_n": list(repeats), "_repeat": list(repeats.values())},
                schema={"_n": pl.UInt32, "_repeat": pl.String},
            )
            frame = (
                frame.with_row_index("_n")
                .join(marks, on="_n", how="left", maintain_order="left")
                .with_columns(pl.coalesce("_reason", "_repeat").alias("_reason"))
                .drop("_n", "_repeat")
            )
        return frame, refused, any(c > 1 for c in added.values())

    def _start(
        self,
        ids: pl.Series,
        lookup: OwnerLookup | None,
        staged: Callable[[pl.Series], pl.DataFrame],
    ) -> None:
        """Where ids first named by a removal stand: staged earlier, else stored, else removed."""
        owners: dict[str, str | None] = {}
        if lookup is not None:
            for table in ("removed_transactions", "transactions"):  # the later wins
                owners.update(lookup(table, ids).select("id", "user_id").rows())
        stagers = dict(staged(ids).select("id", "user_id").rows())
        for tid in ids.to_list():
            by = stagers.get(tid)
            self.ids[tid] = _Id(by or owners.get(tid), by, tid in stagers)

    def net(self) -> list[tuple[str, str]]:
        """(user, id) of every transaction whose last event in this ingest is a removal."""
        return sorted((s.owner, t) for t, s in self.ids.items() if s.gone and s.owner is not None)
