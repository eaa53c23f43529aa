"""Column mappings (YAML) that let an outside export load without editing it.

A mapping says where each table's records are in a JSON document, where the
user is, and how to rename columns, translate values and set constants. The
same renames/values/constants apply to CSV and Parquet tables. See
docs/ingest.md for the format; mappings/ holds worked examples.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from spendsense.errors import ConfigError
from spendsense.ingest import signs
from spendsense.ingest.conventions import UNITS, Conventions
from spendsense.ingest.staging import Staged, text
from spendsense.ledger.vocab import ACCOUNT_TYPES

# Tables a flat ``liabilities`` list is routed to (by the account's type and subtype).
LIABILITY_ROUTES = {
    "credit": "liabilities_credit",
    "mortgage": "liabilities_mortgage",
    "student": "liabilities_student",
    "other": "liabilities_other",
}
_KEYS = {
    "name",
    "user",
    "lists",
    "rename",
    "values",
    "constants",
    "scope_ids_by_user",
    "sign",
    "unit",
}
_ID_COLUMNS = ("account_id", "transaction_id", "pending_transaction_id")


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    name: str
    user_key: str | None = None  # top-level key of the document holding the user id
    lists: dict[str, str] = field(default_factory=dict)  # table -> key of its list
    rename: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)
    constants: dict[str, dict[str, str | None]] = field(default_factory=dict)
    scope_ids_by_user: bool = False  # prefix account/transaction ids with "<user>:"
    sign: dict[str, str] = field(default_factory=lambda: {"default": signs.OUTFLOW_POSITIVE})
    unit: str = "dollars"  # or "cents": amounts written as integer cents
    declared_sign: bool = False  # the file names a sign (else Plaid's is assumed)

    def conventions(self) -> Conventions:
        """The money conventions this mapping declares, for one ingest."""
        return Conventions(
            sign=dict(self.sign),
            unit=self.unit,
            with_mapping=True,
            declared_sign=self.declared_sign,
        )


def _unknown(what: str, name: str, allowed: list[str]) -> str:
    """'unknown <what> 'x'; did you mean 'y'?' (else the allowed names)."""
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
    return f"unknown {what} '{name}'; {hint}"


def _sign(raw: object, where: str) -> dict[str, str]:
    """``sign: inflow_positive`` or ``sign: {credit: inflow_positive, default: ...}``."""
    conventions = list(signs.CONVENTIONS)
    given = raw if isinstance(raw, dict) else {"default": raw}
    out: dict[str, str] = {"default": signs.OUTFLOW_POSITIVE}
    for kind, value in given.items():
        kind, value = str(kind), str(value)
        if kind != "default" and kind not in ACCOUNT_TYPES:
            raise ConfigError(
                f"{where}: sign: "
                + _unknown("account type", kind, [*sorted(ACCOUNT_TYPES), "default"])
            )
        if value not in conventions:
            raise ConfigError(f"{where}: sign: " + _unknown("convention", value, conventions))
        out[kind] = value
    return out


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; ConfigError names what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # YAML errors span lines; a user error is one
        raise ConfigError(f"cannot read mapping {path.name}: {detail}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"mapping {path.name}: expected a YAML mapping at the top level")
    for key in sorted(set(map(str, raw)) - _KEYS):
        raise ConfigError(f"mapping {path.name}: " + _unknown("key", key, sorted(_KEYS)))
    unit = str(raw.get("unit") or "dollars")
    if unit not in UNITS:
        raise ConfigError(f"mapping {path.name}: unit: " + _unknown("unit", unit, list(UNITS)))
    user = raw.get("user") or {}
    if not isinstance(user, dict):
        raise ConfigError(f"mapping {path.name}: 'user' must be a mapping like {{key: user_id}}")

    def nested(key: str) -> dict[str, Any]:
        value = raw.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ConfigError(f"mapping {path.name}: '{key}' must map table -> {{column: ...}}")
        return value

    values = {
        t: {c: {str(k): text(v) for k, v in vm.items()} for c, vm in cols.items()}
        for t, cols in nested("values").items()
    }
    return Mapping(
        name=str(raw.get("name") or path.stem),
        user_key=user.get("key"),
        lists={str(k): str(v) for k, v in (raw.get("lists") or {}).items()},
        rename={t: {str(a): str(b) for a, b in m.items()} for t, m in nested("rename").items()},
        values=values,
        scope_ids_by_user=bool(raw.get("scope_ids_by_user", False)),
        sign=_sign(raw.get("sign") or signs.OUTFLOW_POSITIVE, f"mapping {path.name}"),
        unit=unit,
        declared_sign="sign" in raw,
        constants={
            t: {str(a): text(b) for a, b in m.items()} for t, m in nested("constants").items()
        },
    )


def apply(mapping: Mapping | None, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Renames, then value translations, then constants, for one staged table."""
    if mapping is None or frame.height == 0:
        return frame
    renames = {a: b for a, b in mapping.rename.get(table, {}).items() if a in frame.columns}
    frame = frame.drop([b for b in renames.values() if b in frame.columns and b not in renames])
    frame = frame.rename(renames)
    exprs = [
        pl.col(c).replace(list(vm), list(vm.values()))
        for c, vm in mapping.values.get(table, {}).items()
        if c in frame.columns
    ]
    exprs += [pl.lit(v, pl.String).alias(c) for c, v in mapping.constants.get(table, {}).items()]
    return frame.with_columns(exprs) if exprs else frame


