"""Whole-batch validation: normalise each table, check references and duplicates, collect rejects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from spendsense.ingest import ownership as O
from spendsense.ingest import parse as P
from spendsense.ingest import tables as T
from spendsense.ingest.plaid import original
from spendsense.ingest.staging import META, SEQ, Staged
from spendsense.ingest.tabular import original_row
from spendsense.ledger.batch import LedgerBatch, Reject
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES, empty

LIABILITY_TABLES = (
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
    "liabilities_other",
)
KEYED = ("users", "accounts", "transactions", *LIABILITY_TABLES)
_IDS = pl.Series(dtype=pl.String)
# Called with (table, normalised frame) before references and duplicates are checked:
# money conventions of the input (``conventions.Conventions.adjust``).
Adjust = Callable[[str, pl.DataFrame], pl.DataFrame]
# (table, ids) -> those of ``ids`` that earlier chunks of this ingest already staged: the
# store's staged table, looked up by its index (``store.ledger.Stage.staged_ids``)
StagedLookup = Callable[[str, pl.Series], pl.Series]
# Tables whose ids no later rule reads: with a ``StagedLookup`` their duplicates against
# earlier chunks are found in the stage, and their ids are not kept in memory (users and
# accounts are: references and placeholder users need them; a few per user)
LOOKED_UP = ("transactions", *LIABILITY_TABLES)


def _same(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame


def _ids(values: set[str] | None) -> pl.Series:
    return pl.Series(sorted(values or set()), dtype=pl.String)


@dataclass
class Seen:
    """What earlier chunks of an ingest leave for later ones (ids only, never rows).

    ``taken``: ids loaded per table (a later row with one is a duplicate), one Series per
    chunk; ``owners``: accounts loaded, with their user (rows without a user take their
    account's); ``known_accounts``/``known_users``: already stored; ``implicit``: users
    referenced but not yet described (a placeholder row at the end, unless a later chunk
    describes them); ``staged``: where the ids of ``LOOKED_UP`` tables are found instead of
    ``taken`` (each lookup costs the chunk's ids, not everything loaded before: O(rows)
    over an ingest where ``taken`` costs O(rows x chunks)).
    """

    known_accounts: pl.Series = field(default_factory=lambda: _IDS)
    known_users: pl.Series = field(default_factory=lambda: _IDS)
    taken: dict[str, list[pl.Series]] = field(default_factory=lambda: {t: [] for t in KEYED})
    owners: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"account_id": pl.String, "_owner": pl.String})
    )
    implicit: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"user_id": pl.String, "source": pl.String})
    )
    lookup: O.OwnerLookup | None = None  # stored owners of ids (None: no store to check)
    staged: StagedLookup | None = None  # ids staged by earlier chunks (None: kept in ``taken``)
    staged_owners: O.OwnerLookup | None = None  # their users (None: kept in ``stagers``)
    removals: O.Removals = field(default_factory=O.Removals)  # sync removals, in page order
    stagers: list[pl.DataFrame] = field(default_factory=list)  # (id, user_id) without a stage

    @classmethod
    def of(
        cls,
        known_account_ids: set[str] | None,
        known_user_ids: set[str] | None,
        lookup: O.OwnerLookup | None = None,
        staged: StagedLookup | None = None,
        staged_owners: O.OwnerLookup | None = None,
    ) -> Seen:
        return cls(
            known_accounts=_ids(known_account_ids),
            known_users=_ids(known_user_ids),
            lookup=lookup,
            staged=staged,
            staged_owners=staged_owners,
        )

    def _in_stage(self, table: str) -> bool:
        return self.staged is not None and table in LOOKED_UP

    def loaded(self, table: str, ids: pl.Series) -> pl.Series:
        """Those of ``ids`` (or a superset) that earlier chunks loaded into ``table``."""
        if self._in_stage(table):
            assert self.staged is not None
            wanted = ids.cast(pl.String).drop_nulls()  # (a chunk's own repeats are few)
            return self.staged(table, wanted) if wanted.len() else _IDS
        return self.ids(table)

    def ids(self, table: str) -> pl.Series:
        """Every id earlier chunks loaded into ``table`` (not for ``LOOKED_UP`` with a stage)."""
        assert not self._in_stage(table), f"{table} ids are in the stage"
        parts = self.taken[table]
        return pl.concat(parts) if parts else _IDS

    def take(self, table: str, ids: pl.Series) -> None:
        """Record the ids this chunk loads (the stage records its own)."""
        if not self._in_stage(table) and ids.len():
            self.taken[table].append(ids.cast(pl.String))

    def take_stagers(self, transactions: pl.DataFrame) -> None:
        """Record who loads this chunk's transactions, unless the stage can say (``staged_by``)."""
        if self.staged_owners is None and transactions.height:
            ids = pl.col("transaction_id").cast(pl.String).alias("id")
            self.stagers.append(transactions.select(ids, pl.col("user_id").cast(pl.String)))

    def staged_by(self, ids: pl.Series) -> pl.DataFrame:
        """Those of ``ids`` earlier chunks loaded as transactions, with their user (``id``,
        ``user_id``; the user null when only the ids are known)."""
        if self.staged_owners is not None:
            return self.staged_owners("transactions", ids)
        wanted = ids.cast(pl.String).implode()
        if self._in_stage("transactions"):
            found = self.loaded("transactions", ids)
            return pl.DataFrame(
                {"id": found, "user_id": pl.Series([None] * found.len(), dtype=pl.String)}
            )
        frames = [f.filter(pl.col("id").is_in(wanted)) for f in self.stagers]
        owners = pl.DataFrame(schema={"id": pl.String, "user_id": pl.String})
        return pl.concat([owners, *frames]).unique("id", keep="first", maintain_order=True)


def _split(
    frame: pl.DataFrame, key: str | None, taken: pl.Series = _IDS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mark later duplicates of ``key`` among otherwise-valid rows, then split good / rejected.

    ``taken``: ids already loaded by earlier chunks (a row with one is a later duplicate).
    """
    if key is not None and frame.height:
        ok = pl.col("_reason").is_null()
        if "_judged" in frame.columns:  # ids a sync removal named: judged in page order
            ok = ok & ~pl.col("_judged")
        frame = frame.with_columns(pl.int_range(pl.len()).alias("_n"))
        first = pl.col("_n") == pl.col("_n").min().over(pl.when(ok).then(pl.col(key)))
        later = ~first | pl.col(key).is_in(taken.implode()).fill_null(False)
        frame = frame.with_columns(
            pl.when(ok & later)
            .then(pl.format("duplicate {} '{}' (first occurrence kept)", pl.lit(key), pl.col(key)))
            .otherwise(pl.col("_reason"))
            .alias("_reason")
        ).drop("_n")
    bad = pl.col("_reason").is_not_null()
    frame = frame.drop("_judged", strict=False)
    return frame.filter(~bad), frame.filter(bad)


def _fill_user(frame: pl.DataFrame, owners: pl.DataFrame) -> pl.DataFrame:
    """Give rows without a user_id their file's user, else the user of their account."""
    if frame.height == 0:
        return frame
    keyed = frame.with_columns(
        P.clean(P.col(frame, "account_id")).alias("_acct"), pl.int_range(pl.len()).alias("_n")
    )
    joined = keyed.join(owners, left_on="_acct", right_on="account_id", how="left").sort("_n")
    # the file's own user comes before the account's: an account of someone else's is then
    # refused by ``ownership.account_owner`` instead of the row moving to that user
    return joined.with_columns(
        pl.coalesce(
            P.clean(P.col(frame, "user_id")), P.clean(P.col(frame, "_user")), pl.col("_owner")
        ).alias("user_id")
    ).drop("_acct", "_n", "_owner")


def _references(frame: pl.DataFrame, known: list[pl.Series]) -> pl.DataFrame:
    """Reject rows whose account is neither in this batch nor already stored, or that lack a user."""
    if frame.height == 0:
        return frame
    ok = pl.col("_reason").is_null()
    found = pl.any_horizontal(
        pl.col("account_id").is_in(ids.implode()).fill_null(False) for ids in known
    )
    return frame.with_columns(
        pl.when(ok & ~found)
        .then(pl.format("account_id '{}' is not a known account", pl.col("account_id")))
        .when(ok & pl.col("user_id").is_null())
        .then(pl.lit("no user: give --user or a user_id"))
        .otherwise(pl.col("_reason"))
        .alias("_reason")
    )


# Columns a normalised frame keeps for validation: the ledger's, the bookkeeping, and these
_KEEP = {"users": ("consent_changed_at", "_consent_day")}


def _normalised(
    table: str, staged: Staged, owners: pl.DataFrame | None = None
) -> pl.DataFrame | None:
    """One table's staged rows normalised: the text rows and the typed rows each by the table's
    function, then together in file order (``_seq``); None when nothing was staged."""
    groups = staged.groups(table)
    if not groups:
        return None
    keep = [*TABLES[table], *META, SEQ, "_reason", *_KEEP.get(table, ())]
    out = []
    for raw in groups:
        if owners is not None:
            raw = _fill_user(raw, owners)
        frame = T.NORMALISERS[table](raw)
        out.append(frame.select(c for c in keep if c in frame.columns))
    if len(out) == 1:
        return out[0]
    return pl.concat(out, how="diagonal_relaxed").sort(SEQ, maintain_order=True)


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
    good: dict[str, pl.DataFrame], explicit: pl.DataFrame, known_users: list[pl.Series]
) -> pl.DataFrame:
    """Users referenced by loaded rows but not described in this chunk or known: (user_id, source)."""
    seen = pl.concat(
        [
            good[t].select("user_id", pl.col("_file").alias("source"))
            for t in ("accounts", "transactions", *LIABILITY_TABLES)
            if good[t].height
        ]
        or [pl.DataFrame(schema={"user_id": pl.String, "source": pl.String})],
        how="vertical",
    )
    return seen.filter(
        pl.col("user_id").is_not_null()
        & ~pl.col("user_id").is_in(explicit["user_id"].implode())
        & ~pl.any_horizontal(pl.col("user_id").is_in(ids.implode()) for ids in known_users)
    ).unique("user_id", keep="first", maintain_order=True)


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
            originals[r["_rid"]] if r["_rid"] is not None else _original(r["_file"], r["_pos"]),
            "ownership" if O.is_ownership(r["_reason"]) else "invalid",
        )
        for r in rows
    ]


