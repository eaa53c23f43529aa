"""Credentials: operator accounts (argon2), API tokens and sessions (sha256 only), login throttling."""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from spendsense.errors import Conflict, NotFound, SpendSenseError, Unauthorized, UserError, unknown
from spendsense.store.audit import append_audit
from spendsense.store.db import transaction

if TYPE_CHECKING:
    from argon2 import PasswordHasher

FREE_FAILURES = 5
"""Failed sign-ins one client may make for one username before backoff starts."""
CLIENT_FREE_FAILURES = 20
"""Failed sign-ins one client may make across all usernames before backoff starts."""
FAILURE_WINDOW = timedelta(minutes=15)
"""Failures older than this no longer count."""
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
"""After the free failures, the wait since the last failure doubles per failure, up to this."""
SESSION_TTL = timedelta(hours=12)
CUSTOMER_TOKEN_TTL = timedelta(days=30)
OPERATOR_TOKEN_TTL = timedelta(days=90)
CUSTOMER_SESSION_TTL = timedelta(days=7)
MIN_PASSWORD = 8
MAX_FAILURES = FREE_FAILURES  # the name older callers use


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
    notice: str | None = None  # a one-time console notice (JSON) waiting in the session

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


def operator_exists(conn: sqlite3.Connection, username: str) -> bool:
    """Whether an operator account has this username."""
    return (
        conn.execute("SELECT 1 FROM operators WHERE username = ?", (username,)).fetchone()
        is not None
    )


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
        if operator_exists(conn, username):
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


def token_id(token_hash: str) -> str:
    """A token's public id (the start of its sha256): names it in the audit log, reveals nothing."""
    return "tok_" + token_hash[:12]


