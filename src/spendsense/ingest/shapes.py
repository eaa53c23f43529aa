"""Export shapes a mapping describes: documents, nested lists, flat liabilities, cross-table fills.

``read_mapped`` stages a JSON document by its mapping: each table's records are found
at a path (``transactions``, ``data.accounts``, ``accounts[].transactions`` for lists
inside each account, whose records inherit the parent's ids), an object counts as a
one-record list. ``prepare`` runs on a whole chunk before validation: columns the
mapping fills from another table (``fill``: a card limit kept on the user row) and the
routing of a flat ``liabilities`` table (from CSV sets) to the ledger's liability tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from spendsense.ingest import parse as P
from spendsense.ingest.mapping import LIABILITY_ROUTES, Fill, Mapping, apply, scoped
from spendsense.ingest.records import text
from spendsense.ingest.staging import Staged

NEST = "[]."  # path separator: the list on the left holds records with the list on the right
_INHERIT = ("account_id", "user_id")  # ids a nested record takes from its parent by default


def walk(doc: object, path: str | None) -> object:
    """The value at a dotted path (``user.id``) of a JSON document, else None."""
    if not path:
        return None
    for key in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def records_at(
    doc: object,
    path: str,
    inherit: dict[str, str] | None,
    extra: dict[str, str | None] | None = None,
) -> Iterator[tuple[str, object, dict[str, str | None]]]:
    """(position prefix, records, inherited fields) for every list the path reaches.

    ``accounts[].transactions`` yields each account's ``transactions`` with that account's
    ``account_id`` (or ``inherit``: child field <- parent field); deeper paths nest further.
    """
    head, nest, rest = path.partition(NEST)
    found = walk(doc, head)
    if isinstance(found, dict):
        found = [found]
    if not nest:
        yield head, found, dict(extra or {})
        return
    if not isinstance(found, list):
        return
    pairs = inherit if inherit else {k: k for k in _INHERIT}
    for i, parent in enumerate(found):
        if not isinstance(parent, dict):
            continue
        got = {child: text(parent.get(src)) for child, src in pairs.items() if parent.get(src)}
        for where, records, fields in records_at(parent, rest, inherit, {**(extra or {}), **got}):
            yield f"{head}[{i}].{where}", records, fields


def read_mapped(
    doc: dict[str, Any], file: str, user: str | None, mapping: Mapping, stamp: str | None = None
) -> Staged:
    """Stage a foreign JSON document by its mapping; a flat ``liabilities`` list is routed by account.

    ``stamp``: when a user record's consent counts as recorded if it does not say (the
    file's modification time, as for bundles).
    """
    staged = Staged()
    found = walk(doc, mapping.user_key)
    if isinstance(found, (str, int)) and not isinstance(found, bool) and str(found).strip():
        user = user or str(found)
    for table, path in mapping.lists.items():
        for where, records, extra in records_at(doc, path, mapping.inherit.get(table)):
            if table == "users" and stamp is not None:
                extra = {"consent_changed_at": stamp, **extra}
            staged.add_records(table, records, file=file, where=where, user=user, extra=extra)
    for table in list(staged.frames):
        staged.frames[table] = [
            scoped(apply(mapping, table, f), mapping.scope_ids_by_user)
            for f in staged.frames[table]
        ]
    if "liabilities" in staged.frames:
        route(staged, mapping)
    return staged


def prepare(staged: Staged, mapping: Mapping) -> None:
    """Whole-chunk steps of a mapping, before validation: fills, then flat-liability routing."""
    for table, columns in mapping.fill.items():
        for column, spec in columns.items():
            _fill(staged, table, column, spec)
    if "liabilities" in staged.frames:
        route(staged, mapping)


def _key(frame: pl.DataFrame, on: str) -> pl.Expr:
    """The join key of a fill: the column, or for users the row's user when the column is absent."""
    value = P.clean(P.col(frame, on))
    return pl.coalesce(value, P.clean(P.col(frame, "_user"))) if on == "user_id" else value


def _fill(staged: Staged, table: str, column: str, spec: Fill) -> None:
    """Set ``column`` of ``table`` rows (where null, and ``when`` holds) from the source table."""
    source = staged.table(spec.source_table)
    if table not in staged.frames or spec.source_column not in source.columns:
        return
    lookup = (
        source.select(
            _key(source, spec.by).alias("_fk"), P.clean(pl.col(spec.source_column)).alias("_fv")
        )
        .drop_nulls()
        .unique("_fk", keep="first")
    )
    target = staged.table(table)
    cond = pl.lit(True)
    for col, value in spec.when.items():
        cond = cond & (P.clean(P.col(target, col)).str.to_lowercase() == value.lower()).fill_null(
            False
        )
    current = P.clean(P.col(target, column))
    filled = (
        target.with_columns(_key(target, spec.by).alias("_fk"))
        .join(lookup, on="_fk", how="left", maintain_order="left")
        .with_columns(
            pl.when(cond & current.is_null()).then(pl.col("_fv")).otherwise(current).alias(column)
        )
        .drop("_fk", "_fv")
    )
    staged.frames[table] = [filled]


def route(staged: Staged, mapping: Mapping) -> None:
    """Send each flat liability to its table by its account's kind.

    Credit accounts -> credit; loans with subtype mortgage or student -> those tables; every
    other loan (auto, consumer, home equity, ...) -> ``liabilities_other`` with the subtype
    as ``kind``. A liability of another kind of account, or of an account not in the same
    chunk, is rejected.
    """
    flat = staged.table("liabilities")
    del staged.frames["liabilities"]
    accts = staged.table("accounts")
    kinds = accts.select(
        P.col(accts, "account_id"),
        *[P.clean(P.col(accts, c)).str.to_lowercase().alias(f"_{c}") for c in ("type", "subtype")],
    ).unique("account_id", keep="first")
    routed = flat.with_columns(P.col(flat, "account_id")).join(
        kinds, on="account_id", how="left", maintain_order="left"
    )
    loan = pl.col("_type") == "loan"
    target = (
        pl.when(pl.col("_type") == "credit")
        .then(pl.lit(LIABILITY_ROUTES["credit"]))
        .when(loan & (pl.col("_subtype") == "mortgage"))
        .then(pl.lit(LIABILITY_ROUTES["mortgage"]))
        .when(loan & (pl.col("_subtype") == "student"))
        .then(pl.lit(LIABILITY_ROUTES["student"]))
        .when(loan)
        .then(pl.lit(LIABILITY_ROUTES["other"]))
    )
    routed = routed.with_columns(target.alias("_table"))
    for table in LIABILITY_ROUTES.values():
        part = routed.filter(pl.col("_table") == table)
        if table == LIABILITY_ROUTES["other"]:
            given = P.clean(P.col(part, "kind"))
            part = part.with_columns(pl.coalesce(given, "_subtype", pl.lit("loan")).alias("kind"))
        part = part.drop("_type", "_subtype", "_table")
        if part.height:
            staged.add_frame(table, apply(mapping, table, part))
    for row in (
        routed.filter(pl.col("_table").is_null())
        .select("_file", "_pos", "_type", "_rid")
        .to_dicts()
    ):
        kind = f"a '{row['_type']}' account" if row["_type"] else "an account not in this file"
        reason = f"liability for {kind}: only credit and loan accounts carry liabilities"
        record = staged.originals[int(row["_rid"])] if row["_rid"] is not None else None
        staged.file_rejects.append((row["_file"], row["_pos"], "liabilities", reason, record))
