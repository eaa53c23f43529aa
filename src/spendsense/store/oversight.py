"""Operator oversight: the review queue and approve / override / flag / unflag, audited and versioned."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from typing import Any

from spendsense.errors import Conflict, Forbidden, NotFound, UserError
from spendsense.store.audit import append_audit, now_iso
from spendsense.store.consents import set_consent
from spendsense.store.db import transaction
from spendsense.store.reads import REC_COLUMNS, Recommendation, get_recommendation

ACTIONS = ("approve", "override", "flag", "unflag")
REVIEW_STATUSES = ("proposed", "approved", "overridden", "flagged", "delivered")
AUDITED_FIELDS = ("status", "version", "item_id", "title", "rationale")
USER_FIELDS = ("name", "age_band", "gender", "income_tier", "region")


def review_queue(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    persona: str | None = None,
    window: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Recommendations awaiting review (proposed and flagged unless a status is given), with persona."""
    clauses = ["r.status = ?"] if status else ["r.status IN ('proposed', 'flagged')"]
    args: list[Any] = [status] if status else []
    if window:
        clauses.append("r.window_days = ?")
        args.append(window)
    if persona:
        clauses.append("(pa.primary_persona_name = ? OR pa.status = ?)")
        args += [persona, persona]
    where = " WHERE " + " AND ".join(clauses)
    base = (
        " FROM recommendations r JOIN users u ON u.user_id = r.user_id"
        " LEFT JOIN persona_assignments pa ON pa.user_id = r.user_id"
        " AND pa.window_days = r.window_days AND pa.as_of_date = r.as_of_date"
    )
    total = conn.execute(f"SELECT COUNT(*){base}{where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {REC_COLUMNS}, u.name AS user_name,"
        f" COALESCE(pa.primary_persona_name, pa.status) AS persona{base}{where}"
        " ORDER BY r.status DESC, r.as_of_date DESC, r.user_id, r.window_days, r.rank"
        " LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [dict(r) for r in rows], int(total)


def _snapshot(rec: Recommendation) -> dict[str, Any]:
    return {k: getattr(rec, k) for k in AUDITED_FIELDS}


def act_on_recommendation(
    conn: sqlite3.Connection,
    recommendation_id: str,
    action: str,
    *,
    version: int,
    actor: str,
    reason: str | None = None,
    title: str | None = None,
    rationale: str | None = None,
    item_id: str | None = None,
) -> Recommendation:
    """Apply one operator action if ``version`` is still current (409 otherwise); audited atomically."""
    if action not in ACTIONS:
        raise UserError(f"action must be one of {', '.join(ACTIONS)}", field="action")
    reason = (reason or "").strip() or None
    if action in ("override", "flag") and not reason:
        raise UserError(f"a reason is required to {action} a recommendation", field="reason")
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
        new: dict[str, Any] = {
            "status": {
                "approve": "approved",
                "override": "overridden",
                "flag": "flagged",
                "unflag": "proposed",
            }[action],
            "item_id": rec.item_id,
            "title": rec.title,
            "rationale": rec.rationale,
        }
        if action == "override":
            new["item_id"] = (item_id or "").strip() or rec.item_id
            new["title"] = (title or "").strip() or rec.title
            new["rationale"] = (rationale or "").strip() or rec.rationale
            if (new["item_id"], new["title"], new["rationale"]) == (
                rec.item_id,
                rec.title,
                rec.rationale,
            ):
                raise UserError(
                    "an override must replace the item or change its title or rationale",
                    field="rationale",
                )
        try:
            updated = conn.execute(
                "UPDATE recommendations SET status = ?, item_id = ?, title = ?, rationale = ?,"
                " version = version + 1, updated_at = ? WHERE recommendation_id = ? AND version = ?",
                (
                    new["status"],
                    new["item_id"],
                    new["title"],
                    new["rationale"],
                    now_iso(),
                    recommendation_id,
                    version,
                ),
            ).rowcount
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                f"the user already has item {new['item_id']!r} for this window", field="item_id"
            ) from exc
        if updated != 1:  # pragma: no cover - BEGIN IMMEDIATE makes this unreachable
            raise Conflict(f"recommendation {recommendation_id} changed: reload and try again")
        after = get_recommendation(conn, recommendation_id)
        append_audit(
            conn,
            actor=actor,
            action=f"recommendation.{action}",
            target_type="recommendation",
            target_id=recommendation_id,
            before=_snapshot(rec),
            after=_snapshot(after),
            reason=reason,
        )
    return after


def record_feedback(
    conn: sqlite3.Connection,
    recommendation_id: str,
    *,
    helpful: bool,
    text: str | None,
    user_id: str | None,
) -> dict[str, Any]:
    """Store a helpful / not helpful vote; ``user_id`` (a customer) must own the recommendation."""
    rec = get_recommendation(conn, recommendation_id)
    if user_id is not None and rec.user_id != user_id:
        raise Forbidden("you can only give feedback on your own recommendations")
    row = {
        "feedback_id": "fb_" + uuid.uuid4().hex[:16],
        "user_id": rec.user_id,
        "recommendation_id": recommendation_id,
        "helpful": int(helpful),
        "text": (text or "").strip() or None,
        "created_at": now_iso(),
    }
    conn.execute(
        "INSERT INTO feedback (feedback_id, user_id, recommendation_id, helpful, text, created_at)"
        " VALUES (:feedback_id, :user_id, :recommendation_id, :helpful, :text, :created_at)",
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


def change_consent(
    conn: sqlite3.Connection,
    user_id: str,
    action: str,
    *,
    source: str,
    actor: str,
    by_operator: bool,
    at: datetime | None = None,
) -> dict[str, object]:
    """Grant or revoke through store.consents; a change made by an operator is audited."""
    if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
        raise NotFound(f"unknown user {user_id!r}", field="user_id")

    def audit(tx: sqlite3.Connection, result: dict[str, object]) -> None:
        append_audit(
            tx,
            actor=actor,
            action=f"consent.{action}",
            target_type="user",
            target_id=user_id,
            before={"consent_status": result["before"]},
            after={"consent_status": result["status"], "source": source},
            reason=f"removed {result['removed_rows']} derived rows" if action == "revoke" else None,
        )

    result = set_consent(
        conn,
        user_id,
        action,
        source=source,
        actor=actor,
        at=at,
        audit=audit if by_operator else None,
    )
    return result
