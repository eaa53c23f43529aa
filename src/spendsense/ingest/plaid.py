"""User bundles and raw Plaid responses (/accounts/get, /transactions/get|sync, /liabilities/get)."""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spendsense.ingest.bulk import locate
from spendsense.ingest.staging import Staged

NO_USER = "no user: pass --user or name the file <user_id>.<anything>.json"
_LISTS = (
    ("accounts", "accounts"),
    ("transactions", "transactions"),
    ("transactions", "added"),
    ("transactions", "modified"),
)
KINDS = ("bundle", "sync", "liabilities", "transactions", "accounts", "sandbox")


def user_from_name(path: Path) -> str | None:
    """``<user_id>__<anything>.json`` or ``<user_id>.<anything>.json`` -> user_id."""
    name = path.name
    if "__" in name:
        return name.split("__", 1)[0] or None
    stem = name.split(".")
    return stem[0] or None if len(stem) >= 3 else None


def kind_of(doc: object) -> str | None:
    """Which reader a parsed JSON document needs, or None if it is none we know."""
    if not isinstance(doc, dict):
        return None
    if "override_accounts" in doc:
        return "sandbox"
    if isinstance(doc.get("user"), dict):
        return "bundle"
    if any(k in doc for k in ("added", "modified", "removed", "next_cursor")):
        return "sync"
    if isinstance(doc.get("liabilities"), dict):
        return "liabilities"
    if "transactions" in doc:
        return "transactions"
    if "accounts" in doc:
        return "accounts"
    return None


def _bundle_user(doc: dict[str, Any], user: str | None) -> str | None:
    own = doc["user"].get("user_id")
    return own if isinstance(own, str) and own.strip() else user


def stamp_of(path: Path) -> str:
    """The file's modification time (UTC): when a bundle's consent counts as recorded."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


def _user_record(doc: dict[str, Any], stamp: str) -> dict[str, Any]:
    record = dict(doc["user"])
    if record.get("consent") in ("granted", "revoked") and record.get("consent_changed_at") is None:
        record["consent_changed_at"] = stamp  # absent or null: when the file was written
    return record


@functools.lru_cache(maxsize=2)
def _parsed(path: Path, mtime_ns: int, size: int) -> Any:
    """One file's JSON, parsed once for all of its rejects (keyed by mtime and size)."""
    from spendsense.ingest.tabular import utf8_bytes

    return json.loads(utf8_bytes(path.read_bytes()))


def original(path: Path, position: str) -> object:
    """A staged record as it is in its file (for the quarantine), or None if it is gone."""
    try:
        stat = path.stat()
        doc = _parsed(path, stat.st_mtime_ns, stat.st_size)
        if position == "user[0]":
            return _user_record(doc, stamp_of(path)) if kind_of(doc) == "bundle" else None
        return copy.deepcopy(locate(doc, position))  # the cached document stays untouched
    except (OSError, ValueError, RecursionError):
        return None


def read_plaid(doc: dict[str, Any], file: str, user: str | None, stamp: str) -> Staged:
    """Stage a bundle or a Plaid response. ``stamp``: when a bundle's consent was recorded."""
    staged = Staged()
    kind = kind_of(doc)
    if kind == "bundle":
        user = _bundle_user(doc, user)
        if user is not None:
            staged.snapshots.append(user)  # a bundle is the user's whole ledger (see _apply)
        record = _user_record(doc, stamp)
        staged.add_records("users", [record], file=file, where="user", user=user, bulk=True)
    elif user is None:
        staged.file_rejects.append((file, "file", "users", NO_USER, None))
        return staged
    for table, key in _LISTS:
        staged.add_records(table, doc.get(key), file=file, where=key, user=user, bulk=True)
    _liabilities(staged, doc.get("liabilities"), file, user)
    if kind == "sync" and user is not None:
        _removed(staged, doc.get("removed"), file, user)
        cursor = doc.get("next_cursor")
        if isinstance(cursor, str) and cursor:
            item = doc.get("item")
            item_id = item.get("item_id") if isinstance(item, dict) else None
            staged.cursors.append(
                (user, item_id if isinstance(item_id, str) else "default", cursor)
            )
    return staged


def _liabilities(staged: Staged, liab: object, file: str, user: str | None) -> None:
    if liab is None:
        return
    if not isinstance(liab, dict):
        staged.file_rejects.append(
            (file, "liabilities", "liabilities", "expected {credit, mortgage, student}", None)
        )
        return
    for kind in ("credit", "mortgage", "student"):
        staged.add_records(
            f"liabilities_{kind}",
            liab.get(kind),
            file=file,
            where=f"liabilities.{kind}",
            user=user,
            bulk=True,
        )


def _removed(staged: Staged, removed: object, file: str, user: str) -> None:
    if not isinstance(removed, list):
        return
    for i, entry in enumerate(removed):
        tid = entry.get("transaction_id") if isinstance(entry, dict) else None
        if isinstance(tid, str) and tid.strip():
            staged.removed.append((file, f"removed[{i}]", user, tid.strip(), 0))
        else:
            staged.file_rejects.append(
                (
                    file,
                    f"removed[{i}]",
                    "transactions",
                    "removed entry has no transaction_id",
                    entry,
                )
            )
