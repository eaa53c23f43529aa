"""Load benchmark: 50 concurrent clients on GET /recommendations/{id} against a loopback server.

Builds a throwaway database (users, recommendations, customer and operator tokens) in a temp
folder, serves the app with uvicorn in a child process on 127.0.0.1, and for about --seconds
hits random users' recommendations with operator and customer tokens. Writes p50/p95/p99 and the
error rate to bench/results/api_load.json. Bounded: --max-requests caps the total.

    .venv/bin/python bench/bench_api_load.py [--seconds 20] [--clients 50] [--users 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from spendsense.config import Settings
from spendsense.store.auth import create_customer_token, create_operator, create_operator_token
from spendsense.store.db import connect, transaction

RESULTS = Path(__file__).resolve().parent / "results" / "api_load.json"
AS_OF = "2025-06-30"
DISCLOSURE = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)


def build_db(data_dir: Path, users: int, per_user: int) -> tuple[str, dict[str, str]]:
    """Stored results for ``users`` consented users; returns the operator token and customer tokens."""
    conn = connect(Settings(data_dir=data_dir).db_path)
    ids = [f"u{i:06d}" for i in range(users)]
    with transaction(conn):
        conn.executemany(
            "INSERT INTO users (user_id, name, consent_status) VALUES (?, ?, 'granted')",
            [(u, f"User {u}") for u in ids],
        )
        rows = [
            (f"{u}-{w}-{k}", u, w, AS_OF, "education", f"item{k}", f"Title {k}",
             f"Because your utilization is {30 + k}%", DISCLOSURE, k, 1.0 / (k + 1),
             "approved" if k % 2 else "proposed", f"tr-{u}-{w}-{k}", 1, None)
            for u in ids for w in (30, 180) for k in range(per_user)
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO recommendations (recommendation_id, user_id, window_days, as_of_date,"
            " kind, item_id, title, rationale, disclosure, rank, rank_score, status, trace_id,"
            f" version, updated_at) VALUES ({','.join('?' * 15)})",
            rows,
        )
    create_operator(conn, "bench", "bench-password")
    op = create_operator_token(conn, "bench")
    tokens = {u: create_customer_token(conn, u) for u in ids[:200]}
    conn.close()
    return op, tokens


def serve(data_dir: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn in a child process on loopback (the process this script started, ended by it)."""
    env = {**os.environ, "SPENDSENSE_DATA_DIR": data_dir, "SPENDSENSE_COOKIE_SECURE": "0"}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "spendsense.api.app:app_from_env",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return subprocess.Popen(cmd, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    token: str,
    body: dict[str, object] | None = None,
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 request on an open connection."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    writer.write(head.encode() + b"\r\n" + payload)
    await writer.drain()
    raw = await reader.readuntil(b"\r\n\r\n")
    status = int(raw.split(b" ", 2)[1])
    length = 0
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def client_loop(
    port: int, deadline: float, op: str, tokens: dict[str, str], users: list[str],
    budget: list[int], lat: list[float], errors: list[int], rng: random.Random,
) -> None:  # fmt: skip
    """One client on its own connection: request after request until the deadline or budget ends."""
    customers = list(tokens)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            if rng.random() < 0.5:
                user, token = rng.choice(users), op
            else:
                user = rng.choice(customers)
                token = tokens[user]
            t0 = time.perf_counter()
            try:
                status, body = await request(
                    reader, writer, "GET", f"/recommendations/{user}", token
                )
                ok = status == 200 and b'"items":[{' in body
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            lat.append((time.perf_counter() - t0) * 1000)
            if not ok:
                errors[0] += 1
    finally:
        writer.close()


async def run_load(port: int, seconds: float, clients: int, max_requests: int, op: str,
                   tokens: dict[str, str], users: list[str]) -> dict[str, float]:  # fmt: skip
    lat: list[float] = []
    errors, budget = [0], [max_requests]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(
        client_loop(port, deadline, op, tokens, users, budget, lat, errors, random.Random(i))
        for i in range(clients)
    ))  # fmt: skip
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {
        "requests": len(lat), "errors": errors[0], "error_rate": errors[0] / max(len(lat), 1),
        "seconds": round(elapsed, 2), "throughput_rps": round(len(lat) / elapsed, 1),
        "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
        "max_ms": round(max(lat), 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--per-user", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spendsense-bench-") as tmp:
        op, tokens = build_db(Path(tmp), args.users, args.per_user)
        users = [f"u{i:06d}" for i in range(args.users)]
        port = free_port()
        proc = serve(tmp, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            result = asyncio.run(
                run_load(port, args.seconds, args.clients, args.max_requests, op, tokens, users)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    result.update(workers=args.workers, clients=args.clients, users=args.users, recommendations_per_user=args.per_user * 2,
                  target_p99_ms=50, meets_target=result["p99_ms"] <= 50)  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
