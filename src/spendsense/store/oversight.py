"""Operator oversight: the review queue and approve / override / flag / unflag, audited and versioned."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from spendsense.errors import Conflict, UserError, unknown
from spendsense.guardrails.delivery import DEFAULT_POLICY, delivered_sql
from spendsense.store.audit import append_audit, now_iso
from spendsense.store.db import transaction
from spendsense.store.reads import REC_COLUMNS, Recommendation, get_recommendation

ACTIONS = ("approve", "override", "flag", "unflag")
REVIEW_STATUSES = ("proposed", "approved", "overridden", "flagged", "delivered")
AUDITED_FIELDS = ("status", "version", "item_id", "kind", "title", "rationale")
USER_FIELDS = ("name", "age_band", "gender", "income_tier", "region")


def review_queue(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    persona: str | None = None,
    window: int | None = None,
    kind: str | None = None,
    delivery: str | None = None,
    policy: str = DEFAULT_POLICY,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Recommendations awaiting review, what matters first: partner offers, then the user's
    persona severity (highest first), then newest; ties by user, window, rank and id.

    Proposed and flagged unless a ``status`` is given; ``kind`` (education | offer) and
    ``delivery`` (delivered | awaiting_review | withheld under ``policy``) filter further.
    """
    clauses = ["r.status = ?"] if status else ["r.status IN ('proposed', 'flagged')"]
    args: list[Any] = [status] if status else []
    if window:
        clauses.append("r.window_days = ?")
        args.append(window)
    if persona:
        clauses.append("(pa.primary_persona_name = ? OR pa.status = ?)")
        args += [persona, persona]
    if kind:
        clauses.append("r.kind = ?")
        args.append(kind)
    if delivery:
        shown, shown_args = delivered_sql(policy, kind="r.kind", status="r.status")
        if delivery == "delivered":
            clauses.append(shown)
            args += shown_args
        elif delivery == "withheld":
            clauses.append("r.status = 'flagged'")
        elif delivery == "awaiting_review":
            clauses.append(f"NOT {shown} AND r.status != 'flagged'")
            args += shown_args
        else:
            raise UserError(
                "delivery must be delivered, awaiting_review or withheld", field="delivery"
            )
    where = " WHERE " + " AND ".join(clauses)
    base = (
        " FROM recommendations r JOIN users u ON u.user_id = r.user_id"
        " LEFT JOIN persona_assignments pa ON pa.user_id = r.user_id"
        " AND pa.window_days = r.window_days AND pa.as_of_date = r.as_of_date"
    )
    total = conn.execute(f"SELECT COUNT(*){base}{where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {REC_COLUMNS}, u.name AS user_name,"
        " COALESCE(pa.primary_persona_name, pa.status) AS persona,"
        f" pa.primary_severity AS severity{base}{where}"
        f" ORDER BY {QUEUE_ORDER} LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [dict(r) for r in rows], int(total)


QUEUE_ORDER = (
    "(r.kind = 'offer') DESC, COALESCE(pa.primary_severity, -1) DESC, r.as_of_date DESC,"
    " r.user_id, r.window_days, r.rank, r.recommendation_id"
)
"""Offers first (they wait for approval), then severity, then newest; a total order."""


CONTENT_FIELDS = (
    "item_id", "kind", "title", "rationale", "disclosure", "partner", "offer_terms",
    "offer_disclosure",
)  # fmt: skip
"""What an override may replace (a new catalog item brings its own kind, partner and terms)."""


def _snapshot(rec: Recommendation) -> dict[str, Any]:
    return {k: getattr(rec, k) for k in AUDITED_FIELDS}


def content_of(rec: Recommendation) -> dict[str, Any]:
    """The fields a customer would see, as an override replaces them."""
    return {k: getattr(rec, k) for k in CONTENT_FIELDS}


def act_on_recommendation(
    conn: sqlite3.Connection,
    recommendation_id: str,
    action: str,
    *,
    version: int,
    actor: str,
    reason: str | None = None,
    content: dict[str, Any] | None = None,
    checks: dict[str, Any] | None = None,
    trace_update: dict[str, Any] | None = None,
) -> Recommendation:
    """Apply one operator action if ``version`` is still current (409 otherwise), atomically.

    One transaction changes the row, records the action in the item's decision trace (who,
    when, reason, before, after and the guardrail ``checks``, plus ``trace_update`` merged
    into the trace, e.g. the new item after an override) and appends the audit entry.
    ``content`` (overrides only) is the new item and text; the caller has run the guardrail
    check on it (``api.actions``), which is why this function is not called directly by routes.
    """
    if action not in ACTIONS:
        raise UserError(f"action must be one of {', '.join(ACTIONS)}", field="action")
    reason = (reason or "").strip() or None
    if action in ("override", "flag") and not reason:
        raise UserError(f"a reason is required to {action} a recommendation", field="reason")
    if (action == "override") != (content is not None):
        raise UserError("an override, and only an override, carries new content", field="action")
    with transaction(conn):
        rec = get_recommendation(conn, recommendation_id)
        if rec.version != version:
            raise Conflict(
                f"recommendation {recommendation_id} changed since you loaded it (you sent version"
                f" {version}; it is now version {rec.version}, status {rec.status}):"
                " reload it and try again",
                field="version",
            )
        if rec.status == "delivered":
            raise Conflict(f"recommendation {recommendation_id} was already delivered")
        if action == "unflag" and rec.status != "flagged":
            raise Conflict(f"recommendation {recommendation_id} is not flagged", field="action")
        status = {
            "approve": "approved",
            "override": "overridden",
            "flag": "flagged",
            "unflag": "proposed",
        }[action]
        new = {**content_of(rec), **(content or {})}
        try:
            updated = conn.execute(
                "UPDATE recommendations SET status = ?, item_id = ?, kind = ?, title = ?,"
                " rationale = ?, disclosure = ?, partner = ?, offer_terms = ?,"
                " offer_disclosure = ?, version = version + 1, updated_at = ?"
                " WHERE recommendation_id = ? AND version = ?",
                (
                    status, new["item_id"], new["kind"], new["title"], new["rationale"],
                    new["disclosure"], new["partner"], new["offer_terms"],
                    new["offer_disclosure"], now_iso(), recommendation_id, version,
                ),
            ).rowcount  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                f"the user already has item {new['item_id']!r} for this window", field="item_id"
            ) from exc
        if updated != 1:  # pragma: no cover - BEGIN IMMEDIATE makes this unreachable
            raise Conflict(f"recommendation {recommendation_id} changed: reload and try again")
        after = get_recommendation(conn, recommendation_id)
        entry = append_audit(
            conn,
            actor=actor,
            action=f"recommendation.{action}",
            target_type="recommendation",
            target_id=recommendation_id,
            before=_snapshot(rec),
            after={**_snapshot(after), **({"checks": checks} if checks is not None else {})},
            reason=reason,
        )
        _record_in_trace(
            conn,
            after,
            {
                "action": action,
                "by": actor,
                "at": entry.at,
                "reason": reason,
                "before": _snapshot(rec),
                "after": _snapshot(after),
                "checks": checks,
                "audit_seq": entry.seq,
            },
            trace_update or {},
        )
    return after


