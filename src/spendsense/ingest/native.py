"""Native columnar reading of JSON bundles and Plaid responses, straight into Arrow.

Many files' documents are joined into one newline-delimited buffer (each a line) and
read by PyArrow's JSON reader with the document schema below (``DOC_SCHEMA``), in two
parts on two threads (PyArrow releases the GIL). The reader is strict: a value of
another JSON type than the schema says (an amount as text, a list where records
should be, a boolean as a number, a duplicated key, invalid UTF-8 ...) stops it, and
its message names the line. That one file then takes the per-file Python path
(``ingest._read_json_file``), which judges every record on its own and names the bad
ones; the other files are read again natively. Files the reader cannot take at all
go to that path from the start: not a single JSON object, a sandbox config, a key
that only the Python path interprets (``consent_changed_at`` without a value), or
none of the keys a bundle or response has.

The result is one *typed* staged frame per ledger table: numbers stay Float64,
booleans Boolean, text String, nested objects flattened with ``_``
(``balances_current``) exactly as ``staging.flatten`` names them, with the same
bookkeeping columns (``_file``, ``_pos``, ``_rid`` null: re-read for the quarantine,
``_user``) plus ``_seq``, the file's place in its chunk (first occurrence wins by it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from spendsense.ingest.staging import Staged

_F, _S, _B = pa.float64(), pa.string(), pa.bool_()


def _of(dtype: pa.DataType, *names: str) -> list[tuple[str, pa.DataType]]:
    return [(n, dtype) for n in names]


# What each table's normaliser reads (tests/ingest/test_native.py checks it covers them).
_BALANCES = pa.struct(
    _of(_F, "current", "available", "limit")
    + _of(_S, "iso_currency_code", "unofficial_currency_code", "last_updated_datetime")
)
_ACCOUNT = pa.struct(
    _of(_S, "account_id", "user_id", "name", "official_name", "type", "subtype")
    + _of(_S, "holder_category", "mask", "iso_currency_code", "unofficial_currency_code")
    + [("balances", _BALANCES)]
)
_PFC = pa.struct(_of(_S, "primary", "detailed", "confidence_level"))
_TRANSACTION = pa.struct(
    _of(_S, "transaction_id", "account_id", "user_id", "date", "authorized_date")
    + _of(_S, "iso_currency_code", "unofficial_currency_code", "name", "merchant_name")
    + _of(_S, "payment_channel", "pending_transaction_id")
    + _of(_S, "pfc_primary", "pfc_detailed", "pfc_confidence")
    + [("amount", _F), ("pending", _B), ("personal_finance_category", _PFC)]
)
_APR = pa.struct(
    _of(_S, "apr_type", "type") + _of(_F, "apr_percentage", "percentage", "interest_charge_amount")
)
_CREDIT = pa.struct(
    _of(_S, "account_id", "user_id")
    + _of(_S, "last_payment_date", "last_statement_issue_date", "next_payment_due_date")
    + _of(_F, "purchase_apr", "last_payment_amount", "last_statement_balance")
    + _of(_F, "minimum_payment_amount")
    + [("is_overdue", _B), ("aprs", pa.list_(_APR))]
)
_MORTGAGE = pa.struct(
    _of(_S, "account_id", "user_id", "next_payment_due_date", "interest_rate_type")
    + _of(_F, "next_monthly_payment", "past_due_amount", "interest_rate_percentage")
    + [("interest_rate", pa.struct(_of(_F, "percentage") + _of(_S, "type")))]
)
_STUDENT = pa.struct(
    _of(_S, "account_id", "user_id", "next_payment_due_date", "loan_status_type")
    + _of(_F, "interest_rate_percentage", "minimum_payment_amount")
    + [("is_overdue", _B), ("loan_status", pa.struct(_of(_S, "type")))]
)
_USER = pa.struct(
    _of(_S, "user_id", "name", "consent", "consent_status", "age_band", "gender")
    + _of(_S, "income_tier", "region", "consent_changed_at")
)
DOC_SCHEMA = pa.schema(
    [
        ("user", _USER),
        # a sandbox config: any entry stops the reader, an empty list is sent on (``_stage``)
        ("override_accounts", pa.list_(pa.null())),
        ("user_id", _S),
        ("accounts", pa.list_(_ACCOUNT)),
        ("transactions", pa.list_(_TRANSACTION)),
        ("added", pa.list_(_TRANSACTION)),
        ("modified", pa.list_(_TRANSACTION)),
        ("removed", pa.list_(pa.struct([("transaction_id", _S)]))),
        ("next_cursor", _S),
        ("item", pa.struct([("item_id", _S)])),
        (
            "liabilities",
            pa.struct(
                [
                    ("credit", pa.list_(_CREDIT)),
                    ("mortgage", pa.list_(_MORTGAGE)),
                    ("student", pa.list_(_STUDENT)),
                ]
            ),
        ),
    ]
)
_ROW = re.compile(r"in row (\d+)")
_PARSE = pj.ParseOptions(explicit_schema=DOC_SCHEMA, unexpected_field_behavior="ignore")
MAX_RETRIES = 32  # strict-reader failures per chunk before the rest go to the per-file path
PARTS = 2  # buffers read at once (one per core)
_LISTS = (("accounts", "accounts"), ("transactions", "transactions"))
_SYNC_LISTS = (("transactions", "added"), ("transactions", "modified"))
_LIABILITIES = ("credit", "mortgage", "student")
_APR_KINDS = ("purchase_apr", "cash_apr", "balance_transfer_apr", "special")


@dataclass
class Document:
    """One JSON file waiting to be read: where it is, its user from outside, its bytes."""

    path: Path
    seq: int  # place in the chunk
    user: str | None  # --user, or from the file name
    stamp: Callable[[], str]  # when a bundle's consent counts as recorded (the file's mtime)
    line: bytes = b""


@dataclass
class NativeResult:
    """Typed staged frames for the files read natively; the others for the per-file path."""

    staged: Staged = field(default_factory=Staged)
    fallback: list[Document] = field(default_factory=list)


def one_line(raw: bytes) -> bytes | None:
    """The document as one line of NDJSON (ending in a newline), or None when only the
    per-file path can read it (not a JSON object, not UTF-8).

    A document spread over lines is re-serialised compactly by orjson (strict like the
    reader: NaN, control characters, lone surrogates are refused, so such files go to
    the per-file path). The usual one-line file is passed on as it is, without a copy.
    """
    if not raw.startswith(b"{"):
        raw = raw.lstrip()
        if not raw.startswith(b"{"):
            return None
    if not raw.isascii():
        try:
            raw.decode()
        except UnicodeDecodeError:
            return None
    newline = raw.find(b"\n")  # memchr: the first is the last in a one-line file
    if b"\r" not in raw:
        if newline == len(raw) - 1:
            return raw
        if newline == -1:
            return raw + b"\n"
    try:
        return orjson.dumps(orjson.loads(raw)) + b"\n"
    except orjson.JSONDecodeError:
        return None


def _read(lines: Sequence[bytes]) -> pa.Table:
    buf = b"".join(lines)
    options = pj.ReadOptions(block_size=len(buf) + 1, use_threads=False)  # one block: global rows
    return pj.read_json(pa.py_buffer(buf), read_options=options, parse_options=_PARSE)


def _read_part(docs: list[Document], budget: list[int]) -> tuple[list[pa.Table], list[Document]]:
    """Read ``docs`` natively; on a strict-reader error, the named file goes to the fallback.

    One block per read, parsed in order, so the row in the message is the first bad
    document: those before it are read again, it falls back, the rest are retried.
    """
    tables: list[pa.Table] = []
    fallback: list[Document] = []
    rest = docs
    while rest:
        try:
            tables.append(_with_seq(_read([d.line for d in rest]), rest))
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            budget[0] -= 1
            match = _ROW.search(str(exc))
            if match is None or budget[0] <= 0 or int(match[1]) >= len(rest):
                fallback.extend(rest)
                break
            row = int(match[1])
            if row:
                tables.append(_with_seq(_read([d.line for d in rest[:row]]), rest[:row]))
            fallback.append(rest[row])
            rest = rest[row + 1 :]
    return tables, fallback


def _with_seq(table: pa.Table, docs: list[Document]) -> pa.Table:
    # through Polars: pa.array of a Python list would import pandas (to test it array-like)
    seqs = pl.Series("_seq", [d.seq for d in docs], dtype=pl.Int64).to_arrow()
    return table.append_column("_seq", seqs)


def read_native(docs: list[Document]) -> NativeResult:
    """Read every document natively that the strict reader takes; see the module docstring."""
    result = NativeResult()
    ready: list[Document] = []
    for doc in docs:
        line = one_line(doc.path.read_bytes())
        if line is None:
            result.fallback.append(doc)
        else:
            doc.line = line
            ready.append(doc)
    if not ready:
        return result
    size = -(-len(ready) // PARTS)
    parts = [ready[i : i + size] for i in range(0, len(ready), size)]
    budget = [MAX_RETRIES]
    with ThreadPoolExecutor(len(parts)) as pool:
        outcomes = list(pool.map(lambda p: _read_part(p, budget), parts))
    tables = [t for ts, _ in outcomes for t in ts if t.num_rows]
    for _, failed in outcomes:
        result.fallback.extend(failed)
    if tables:
        by_seq = {d.seq: d for d in ready}
        _stage(pa.concat_tables(tables), by_seq, result)
    return result


def _doc_frame(table: pa.Table, by_seq: dict[int, Document]) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    seqs = frame["_seq"].to_list()
    meta = pl.DataFrame(
        {
            "_seq": seqs,
            "_file": [str(by_seq[s].path) for s in seqs],
            "_given": [by_seq[s].user for s in seqs],
        },
        schema={"_seq": pl.Int64, "_file": pl.String, "_given": pl.String},
    )
    return frame.join(meta, on="_seq", how="left", maintain_order="left")


def _stage(table: pa.Table, by_seq: dict[int, Document], result: NativeResult) -> None:
    """Documents -> staged typed frames per table (and the odd documents to the fallback)."""
    docs = _doc_frame(table, by_seq)
    own = pl.col("user").struct.field("user_id")
    top = pl.col("user_id")
    bundle = pl.col("user").is_not_null()
    # as ingest._read_json_file: --user or the file name, else the document's own user_id;
    # a bundle's user record names its user first (plaid._bundle_user)
    base = pl.coalesce(pl.col("_given"), pl.when(top.str.strip_chars() != "").then(top))
    docs = docs.with_columns(
        pl.when(bundle & (own.str.strip_chars() != ""))
        .then(own)
        .otherwise(base)
        .alias("_doc_user"),
        bundle.alias("_bundle"),
        (
            ~bundle
            & pl.any_horizontal(
                pl.col(c).is_not_null() for c in ("added", "modified", "removed", "next_cursor")
            )
        ).alias("_sync"),
    )
    known = pl.any_horizontal(
        pl.col(c).is_not_null()
        for c in (
            "accounts",
            "transactions",
            "added",
            "modified",
            "removed",
            "next_cursor",
            "liabilities",
        )
    )
    removed = pl.col("removed").list.eval(
        pl.element().struct.field("transaction_id").str.strip_chars()
    )
    # the per-file path judges: no known key; a removal without an id; a user record without
    # a user_id (or one past Python's nesting limit, whose fields the reader skipped)
    odd = (
        (~bundle & ~known) | (bundle & own.is_null()) | pl.col("override_accounts").is_not_null()
    ) | (
        pl.col("_sync")
        & removed.list.eval(pl.element().is_null() | (pl.element() == "")).list.any()
    )
    docs = docs.with_columns(odd.fill_null(False).alias("_odd"))  # null: no list to judge
    odd = pl.col("_odd")
    odd_seqs = set(docs.filter(odd)["_seq"].to_list())
    result.fallback.extend(by_seq[s] for s in sorted(odd_seqs))
    docs = docs.filter(~odd)
    no_user = docs.filter(~bundle & pl.col("_doc_user").is_null())
    from spendsense.ingest.plaid import NO_USER

    result.staged.file_rejects.extend(
        (f, "file", "users", NO_USER, None) for f in no_user["_file"].to_list()
    )
    docs = docs.filter(bundle | pl.col("_doc_user").is_not_null())
    staged = result.staged
    _users(docs.filter(bundle), by_seq, staged)
    for table, key in (*_LISTS, *_SYNC_LISTS):
        _records(staged, table, docs, pl.col(key), key)
    for kind in _LIABILITIES:
        _records(
            staged,
            f"liabilities_{kind}",
            docs,
            pl.col("liabilities").struct.field(kind),
            f"liabilities.{kind}",
        )
    sync = docs.filter(pl.col("_sync"))
    staged.snapshots.extend(docs.filter(bundle)["_doc_user"].to_list())  # a bundle: whole ledger
    if sync.height:
        removals = (
            sync.select("_file", "_doc_user", removed.alias("_r"), "_seq")
            .with_row_index("_d")
            .explode("_r")
            .with_columns(pl.format("removed[{}]", pl.int_range(pl.len()).over("_d")).alias("_p"))
            .filter(pl.col("_r").is_not_null())
        )
        staged.removed.extend(removals.select("_file", "_p", "_doc_user", "_r", "_seq").rows())
        cursors = sync.filter(pl.col("next_cursor").is_not_null() & (pl.col("next_cursor") != ""))
        item = pl.col("item").struct.field("item_id")
        staged.cursors.extend(
            cursors.select("_doc_user", pl.coalesce(item, pl.lit("default")), "next_cursor").rows()
        )


def _users(docs: pl.DataFrame, by_seq: dict[int, Document], staged: Staged) -> None:
    if docs.height == 0:
        return
    stamps = [by_seq[s].stamp() for s in docs["_seq"].to_list()]
    users = docs.select(
        pl.col("user").struct.unnest(),
        pl.Series("_stamp", stamps, pl.String),
        "_file",
        "_seq",
        pl.col("_doc_user").alias("_user"),
    )
    users = users.with_columns(
        pl.when(pl.col("consent").is_in(["granted", "revoked"]))
        .then(pl.coalesce("consent_changed_at", "_stamp"))
        .otherwise(pl.col("consent_changed_at"))
        .alias("consent_changed_at"),
        pl.lit("user[0]").alias("_pos"),
        pl.lit(None, pl.String).alias("_rid"),
    ).drop("_stamp")
    staged.add_typed("users", users)


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested structs unnested with ``_`` (``balances_current``), as ``staging.flatten`` names.

    A record may carry a flattened name itself (``interest_rate_type`` beside
    ``interest_rate.type``): the value given either way is kept.
    """
    structs = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
    while structs:
        for c in structs:
            dtype = frame.schema[c]
            assert isinstance(dtype, pl.Struct)
            names = {f.name: f"{c}_{f.name}" for f in dtype.fields}
            frame = frame.with_columns(
                (
                    pl.coalesce(pl.col(flat), pl.col(c).struct.field(f))
                    if flat in frame.columns
                    else pl.col(c).struct.field(f)
                ).alias(flat)
                for f, flat in names.items()
            ).drop(c)
        structs = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
    return frame


