"""Column mappings (YAML) that let an outside export load without editing it.

A mapping says where each table's records are (in a JSON document, nested lists
included, or which files of a CSV/Parquet set), where the user is, how to rename
columns, translate values, alias account types, fill a column from another table and
set constants, and which sign and unit the amounts follow. ``load_mapping`` checks it
(an unknown name is an error that suggests the closest one); ``apply`` is the per-table
part; ``ingest/shapes.py`` walks documents and fills across tables. See docs/ingest.md
for the format; mappings/ and tests/data/shapes/ hold worked examples.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from spendsense.errors import ConfigError
from spendsense.ingest import signs
from spendsense.ingest.conventions import UNITS, Conventions
from spendsense.ingest.records import text
from spendsense.ledger.vocab import ACCOUNT_SUBTYPES, ACCOUNT_TYPES

# Tables a flat ``liabilities`` list is routed to (by the account's type and subtype).
LIABILITY_ROUTES = {
    "credit": "liabilities_credit",
    "mortgage": "liabilities_mortgage",
    "student": "liabilities_student",
    "other": "liabilities_other",
}
# Tables a mapping may name: the ledger's, plus the flat ``liabilities`` list.
TABLES = ("users", "accounts", "transactions", "liabilities", *LIABILITY_ROUTES.values())
_KEYS = (
    "name",
    "user",
    "lists",
    "files",
    "rename",
    "values",
    "account_types",
    "fill",
    "constants",
    "scope_ids_by_user",
    "sign",
    "unit",
)
_LIST_KEYS = ("path", "inherit")
_FILL_KEYS = ("from", "by", "when")
_ID_COLUMNS = ("account_id", "transaction_id", "pending_transaction_id")


@dataclass(frozen=True)
class Fill:
    """A column taken from another table's row: ``source_table.source_column`` matched by ``by``."""

    source_table: str
    source_column: str
    by: str = "user_id"
    when: dict[str, str] = field(default_factory=dict)  # only rows whose columns equal these


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    name: str
    user_key: str | None = None  # dotted path in the document to the user id (``user.id``)
    lists: dict[str, str] = field(default_factory=dict)  # table -> path (``accounts[].txns``)
    inherit: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> child <- parent
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> file name globs
    rename: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)
    account_types: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    fill: dict[str, dict[str, Fill]] = field(default_factory=dict)  # table -> column -> Fill
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

    def table_of_file(self, path: Path) -> str | None:
        """The table whose ``files`` globs match this file's name, if any."""
        for table, globs in self.files.items():
            if any(fnmatch.fnmatch(path.name.lower(), g.lower()) for g in globs):
                return table
        return None


