"""What a data engineer meets at the command line: help, errors, ingest summaries, runs."""

from __future__ import annotations

import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from spendsense.cli import app, main

TYPE_TAGS = re.compile(r"<(str|int|float|bool|path|list\[[^\]]*\]|Path)>|\{[A-Za-z_.]+\}")


def _all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _help(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main([*command, "--help"])
    return capsys.readouterr().out


def test_help_shows_metavars_not_type_tags(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _all_commands()
    assert ["runs", "delete"] in commands and ["ingest"] in commands
    for command in commands:
        text = _help(command, capsys)
        assert "Usage: spendsense" in text, command
        assert not TYPE_TAGS.search(text), (command, TYPE_TAGS.search(text))
    ingest = _help(["ingest"], capsys)
    assert "Usage: spendsense ingest [OPTIONS] PATH..." in ingest
    assert "--user USER_ID" in ingest
    assert "--users N" in _help(["generate"], capsys)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert not main(["--version"])  # exit status 0
    assert capsys.readouterr().out.strip() == f"spendsense {version('spendsense')}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--as-f", "2026-01-01"], "error: No such option: --as-f. Did you mean --as-of?"),
        (["ingets"], "error: No such command 'ingets'. Did you mean 'ingest'?"),
        (["generate", "--users", "0"], "error: Invalid value for '--users'"),
        (["consent", "grant"], "error: Missing argument 'USER_ID'."),
    ],
)
def test_usage_errors_name_the_option_and_suggest(
    argv: list[str], expected: str, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    first, hint = err.splitlines()
    assert first.startswith(expected), err
    assert "Error" not in first and "NoSuch" not in err and "BadParameter" not in err
    assert hint.startswith("Try 'spendsense") and hint.endswith("--help' for help.")


HEAVY = (
    "polars", "pyarrow", "numpy", "pydantic", "fastapi", "starlette", "uvicorn", "jinja2",
    "rich", "matplotlib", "yaml", "argon2",
)  # fmt: skip
LIGHT_CPU_S = 0.5  # the bound: light commands start in well under half a second
PROBE = """
import sys
from spendsense.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED", *sorted({{m.split(".")[0] for m in sys.modules}} & {heavy!r}))
"""
LIGHT_COMMANDS = [
    ["--help"], ["consent", "grant", "nobody"], ["consent", "revoke", "nobody"],
    ["operator", "--help"], ["operator", "disable", "nobody"], ["customer", "token", "nobody"],
    ["customer", "revoke", "nobody"], ["token", "revoke", "no-such-token"], ["runs", "list"],
    ["audit", "verify"],
]  # fmt: skip


def _probe(data_dir: Path, argv: list[str]) -> tuple[str, float]:
    """Run one command in a fresh interpreter: the heavy modules it loaded and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), "--data-dir", str(data_dir), *argv],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout.strip().splitlines()[-1], cpu


@pytest.mark.parametrize("argv", LIGHT_COMMANDS, ids=" ".join)
def test_light_commands_do_not_import_heavy_modules(data_dir: Path, argv: list[str]) -> None:
    """Help, consent, operator, customer, token, runs and audit start fast: Polars, Pydantic
    (settings and Typer's value conversion) & co. load only where used; CPU under 0.5 s.

    The CPU bound is the best of three runs, so a busy machine does not fail it."""
    from spendsense.store.db import connect

    connect(data_dir / "spendsense.db").close()  # migrated already, as after `make demo`
    loaded, cpu = _probe(data_dir, argv)
    assert loaded == "LOADED", loaded
    for _ in range(2):
        if cpu < LIGHT_CPU_S:
            break
        cpu = min(cpu, _probe(data_dir, argv)[1])
    assert cpu < LIGHT_CPU_S, f"{' '.join(argv)}: {cpu:.2f} s CPU to start"


def test_light_commands_find_the_database_the_settings_name(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Without building the settings, a light command still uses --data-dir, else a
    configuration file's data_dir, else $SPENDSENSE_DATA_DIR (here the data_dir fixture)."""
    from spendsense.config import load_settings
    from spendsense.store.db import connect

    given, configured = tmp_path / "given", tmp_path / "configured"
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"data_dir": str(configured)}))
    cases = [
        ([], data_dir), (["--data-dir", str(given)], given), (["--config", str(config)], configured),
        (["--config", str(config), "--data-dir", str(given)], given),
    ]  # fmt: skip
    for i, (argv, folder) in enumerate(cases):
        folder.mkdir(exist_ok=True)
        config_file = config if "--config" in argv else None
        data_arg = given if "--data-dir" in argv else None
        assert load_settings(config_file, data_arg).data_dir == folder  # the one rule
        main([*argv, "operator", "create", f"op-{i}", "--random-password"])
        with connect(folder / "spendsense.db") as conn:
            names = {r[0] for r in conn.execute("SELECT username FROM operators")}
        assert f"op-{i}" in names, (argv, folder)
    capsys.readouterr()


