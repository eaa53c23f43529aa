"""``spark-submit`` of the job on a real standalone cluster (a master, two workers) matches the
embedded engine row for row: the recipe of docs/performance.md ("On a real cluster"), on one machine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from spendsense.config import Settings
from spendsense.pipeline import run_pipeline_parquet
from spendsense.spark.convert import convert_synth
from spendsense.spark.job import read_spark_table
from spendsense.store.tables import OUTPUT_TABLES
from spendsense.synth import generate_population

if TYPE_CHECKING:
    from conftest import StandaloneCluster

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".tools" / "bin" / "uv"  # what `make setup` installs
JOB = REPO / "src" / "spendsense" / "spark" / "job.py"
COMPUTED_AT = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
OUTPUTS = tuple(t.parquet for t in OUTPUT_TABLES if t.parquet)
SUBMIT_SECONDS = 300


def node_python(root: Path) -> Path:
    """A Python like a cluster node's: the runtime dependencies, but not spendsense.

    A venv whose one ``.pth`` line puts this environment's site-packages on the path: its
    packages import, but its own ``.pth`` files (the editable spendsense) are not read, so
    spendsense comes only from the package the job ships.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    purelib = Path(sysconfig.get_paths()["purelib"])
    target = next((root / "lib").glob("python*/site-packages"))
    (target / "node-dependencies.pth").write_text(f"{purelib}\n")
    return root / "bin" / "python"


def spark_submit(
    cluster: StandaloneCluster, python: Path, package: Path, events: Path, *job_args: str
) -> subprocess.CompletedProcess[str]:
    """The job as docs/performance.md submits it, plus an event log and a small shuffle."""
    command = [
        str(cluster.spark_home / "bin" / "spark-submit"),
        *("--master", cluster.url),
        *("--py-files", str(package)),
        *("--conf", f"spark.pyspark.python={python}"),
        *("--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0"),
        *("--conf", "spark.sql.shuffle.partitions=2"),
        *("--conf", "spark.eventLog.enabled=true"),
        *("--conf", f"spark.eventLog.dir={events.as_uri()}"),
        *("--conf", "spark.eventLog.compress=false"),
        *("--conf", "spark.eventLog.rolling.enabled=false"),
        str(JOB),
        *job_args,
    ]
    proc = subprocess.Popen(
        command,
        env=cluster.env,
        cwd=events.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=SUBMIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"spark-submit ran over {SUBMIT_SECONDS} s\n{err[-3000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def tasks_per_executor(event_log: Path) -> Counter[str]:
    """Finished tasks per executor id, from the application's event log."""
    counts: Counter[str] = Counter()
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerTaskEnd":
            counts[event["Task Info"]["Executor ID"]] += 1
    return counts


def test_spark_submit_on_a_standalone_cluster_matches_embedded(
    spark_cluster: StandaloneCluster,
    tmp_path: Path,
    assert_same_rows: Callable[[pl.DataFrame, pl.DataFrame, str], None],
) -> None:
    pytest.importorskip("pandas", reason="PySpark's mapInArrow imports pandas (pyspark[sql])")
    if not UV.exists():
        pytest.skip("uv is not installed (make setup installs it in .tools/)")
    generate_population(150, 5, tmp_path / "raw", fmt="parquet")
    ledger = tmp_path / "ledger"
    convert_synth(tmp_path / "raw", ledger)
    embedded = Settings(data_dir=tmp_path / "embedded")
    summary = run_pipeline_parquet(embedded, ledger, computed_at=COMPUTED_AT, log=lambda _: None)

    # What a cluster receives: the package (code and catalog) and a Python with the dependencies.
    dist = tmp_path / "dist"
    subprocess.run([UV, "build", "--wheel", "--out-dir", dist, REPO], check=True, cwd=tmp_path)
    # Executors put only .zip/.egg/.jar files of --py-files on their path: the wheel goes as a zip.
    package = tmp_path / "spendsense.zip"
    shutil.copy(next(dist.glob("spendsense-*.whl")), package)
    python = node_python(tmp_path / "node-python")
    probe = "import importlib.util, pandas, polars, pyspark; print(importlib.util.find_spec('spendsense'))"
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "None", "the node Python must not see the checkout's spendsense"

    events, out = tmp_path / "events", tmp_path / "out"
    events.mkdir()
    done = spark_submit(
        spark_cluster,
        python,
        package,
        events,
        *("--ledger", str(ledger), "--out", str(out)),
        *("--computed-at", COMPUTED_AT.isoformat(), "--chunk-users", "25"),
    )
    problems = [line for line in done.stderr.splitlines() if " INFO " not in line]
    assert done.returncode == 0, "\n".join(problems[-60:])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["users"] == summary.users > 100
    assert report["partitions"] >= 4

    for name in OUTPUTS:
        spark = read_spark_table(out / f"{name}.parquet")
        local = pl.read_parquet(embedded.data_dir / "features" / f"{name}.parquet")
        assert_same_rows(local, spark, name)
        assert report["rows"][name] == spark.height, name  # counted from the blobs, not re-read

    # It ran on the cluster: the master completed the application, an executor of it ran on
    # each worker, and both executors finished tasks.
    app = spark_cluster.completed_app("spendsense")
    assert app["state"] == "FINISHED"
    for ui in spark_cluster.worker_uis:
        state = spark_cluster.worker_state(ui)
        executors = [*state["executors"], *state["finishedexecutors"]]
        assert any(e.get("appid") == app["id"] for e in executors), (ui, executors)
    tasks = tasks_per_executor(events / app["id"])
    assert len(tasks) == 2 and min(tasks.values()) > 0, tasks
