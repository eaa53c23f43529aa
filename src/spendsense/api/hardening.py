"""HTTP hardening around the app: request-size limit and security headers (plain ASGI middleware)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException

from spendsense.api.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none';"
        b" form-action 'self'; object-src 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
"""On every response. No page may be framed (clickjacking), and no URL, such as a personal
link, leaves in a Referer header."""
NO_STORE = (b"cache-control", b"no-store")
"""On every response but static files: pages and JSON carry personal data."""


class BodyTooLarge(HTTPException):
    """Raised inside the app's receive() when the body passes the limit mid-stream.

    An HTTPException, so the body parsers pass it through and the one error handler answers
    413 in the usual shape.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_big(limit))


def _too_big(limit: int) -> str:
    return f"the request body is larger than the {limit // (1024 * 1024)} MB limit"


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                NO_STORE,
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Hardening:
    """Refuse bodies over ``max_body`` with 413 (by Content-Length, or while streaming) and add
    the security headers (and ``Cache-Control: no-store`` outside ``/static``) to every answer."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _reply(send, 413, "payload_too_large", _too_big(limit))
            return
        received = 0
        started = False
        static = str(scope.get("path", "")).startswith("/static/")

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                if not static and NO_STORE[0] not in names:
                    extra.append(NO_STORE)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await _reply(send, 413, "payload_too_large", _too_big(limit))


SECRET_KEYS = frozenset({"token", "password", "csrf_token"})
"""Query parameters whose values never reach a log."""
_QUERY_PAIR = re.compile(r"(?P<lead>[?&])(?P<key>[^=&#\s]*)=(?P<value>[^&#\s]*)")


def _decoded(key: str) -> str:
    """The key as a server would read it: percent-decoded (repeatedly: ``%2574`` too), lowercased."""
    for _ in range(4):
        decoded = unquote_plus(key)
        if decoded == key:
            break
        key = decoded
    return key.strip().lower()


def redact(text: str) -> str:
    """Blank the value of every secret query parameter, however its name is spelled
    (``token=``, ``TOKEN=``, ``%74oken=``, ``to%6Ben=``)."""

    def blank(match: re.Match[str]) -> str:
        if _decoded(match["key"]) in SECRET_KEYS:
            return f"{match['lead']}{match['key']}=[redacted]"
        return match.group(0)

    return _QUERY_PAIR.sub(blank, text) if "=" in text else text


class RedactSecrets(logging.Filter):
    """Blanks tokens, passwords and CSRF tokens in logged paths (uvicorn's access log writes the
    full path with its query string, so ``/me?token=...`` would otherwise land in every log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True
