"""Spark fixtures: a real standalone cluster on 127.0.0.1, and row-for-row frame comparison."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

START_SECONDS = 120  # the master and both workers up and registered (three JVMs on a shared CPU)
STOP_SECONDS = 15
WORKERS = 2


@pytest.fixture(scope="session")
def assert_same_rows() -> Callable[[pl.DataFrame, pl.DataFrame, str], None]:
    """Two frames hold the same rows, every column exact (order of rows ignored)."""

    def check(left: pl.DataFrame, right: pl.DataFrame, name: str) -> None:
        assert left.height > 0, f"{name}: no rows"
        keys = [c for c, t in left.schema.items() if not t.is_nested()]
        try:
            assert_frame_equal(
                left.sort(keys, nulls_last=True),
                right.sort(keys, nulls_last=True),
                check_exact=True,
            )
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None

    return check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@dataclass(frozen=True)
class StandaloneCluster:
    """A running Spark standalone master with its workers, all bound to 127.0.0.1."""

    url: str
    """``spark://127.0.0.1:<port>``: what ``spark-submit --master`` takes."""
    master_ui: str
    worker_uis: tuple[str, ...]
    spark_home: Path
    env: dict[str, str]
    """The environment the cluster runs with (SPARK_HOME, SPARK_LOCAL_IP...), for spark-submit."""
    logs: Path

    def master_state(self) -> Any:
        """The master's JSON status: workers, active and completed applications."""
        return _get_json(f"{self.master_ui}/json/")

    def completed_app(self, name: str, seconds: float = 15) -> Any:
        """The one completed application called ``name`` (recorded as its driver disconnects)."""
        deadline = time.monotonic() + seconds
        while True:
            apps = [a for a in self.master_state()["completedapps"] if a["name"] == name]
            if apps or time.monotonic() > deadline:
                assert len(apps) == 1, f"completed applications named {name}: {apps}"
                return apps[0]
            time.sleep(0.5)

    def worker_state(self, ui: str) -> Any:
        """A worker's JSON status: its running and finished executors."""
        return _get_json(f"{ui}/json/")

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every daemon's log (for a failure message)."""
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"== {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Each daemon's process group (the JVM, its executors and their Python workers): TERM, then KILL."""
    for proc in reversed(processes):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for proc in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):  # what is left of the group goes too
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_SECONDS)


def _wait_for_workers(cluster: StandaloneCluster, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_SECONDS
    alive = 0
    while time.monotonic() < deadline:
        dead = [p.args for p in processes if p.poll() is not None]
        assert not dead, f"a Spark daemon exited: {dead}\n{cluster.log_tails()}"
        try:
            state = cluster.master_state()
            alive = sum(w["state"] == "ALIVE" for w in state["workers"])
        except (OSError, ValueError):  # not listening yet, or a starting UI's empty or partial body
            alive = 0
        if alive == WORKERS:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{alive} of {WORKERS} workers registered in {START_SECONDS} s\n{cluster.log_tails()}"
    )


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """A master and two workers (1 core, 1 GB each) from pyspark's own ``bin/spark-class``.

    Started for the module and stopped at teardown, whatever the tests did. Scratch, logs
    and the workers' application folders live under the module's tmp folder.
    """
    pyspark = pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java: a Spark standalone cluster needs a JVM (java on PATH or JAVA_HOME)")
    root = tmp_path_factory.mktemp("cluster")
    spark_home = Path(pyspark.__file__).parent
    spark_class = spark_home / "bin" / "spark-class"
    logs, conf = root / "logs", root / "conf"
    logs.mkdir()
    conf.mkdir()  # an empty conf folder: nothing from a spark-defaults.conf elsewhere
    properties = root / "master.conf"
    properties.write_text("spark.master.rest.enabled false\n")  # no fixed port 6066
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "PYTHONPATH"))},
        "SPARK_HOME": str(spark_home),
        "SPARK_CONF_DIR": str(conf),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_DIRS": str(root / "local"),
        "SPARK_LOG_DIR": str(logs),
    }
    port, ui = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    worker_ports = [_free_port() for _ in range(WORKERS)]
    cluster = StandaloneCluster(
        url=url,
        master_ui=f"http://127.0.0.1:{ui}",
        worker_uis=tuple(f"http://127.0.0.1:{p}" for p in worker_ports),
        spark_home=spark_home,
        env=env,
        logs=logs,
    )
    commands = [
        (
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)),
                *("--properties-file", str(properties)),
            ],
        ),
        *(
            (
                f"worker{i}",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    url,
                    *("--host", "127.0.0.1", "--cores", "1", "--memory", "1g"),
                    *("--webui-port", str(p), "--work-dir", str(root / f"worker{i}")),
                ],
            )
            for i, p in enumerate(worker_ports, 1)
        ),
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, args in commands:
            with (logs / f"{name}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [str(spark_class), *args],
                        env=env,
                        cwd=root,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own group: stopped with its children
                    )
                )
        _wait_for_workers(cluster, processes)
        yield cluster
    finally:
        _stop(processes)