def read_mapped(doc: dict[str, Any], file: str, user: str | None, mapping: Mapping) -> Staged:
    """Stage a foreign JSON document by its mapping; a flat ``liabilities`` list is routed by account."""
    staged = Staged()
    if mapping.user_key and isinstance(doc.get(mapping.user_key), str):
        user = user or doc[mapping.user_key]
    for table, key in mapping.lists.items():
        staged.add_records(table, doc.get(key), file=file, where=key, user=user)
    for table in list(staged.frames):
        staged.frames[table] = [
            _scoped(apply(mapping, table, f), mapping.scope_ids_by_user)
            for f in staged.frames[table]
        ]
    if "liabilities" in staged.frames:
        _route(staged, mapping)
    return staged


def _scoped(frame: pl.DataFrame, on: bool) -> pl.DataFrame:
    """Ids made unique per user (``<user>:<id>``) for exports that reuse ids across users."""
    if not on:
        return frame
    return frame.with_columns(
        pl.concat_str([pl.col("_user"), pl.lit(":"), pl.col(c)]).alias(c)
        for c in _ID_COLUMNS
        if c in frame.columns
    )


def _route(staged: Staged, mapping: Mapping) -> None:
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
        pl.col("account_id")
        if "account_id" in accts.columns
        else pl.lit(None, pl.String).alias("account_id"),
        *[
            (pl.col(c) if c in accts.columns else pl.lit(None, pl.String))
            .str.strip_chars()
            .str.to_lowercase()
            .alias(f"_{c}")
            for c in ("type", "subtype")
        ],
    ).unique("account_id", keep="first")
    if "account_id" not in flat.columns:
        flat = flat.with_columns(pl.lit(None, pl.String).alias("account_id"))
    routed = flat.with_row_index("_n").join(kinds, on="account_id", how="left").sort("_n")
    target = (
        pl.when(pl.col("_type") == "credit")
        .then(pl.lit("liabilities_credit"))
        .when((pl.col("_type") == "loan") & (pl.col("_subtype") == "mortgage"))
        .then(pl.lit("liabilities_mortgage"))
        .when((pl.col("_type") == "loan") & (pl.col("_subtype") == "student"))
        .then(pl.lit("liabilities_student"))
        .when(pl.col("_type") == "loan")
        .then(pl.lit("liabilities_other"))
    )
    routed = routed.with_columns(target.alias("_table"))
    for table in LIABILITY_ROUTES.values():
        part = routed.filter(pl.col("_table") == table)
        if table == "liabilities_other":
            given = pl.col("kind") if "kind" in part.columns else pl.lit(None, pl.String)
            part = part.with_columns(pl.coalesce(given, "_subtype", pl.lit("loan")).alias("kind"))
        part = part.drop("_n", "_type", "_subtype", "_table")
        if part.height:
            staged.add_frame(table, apply(mapping, table, part))
    for row in (
        routed.filter(pl.col("_table").is_null())
        .select("_file", "_pos", "_type", "_rid")
        .to_dicts()
    ):
        kind = f"a '{row['_type']}' account" if row["_type"] else "an account not in this file"
        reason = f"liability for {kind}: only credit and loan accounts carry liabilities"
        staged.file_rejects.append(
            (row["_file"], row["_pos"], "liabilities", reason, staged.originals[int(row["_rid"])])
        )
