"""Request dependencies: a pooled connection, the caller (token, session or customer cookie), CSRF."""

from __future__ import annotations

import hmac
import queue
import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from spendsense.config import Settings
from spendsense.errors import Forbidden, Unauthorized, unknown
from spendsense.store.auth import (
    Principal,
    principal_from_customer_session,
    principal_from_session,
    principal_from_token,
    take_notice,
)
from spendsense.store.db import connect

SESSION_COOKIE = "ss_session"
CUSTOMER_COOKIE = "ss_me"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_OFFSET = 1_000_000_000
"""Largest ``offset`` (and, by pages, ``page``) a list accepts; beyond it is a 422, not a crash."""
MAX_PAGE = 10_000_000


class ConnectionPool:
    """Idle SQLite connections reused across requests; each is used by one request at a time.

    Never blocks (it is called on the event loop): when none is idle it opens another, and it
    keeps at most ``size`` idle ones.
    """

    def __init__(self, path: Path, size: int = 16) -> None:
        self.path, self.size = path, size
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._idle.put(connect(path))  # migrate once, up front

    def acquire(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return connect(self.path, migrate=False)

    def release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # never hand on a connection mid-transaction
            conn.execute("ROLLBACK")
        if self._idle.qsize() >= self.size:
            conn.close()
        else:
            self._idle.put(conn)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_conn(request: Request) -> AsyncIterator[sqlite3.Connection]:
    """One pooled connection for the whole request (async: no thread hop just to borrow it)."""
    pool: ConnectionPool = request.app.state.pool
    conn = pool.acquire()
    try:
        yield conn
    finally:
        pool.release(conn)


def blank_is_none(value: object) -> object:
    """An empty query parameter (``?window=``, as a form's "any" sends it) means "not given"."""
    return None if value == "" else value


Blank = BeforeValidator(blank_is_none)
"""Annotate optional query parameters with it: ``Annotated[Days | None, Blank, Query(...)]``
(constraints go on the inner type: on the union they would be applied to None too)."""
Days = Annotated[int, Field(ge=1, le=3650)]


def calendar_date(value: str) -> str:
    """A YYYY-MM-DD string that is a real date (``2026-02-30`` and ``2025-13-45`` are 422)."""
    try:
        date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "calendar_date", "{value} is not a calendar date (YYYY-MM-DD)", {"value": value}
        ) from None
    return value


IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(calendar_date)]
Text64 = Annotated[str, Field(max_length=64)]
Text100 = Annotated[str, Field(max_length=100)]
Text128 = Annotated[str, Field(max_length=128)]

# Documents the bearer scheme in OpenAPI (identify() reads the header itself).
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An operator token (`spendsense operator create NAME --token`) or a customer"
    " token (`spendsense customer token USER_ID`, `POST /users/{user_id}/token`).",
)

ConnDep = Annotated[sqlite3.Connection, Depends(get_conn)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def identify(request: Request, conn: sqlite3.Connection) -> Principal | None:
    """The caller, from a bearer token, an operator session cookie or a customer cookie."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use the header 'Authorization: Bearer <token>'")
        principal = principal_from_token(conn, token.strip())
        if principal is None:
            raise Unauthorized("unknown or revoked token")
        return principal
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        found = principal_from_session(conn, session)
        if found is not None:
            return found
    cookie = request.cookies.get(CUSTOMER_COOKIE)
    if cookie:
        return principal_from_customer_session(conn, cookie)
    return None


async def check_csrf(request: Request, expected: str | None) -> None:
    """Browser sessions must echo their CSRF token (header or form field) on every state change."""
    sent: str | None = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "missing or wrong CSRF token: reload the page and try again", field=CSRF_FIELD
        )


async def get_principal(
    request: Request,
    conn: ConnDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> Principal:
    """The authenticated caller (401 otherwise); browser state changes must pass CSRF."""
    principal = identify(request, conn)
    if principal is None:
        raise Unauthorized(
            "sign in first: send 'Authorization: Bearer <token>' or sign in at /login"
        )
    if principal.via != "token" and request.method not in SAFE_METHODS:
        await check_csrf(request, principal.csrf)
    request.state.principal = principal
    if principal.notice and request.method == "GET":  # shown on the next page, once
        request.state.notice = take_notice(conn, request.cookies.get(SESSION_COOKIE, ""))
    return principal


def get_operator(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """Operators only: customers get 403."""
    if not principal.is_operator:
        raise Forbidden("this needs an operator credential")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentOperator = Annotated[Principal, Depends(get_operator)]


def ensure_access(
    principal: Principal, owner: str, *, kind: str = "user", ident: str | None = None
) -> None:
    """Operators reach every user; a customer reaches only their own data.

    To a customer, another user's ``kind`` (a user, trace or recommendation named by
    ``ident``) answers exactly as one that does not exist: 404 "unknown {kind} '{ident}'",
    so predictable ids never tell what others have or were offered.
    """
    if not principal.is_operator and principal.subject_id != owner:
        raise unknown(kind, owner if ident is None else ident, field=f"{kind}_id")