def _unknown(what: str, name: str, allowed: list[str] | tuple[str, ...]) -> str:
    """'unknown <what> 'x'; did you mean 'y'?' (else the allowed names)."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
    if name in ("True", "False"):  # YAML reads a bare on/off/yes/no/y/n as a boolean
        hint += " (YAML reads a bare on, off, yes, no as true/false: quote it)"
    return f"unknown {what} '{name}'; {hint}"


class _Checker:
    """Reads one mapping file's sections, raising ConfigError that names the file and place."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.where = f"mapping {path.name}"
        self.raw = raw

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {message}")

    def names(self, section: str, given: object, allowed: tuple[str, ...], what: str) -> None:
        for name in map(str, given if isinstance(given, dict) else {}):
            if name not in allowed:
                place = f"{section}: " if section else ""
                raise self.fail(place + _unknown(what, name, allowed))

    def per_table(self, key: str) -> dict[str, dict[str, Any]]:
        """A ``table -> {column: ...}`` section."""
        value = self.raw.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise self.fail(f"'{key}' must map table -> {{column: ...}}")
        self.names(key, value, TABLES, "table")
        return {str(t): v for t, v in value.items()}

    def lists(self) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        raw = self.raw.get("lists") or {}
        if not isinstance(raw, dict):
            raise self.fail("'lists' must map table -> path (or {path, inherit})")
        self.names("lists", raw, TABLES, "table")
        paths: dict[str, str] = {}
        inherit: dict[str, dict[str, str]] = {}
        for table, spec in raw.items():
            if isinstance(spec, dict):
                self.names(f"lists: {table}", spec, _LIST_KEYS, "key")
                if "path" not in spec:
                    raise self.fail(f"lists: {table}: 'path' is required")
                inherit[str(table)] = {
                    str(a): str(b) for a, b in (spec.get("inherit") or {}).items()
                }
                spec = spec["path"]
            paths[str(table)] = str(spec)
        return paths, inherit

    def files(self) -> dict[str, tuple[str, ...]]:
        raw = self.raw.get("files") or {}
        if not isinstance(raw, dict):
            raise self.fail("'files' must map table -> file name pattern(s)")
        self.names("files", raw, TABLES, "table")
        return {
            str(t): tuple(map(str, g)) if isinstance(g, list) else (str(g),) for t, g in raw.items()
        }

    def account_types(self) -> dict[str, tuple[str, str | None]]:
        """``alias: type/subtype`` (or ``{type, subtype}``), checked against Plaid's vocabulary."""
        raw = self.raw.get("account_types") or {}
        if not isinstance(raw, dict):
            raise self.fail("'account_types' must map the export's name -> type/subtype")
        out: dict[str, tuple[str, str | None]] = {}
        for alias, target in raw.items():
            if isinstance(target, dict):
                kind, sub = str(target.get("type") or ""), target.get("subtype")
            else:
                kind, _, sub = str(target).partition("/")
            kind, sub = kind.strip().lower(), (str(sub).strip().lower() if sub else None)
            if kind not in ACCOUNT_TYPES:
                raise self.fail(
                    f"account_types: {alias}: " + _unknown("type", kind, sorted(ACCOUNT_TYPES))
                )
            if sub is not None and sub not in ACCOUNT_SUBTYPES[kind]:
                raise self.fail(
                    f"account_types: {alias}: "
                    + _unknown(f"subtype of {kind}", sub, sorted(ACCOUNT_SUBTYPES[kind]))
                )
            out[str(alias).strip().lower()] = (kind, sub)
        return out

    def fill(self) -> dict[str, dict[str, Fill]]:
        out: dict[str, dict[str, Fill]] = {}
        for table, cols in self.per_table("fill").items():
            for column, spec in cols.items():
                here = f"fill: {table}.{column}"
                if not isinstance(spec, dict):
                    raise self.fail(f"{here}: expected {{from: table.column, by: ..., when: ...}}")
                self.names(here, spec, _FILL_KEYS, "key")
                source, dot, source_col = str(spec.get("from") or "").partition(".")
                if not dot or not source_col:
                    raise self.fail(
                        f"{here}: 'from' must be table.column (e.g. users.credit_limit)"
                    )
                if source not in TABLES:
                    raise self.fail(f"{here}: from: " + _unknown("table", source, TABLES))
                when = spec.get("when") or {}
                if not isinstance(when, dict):
                    raise self.fail(f"{here}: 'when' must map column -> value")
                out.setdefault(table, {})[str(column)] = Fill(
                    source,
                    source_col,
                    str(spec.get("by") or "user_id"),
                    {str(c): str(v) for c, v in when.items()},
                )
        return out

    def sign(self) -> dict[str, str]:
        """``sign: inflow_positive`` or ``sign: {credit: inflow_positive, default: ...}``."""
        raw = self.raw.get("sign") or signs.OUTFLOW_POSITIVE
        conventions = list(signs.CONVENTIONS)
        given = raw if isinstance(raw, dict) else {"default": raw}
        out: dict[str, str] = {"default": signs.OUTFLOW_POSITIVE}
        for kind, value in given.items():
            kind, value = str(kind), str(value)
            if kind != "default" and kind not in ACCOUNT_TYPES:
                raise self.fail(
                    "sign: " + _unknown("account type", kind, [*sorted(ACCOUNT_TYPES), "default"])
                )
            if value not in conventions:
                raise self.fail("sign: " + _unknown("convention", value, conventions))
            out[kind] = value
        return out


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file; ConfigError names what is wrong (and the closest name)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # YAML errors span lines; a user error is one
        raise ConfigError(f"cannot read mapping {path.name}: {detail}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"mapping {path.name}: expected a YAML mapping at the top level")
    check = _Checker(path, raw)
    check.names("", raw, _KEYS, "key")
    unit = str(raw.get("unit") or "dollars")
    if unit not in UNITS:
        raise check.fail("unit: " + _unknown("unit", unit, UNITS))
    user = raw.get("user") or {}
    if not isinstance(user, dict):
        raise check.fail("'user' must be a mapping like {key: user_id}")
    check.names("user", user, ("key",), "key")
    lists, inherit = check.lists()
    return Mapping(
        name=str(raw.get("name") or path.stem),
        user_key=str(user["key"]) if user.get("key") else None,
        lists=lists,
        inherit=inherit,
        files=check.files(),
        rename={
            t: {str(a): str(b) for a, b in m.items()} for t, m in check.per_table("rename").items()
        },
        values={
            t: {c: {str(k): text(v) for k, v in vm.items()} for c, vm in cols.items()}
            for t, cols in check.per_table("values").items()
        },
        account_types=check.account_types(),
        fill=check.fill(),
        constants={
            t: {str(a): text(b) for a, b in m.items()}
            for t, m in check.per_table("constants").items()
        },
        scope_ids_by_user=bool(raw.get("scope_ids_by_user", False)),
        sign=check.sign(),
        unit=unit,
        declared_sign="sign" in raw,
    )


def _aliased(aliases: dict[str, tuple[str, str | None]], frame: pl.DataFrame) -> list[pl.Expr]:
    """``type`` (and ``subtype``, when the alias names one) from the account type aliases."""
    if not aliases or "type" not in frame.columns:
        return []
    given = pl.col("type").str.strip_chars().str.to_lowercase()
    hit = given.is_in(list(aliases))
    subs = {a: s for a, (_, s) in aliases.items() if s is not None}
    current = pl.col("subtype") if "subtype" in frame.columns else pl.lit(None, pl.String)
    return [
        pl.when(hit)
        .then(given.replace_strict({a: t for a, (t, _) in aliases.items()}, default=None))
        .otherwise(pl.col("type"))
        .alias("type"),
        pl.when(given.is_in(list(subs)))
        .then(given.replace_strict(subs, default=None))
        .otherwise(current)
        .alias("subtype"),
    ]


def apply(mapping: Mapping | None, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Renames, then value translations, then account type aliases, then constants."""
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
    if exprs:
        frame = frame.with_columns(exprs)
    if table == "accounts" and (aliases := _aliased(mapping.account_types, frame)):
        frame = frame.with_columns(aliases)
    consts = [pl.lit(v, pl.String).alias(c) for c, v in mapping.constants.get(table, {}).items()]
    return frame.with_columns(consts) if consts else frame


def scoped(frame: pl.DataFrame, on: bool) -> pl.DataFrame:
    """Ids made unique per user (``<user>:<id>``) for exports that reuse ids across users."""
    if not on:
        return frame
    return frame.with_columns(
        pl.concat_str([pl.col("_user"), pl.lit(":"), pl.col(c)]).alias(c)
        for c in _ID_COLUMNS
        if c in frame.columns
    )
