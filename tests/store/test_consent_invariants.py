"""Consent invariants as properties: every source, every table, every Parquet file, under concurrency.

One population (20 users, run once) is copied into each test's own folder.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from spendsense import pipeline, services
from spendsense.cli import main
from spendsense.config import Settings
from spendsense.errors import ConsentRequired, StoreBusy
from spendsense.store import db
from spendsense.store.audit import verify_audit_chain
from spendsense.store.consents import RETAINED_ON_REVOKE, derived_tables
from spendsense.store.db import connect
from spendsense.store.oversight import record_feedback

# Every table a revocation empties for the user. A new table with a user_id must be added here
# (derived: purged) or to RETAINED_ON_REVOKE (kept: say why there): this test makes it a decision.
EXPECTED_DERIVED = {
    "decision_traces",
    "eligibility_exclusions",
    "feature_cash_flow",
    "feature_credit",
    "feature_credit_cards",
    "feature_income",
    "feature_recurring_streams",
    "feature_savings",
    "feature_subscriptions",
    "feedback",
    "persona_assignments",
    "recommendations",
}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("consent") / "data"
    main(["--data-dir", str(data), "generate", "--users", "20", "--seed", "11"])
    main(["--data-dir", str(data), "ingest", str(data / "raw" / "bundles")])
    main(["--data-dir", str(data), "run"])
    return data


@pytest.fixture
def data(population: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(population, copy)
    return copy


HOLD_WRITER_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _granted(data: Path) -> list[str]:
    with sqlite3.connect(data / "spendsense.db") as conn:
        rows = conn.execute(
            "SELECT user_id FROM users WHERE consent_status = 'granted' ORDER BY user_id"
        )
        return [r[0] for r in rows]


def _leftovers(data: Path, user: str) -> dict[str, int]:
    """Rows of ``user`` left in every derived SQLite table and every Parquet output file."""
    left: dict[str, int] = {}
    conn = connect(data / "spendsense.db")
    for table in derived_tables(conn):
        n = conn.execute(f'SELECT COUNT(*) FROM "{table}" WHERE user_id = ?', (user,)).fetchone()[0]
        if n:
            left[table] = n
    for path in sorted((data / "features").glob("*")):
        assert not path.name.endswith(".tmp"), f"a temp file was left behind: {path.name}"
        frame = pl.read_parquet(path)  # raises if a file was truncated or corrupted
        if "user_id" in frame.columns:
            n = frame.filter(pl.col("user_id") == user).height
            if n:
                left[path.name] = n
    return left


def _has_outputs(data: Path, user: str) -> bool:
    conn = connect(data / "spendsense.db")
    return all(
        conn.execute(f"SELECT COUNT(*) FROM {t} WHERE user_id = ?", (user,)).fetchone()[0]
        for t in ("feature_income", "persona_assignments", "recommendations", "decision_traces")
    )


def test_derived_tables_are_a_decision(data: Path) -> None:
    conn = connect(data / "spendsense.db")
    assert set(derived_tables(conn)) == EXPECTED_DERIVED
    assert not EXPECTED_DERIVED & RETAINED_ON_REVOKE


@pytest.mark.parametrize("source", ["cli", "api", "console", "web"])
def test_revocation_removes_everything_derived(data: Path, source: str) -> None:
    """Persona history, feedback, delivered items, traces, exclusions, features; SQLite and Parquet."""
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    conn = connect(settings.db_path)
    rec_id = conn.execute(
        "SELECT recommendation_id FROM recommendations WHERE user_id = ? LIMIT 1", (user,)
    ).fetchone()[0]
    record_feedback(conn, rec_id, helpful=True, text="useful", user_id=user)
    conn.execute("UPDATE recommendations SET status = 'delivered' WHERE recommendation_id = ?",
                 (rec_id,))  # fmt: skip
    assert _leftovers(data, user)  # there is something to remove
    result = services.change_consent(settings, user, "revoke", source=source, actor="t")
    assert result["status"] == "revoked" and int(str(result["removed_rows"])) > 0
    assert _leftovers(data, user) == {}
    audit = conn.execute(
        "SELECT actor, action FROM audit_log WHERE target_id = ? ORDER BY seq DESC", (user,)
    ).fetchone()
    assert tuple(audit) == ("t", "consent.revoke")
    history = conn.execute(
        "SELECT status, source FROM consents WHERE user_id = ? ORDER BY changed_at DESC", (user,)
    ).fetchone()
    assert tuple(history) == ("revoked", source)


def test_audit_and_consent_history_keep_no_financial_values(data: Path) -> None:
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    services.change_consent(settings, user, "revoke", source="cli", actor="t")
    conn = connect(settings.db_path)
    kept = [
        *conn.execute("SELECT * FROM consents WHERE user_id = ?", (user,)),
        *conn.execute("SELECT * FROM audit_log WHERE target_id = ?", (user,)),
    ]
    text = " ".join(str(v) for row in kept for v in tuple(row))
    assert "$" not in text and "%" not in text and "cents" not in text


def test_twenty_concurrent_revocations_leave_every_file_whole(data: Path) -> None:
    settings = Settings(data_dir=data)
    users = _granted(data)
    assert len(users) >= 10
    targets = (users * 2)[:20]  # some users revoked twice at once
    errors: list[BaseException] = []

    def revoke(user: str) -> None:
        try:
            services.change_consent(settings, user, "revoke", source="api", actor="t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=revoke, args=(u,)) for u in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for user in set(targets):
        assert _leftovers(data, user) == {}, user
    assert verify_audit_chain(connect(settings.db_path))[0]
    main(["--data-dir", str(data), "run"])  # a later run still works


@pytest.mark.slow
def test_revocations_from_separate_processes_are_serialised(data: Path) -> None:
    """The writer lock holds across processes (CLI beside the server), not just threads."""
    users = _granted(data)[:6]
    cmd = [sys.executable, "-m", "spendsense", "--data-dir", str(data), "consent", "revoke"]
    procs = [subprocess.Popen([*cmd, u], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for u in users]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    for user in users:
        assert _leftovers(data, user) == {}, user


def _revoke_while_computing(data: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the next run's stages revoke a granted user's consent once computed; that user."""
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    real = pipeline.compute_stages

    def compute_then_revoke(*args: object, **kwargs: object) -> pipeline.StageOutputs:
        outputs = real(*args, **kwargs)  # type: ignore[arg-type]
        services.change_consent(settings, user, "revoke", source="web", actor=f"user:{user}")
        return outputs

    monkeypatch.setattr(pipeline, "compute_stages", compute_then_revoke)
    return user


