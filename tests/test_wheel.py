"""The built wheel works outside the repository: generate -> ingest -> run -> serve (healthz)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UV = REPO / ".tools" / "bin" / "uv"  # what `make setup` installs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_wheel_runs_generate_ingest_run_and_serve_outside_the_repo(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.skip("uv is not installed (make setup installs it in .tools/)")
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    subprocess.run([UV, "build", "--wheel", "--out-dir", dist, REPO], check=True, cwd=tmp_path)
    wheel = next(dist.glob("spendsense-*.whl"))
    subprocess.run([UV, "venv", "--python", sys.executable, venv], check=True, cwd=tmp_path)
    python = venv / "bin" / "python"
    subprocess.run(
        [UV, "pip", "install", "--python", python, f"{wheel}[web]"], check=True, cwd=tmp_path
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    exe = venv / "bin" / "spendsense"
    data = work / "data"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [exe, "--data-dir", data, *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    # The installed package, not the checkout, is what runs.
    where = subprocess.run(
        [python, "-c", "import spendsense; print(spendsense.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(venv) in where and str(REPO) not in where
    cli("generate", "--users", "20", "--seed", "3")
    cli("ingest", str(data / "raw" / "bundles"))
    cli("run")
    assert (data / "features" / "recommendations.parquet").exists()  # the shipped catalog loaded
    port = _free_port()
    server = subprocess.Popen(
        [exe, "--data-dir", data, "serve", "--port", str(port)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.5)
        assert body is not None and body.get("status") == "ok"
    finally:
        server.terminate()
        server.wait(timeout=10)
    shutil.rmtree(venv, ignore_errors=True)
