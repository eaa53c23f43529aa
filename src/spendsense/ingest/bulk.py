"""Bulk staging: many files' JSON records -> one all-text frame, flattened with Polars.

Plaid documents are parsed with ``TEXT_HOOKS`` so every number arrives as the text
``staging.text`` would give it (shortest repr), leaving only strings, booleans,
nulls, objects and lists. ``chunk_frame`` then builds one frame for a whole batch of
files with ``pl.from_dicts``, flattens objects with ``unnest`` (``balances_current``)
and casts to String, so no per-record Python runs. Lists (e.g. ``aprs``) are flattened
per record like ``staging.flatten`` does, but only for those columns. If the records
do not fit one frame (an object in one record and text in another, say), each file is
tried on its own and the odd one out goes through ``staging.flatten``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import polars as pl

from spendsense.ingest.records import Chunk, flatten, frame_of, text

_SCALARS = (pl.String, pl.Boolean, pl.Null)
_POSITION = re.compile(r"^(?P<where>[A-Za-z_.]+)\[(?P<i>\d+)\]$")


def _number_text(raw: str) -> str | None:
    return text(float(raw))


TEXT_HOOKS: dict[str, Any] = {
    "parse_float": _number_text,
    "parse_constant": _number_text,
    "parse_int": str,
}


# Lists of records that are staged in bulk: Polars turns their numbers into text (``_text_frame``)
_RECORD_LISTS = frozenset(
    {"accounts", "transactions", "added", "modified", "credit", "mortgage", "student"}
)
# Polars writes 1e-7 where Python's repr (what TEXT_HOOKS gives) writes 1e-07
_SHORT_EXPONENT = (r"e([+-])(\d)$", "e${1}0${2}")


def loads(raw: bytes | str, hooks: dict[str, Any] | None = None) -> object:
    """``json.loads(raw, **hooks)``; with ``TEXT_HOOKS``, parsed by orjson when it can.

    orjson (about 2x faster) gives numbers as int/float: those outside the record lists
    become text here, the records' own in ``_text_frame`` (same text: shortest repr). What
    orjson refuses (NaN, Infinity, 1e400, lone surrogates, non-UTF-8) goes to ``json`` with
    the hooks, as before. Integers beyond 64 bits arrive as floats (1.2345678901234568e+29
    instead of every digit): as amounts both are "out of range".
    """
    if hooks is not TEXT_HOOKS:
        return json.loads(raw, **(hooks or {}))
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw, **TEXT_HOOKS)
    return _numbers_as_text(doc, depth=0)


def _numbers_as_text(value: object, depth: int) -> object:
    """Numbers -> text (like TEXT_HOOKS) except inside the record lists of a document."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return text(value)
    if isinstance(value, list):
        return [_numbers_as_text(v, depth + 1) for v in value]
    assert isinstance(value, dict)
    out: dict[str, object] = {}
    for key, v in value.items():
        records = depth <= 1 and key in _RECORD_LISTS and isinstance(v, list)
        out[key] = v if records else _numbers_as_text(v, depth + 1)
    return out


def _walk(record: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def _python_columns(records: list[dict[str, Any]], path: tuple[str, ...]) -> pl.DataFrame:
    """One awkward column (a list, say) flattened per record, exactly as ``flatten`` does."""
    prefix = "".join(f"{k}_" for k in path[:-1])
    rows = [flatten({path[-1]: _walk(r, path)}, prefix) for r in records]
    frame = frame_of(rows)
    return frame if frame.width else pl.DataFrame(schema={"_": pl.String}).clear(len(records))


def _text_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records -> flattened all-String frame (raises Polars errors when they do not fit)."""
    frame = pl.from_dicts(records, infer_schema_length=None)
    paths: dict[str, tuple[str, ...]] = {c: (c,) for c in frame.columns}
    extra: list[pl.DataFrame] = []
    while True:
        structs = [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]
        odd = [c for c, t in frame.schema.items() if not isinstance(t, (*_SCALARS, pl.Struct))]
        for c in odd:
            extra.append(_python_columns(records, paths[c]))
        frame = frame.drop(odd)
        if not structs:
            break
        for c in structs:
            # Polars turns a text value in an object column into null (and an empty object
            # into a column that unnests to nothing): such files take the per-record path
            if any(
                v is not None and not isinstance(v, dict)
                for v in (_walk(r, paths[c]) for r in records)
            ) or not getattr(frame.schema[c], "fields", None):
                raise ValueError(f"objects mixed with other values in {c}")
            dtype = frame.schema[c]
            assert isinstance(dtype, pl.Struct)
            for f in dtype.fields:
                paths[f"{c}_{f.name}"] = (*paths[c], f.name)
        frame = frame.with_columns(pl.col(c).name.prefix_fields(f"{c}_") for c in structs).unnest(
            structs
        )
    for c, t in frame.schema.items():
        # Polars would read true as 1 in a column that also holds numbers (orjson input):
        # such records take the per-file path, where booleans stay "true"
        if t.is_numeric() and any(type(_walk(r, paths[c])) is bool for r in records):
            raise ValueError(f"booleans mixed with numbers in {c}")
    frame = frame.select(
        pl.col(c).cast(pl.String).str.replace(*_SHORT_EXPONENT)
        if t in (pl.Float64, pl.Float32)
        else pl.col(c).cast(pl.String)
        for c, t in frame.schema.items()
    )
    for part in extra:
        frame = frame.hstack(part.select(pl.exclude("_")))
    return frame.select(pl.exclude("^_.*$"))


def _meta(chunks: list[Chunk]) -> pl.DataFrame:
    """``_file``, ``_pos`` (``transactions[12]``), ``_rid`` (null: re-read) and ``_user`` per row."""
    heads = pl.DataFrame(
        {
            "_file": [c.file for c in chunks],
            "_where": [c.where for c in chunks],
            "_user": [c.user for c in chunks],
            "_seq": [c.seq for c in chunks],
            "_n": [len(c.records) for c in chunks],
        },
        schema={
            "_file": pl.String,
            "_where": pl.String,
            "_user": pl.String,
            "_seq": pl.Int64,
            "_n": pl.Int64,
        },
    ).with_row_index("_c")
    rows = heads.select(pl.exclude("_n").repeat_by("_n").explode())
    return rows.select(
        "_file",
        pl.format("{}[{}]", "_where", pl.int_range(pl.len()).over("_c")).alias("_pos"),
        pl.lit(None, pl.String).alias("_rid"),
        "_user",
        "_seq",
    )


def _one(chunks: list[Chunk]) -> pl.DataFrame:
    records = [r for c in chunks for r in c.records]
    try:
        frame = _text_frame(records)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        if len(chunks) > 1:
            return pl.concat([_one([c]) for c in chunks], how="diagonal")
        rows = [{k: v for k, v in flatten(r).items() if not k.startswith("_")} for r in records]
        frame = frame_of(rows)
    meta = _meta(chunks)
    return pl.concat([frame, meta], how="horizontal") if frame.width else meta


def chunk_frame(chunks: list[Chunk]) -> pl.DataFrame:
    """Every chunk of one table as a single staged text frame."""
    return _one(chunks)


def locate(doc: object, position: str) -> object:
    """The record at a staged position (``transactions[3]``, ``liabilities.credit[0]``)."""
    match = _POSITION.match(position)
    if match is None:
        return None
    records = _walk(doc, tuple(match["where"].split(".")))
    i = int(match["i"])
    return records[i] if isinstance(records, list) and i < len(records) else None