def _bundle(user: str, bad: int) -> dict[str, Any]:
    tx = [
        {"transaction_id": f"{user}-t{i}", "account_id": f"{user}-a", "amount": 4.5 + i,
         "date": "2026-10-01", "iso_currency_code": "USD", "name": "Coffee", "pending": False,
         "payment_channel": "in store"}
        for i in range(3)
    ]  # fmt: skip
    for i in range(bad):
        tx[i]["amount"] = "NaN"
    return {
        "user": {"user_id": user, "name": user, "consent": "granted"},
        "accounts": [{"account_id": f"{user}-a", "type": "depository", "subtype": "checking",
                      "balances": {"current": 10.5, "iso_currency_code": "USD"}}],
        "transactions": tx,
    }  # fmt: skip


def test_ingest_groups_reject_reasons_with_examples_then_the_quarantine(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = data_dir / "in"
    folder.mkdir()
    (folder / "u1.json").write_text(json.dumps(_bundle("u1", 2)))
    (folder / "u2.json").write_text(json.dumps(_bundle("u2", 1)))
    (folder / "junk.json").write_text("{not json")
    main(["ingest", str(folder)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = lines.index("rejected records by reason (4 in all):")
    summary = lines[start + 1 :]
    assert summary[0].startswith("  3 x transactions:"), summary  # one cause, three records
    examples = [line for line in summary[1:4] if line.startswith("      e.g. ")]
    assert len(examples) == 3
    assert "u1.json transactions[0]" in examples[0] and "u2.json transactions[0]" in examples[2]
    assert any("1 x file: junk.json: not valid JSON" in line for line in summary), summary
    assert any("junk.json" in line for line in summary)
    quarantine = [line for line in lines if line.startswith("every rejected record")]
    assert len(quarantine) == 1 and lines.index(quarantine[0]) > start
    assert quarantine[0].endswith(".jsonl") and Path(quarantine[0].split(": ")[-1]).exists()


def test_ingest_of_only_rejects_says_why(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = data_dir / "u1.json"
    path.write_text(json.dumps({"something": "else"}))  # readable, but not a known shape
    with pytest.raises(SystemExit):
        main(["ingest", str(path)])
    captured = capsys.readouterr()
    assert "1 x unknown: unrecognised JSON" in captured.out
    assert captured.out.count("unrecognised JSON") == 1  # the example names only where
    assert "      e.g. " + str(path) + " file\n" in captured.out
    assert (
        captured.err.strip()
        == "error: nothing was loaded: every record was rejected (reasons above)"
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("runs") / "data"
    main(["--data-dir", str(data), "generate", "--users", "12", "--seed", "3"])
    main(["--data-dir", str(data), "ingest", str(data / "raw" / "bundles")])
    main(["--data-dir", str(data), "run"])
    return data


def _newest(data: Path) -> str:
    with sqlite3.connect(data / "spendsense.db") as db:
        return str(db.execute("SELECT MAX(date) FROM transactions").fetchone()[0])


def test_run_refuses_an_as_of_past_the_data_unless_forced(
    small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newest = _newest(small_run)
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(small_run), "run", "--as-of", "2030-01-01"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert f"after the newest transaction in the ledger ({newest})" in err and "--force" in err
    with sqlite3.connect(small_run / "spendsense.db") as db:
        assert db.execute(
            "SELECT COUNT(*) FROM persona_assignments WHERE as_of_date = '2030-01-01'"
        ).fetchone() == (0,)
    main(["--data-dir", str(small_run), "run", "--as-of", "2030-01-01", "--force"])
    with sqlite3.connect(small_run / "spendsense.db") as db:
        assert (
            db.execute(
                "SELECT COUNT(*) FROM persona_assignments WHERE as_of_date = '2030-01-01'"
            ).fetchone()[0]
            > 0
        )


def test_runs_delete_removes_one_as_of_everywhere(
    small_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import polars as pl

    d = str(small_run)
    main(["--data-dir", d, "run", "--as-of", "2030-02-01", "--force"])
    capsys.readouterr()
    main(["--data-dir", d, "runs", "list"])
    listed = capsys.readouterr().out
    assert "2030-02-01" in listed and _newest(small_run) in listed
    main(["--data-dir", d, "runs", "delete", "2030-02-01", "--yes", "--actor", "ops-bo"])
    assert "deleted the run as of 2030-02-01" in capsys.readouterr().out
    with sqlite3.connect(small_run / "spendsense.db") as db:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE '%as_of_date%'")]  # fmt: skip
        assert "persona_assignments" in tables and "recommendations" in tables
        for table in tables:
            n = db.execute(f"SELECT COUNT(*) FROM {table} WHERE as_of_date='2030-02-01'")
            assert n.fetchone() == (0,), table
        assert (
            db.execute(
                "SELECT COUNT(*) FROM persona_assignments WHERE as_of_date = ?",
                (_newest(small_run),),
            ).fetchone()[0]
            > 0
        )  # the other run is untouched
        audit = db.execute("SELECT actor, action, target_id FROM audit_log").fetchall()
        assert ("ops-bo", "run.delete", "2030-02-01") in audit
    for path in (small_run / "features").glob("*.parquet"):
        frame = pl.read_parquet(path)
        if "as_of_date" in frame.columns:
            assert "2030-02-01" not in frame["as_of_date"].cast(pl.String).to_list(), path
    with pytest.raises(SystemExit):
        main(["--data-dir", d, "runs", "delete", "2030-02-01", "--yes"])
    assert "no run outputs as of 2030-02-01" in capsys.readouterr().err


def test_run_timings_add_up_to_the_wall_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    exe = [sys.executable, "-m", "spendsense", "--data-dir", str(data)]
    subprocess.run([*exe, "generate", "--users", "8"], check=True, capture_output=True)
    subprocess.run([*exe, "ingest", str(data / "raw" / "bundles")], check=True, capture_output=True)
    import time

    begun = time.perf_counter()
    out = subprocess.run([*exe, "run"], check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - begun
    steps = {
        m[1]: float(m[2]) for m in re.finditer(r"^  ([^:\n]+): ([0-9.]+) s$", out, re.MULTILINE)
    }
    total = steps.pop("total")
    assert "start-up (Python, imports, settings)" in steps and "store (SQLite + Parquet)" in steps
    assert abs(sum(steps.values()) - total) < 0.02 * len(steps)
    # the process's own wall time, less what the OS spends starting and ending it
    assert total == pytest.approx(wall, rel=0.2, abs=0.5), (total, wall, steps)


def test_operator_create_again_says_how_to_get_in(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["operator", "create", "admin", "--random-password", "--exist-ok"]
    main(argv)
    first = capsys.readouterr().out
    assert "password (shown once):" in first
    main(argv)  # `make demo` a second time
    again = capsys.readouterr().out
    assert "already exists" in again and "Lost it?" in again
    assert f"spendsense --data-dir {data_dir} operator" in again
    assert f"rm -rf {data_dir} && make demo" in again
    assert "password (shown once)" not in again


@pytest.mark.parametrize("policy", [None, "guardrails_only"])
def test_serve_says_which_delivery_policy_customers_get(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    policy: str | None,
) -> None:
    """`make demo` ends in `serve`, which states the policy the settings chose (one place)."""
    import uvicorn

    from spendsense.guardrails.delivery import DEFAULT_POLICY, DESCRIPTIONS

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    if policy is not None:
        monkeypatch.setenv("SPENDSENSE_DELIVERY_POLICY", policy)
    main(["serve", "--port", "8123"])
    out = " ".join(capsys.readouterr().out.split())
    chosen = policy or DEFAULT_POLICY
    assert f"delivery policy {chosen}: customers see {DESCRIPTIONS[chosen]}" in out
    assert len(served) == 1


ALLOCATOR_PROBE = """
import os, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "polars" and not seen:
            seen.append(os.environ.get(sys.argv[1]))
sys.meta_path.insert(0, Watch())
from spendsense.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
print("AT_POLARS_IMPORT", seen)
"""


def test_run_sets_the_allocator_before_polars_loads(data_dir: Path) -> None:
    """jemalloc reads its setting once, when Polars loads: `run` must set it first."""
    from spendsense.allocator import ALLOCATOR_ENV, KEEP_FREED_MEMORY

    env = {k: v for k, v in os.environ.items() if k != ALLOCATOR_ENV}
    result = subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE, ALLOCATOR_ENV, "--data-dir", str(data_dir), "run"],
        capture_output=True, text=True, check=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == f"AT_POLARS_IMPORT {[KEEP_FREED_MEMORY]}"


def test_an_allocator_setting_already_given_wins() -> None:
    from spendsense.allocator import ALLOCATOR_ENV, KEEP_FREED_MEMORY, keep_freed_memory

    given = {ALLOCATOR_ENV: "dirty_decay_ms:0"}
    keep_freed_memory(given)
    assert given == {ALLOCATOR_ENV: "dirty_decay_ms:0"}
    empty: dict[str, str] = {}
    keep_freed_memory(empty)
    assert empty == {ALLOCATOR_ENV: KEEP_FREED_MEMORY}


def test_bulk_commands_do_not_load_pandas(data_dir: Path, tmp_path: Path) -> None:
    """generate, ingest and run (which write through ADBC) never import pandas: the ADBC
    DB-API layer's ``pyarrow.dataset`` import alone costs about 1.5 s of CPU per command."""
    out = tmp_path / "raw"
    argvs = [["generate", "--users", "4", "--out", str(out)], ["ingest", str(out)], ["run"]]
    for argv in argvs:
        result = subprocess.run(
            [sys.executable, "-c", PROBE.format(heavy={"pandas"}), "--data-dir", str(data_dir),
             *argv],
            capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        assert result.stdout.strip().splitlines()[-1] == "LOADED", (argv, result.stdout[-500:])
    assert (data_dir / "features").is_dir()  # the run got as far as its outputs