def validate_chunk(staged: Staged, seen: Seen, adjust: Adjust = _same) -> LedgerBatch:
    """Validate one chunk of an ingest, given (and updating) what earlier chunks left in ``seen``.

    Duplicates of ids loaded by earlier chunks are rejected, and accounts loaded by earlier
    chunks are known. Placeholder users wait in ``seen`` for ``finish``. ``adjust`` sees
    each normalised table first (sign and unit conventions of the input).
    """
    batch = LedgerBatch()
    good: dict[str, pl.DataFrame] = {}
    accounts = _normalised("accounts", staged)
    if accounts is None:
        accounts = T.accounts(staged.table("accounts"))
    accounts = adjust("accounts", accounts)
    accounts = O.stored_owner(O.file_owner(accounts), "accounts", "account_id", seen.lookup)
    good["accounts"], bad = _split(accounts, "account_id", seen.ids("accounts"))
    batch.rejects.extend(_rejects("accounts", bad, staged))
    seen.take("accounts", good["accounts"]["account_id"])
    seen.owners = pl.concat(
        [seen.owners, good["accounts"].select("account_id", pl.col("user_id").alias("_owner"))]
    )
    known = [seen.known_accounts, seen.ids("accounts")]
    refused: list[tuple[str, str, str]] | None = None  # sync removals, judged with the rows
    for table in ("transactions", *LIABILITY_TABLES):
        frame = _normalised(table, staged, seen.owners)
        if frame is None or frame.height == 0:
            good[table] = empty(table).with_columns(pl.Series("_file", [], pl.String))
            continue
        frame = adjust(table, frame)
        frame = O.account_owner(O.file_owner(_references(frame, known)), seen.owners, seen.lookup)
        key = PRIMARY_KEYS[table][0]
        twice = False
        if table == "transactions":
            frame = O.stored_owner(frame, table, key, seen.lookup)
            judged, refused, twice = seen.removals.judge(
                frame, staged.removed, seen.lookup, seen.staged_by
            )
            assert judged is not None
            frame = judged
        good[table], bad = _split(frame, key, seen.loaded(table, frame[key]))
        if twice:  # an id removed and added again in this chunk: its last row must win
            good[table] = good[table].sort(SEQ, maintain_order=True)
        batch.rejects.extend(_rejects(table, bad, staged))
        seen.take(table, good[table][key])
    if refused is None:
        _, refused, _ = seen.removals.judge(None, staged.removed, seen.lookup, seen.staged_by)
    seen.take_stagers(good["transactions"])
    users = _normalised("users", staged)
    if users is None:
        users = T.users(staged.table("users"))
    users = O.file_owner(users)
    explicit, bad = _split(users, "user_id", seen.ids("users"))
    batch.rejects.extend(_rejects("users", bad, staged))
    seen.take("users", explicit["user_id"])
    implicit = _implicit_users(
        good, explicit, [seen.known_users, seen.ids("users"), seen.implicit["user_id"]]
    )
    seen.implicit = pl.concat([seen.implicit, implicit])
    batch.add("users", explicit)
    batch.add("consents", _consents(explicit))
    for table in ("accounts", "transactions", *LIABILITY_TABLES):
        batch.add(table, good[table])
    batch.rejects.extend(
        Reject(f, pos, "transactions", why, None, "ownership") for f, pos, why in refused
    )
    described = set(explicit["user_id"].to_list())
    batch.snapshots.extend(u for u in dict.fromkeys(staged.snapshots) if u in described)
    batch.cursors.extend(staged.cursors)
    batch.rejects.extend(Reject(*r) for r in staged.file_rejects)
    return batch


def finish(seen: Seen) -> LedgerBatch:
    """The last part of an ingest: a placeholder row (consent none) for each user referenced
    by loaded rows but described by no chunk and not already stored."""
    batch = LedgerBatch()
    implicit = seen.implicit.filter(~pl.col("user_id").is_in(seen.ids("users").implode()))
    batch.add("users", implicit.with_columns(pl.lit("none").alias("consent_status")))
    batch.removed_transaction_ids.extend(seen.removals.net())  # after every chunk's rows
    return batch
