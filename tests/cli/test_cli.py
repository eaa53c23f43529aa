from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spendsense.cli import main

COMMANDS = [
    [],
    ["generate"],
    ["ingest"],
    ["run"],
    ["consent"],
    ["consent", "grant"],
    ["personas", "history"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    main([*command, "--help"])
    out = capsys.readouterr().out
    assert "Usage" in out


def test_user_error_is_one_line_without_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ingest", str(data_dir / "missing.json")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing.json" in err
    assert "Traceback" not in err and len(err.splitlines()) <= 2


def test_verbose_shows_traceback(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--verbose", "ingest", str(data_dir / "missing.json")])
    assert "Traceback" in capsys.readouterr().err


def test_ingest_prints_counts_and_quarantines(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = {
        "user": {"user_id": "u1", "name": "Ada", "consent": "granted"},
        "accounts": [
            {
                "account_id": "a1",
                "type": "depository",
                "subtype": "checking",
                "balances": {"current": 10.5, "iso_currency_code": "USD"},
                "mask": "1234",
            }
        ],
        "transactions": [
            {
                "transaction_id": "t1",
                "account_id": "a1",
                "amount": 4.5,
                "date": "2026-10-01",
                "iso_currency_code": "USD",
                "name": "Coffee",
                "pending": False,
                "payment_channel": "in store",
            },
            {
                "transaction_id": "t2",
                "account_id": "a1",
                "amount": "NaN",
                "date": "2026-10-01",
                "iso_currency_code": "USD",
                "name": "Bad",
                "pending": False,
                "payment_channel": "in store",
            },
        ],
    }
    path = data_dir / "u1.json"
    path.write_text(json.dumps(bundle))
    main(["ingest", str(path)])
    out = capsys.readouterr().out
    assert "transactions" in out and "quarantine" in out
    rejects = [
        json.loads(line)
        for p in (data_dir / "quarantine").glob("*.jsonl")
        for line in p.read_text().splitlines()
    ]
    assert [r["position"] for r in rejects] == ["transactions[1]"]
    assert rejects[0]["file"].endswith("u1.json")
    # rerun: idempotent, same ledger
    main(["ingest", str(path)])


def test_consent_unknown_user_is_a_clear_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["consent", "grant", "nobody"])
    assert "unknown user" in capsys.readouterr().err


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("spendsense")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "generate" in result.stdout


def test_cli_consent_change_is_audited(data_dir: Path) -> None:
    import sqlite3

    from spendsense.store.db import connect

    conn = connect(data_dir / "spendsense.db")
    conn.execute("INSERT INTO users (user_id) VALUES ('u9')")
    conn.close()
    main(["consent", "grant", "u9", "--actor", "ops-alice"])
    with sqlite3.connect(data_dir / "spendsense.db") as db:
        rows = db.execute("SELECT actor, action, target_id FROM audit_log").fetchall()
    assert rows == [("ops-alice", "consent.grant", "u9")]
    main(["audit", "verify"])