def _new_token(conn: sqlite3.Connection, kind: str, subject_id: str, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = _now()
    conn.execute(
        "INSERT INTO api_tokens (token_hash, kind, subject_id, created_at, expires_at)"
        " VALUES (?,?,?,?,?)",
        (sha256_hex(token), kind, subject_id, _iso(now), _iso(now + ttl)),
    )
    return token


def create_customer_token(
    conn: sqlite3.Connection,
    user_id: str,
    *,
    actor: str = "cli",
    ttl: timedelta = CUSTOMER_TOKEN_TTL,
) -> str:
    """A new per-user token, valid for ``ttl`` (shown once; only its sha256 is stored); audited."""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            raise unknown("user", user_id, field="user_id")
        token = _new_token(conn, "customer", user_id, ttl)
        append_audit(
            conn,
            actor=actor,
            action="customer_token.issue",
            target_type="user",
            target_id=user_id,
            after={
                "token_id": token_id(sha256_hex(token)),
                "expires_at": _iso(_now() + ttl),
            },
        )
    return token


def create_operator_token(
    conn: sqlite3.Connection,
    username: str,
    *,
    actor: str = "cli",
    ttl: timedelta = OPERATOR_TOKEN_TTL,
) -> str:
    """A new API token for an operator, valid for ``ttl`` (shown once); audited."""
    with transaction(conn):
        row = conn.execute(
            "SELECT operator_id FROM operators WHERE username = ? AND disabled = 0", (username,)
        ).fetchone()
        if row is None:
            raise unknown("operator", username, field="username")
        token = _new_token(conn, "operator", row["operator_id"], ttl)
        append_audit(
            conn,
            actor=actor,
            action="operator_token.issue",
            target_type="operator",
            target_id=row["operator_id"],
            after={"token_id": token_id(sha256_hex(token)), "expires_at": _iso(_now() + ttl)},
        )
    return token


def _token_row(conn: sqlite3.Connection, token_hash: str) -> sqlite3.Row | None:
    """The live token row (not revoked, not expired) with its operator, or None."""
    return conn.execute(
        "SELECT t.token_hash, t.kind, t.subject_id, t.expires_at, o.username, o.disabled"
        " FROM api_tokens t"
        " LEFT JOIN operators o ON t.kind = 'operator' AND o.operator_id = t.subject_id"
        " WHERE t.token_hash = ? AND t.revoked = 0 AND t.expires_at > ?",
        (token_hash, _iso(_now())),
    ).fetchone()


def principal_from_token(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown, expired or revoked."""
    row = _token_row(conn, sha256_hex(token))
    if row is None:
        return None
    if row["kind"] == "operator":
        if row["username"] is None or row["disabled"]:
            return None
        return Principal("operator", row["subject_id"], row["username"], "token")
    return Principal("customer", row["subject_id"], row["subject_id"], "token")


def revoke_token(conn: sqlite3.Connection, token: str, *, actor: str) -> str:
    """Revoke one token given its secret (and the customer sessions opened with it); audited."""
    digest = sha256_hex(token.strip())
    with transaction(conn):
        row = conn.execute(
            "SELECT kind, subject_id, revoked FROM api_tokens WHERE token_hash = ?", (digest,)
        ).fetchone()
        if row is None:
            raise NotFound("no such token", field="token")
        _revoke(conn, "token_hash = ?", (digest,))
        append_audit(
            conn,
            actor=actor,
            action=f"{row['kind']}_token.revoke",
            target_type="user" if row["kind"] == "customer" else "operator",
            target_id=row["subject_id"],
            before={"revoked": bool(row["revoked"])},
            after={"token_id": token_id(digest), "revoked": True},
        )
    return token_id(digest)


def revoke_customer_tokens(conn: sqlite3.Connection, user_id: str, *, actor: str) -> int:
    """Revoke every token and session of one customer (their links stop working); audited."""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
            raise unknown("user", user_id, field="user_id")
        count = _revoke(conn, "kind = 'customer' AND subject_id = ?", (user_id,))
        append_audit(
            conn,
            actor=actor,
            action="customer_token.revoke_all",
            target_type="user",
            target_id=user_id,
            after={"tokens_revoked": count},
        )
    return count


def _revoke(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> int:
    """Mark matching live tokens revoked and end the customer sessions opened with them."""
    now = _iso(_now())
    hashes = [
        r[0]
        for r in conn.execute(
            f"SELECT token_hash FROM api_tokens WHERE {where} AND revoked = 0", params
        )
    ]
    for digest in hashes:
        conn.execute(
            "UPDATE api_tokens SET revoked = 1, revoked_at = ? WHERE token_hash = ?", (now, digest)
        )
        conn.execute(
            "UPDATE customer_sessions SET revoked = 1 WHERE token_hash = ? AND revoked = 0",
            (digest,),
        )
    return len(hashes)


def set_operator_disabled(
    conn: sqlite3.Connection, username: str, disabled: bool, *, actor: str
) -> str:
    """Disable (or re-enable) an operator; disabling ends their sessions and revokes their tokens."""
    with transaction(conn):
        row = conn.execute(
            "SELECT operator_id, disabled FROM operators WHERE username = ?", (username,)
        ).fetchone()
        if row is None:
            raise unknown("operator", username, field="username")
        operator_id = row["operator_id"]
        conn.execute(
            "UPDATE operators SET disabled = ? WHERE operator_id = ?", (int(disabled), operator_id)
        )
        tokens = 0
        if disabled:
            conn.execute("DELETE FROM sessions WHERE operator_id = ?", (operator_id,))
            tokens = _revoke(conn, "kind = 'operator' AND subject_id = ?", (operator_id,))
        append_audit(
            conn,
            actor=actor,
            action="operator.disable" if disabled else "operator.enable",
            target_type="operator",
            target_id=operator_id,
            before={"disabled": bool(row["disabled"])},
            after={"disabled": disabled, "tokens_revoked": tokens},
        )
    return str(operator_id)


def reset_password(conn: sqlite3.Connection, username: str, password: str, *, actor: str) -> str:
    """Set a new password (argon2) and end the operator's sessions; audited (never the password)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password must be at least {MIN_PASSWORD} characters", field="password")
    digest = _hasher().hash(password)
    with transaction(conn):
        row = conn.execute(
            "SELECT operator_id FROM operators WHERE username = ?", (username,)
        ).fetchone()
        if row is None:
            raise unknown("operator", username, field="username")
        conn.execute(
            "UPDATE operators SET password_hash = ? WHERE operator_id = ?",
            (digest, row["operator_id"]),
        )
        ended = conn.execute(
            "DELETE FROM sessions WHERE operator_id = ?", (row["operator_id"],)
        ).rowcount
        append_audit(
            conn,
            actor=actor,
            action="operator.password_reset",
            target_type="operator",
            target_id=row["operator_id"],
            after={"sessions_ended": ended},
        )
    return str(row["operator_id"])


def create_customer_session(conn: sqlite3.Connection, token: str) -> tuple[str, str] | None:
    """Trade a live customer token for a browser session: (session secret, CSRF token), or None.

    The cookie then holds the session secret, never the bearer token; the session ends when
    it expires (at most :data:`CUSTOMER_SESSION_TTL`, never after the token), at sign-out, or
    when the token is revoked.
    """
    digest = sha256_hex(token)
    with transaction(conn):
        row = _token_row(conn, digest)
        if row is None or row["kind"] != "customer":
            return None
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = _now()
        expires = min(_iso(now + CUSTOMER_SESSION_TTL), row["expires_at"])
        conn.execute(
            "INSERT INTO customer_sessions (session_hash, user_id, token_hash, csrf_token,"
            " created_at, expires_at) VALUES (?,?,?,?,?,?)",
            (sha256_hex(secret), row["subject_id"], digest, csrf, _iso(now), expires),
        )
    return secret, csrf


def principal_from_customer_session(conn: sqlite3.Connection, secret: str) -> Principal | None:
    """The customer behind a ``/me`` session cookie, or None when unknown, ended or expired."""
    now = _iso(_now())
    row = conn.execute(
        "SELECT s.user_id, s.csrf_token FROM customer_sessions s"
        " JOIN api_tokens t ON t.token_hash = s.token_hash"
        " WHERE s.session_hash = ? AND s.revoked = 0 AND s.expires_at > ?"
        " AND t.revoked = 0 AND t.expires_at > ?",
        (sha256_hex(secret), now, now),
    ).fetchone()
    if row is None:
        return None
    return Principal("customer", row["user_id"], row["user_id"], "cookie", row["csrf_token"])


def sign_out_customer(conn: sqlite3.Connection, secret: str) -> None:
    """End a customer's session and revoke the link (token) it was opened with, server-side."""
    with transaction(conn):
        row = conn.execute(
            "SELECT token_hash FROM customer_sessions WHERE session_hash = ?",
            (sha256_hex(secret),),
        ).fetchone()
        if row is not None:
            _revoke(conn, "token_hash = ?", (row["token_hash"],))
            conn.execute(
                "UPDATE customer_sessions SET revoked = 1 WHERE session_hash = ?",
                (sha256_hex(secret),),
            )


def _backoff(failures: int, free: int) -> timedelta:
    """How long to wait after the last failure: nothing for the free ones, then doubling."""
    if failures < free:
        return timedelta(0)
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** min(failures - free, 20)))