def test_a_revocation_waits_for_a_long_writer_instead_of_failing(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (a long ingest's commit) holds the writer lock past the busy timeout:
    an ordinary write gives up with StoreBusy, a revocation waits its turn and lands."""
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)  # stands for the 30 s default
    user = _granted(data)[0]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER_LOCK, str(data / "spendsense.db.writer.lock"), "2.0"],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(StoreBusy), db.writer_lock(connect(data / "spendsense.db")):
            pass
        services.change_consent(Settings(data_dir=data), user, "revoke", source="cli", actor="t")
        assert holder.poll() == 0, "the revocation went ahead before the other writer finished"
    finally:
        holder.kill()
        holder.wait()
    assert _leftovers(data, user) == {}


def test_revocation_during_a_run_is_not_undone(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who revokes while the stages run gets no outputs from that run, SQLite or Parquet."""
    user = _revoke_while_computing(data, monkeypatch)
    pipeline.run_pipeline(Settings(data_dir=data), log=lambda _: None)
    assert _leftovers(data, user) == {}


def test_revocation_during_a_parquet_run_is_not_undone(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --ledger` over a data folder with a store: a revocation while it computes holds."""
    user = _revoke_while_computing(data, monkeypatch)
    summary = pipeline.run_pipeline_parquet(
        Settings(data_dir=data), data / "ledger", log=lambda _: None
    )
    assert summary.users == len(_granted(data)) + 1  # the user was computed, then revoked
    assert _leftovers(data, user) == {}


def test_parquet_run_takes_consent_from_the_store(data: Path, tmp_path: Path) -> None:
    """A Parquet ledger exported before a revocation still says "granted": the store decides."""
    settings = Settings(data_dir=data)
    exported = tmp_path / "exported-ledger"
    shutil.copytree(data / "ledger", exported)
    user = _granted(data)[0]
    services.change_consent(settings, user, "revoke", source="api", actor="t")
    main(["--data-dir", str(data), "run", "--ledger", str(exported)])
    assert _leftovers(data, user) == {}
    frame = pl.read_parquet(data / "features" / "persona_assignments.parquet")
    assert frame["user_id"].n_unique() == len(_granted(data))


def test_revocation_during_an_ingest_leaves_the_user_purged(data: Path) -> None:
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    bundles = data / "raw" / "bundles"
    worker = threading.Thread(target=services.ingest_into_store, args=(settings, [bundles]))
    worker.start()
    services.change_consent(settings, user, "revoke", source="cli", actor="t")
    worker.join()
    assert _leftovers(data, user) == {}
    assert (
        connect(settings.db_path)
        .execute("SELECT consent_status FROM users WHERE user_id = ?", (user,))
        .fetchone()[0]
        == "revoked"
    ), "re-ingesting the old bundle does not re-grant"


def test_on_demand_recompute_refuses_a_revoked_user(data: Path) -> None:
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    services.change_consent(settings, user, "revoke", source="api", actor="t")
    with pytest.raises(ConsentRequired):
        pipeline.recompute_user(settings, user)
    assert _leftovers(data, user) == {}


def test_regrant_recomputes_at_once(data: Path) -> None:
    settings = Settings(data_dir=data)
    user = _granted(data)[0]
    services.change_consent(settings, user, "revoke", source="web", actor=f"user:{user}")
    assert not _has_outputs(data, user)
    result = services.change_consent(settings, user, "grant", source="web", actor=f"user:{user}")
    assert result["recomputed"] is True
    assert _has_outputs(data, user)


LOCK_PROBE = """
import sys
from contextlib import contextmanager
from pathlib import Path
from spendsense.store import consents
from spendsense.store.db import connect

real = consents.writer_lock
@contextmanager
def watched(*args, **kwargs):
    print("POLARS_AT_LOCK", "polars" in sys.modules)
    with real(*args, **kwargs):
        yield
consents.writer_lock = watched
conn = connect(Path(sys.argv[1]))
conn.execute("INSERT INTO users (user_id, consent_status) VALUES ('u1', 'granted')")
conn.commit()
consents.change_consent(conn, "u1", "revoke", source="cli", actor="t")
"""


def test_a_revocation_loads_polars_before_it_takes_the_writer_lock(tmp_path: Path) -> None:
    """Every other writer waits while the lock is held: loading Polars for the Parquet purge
    (seconds on a busy machine) happens before it, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", LOCK_PROBE, str(tmp_path / "spendsense.db")],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert "POLARS_AT_LOCK True" in result.stdout, result.stdout + result.stderr
