"""Measure the customer page (/me) of every consented user on a 390x844 phone.

    python scripts/measure_me_page.py --data-dir data [--out me_page.json]
        [--delivery-policy guardrails_only]

Serves the data folder on a loopback port, opens each consented user's personal link
in Debian's chromium (Playwright) at 390x844 and records the page height, the number of
cards (``article`` elements) and the height in phone screens. Prints the distribution
(min, quartiles, median, max) and writes every user's numbers to ``--out`` when given.
Nothing in the data folder changes except the customer tokens it creates.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

VIEWPORT = {"width": 390, "height": 844}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, policy: str | None) -> tuple[str, Any]:
    import uvicorn

    from spendsense.api.app import create_app
    from spendsense.config import Settings

    port = _free_port()
    settings = Settings(data_dir=data_dir)
    if policy:
        settings = settings.model_copy(update={"delivery_policy": policy})
    app = create_app(settings, cookie_secure=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _tokens(data_dir: Path) -> dict[str, str]:
    from spendsense.config import Settings
    from spendsense.store.auth import create_customer_token
    from spendsense.store.db import connect

    conn = connect(Settings(data_dir=data_dir).db_path)
    users = [
        r[0]
        for r in conn.execute(
            "SELECT user_id FROM users WHERE consent_status = 'granted' ORDER BY user_id"
        )
    ]
    return {u: create_customer_token(conn, u) for u in users}


def _summary(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "min": min(values),
        "p25": q[0],
        "median": statistics.median(values),
        "p75": q[2],
        "max": max(values),
    }


def measure(data_dir: Path, policy: str | None = None) -> dict[str, Any]:
    """Per-user page height (px), card count and screens, and their distributions."""
    from playwright.sync_api import sync_playwright

    tokens = _tokens(data_dir)
    base, server = _serve(data_dir, policy)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for user_id, token in tokens.items():
                page = browser.new_page(viewport=VIEWPORT, is_mobile=True)
                page.goto(f"{base}/me?token={token}")
                height = int(page.evaluate("document.documentElement.scrollHeight"))
                cards = page.locator("main article").count()
                rows.append(
                    {
                        "user_id": user_id,
                        "height_px": height,
                        "cards": cards,
                        "screens": round(height / VIEWPORT["height"], 2),
                    }
                )
                page.close()
            browser.close()
    finally:
        server.should_exit = True
    return {
        "viewport": VIEWPORT,
        "users": len(rows),
        "height_px": _summary([r["height_px"] for r in rows]) if rows else {},
        "cards": _summary([r["cards"] for r in rows]) if rows else {},
        "screens": _summary([r["screens"] for r in rows]) if rows else {},
        "card_count_histogram": {
            str(n): sum(1 for r in rows if r["cards"] == n)
            for n in sorted({r["cards"] for r in rows})
        },
        "per_user": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--delivery-policy", default=None, help="override the settings' policy")
    args = parser.parse_args()
    result = measure(args.data_dir, args.delivery_policy)
    shown = {k: v for k, v in result.items() if k != "per_user"}
    print(json.dumps(shown, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
