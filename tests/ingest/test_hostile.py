"""The hostile-input corpus (tests/data/hostile/): each file's outcome matches expected.yaml."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from ingest_helpers import account, bundle, txn, write

from spendsense.config import Settings
from spendsense.errors import InputUnreadable
from spendsense.services import ingest_into_store

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"
MANIFEST = yaml.safe_load((HOSTILE / "expected.yaml").read_text(encoding="utf-8"))
LEDGER = ("users", "accounts", "transactions", "consents", "liabilities_credit")


def _generate(name: str, folder: Path) -> Path:
    path = folder / name
    if name == "deeply_nested.json":
        depth = 100_000
        path.write_text('{"user":' + '{"a":' * depth + "1" + "}" * depth + "}")
    elif name == "huge.json":
        txns = [
            txn(f"t{i}", amount=float("nan") if i % 1000 == 999 else 1 + i % 50, date="2024-03-01")
            for i in range(200_000)
        ]
        path.write_text(json.dumps(bundle("u_huge", transactions=txns)))
    else:
        raise AssertionError(f"no generator for {name}")
    return path


def _store(tmp_path: Path, name: str = "") -> Settings:
    """A store that already holds user u1 with account a1 (what the CSV tables refer to).

    For the JSON files, whose users bring an account a1 of their own, u1's account is
    another: a1 stored under u1 would make theirs another user's (refused, never moved).
    """
    settings = Settings(data_dir=tmp_path / "data")
    own = account("a1" if not name.endswith(".json") else "a_u1")
    base = write(
        tmp_path / "base.json", bundle("u1", consent="none", accounts=[own], transactions=[])
    )
    ingest_into_store(settings, [base])
    return settings


def _counts(settings: Settings) -> dict[str, int]:
    with sqlite3.connect(settings.db_path) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in LEDGER}


def _check(settings: Settings, path: Path, expected: dict[str, Any]) -> None:
    before = _counts(settings)
    if "error" in expected:
        with pytest.raises(InputUnreadable) as exc:
            ingest_into_store(settings, [path])
        message = exc.value.message
        assert expected["error"] in message and "\n" not in message, message
        assert _counts(settings) == before, "nothing is stored from an unreadable file"
        return
    report = ingest_into_store(settings, [path])
    loaded = {t: n for t, (n, _) in report.per_table.items() if n}
    assert loaded == expected["loaded"], loaded
    rejects = []
    if report.quarantine is not None:
        rejects = [json.loads(line) for line in report.quarantine.read_text().splitlines()]
    if "reject_count" in expected:
        assert len(rejects) == expected["reject_count"]
    if "rejects" in expected:
        got = [(r["position"], r["reason"]) for r in rejects]
        assert len(got) == len(expected["rejects"]), got
        for (position, reason), want in zip(got, expected["rejects"], strict=True):
            assert position == want["position"] and want["reason"] in reason, (position, reason)
    with sqlite3.connect(settings.db_path) as conn:
        for column, values in expected.get("stored", {}).items():
            table, name = column.split(".")
            stored = {r[0] for r in conn.execute(f"SELECT {name} FROM {table}")}
            assert set(values) <= stored, (column, stored)


@pytest.mark.parametrize("name", sorted(MANIFEST["files"]))
def test_hostile_file(name: str, tmp_path: Path) -> None:
    _check(_store(tmp_path, name), HOSTILE / name, MANIFEST["files"][name])


@pytest.mark.parametrize("name", sorted(MANIFEST["generated"]))
@pytest.mark.slow
def test_hostile_generated(name: str, tmp_path: Path) -> None:
    path = _generate(name, tmp_path)
    _check(_store(tmp_path, name), path, MANIFEST["generated"][name])


def test_every_corpus_file_is_in_the_manifest() -> None:
    files = {p.name for p in HOSTILE.iterdir() if p.name != "expected.yaml"}
    assert files == set(MANIFEST["files"])


def test_whole_corpus_at_once_keeps_the_valid_records(tmp_path: Path) -> None:
    """One folder of every hostile file: unreadable files become file rejects, the rest load."""
    settings = _store(tmp_path)
    report = ingest_into_store(settings, [HOSTILE])
    unreadable = sum(1 for e in MANIFEST["files"].values() if "error" in e)
    assert report.quarantine is not None
    rejects = [json.loads(line) for line in report.quarantine.read_text().splitlines()]
    assert sum(1 for r in rejects if r["position"] == "file") >= unreadable
    assert report.per_table["transactions"][0] > 0
