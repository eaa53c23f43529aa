"""CSV and Parquet tables with Plaid field names (nested fields flattened with ``_``)."""

from __future__ import annotations

import codecs
import functools
import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from spendsense.ingest import mapping as M
from spendsense.ingest.staging import Staged
from spendsense.ledger.vocab import APR_TYPES

TABLE_NAMES = (
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
    "liabilities_other",
    "transactions",
    "accounts",
    "users",
)
UNKNOWN_TABLE = (
    "cannot tell which table: name the file after it (transactions.csv, accounts.csv, ...) "
    "or include transaction_id, or account_id and type"
)
BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SHORT_NAMES = ("credit", "mortgage", "student")  # a file named credit.csv is liabilities_credit
_CREDIT_COLS = {"aprs_purchase_apr_percentage", "purchase_apr", "last_statement_balance"}
_MORTGAGE_COLS = {"interest_rate_percentage", "next_monthly_payment", "past_due_amount"}
_STUDENT_COLS = {"loan_status_type", "loan_status", "interest_rate_percentage"}


def utf8_bytes(raw: bytes) -> bytes:
    """Text as UTF-8: UTF-16/32 and UTF-8 byte-order marks honoured; not UTF-8 -> Windows-1252.

    Bank exports are often UTF-16 (Excel "Unicode text") or Latin-1/Windows-1252; reading them
    as UTF-8 would garble the header or refuse the whole file.
    """
    for bom, codec in BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(codec).encode()
    try:
        raw.decode()
        return raw
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace").encode()


def parquet_rows(path: Path) -> int:
    """Rows in a Parquet file, from its footer (raises polars/OS errors when unreadable)."""
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def read_table(path: Path, offset: int = 0, length: int | None = None) -> pl.DataFrame:
    """A CSV or Parquet file as an all-String frame (raises polars/OS errors when unreadable).

    ``offset``/``length``: only those rows of a Parquet file (read by row group, so a big
    file can be staged a slice at a time).
    """
    if path.suffix.lower() == ".csv":
        return pl.read_csv(io.BytesIO(utf8_bytes(path.read_bytes())), infer_schema=False)
    if offset or length is not None:
        frame = pl.scan_parquet(path).slice(offset, length).collect()
    else:
        frame = pl.read_parquet(path)
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
    while nested:
        frame = frame.with_columns(pl.col(c).name.prefix_fields(f"{c}_") for c in nested).unnest(
            nested
        )
        nested = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
    return frame.with_columns(
        pl.col(c).cast(pl.String)
        if not isinstance(t, pl.List | pl.Array)
        else pl.col(c).cast(pl.List(pl.String)).list.join(",")
        for c, t in frame.schema.items()
    )


def parquet_aprs(frame: pl.DataFrame) -> pl.DataFrame:
    """One flattened ``aprs`` entry (``aprs_apr_type``, ``aprs_apr_percentage``, ...) ->
    ``aprs_<type>_percentage`` / ``aprs_<type>_interest_charge_amount``, as JSON gives them."""
    if not {"aprs_apr_type", "aprs_apr_percentage"} <= set(frame.columns):
        return frame
    kind = pl.col("aprs_apr_type").str.strip_chars().str.to_lowercase()
    charge = "aprs_interest_charge_amount"
    return frame.with_columns(
        *[
            pl.when(kind == k).then(pl.col("aprs_apr_percentage")).alias(f"aprs_{k}_percentage")
            for k in APR_TYPES
            if f"aprs_{k}_percentage" not in frame.columns
        ],
        *[
            pl.when(kind == k).then(pl.col(charge)).alias(f"aprs_{k}_interest_charge_amount")
            for k in APR_TYPES
            if charge in frame.columns and f"aprs_{k}_interest_charge_amount" not in frame.columns
        ],
    )