def authenticate(
    conn: sqlite3.Connection, username: str, password: str, *, client: str = "local"
) -> str:
    """Check a password, throttled by client and by (client, username); the operator id or 401/429.

    Counting and recording the attempt happen in one write transaction *before* the password
    check, so concurrent attempts cannot all slip past the count: of 40 at once, at most
    :data:`FREE_FAILURES` reach the check. Past the free failures a client waits a doubling
    delay since its last failure (30 s, 1, 2, 4, 8 minutes, then 15). Nothing is counted per
    username alone, so failures from one client never lock the account for anyone else.
    """
    now = _now()
    since = _iso(now - FAILURE_WINDOW)
    with transaction(conn):
        last_ok = conn.execute(
            "SELECT MAX(at) FROM login_attempts WHERE client = ? AND username = ? AND success = 1",
            (client, username),
        ).fetchone()[0]
        pair = conn.execute(
            "SELECT COUNT(*), MAX(at) FROM login_attempts WHERE client = ? AND username = ?"
            " AND success = 0 AND at >= ?",
            (client, username, max(since, last_ok or since)),
        ).fetchone()
        spread = conn.execute(
            "SELECT COUNT(*), MAX(at) FROM login_attempts WHERE client = ? AND success = 0"
            " AND at >= ?",
            (client, since),
        ).fetchone()
        wait = timedelta(0)
        for (count, last), free in ((pair, FREE_FAILURES), (spread, CLIENT_FREE_FAILURES)):
            if last is not None:
                until = _parse(last) + _backoff(int(count), free)
                wait = max(wait, until - now)
        if wait > timedelta(0):
            seconds = max(1, int(wait.total_seconds() + 0.999))
            raise TooManyAttempts(
                f"too many failed sign-ins from this device: try again in {_plural(seconds)}",
                field="username",
            )
        # recorded as a failure until the check below succeeds
        attempt = conn.execute(
            "INSERT INTO login_attempts (username, at, success, client) VALUES (?,?,0,?)",
            (username, _iso(now), client),
        ).lastrowid
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
    if not ok or row is None:
        raise Unauthorized("wrong username or password")
    with transaction(conn):
        conn.execute("UPDATE login_attempts SET success = 1 WHERE rowid = ?", (attempt,))
    return str(row["operator_id"])


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _plural(seconds: int) -> str:
    if seconds >= 120:
        minutes = -(-seconds // 60)
        return f"{minutes} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


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
        "SELECT s.operator_id, s.csrf_token, s.flash, o.username FROM sessions s"
        " JOIN operators o ON o.operator_id = s.operator_id"
        " WHERE s.session_hash = ? AND s.expires_at > ? AND o.disabled = 0",
        (sha256_hex(secret), _iso(_now())),
    ).fetchone()
    if row is None:
        return None
    return Principal(
        "operator", row["operator_id"], row["username"], "session", row["csrf_token"], row["flash"]
    )


def set_notice(conn: sqlite3.Connection, secret: str, kind: str, text: str) -> None:
    """Keep a one-time notice for the next console page of this session (never in the URL)."""
    conn.execute(
        "UPDATE sessions SET flash = ? WHERE session_hash = ?",
        (json.dumps({"kind": kind, "text": text}), sha256_hex(secret)),
    )


def take_notice(conn: sqlite3.Connection, secret: str) -> dict[str, str] | None:
    """The waiting notice, removed as it is read (shown once)."""
    digest = sha256_hex(secret)
    with transaction(conn):
        row = conn.execute(
            "SELECT flash FROM sessions WHERE session_hash = ?", (digest,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        conn.execute("UPDATE sessions SET flash = NULL WHERE session_hash = ?", (digest,))
    value = json.loads(row[0])
    return value if isinstance(value, dict) else None


def end_session(conn: sqlite3.Connection, secret: str) -> None:
    conn.execute("DELETE FROM sessions WHERE session_hash = ?", (sha256_hex(secret),))
