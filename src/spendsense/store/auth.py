"""Credentials: operator accounts (argon2), API tokens and sessions (sha256 only), login throttling."""

from __future__ import annotations

import functools
import hashlib
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from spendsense.errors import Conflict, NotFound, SpendSenseError, Unauthorized, UserError
from spendsense.store.audit import append_audit
from spendsense.store.db import transaction

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 8


class TooManyAttempts(SpendSenseError):
    """Too many failed sign-ins for one username in the throttling window."""

    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an operator or a customer, and how they proved it."""

    kind: str  # operator | customer
    subject_id: str  # operator_id or user_id
    name: str  # operator username or user_id
    via: str  # token | session | cookie
    csrf: str | None = None  # expected CSRF token for browser sessions

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def create_operator(
    conn: sqlite3.Connection, username: str, password: str, *, actor: str = "cli"
) -> str:
    """Create an operator account (argon2 password hash), audited; returns the operator id."""
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("username must be 1-64 characters", field="username")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must be at least {MIN_PASSWORD} characters", field="password")
    operator_id = "op_" + uuid.uuid4().hex[:12]
    digest = _hasher().hash(password)
    with transaction(conn):
        if conn.execute("SELECT 1 FROM operators WHERE username = ?", (username,)).fetchone():
            raise Conflict(f"operator {username!r} already exists", field="username")
        conn.execute(
            "INSERT INTO operators (operator_id, username, password_hash, created_at) VALUES (?,?,?,?)",
            (operator_id, username, digest, _iso(_now())),
        )
        append_audit(
            conn,
            actor=actor,
            action="operator.create",
            target_type="operator",
            target_id=operator_id,
            after={"operator_id": operator_id, "username": username},
        )
    return operator_id


def _new_token(conn: sqlite3.Connection, kind: str, subject_id: str) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens (token_hash, kind, subject_id, created_at) VALUES (?,?,?,?)",
        (sha256_hex(token), kind, subject_id, _iso(_now())),
    )
    return token


def create_customer_token(conn: sqlite3.Connection, user_id: str) -> str:
    """A new per-user token (shown once; only its sha256 is stored)."""
    if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
        raise NotFound(f"unknown user {user_id!r}", field="user_id")
    return _new_token(conn, "customer", user_id)


def create_operator_token(conn: sqlite3.Connection, username: str) -> str:
    """A new API token for an operator (shown once; only its sha256 is stored)."""
    row = conn.execute(
        "SELECT operator_id FROM operators WHERE username = ? AND disabled = 0", (username,)
    ).fetchone()
    if row is None:
        raise NotFound(f"unknown operator {username!r}", field="username")
    return _new_token(conn, "operator", row["operator_id"])


def principal_from_token(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown or revoked."""
    row = conn.execute(
        "SELECT t.kind, t.subject_id, o.username, o.disabled FROM api_tokens t"
        " LEFT JOIN operators o ON t.kind = 'operator' AND o.operator_id = t.subject_id"
        " WHERE t.token_hash = ? AND t.revoked = 0",
        (sha256_hex(token),),
    ).fetchone()
    if row is None:
        return None
    if row["kind"] == "operator":
        if row["username"] is None or row["disabled"]:
            return None
        return Principal("operator", row["subject_id"], row["username"], "token")
    return Principal("customer", row["subject_id"], row["subject_id"], "token")


def customer_csrf(token: str) -> str:
    """The CSRF token bound to a customer's cookie (derivable only by someone holding the token)."""
    return sha256_hex("csrf:" + token)


def authenticate(conn: sqlite3.Connection, username: str, password: str) -> str:
    """Check a password with throttling; returns the operator id or raises 401/429."""
    since = _iso(_now() - FAILURE_WINDOW)
    failures = conn.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE username = ? AND at >= ? AND success = 0",
        (username, since),
    ).fetchone()[0]
    if failures >= MAX_FAILURES:
        raise TooManyAttempts(
            f"too many failed sign-ins for {username!r}: try again in 15 minutes",
            field="username",
        )
    row = conn.execute(
        "SELECT operator_id, password_hash FROM operators WHERE username = ? AND disabled = 0",
        (username,),
    ).fetchone()
    from argon2.exceptions import VerificationError

    # An unknown username still costs one argon2 verification, so timing does not tell
    # which usernames exist.
    stored = row["password_hash"] if row is not None else _dummy_hash()
    try:
        ok = _hasher().verify(stored, password) and row is not None
    except (VerificationError, ValueError):
        ok = False
    conn.execute(
        "INSERT INTO login_attempts (username, at, success) VALUES (?,?,?)",
        (username, _iso(_now()), int(ok)),
    )
    if not ok or row is None:
        raise Unauthorized("wrong username or password")
    return str(row["operator_id"])


def create_session(conn: sqlite3.Connection, operator_id: str) -> tuple[str, str]:
    """A new browser session; returns (session secret for the cookie, CSRF token)."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = _now()
    conn.execute(
        "INSERT INTO sessions (session_hash, operator_id, csrf_token, created_at, expires_at)"
        " VALUES (?,?,?,?,?)",
        (sha256_hex(secret), operator_id, csrf, _iso(now), _iso(now + SESSION_TTL)),
    )
    return secret, csrf


def principal_from_session(conn: sqlite3.Connection, secret: str) -> Principal | None:
    """The operator behind a session cookie, or None when unknown, expired or disabled."""
    row = conn.execute(
        "SELECT s.operator_id, s.csrf_token, o.username FROM sessions s"
        " JOIN operators o ON o.operator_id = s.operator_id"
        " WHERE s.session_hash = ? AND s.expires_at > ? AND o.disabled = 0",
        (sha256_hex(secret), _iso(_now())),
    ).fetchone()
    if row is None:
        return None
    return Principal("operator", row["operator_id"], row["username"], "session", row["csrf_token"])


def end_session(conn: sqlite3.Connection, secret: str) -> None:
    conn.execute("DELETE FROM sessions WHERE session_hash = ?", (sha256_hex(secret),))