def table_of(path: Path, columns: list[str]) -> str | None:
    """Which ledger table a file holds: from its name or its folder's, else from its columns.

    The folder counts when it is exactly a table name (``parquet/transactions/part-0.parquet``).
    """
    stem = path.stem.lower()
    for table in TABLE_NAMES:
        if table in stem or (table.split("_")[-1] in SHORT_NAMES and table.split("_")[1] in stem):
            return table
    if path.parent.name.lower() in TABLE_NAMES:
        return path.parent.name.lower()
    cols = set(columns)
    if "transaction_id" in cols:
        return "transactions"
    if "account_id" in cols and "type" in cols:
        return "accounts"
    if "account_id" in cols and cols & _CREDIT_COLS:
        return "liabilities_credit"
    if "account_id" in cols and cols & _MORTGAGE_COLS:
        return "liabilities_mortgage"
    if "account_id" in cols and cols & _STUDENT_COLS:
        return "liabilities_student"
    if "user_id" in cols and ("consent" in cols or "consent_status" in cols):
        return "users"
    return None


def read_tabular(path: Path, file: str, user: str | None, mapping: M.Mapping | None) -> Staged:
    """Stage one CSV/Parquet file; positions are 1-based data rows (``row 7``)."""
    return _stage_table(read_table(path), path, file, user, mapping)


def read_tabular_parts(
    path: Path, file: str, user: str | None, mapping: M.Mapping | None, rows: int
) -> Iterator[Staged]:
    """Stage a table file ``rows`` rows at a time (a big Parquet file in slices; CSV whole)."""
    total = parquet_rows(path) if path.suffix.lower() != ".csv" else 0
    if total <= rows:
        yield read_tabular(path, file, user, mapping)
        return
    for offset in range(0, total, rows):
        yield _stage_table(read_table(path, offset, rows), path, file, user, mapping, offset)


def _stage_table(
    frame: pl.DataFrame,
    path: Path,
    file: str,
    user: str | None,
    mapping: M.Mapping | None,
    offset: int = 0,
) -> Staged:
    """Stage rows ``offset + 1 ..`` of a table file."""
    staged = Staged()
    frame = frame.select([c for c in frame.columns if not c.startswith("_")])
    table = mapping.table_of_file(path) if mapping is not None else None
    table = table or table_of(path, frame.columns)
    if table is None and mapping is not None:
        for name, renames in mapping.rename.items():
            if table_of(path, [renames.get(c, c) for c in frame.columns]) == name:
                table = name
                break
    if table is None:
        staged.file_rejects.append((file, "file", "unknown", UNKNOWN_TABLE, None))
        return staged
    frame = M.apply(mapping, table, frame)
    if table == "liabilities_credit":
        frame = parquet_aprs(frame)
    # Without a mapping a rejected row is read again from the file (``original_row``), so
    # big tables keep no Python copy of every row.
    rid = pl.lit(None, pl.String)
    if mapping is not None:
        rid = (pl.int_range(pl.len()) + len(staged.originals)).cast(pl.String)
        staged.originals.extend(frame.to_dicts())
    staged.add_frame(
        table,
        frame.with_columns(
            pl.lit(file).alias("_file"),
            pl.format("row {}", pl.int_range(offset + 1, pl.len() + offset + 1)).alias("_pos"),
            rid.alias("_rid"),
            pl.lit(user, pl.String).alias("_user"),
        ),
    )
    return staged


@functools.lru_cache(maxsize=2)
def _cached_table(path: Path, mtime_ns: int, size: int) -> pl.DataFrame:
    """One table file, read once for all of its rejects (keyed by mtime and size)."""
    return read_table(path)


def original_row(path: Path, position: str) -> object:
    """Row ``row N`` of a table file as staged (text values), or None if it is gone."""
    try:
        n = int(position.removeprefix("row "))
        stat = path.stat()
        frame = _cached_table(path, stat.st_mtime_ns, stat.st_size)
    except (ValueError, OSError, pl.exceptions.PolarsError):
        return None
    if not 1 <= n <= frame.height:
        return None
    return frame.select([c for c in frame.columns if not c.startswith("_")]).row(n - 1, named=True)