def _records(staged: Staged, table: str, docs: pl.DataFrame, records: pl.Expr, where: str) -> None:
    """One list of records per document -> one staged row per record (typed, flattened)."""
    lists = docs.select(records.alias("_r"), "_file", "_seq", pl.col("_doc_user").alias("_user"))
    lists = lists.filter(pl.col("_r").list.len() > 0)
    if lists.height == 0:
        return
    rows = lists.with_columns(pl.int_ranges(pl.col("_r").list.len()).alias("_i")).explode(
        "_r", "_i"
    )
    rows = rows.select(
        pl.col("_r").struct.unnest(),
        "_file",
        pl.format("{}[{}]", pl.lit(where), pl.col("_i")).alias("_pos"),
        pl.lit(None, pl.String).alias("_rid"),
        "_user",
        "_seq",
    )
    if "aprs" in rows.columns:
        rows = _aprs(rows)
    staged.add_typed(table, _flat(rows))


def _aprs(rows: pl.DataFrame) -> pl.DataFrame:
    """``aprs[]`` -> ``aprs_<type>_percentage`` / ``..._interest_charge_amount`` (first per type),
    as ``staging._aprs`` expands them."""
    kind = (
        pl.coalesce(pl.col("apr_type"), pl.col("type"))
        .fill_null("unknown")
        .str.strip_chars()
        .str.to_lowercase()
    )
    kind = (
        pl.when(kind.str.ends_with("_apr") | (kind == "special"))
        .then(kind)
        .otherwise(kind + "_apr")
    )
    rows = rows.with_row_index("_k")
    entries = (
        rows.select("_k", "aprs")
        .explode("aprs")
        .filter(pl.col("aprs").is_not_null())
        .unnest("aprs")
        .select(
            "_k",
            kind.alias("_kind"),
            pl.coalesce("apr_percentage", "percentage").alias("_pct"),
            pl.col("interest_charge_amount").alias("_charge"),
        )
        .unique(["_k", "_kind"], keep="first", maintain_order=True)
    )
    kinds = _APR_KINDS  # the kinds the normaliser reads
    wide = entries.group_by("_k").agg(
        *[
            pl.col("_pct").filter(pl.col("_kind") == k).first().alias(f"aprs_{k}_percentage")
            for k in kinds
        ],
        *[
            pl.col("_charge")
            .filter(pl.col("_kind") == k)
            .first()
            .alias(f"aprs_{k}_interest_charge_amount")
            for k in kinds
        ],
    )
    return rows.drop("aprs").join(wide, on="_k", how="left", maintain_order="left").drop("_k")
