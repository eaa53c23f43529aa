"""Mixed load: 200 concurrent clients, reads and operator writes, against a loopback server.

Builds a throwaway database in a temp folder (bench_api_load.build_db), serves the app with
uvicorn in a child process on 127.0.0.1, and for --seconds runs closed-loop keep-alive clients:
reads (GET /recommendations/{id}, /profile/{id}, /operator/review) and operator writes
(approve / flag / unflag with the version the client last saw, on a small hot set so operators
collide). A 409 conflict is an expected outcome, not an error; errors are 5xx, timeouts,
dropped connections and any other unexpected status. Writes p50/p95/p99 per kind and the error
rate to bench/results/load_mixed.json. Bounded by --seconds and --max-requests.

    .venv/bin/python bench/bench_load_mixed.py [--seconds 60] [--clients 200] [--writes 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import time
from pathlib import Path

import httpx
from bench_api_load import build_db, free_port, request, serve

RESULTS = Path(__file__).resolve().parent / "results" / "load_mixed.json"
TIMEOUT_S = 10.0
NOW_VERSION = re.compile(rb"it is now version (\d+), status (\w+)")


class Tally:
    """Latencies per kind, outcomes and errors (with a few examples of what went wrong)."""

    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = {"read": [], "write": []}
        self.outcomes: dict[str, int] = {}
        self.errors = 0
        self.examples: list[str] = []

    def add(self, kind: str, ms: float, outcome: str, error: str | None = None) -> None:
        self.lat[kind].append(ms)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if error is not None:
            self.errors += 1
            if len(self.examples) < 5:
                self.examples.append(error)


async def client_loop(
    port: int, deadline: float, op: str, tokens: dict[str, str], users: list[str],
    hot: list[str], write_share: float, budget: list[int], tally: Tally, rng: random.Random,
) -> None:  # fmt: skip
    customers = list(tokens)
    seen: dict[str, tuple[int, str]] = {}  # recommendation -> (version, status) last seen
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            body: dict[str, object] | None = None
            if rng.random() < write_share:
                kind, rec = "write", rng.choice(hot)
                version, status = seen.get(rec, (1, "proposed"))
                action = "unflag" if status == "flagged" else rng.choice(["approve", "flag"])
                method, path = "POST", f"/operator/recommendations/{rec}/{action}"
                body, token = {"version": version, "reason": "load test"}, op
            else:
                kind, method, pick = "read", "GET", rng.random()
                if pick < 0.5:
                    user = rng.choice(customers)
                    path, token = f"/recommendations/{user}", tokens[user]
                elif pick < 0.8:
                    path, token = f"/profile/{rng.choice(users)}", op
                else:
                    path, token = f"/operator/review?limit=20&offset={rng.randrange(50)}", op
            t0 = time.perf_counter()
            try:
                status, payload = await asyncio.wait_for(
                    request(reader, writer, method, path, token, body), TIMEOUT_S
                )
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                tally.add(kind, (time.perf_counter() - t0) * 1000, "failed", f"{path}: {exc!r}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            ms = (time.perf_counter() - t0) * 1000
            if kind == "write" and status == 200:
                doc = json.loads(payload)
                seen[rec] = (doc["version"], doc["status"])
                tally.add(kind, ms, "applied")
            elif kind == "write" and status == 409:
                match = NOW_VERSION.search(payload)
                if match:  # reload, as the message says, and try again later
                    seen[rec] = (int(match.group(1)), match.group(2).decode())
                tally.add(kind, ms, "conflict")
            elif kind == "read" and status == 200:
                tally.add(kind, ms, "ok")
            else:
                tally.add(
                    kind, ms, f"http_{status}", f"{method} {path}: {status} {payload[:120]!r}"
                )
    finally:
        writer.close()


def _quantiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
            "max_ms": round(max(values), 2)}  # fmt: skip


async def run_load(port: int, args: argparse.Namespace, op: str, tokens: dict[str, str],
                   users: list[str], hot: list[str]) -> dict[str, object]:  # fmt: skip
    tally, budget = Tally(), [args.max_requests]
    start = time.perf_counter()
    deadline = start + args.seconds
    await asyncio.gather(*(
        client_loop(port, deadline, op, tokens, users, hot, args.writes, budget, tally,
                    random.Random(i))
        for i in range(args.clients)
    ))  # fmt: skip
    elapsed = time.perf_counter() - start
    every = tally.lat["read"] + tally.lat["write"]
    return {
        "requests": len(every), "errors": tally.errors,
        "error_rate": tally.errors / max(len(every), 1), "seconds": round(elapsed, 2),
        "throughput_rps": round(len(every) / elapsed, 1), **_quantiles(every),
        "reads": {"requests": len(tally.lat["read"]), **_quantiles(tally.lat["read"])},
        "writes": {"requests": len(tally.lat["write"]), **_quantiles(tally.lat["write"])},
        "outcomes": dict(sorted(tally.outcomes.items())), "error_examples": tally.examples,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--writes", type=float, default=0.2, help="share of operator writes")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--hot", type=int, default=100, help="recommendations the writes share")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=400_000)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="spendsense-bench-") as tmp:
        op, tokens = build_db(Path(tmp), args.users, 4)
        users = [f"u{i:06d}" for i in range(args.users)]
        hot = [f"{u}-30-{k}" for u in users[: args.hot // 4] for k in range(4)]
        port = free_port()
        proc = serve(tmp, port, args.workers)
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            result = asyncio.run(run_load(port, args, op, tokens, users, hot))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    result.update(clients=args.clients, workers=args.workers, write_share=args.writes,
                  hot_recommendations=len(hot), timeout_s=TIMEOUT_S)  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
