"""Crash safety: SIGKILL during ingest, run and operator actions, then restart.

Each phase really kills a subprocess at random points (seeded), several times. Afterwards the
database passes integrity_check, what was committed is there, nothing half-written is
visible (SQLite is before or after each transaction; every Parquet file reads whole), and
finishing the work converges to the same result as an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from spendsense.cli import main
from spendsense.store.audit import verify_audit_chain
from spendsense.store.db import _SCRATCH_LOCK as SCRATCH_LOCK
from spendsense.store.db import SCRATCH_PREFIX, connect
from spendsense.store.ledger import LEDGER_DIR

AS_OF = "2025-06-30"
KILLS = 3
pytestmark = pytest.mark.slow


# Replaces ``module:Owner.attr`` with a SIGKILL of the process itself: a kill at one exact point.
KILL_AT = """
import importlib, os, signal
module, _, name = {target!r}.partition(":")
*owners, attr = name.split(".")
owner = importlib.import_module(module)
for part in owners:
    owner = getattr(owner, part)
setattr(owner, attr, lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
"""


def _cli(
    data: Path, *args: str, bulk_rows: int | None = None, kill_at: str | None = None
) -> subprocess.Popen[bytes]:
    """The CLI in a subprocess; ``bulk_rows``: the output frames that go through Arrow;
    ``kill_at``: the function (``module:Owner.attr``) at whose call it is SIGKILLed."""
    code = "import sys; from spendsense.cli import main; main(sys.argv[1:])"
    if bulk_rows is not None:
        code = f"import spendsense.store.outputs as O; O.BULK_ROWS = {bulk_rows}; {code}"
    if kill_at is not None:
        code = KILL_AT.format(target=kill_at) + code
    return subprocess.Popen(
        [sys.executable, "-c", code, "--data-dir", str(data), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_at_random(proc: subprocess.Popen[bytes], rng: random.Random, upto: float) -> bool:
    """SIGKILL after a random delay; False if it had already finished by then."""
    time.sleep(rng.uniform(0.1, upto))
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def _check_consistent(data: Path) -> None:
    with sqlite3.connect(data / "spendsense.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    for path in data.rglob("*.parquet"):
        if "raw" not in path.parts:
            pl.read_parquet(path)  # whole files only: a torn write would not read


def _ledger_counts_on_restart(data: Path) -> tuple[int, ...]:
    """The counts the next command sees: it opens the database first, which completes a
    schema whose migrations a kill cut short (a kill before the first one leaves a database
    file without tables: the state before the ingest)."""
    connect(data / "spendsense.db").close()
    return _ledger_counts(data)


def _ledger_counts(data: Path) -> tuple[int, ...]:
    with sqlite3.connect(data / "spendsense.db") as conn:
        return tuple(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("users", "accounts", "transactions", "liabilities_credit")
        )


def _outputs(data: Path) -> dict[str, list[tuple[object, ...]]]:
    """The run's results, without the wall-clock columns."""
    with sqlite3.connect(data / "spendsense.db") as conn:
        return {
            "assignments": conn.execute(
                "SELECT user_id, window_days, as_of_date, primary_persona_id, secondary_persona_id,"
                " status FROM persona_assignments ORDER BY 1, 2, 3"
            ).fetchall(),
            "recommendations": conn.execute(
                "SELECT recommendation_id, item_id, rank, status FROM recommendations ORDER BY 1"
            ).fetchall(),
            "features": conn.execute(
                "SELECT * FROM feature_credit ORDER BY user_id, window_days"
            ).fetchall(),
        }


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 generated users and a reference data folder built without interruption."""
    base = tmp_path_factory.mktemp("kill9")
    ref = base / "reference"
    main(["--data-dir", str(ref), "generate", "--users", "120", "--seed", "3"])
    main(["--data-dir", str(ref), "ingest", str(ref / "raw" / "bundles")])
    main(["--data-dir", str(ref), "run", "--as-of", AS_OF])
    return ref


def test_kill_during_ingest_then_rerun(raw: Path, tmp_path: Path) -> None:
    rng = random.Random(1)
    data = tmp_path / "data"
    bundles = raw / "raw" / "bundles"
    killed = 0
    for _ in range(KILLS):
        if _kill_at_random(_cli(data, "ingest", str(bundles)), rng, 2.5):
            killed += 1
        if (data / "spendsense.db").exists():
            _check_consistent(data)
            counts = _ledger_counts_on_restart(data)
            assert counts in ((0, 0, 0, 0), _ledger_counts(raw)), "ingest is all or nothing"
    assert killed >= 1
    main(["--data-dir", str(data), "ingest", str(bundles)])
    _check_consistent(data)
    assert _ledger_counts(data) == _ledger_counts(raw)


@pytest.mark.parametrize(
    "target",
    ["spendsense.store.db:apply_migrations", "spendsense.store.ledger:Stage.apply"],
    ids=["before-the-schema", "copies-written-not-published"],
)
def test_kill_at_a_fixed_point_of_an_ingest(raw: Path, tmp_path: Path, target: str) -> None:
    """A kill before the schema commits leaves a database without tables; one after the
    fresh-load copies are written (footers not yet) leaves them in the scratch folder. Both
    are the state before the ingest: every Parquet file reads whole, and the next ingest
    loads everything."""
    data = tmp_path / "data"
    bundles = raw / "raw" / "bundles"
    proc = _cli(data, "ingest", str(bundles), kill_at=target)
    assert proc.wait() == -signal.SIGKILL
    if target.endswith("Stage.apply"):
        assert list((data / LEDGER_DIR).glob(f"{SCRATCH_PREFIX}*/*")), "no copies were written"
    _check_consistent(data)
    assert _ledger_counts_on_restart(data) == (0, 0, 0, 0)
    main(["--data-dir", str(data), "ingest", str(bundles)])
    _check_consistent(data)
    assert _ledger_counts(data) == _ledger_counts(raw)


def test_scratch_of_a_killed_ingest_is_swept_by_the_next(raw: Path, tmp_path: Path) -> None:
    """SIGKILL an ingest while its scratch folder is in use; the next ingest removes it.

    In use: its lock file exists. A folder killed between being made and getting its lock
    is left for a minute (it may be one being made: ``test_hardening``), so killing the
    moment the folder appears made this test fail whenever the ingest was descheduled there.
    """
    data = tmp_path / "data"
    bundles = raw / "raw" / "bundles"
    proc = _cli(data, "ingest", str(bundles))
    deadline = time.monotonic() + 60
    while not list(data.glob(f"{SCRATCH_PREFIX}*/{SCRATCH_LOCK}")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the ingest never made its scratch folder"
        time.sleep(0.005)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = list(data.glob(f"{SCRATCH_PREFIX}*"))
    assert left, "a killed ingest leaves its scratch folder behind"
    main(["--data-dir", str(data), "ingest", str(bundles)])
    assert list(data.glob(f"{SCRATCH_PREFIX}*")) == []
    _check_consistent(data)
    assert _ledger_counts(data) == _ledger_counts(raw)


@pytest.mark.parametrize("bulk_rows", [None, 1], ids=["default", "all-outputs-as-arrow"])
def test_kill_during_run_then_rerun(raw: Path, tmp_path: Path, bulk_rows: int | None) -> None:
    rng = random.Random(2)
    data = tmp_path / "data"
    main(["--data-dir", str(data), "ingest", str(raw / "raw" / "bundles")])
    killed = 0
    for _ in range(KILLS):
        if _kill_at_random(_cli(data, "run", "--as-of", AS_OF, bulk_rows=bulk_rows), rng, 6.0):
            killed += 1
        _check_consistent(data)
        got = _outputs(data)
        assert not got["assignments"] or got == _outputs(raw), "before or after, never between"
    assert killed >= 1
    main(["--data-dir", str(data), "run", "--as-of", AS_OF])
    _check_consistent(data)
    assert _outputs(data) == _outputs(raw)
    for name in ("recommendations", "persona_assignments", "credit"):
        mine = pl.read_parquet(data / "features" / f"{name}.parquet").drop(
            "computed_at", strict=False
        )
        ref = pl.read_parquet(raw / "features" / f"{name}.parquet").drop(
            "computed_at", strict=False
        )
        assert mine.equals(ref), name


OPERATOR_LOOP = """
import sys
from spendsense.store.db import connect
from spendsense.store.oversight import act_on_recommendation
from spendsense.errors import Conflict
conn = connect(__import__("pathlib").Path(sys.argv[1]))
ids = [r[0] for r in conn.execute("SELECT recommendation_id FROM recommendations ORDER BY 1")]
print("ready", flush=True)
while True:
    for rec_id in ids:
        row = conn.execute(
            "SELECT version, status FROM recommendations WHERE recommendation_id = ?", (rec_id,)
        ).fetchone()
        action = "unflag" if row[1] == "flagged" else "flag"
        try:
            act_on_recommendation(conn, rec_id, action, version=row[0], actor="op:kill9",
                                  reason="crash test")
        except Conflict:
            pass
"""


def test_kill_during_operator_actions(raw: Path, tmp_path: Path) -> None:
    rng = random.Random(3)
    data = tmp_path / "data"
    main(["--data-dir", str(data), "ingest", str(raw / "raw" / "bundles")])
    main(["--data-dir", str(data), "run", "--as-of", AS_OF])
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", OPERATOR_LOOP, str(data / "spendsense.db")],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        assert _kill_at_random(proc, rng, 3.0), "the operator loop never ends by itself"
        _check_consistent(data)
        conn = connect(data / "spendsense.db")
        ok, problems = verify_audit_chain(conn)
        assert ok, problems
        # every committed action bumped one version and wrote one audit entry, together
        bumps = conn.execute(
            "SELECT COALESCE(SUM(version - 1), 0) FROM recommendations"
        ).fetchone()[0]
        audited = conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'recommendation.%'"
        ).fetchone()[0]
        assert bumps == audited and audited > 0
        flagged_by_audit = conn.execute(
            "SELECT COUNT(*) FROM (SELECT target_id, action FROM audit_log a WHERE seq = (SELECT MAX(seq)"
            " FROM audit_log b WHERE b.target_id = a.target_id AND b.action LIKE 'recommendation.%'))"
            " WHERE action = 'recommendation.flag'"
        ).fetchone()[0]
        flagged = conn.execute(
            "SELECT COUNT(*) FROM recommendations WHERE status = 'flagged'"
        ).fetchone()[0]
        assert flagged == flagged_by_audit
        conn.close()
