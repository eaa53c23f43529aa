"""Parsed records as text: one JSON value as written, nested objects flattened, record lists.

The primitives both staging paths share: ``staging.Staged`` per record, ``bulk`` per batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

NESTED = "\x00json:"  # prefix marking a list/object that was kept as JSON text


def text(value: object) -> str | None:
    """One JSON value as text: numbers by repr, booleans lower-case, containers as marked JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return str(value)
    return NESTED + json.dumps(value, sort_keys=True, default=str)


def _aprs(value: list[Any], out: dict[str, str | None]) -> None:
    """Plaid ``aprs[]`` (or ``{type, percentage}``) -> ``aprs_<type>_percentage`` etc."""
    for apr in value:
        if not isinstance(apr, dict):
            continue
        kind = str(apr.get("apr_type", apr.get("type")) or "unknown").strip().lower()
        kind = kind if kind.endswith("_apr") or kind == "special" else f"{kind}_apr"
        pct = apr.get("apr_percentage", apr.get("percentage"))
        out.setdefault(f"aprs_{kind}_percentage", text(pct))
        out.setdefault(
            f"aprs_{kind}_interest_charge_amount", text(apr.get("interest_charge_amount"))
        )


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Flatten nested objects with ``_``; lists stay JSON text (``aprs`` is expanded)."""
    out: dict[str, str | None] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}_"))
        elif key == "aprs" and isinstance(value, list):
            _aprs(value, out)
        else:
            out[name] = text(value)
    return out


def frame_of(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """All-String frame from flattened rows (columns are the union of keys, in first-seen order)."""
    cols: dict[str, None] = {}
    for row in rows:
        cols.update(dict.fromkeys(row))
    data = {c: [row.get(c) for row in rows] for c in cols}
    return pl.DataFrame(data, schema=dict.fromkeys(cols, pl.String()))


@dataclass
class Chunk:
    """A JSON list of records waiting to become rows (built in bulk by ``Staged.flush``)."""

    table: str
    records: list[dict[str, Any]]
    file: str
    where: str
    user: str | None
    seq: int = 0