def _record_in_trace(
    conn: sqlite3.Connection,
    rec: Recommendation,
    entry: dict[str, Any],
    update: dict[str, Any],
) -> None:
    """Append the action to the trace's ``review`` list and merge ``update`` (inside the caller's transaction)."""
    row = conn.execute(
        "SELECT trace FROM decision_traces WHERE trace_id = ?", (rec.trace_id,)
    ).fetchone()
    try:
        trace = json.loads(row["trace"]) if row is not None else {}
    except ValueError:
        trace = {"raw": row["trace"]}
    if not isinstance(trace, dict):
        trace = {"raw": trace}
    trace.update(update)
    trace["review"] = [*trace.get("review", []), entry]
    conn.execute(
        "INSERT INTO decision_traces (trace_id, user_id, window_days, as_of_date, item_id, trace)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(trace_id) DO UPDATE SET item_id = excluded.item_id,"
        " trace = excluded.trace",
        (
            rec.trace_id,
            rec.user_id,
            rec.window_days,
            rec.as_of_date,
            rec.item_id,
            json.dumps(trace, sort_keys=True),
        ),
    )


def record_feedback(
    conn: sqlite3.Connection,
    recommendation_id: str,
    *,
    helpful: bool,
    text: str | None,
    user_id: str | None,
) -> dict[str, Any]:
    """Store a helpful / not helpful vote; ``user_id`` (a customer) must own the recommendation.

    One vote per person and recommendation: a new vote replaces the earlier one (in one
    write transaction, so two taps at once still leave one row); a vote without text keeps
    the comment given before.
    """
    rec = get_recommendation(conn, recommendation_id)
    if user_id is not None and rec.user_id != user_id:  # not yours reads as not there
        raise unknown("recommendation", recommendation_id, field="recommendation_id")
    row = {
        "feedback_id": "fb_" + uuid.uuid4().hex[:16],
        "user_id": rec.user_id,
        "recommendation_id": recommendation_id,
        "helpful": int(helpful),
        "text": (text or "").strip() or None,
        "created_at": now_iso(),
    }
    with transaction(conn):
        earlier = conn.execute(
            "SELECT text FROM feedback WHERE user_id = ? AND recommendation_id = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (rec.user_id, recommendation_id),
        ).fetchone()
        if row["text"] is None and earlier is not None:
            row["text"] = earlier["text"]
        conn.execute(
            "DELETE FROM feedback WHERE user_id = ? AND recommendation_id = ?",
            (rec.user_id, recommendation_id),
        )
        conn.execute(
            "INSERT INTO feedback (feedback_id, user_id, recommendation_id, helpful, text,"
            " created_at) VALUES (:feedback_id, :user_id, :recommendation_id, :helpful, :text,"
            " :created_at)",
            row,
        )
    return row


def create_user(
    conn: sqlite3.Connection, user_id: str, fields: dict[str, Any], *, actor: str
) -> dict[str, Any]:
    """Add a user (consent 'none'); audited when an operator does it."""
    values = {k: fields.get(k) for k in USER_FIELDS}
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone():
            raise Conflict(f"user {user_id!r} already exists", field="user_id")
        conn.execute(
            "INSERT INTO users (user_id, name, age_band, gender, income_tier, region, source)"
            " VALUES (?,?,?,?,?,?, 'api')",
            (user_id, *values.values()),
        )
        append_audit(
            conn,
            actor=actor,
            action="user.create",
            target_type="user",
            target_id=user_id,
            after={"user_id": user_id, **values},
        )
    row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return dict(row)
