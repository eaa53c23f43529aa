"""Privacy end to end: no full account/routing numbers stored; revoked consent reaches every output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from spendsense.cli import main
from spendsense.store.tables import OUTPUT_TABLES


def _numbers(folder: Path) -> set[str]:
    """Every value under a ``numbers`` object in the sandbox configs (account, routing, ...)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "numbers" and isinstance(value, dict):
                    found.update(str(v) for v in value.values() if v not in (None, ""))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in folder.rglob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def _everything_written(data: Path) -> str:
    """The bytes of every file under DIR (SQLite with its WAL, Parquet, quarantine, report)."""
    parts = []
    for path in sorted(data.rglob("*")):
        if path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
    with sqlite3.connect(data / "spendsense.db") as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            parts.extend(str(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
    for path in data.rglob("*.parquet"):
        parts.append(pl.read_parquet(path).write_csv())
    return "\n".join(parts)


@pytest.mark.slow
def test_sandbox_numbers_never_stored(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "plaid-sandbox-custom-users"
    secrets = {s for s in _numbers(folder) if len(s) >= 6}
    assert secrets, "the sandbox configs carry account and routing numbers"
    data = tmp_path / "data"
    main(["--data-dir", str(data), "ingest", str(folder)])
    for user in ("bank_income_basic", "welderTestUser", "credit_card_custom_user"):
        main(["--data-dir", str(data), "consent", "grant", user])
    main(["--data-dir", str(data), "run"])
    dump = _everything_written(data)
    masks = [s[-4:] for s in secrets]
    assert any(m in dump for m in masks), "masks (last 4) are kept"
    for secret in secrets:
        assert secret not in dump, f"a full number ending {secret[-4:]} was stored"


def _report(data: Path) -> None:
    """Write the report; its own targets are not this test's subject (a 30-user population can
    miss one, and then the command exits 1 after writing everything)."""
    try:
        main(["--data-dir", str(data), "report"])
    except SystemExit as exc:
        assert exc.code == 1
    assert (data / "report" / "metrics.json").exists()


@pytest.fixture(scope="module")
def revoked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """30 users run and reported; then one consented user revokes, and run + report again."""
    data = tmp_path_factory.mktemp("revoke") / "data"
    main(["--data-dir", str(data), "generate", "--users", "30", "--seed", "5"])
    main(["--data-dir", str(data), "ingest", str(data / "raw" / "bundles")])
    main(["--data-dir", str(data), "run"])
    _report(data)
    with sqlite3.connect(data / "spendsense.db") as conn:
        user = conn.execute(
            "SELECT user_id FROM users WHERE consent_status = 'granted' ORDER BY user_id LIMIT 1"
        ).fetchone()[0]
    assert (data / "report" / "traces" / f"{user}.json").exists()
    main(["--data-dir", str(data), "consent", "revoke", user])
    for table in OUTPUT_TABLES:  # gone at once, before any rerun
        if table.parquet:
            frame = pl.read_parquet(data / "features" / table.parquet_file)
            assert frame.filter(pl.col("user_id") == user).height == 0, table.name
    main(["--data-dir", str(data), "run"])
    _report(data)
    return data, user


@pytest.mark.slow
def test_revoked_user_gone_from_parquet(revoked: tuple[Path, str]) -> None:
    data, user = revoked
    copies = [t.parquet_file for t in OUTPUT_TABLES if t.parquet]
    assert sorted(p.name for p in (data / "features").glob("*.parquet")) == sorted(copies)
    for name in copies:
        frame = pl.read_parquet(data / "features" / name)
        assert frame.height > 0, name  # others' rows are there: the check is not vacuous
        assert frame.filter(pl.col("user_id") == user).height == 0, name


@pytest.mark.slow
def test_revoked_user_gone_from_sqlite_outputs(revoked: tuple[Path, str]) -> None:
    data, user = revoked
    with sqlite3.connect(data / "spendsense.db") as conn:
        for table in ("recommendations", "decision_traces", "feature_credit", "feature_income"):
            n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (user,)).fetchone()
            assert n[0] == 0, table


@pytest.mark.slow
def test_revoked_user_gone_from_report(revoked: tuple[Path, str]) -> None:
    data, user = revoked
    report = data / "report"
    assert not (report / "traces" / f"{user}.json").exists()
    for name in ("metrics.json", "metrics.csv", "report.html"):
        path = report / name
        if path.exists():
            assert user not in path.read_text(errors="replace"), name
