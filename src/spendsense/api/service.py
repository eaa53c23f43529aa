"""Service functions shared by the REST routes and the pages: store reads shaped into models."""

from __future__ import annotations

import difflib
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from spendsense import pipeline, services
from spendsense.api.customer import customer_page
from spendsense.api.schemas import (
    AuditEntryOut,
    AuditOut,
    PersonaOut,
    PlaidOut,
    ProfileOut,
    RecommendationOut,
    RecommendationsOut,
    ReviewItem,
    UserRow,
    UsersOut,
    WindowProfile,
)
from spendsense.config import Settings
from spendsense.errors import ConsentRequired, OwnershipConflict, UserError
from spendsense.guardrails.delivery import delivery_state, is_delivered
from spendsense.store import audit, reads
from spendsense.store.auth import Principal
from spendsense.store.consents import is_consented
from spendsense.store.db import connect


def require_consent(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    """The user's row; 403 consent_required unless consent is granted (404 if unknown)."""
    user = reads.get_user(conn, user_id)
    if not is_consented(conn, user_id):
        raise ConsentRequired(
            f"user {user_id} has not granted consent, so nothing is computed or shown",
            field="user_id",
        )
    return user


def build_profile(conn: sqlite3.Connection, user_id: str) -> ProfileOut:
    """Signals for every window and personas at the latest as-of."""
    user = require_consent(conn, user_id)
    return profile_of(conn, user)


def profile_of(
    conn: sqlite3.Connection, user: dict[str, Any], as_of: str | None = None
) -> ProfileOut:
    """The profile of a user row at ``as_of`` (default the newest), without the consent check
    (the console shows it with a notice)."""
    user_id = user["user_id"]
    as_of = as_of or reads.latest_as_of(conn, user_id)
    windows: list[WindowProfile] = []
    if as_of:
        sig = reads.signals(conn, user_id, as_of)
        pers = {int(p["window_days"]): p for p in reads.personas(conn, user_id, as_of)}
        for window in sorted(set(sig) | set(pers)):
            persona = PersonaOut.model_validate(pers[window]) if window in pers else None
            windows.append(
                WindowProfile(window_days=window, signals=sig.get(window, {}), persona=persona)
            )
    return ProfileOut(
        user_id=user_id,
        name=user.get("name"),
        consent_status=user["consent_status"],
        as_of_date=as_of,
        windows=windows,
    )


def persona_names() -> list[str]:
    """What a persona filter accepts: every persona's name, and STABLE."""
    from spendsense.personas.metadata import PERSONA_METADATA

    return [str(m["name"]) for m in PERSONA_METADATA.values()] + ["STABLE"]


def persona_filter(name: str | None) -> str | None:
    """A persona filter as given (None for any); 422 naming the valid values when unknown."""
    if not name:
        return None
    valid = persona_names()
    if name in valid:
        return name
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UserError(
        f"unknown persona {name!r}: use one of {', '.join(valid)}.{hint}", field="persona"
    )


def list_users_page(
    conn: sqlite3.Connection,
    *,
    q: str | None,
    persona: str | None,
    window: int | None,
    consent: str | None,
    review_status: str | None,
    as_of: str | None,
    limit: int,
    offset: int,
) -> UsersOut:
    """A page of users for operators (the console's users list and ``GET /users``)."""
    rows, total = reads.list_users(
        conn, q=q, persona=persona_filter(persona), window=window, consent=consent,
        review_status=review_status, as_of=as_of, limit=limit, offset=offset,
    )  # fmt: skip
    return UsersOut(total=total, items=[UserRow.model_validate(r) for r in rows])


def delivered_recommendations(
    conn: sqlite3.Connection, user_id: str, policy: str, *, as_of: str | None = None
) -> list[reads.Recommendation]:
    """What the customer sees: the items the delivery policy delivers (the user page and the API)."""
    items = reads.recommendations(conn, user_id, as_of=as_of)
    return [r for r in items if is_delivered(r.kind, r.status, policy)]


def recommendation_out(rec: reads.Recommendation, policy: str) -> RecommendationOut:
    """The API shape of one item, with its delivery state under ``policy``."""
    return RecommendationOut.model_validate(
        {
            **rec.as_dict(),
            "offer_terms": json.loads(rec.offer_terms) if rec.offer_terms else None,
            "delivery": delivery_state(rec.kind, rec.status, policy),
        }
    )


def review_item(row: dict[str, Any], policy: str) -> ReviewItem:
    """A review-queue row with its delivery state under ``policy``."""
    terms = row.get("offer_terms")
    return ReviewItem.model_validate(
        {
            **row,
            "offer_terms": json.loads(terms) if terms else None,
            "delivery": delivery_state(row["kind"], row["status"], policy),
        }
    )


def user_recommendations(
    conn: sqlite3.Connection, settings: Settings, principal: Principal, user_id: str, policy: str
) -> RecommendationsOut:
    """Consented users only; a customer gets what the delivery policy delivers, an operator all."""
    require_consent(conn, user_id)
    as_of = reads.latest_as_of(conn, user_id)
    delivered = delivered_recommendations(conn, user_id, policy, as_of=as_of)
    items = (
        reads.recommendations(conn, user_id, as_of=as_of) if principal.is_operator else delivered
    )
    page = customer_page(conn, settings, user_id, delivered, as_of)
    return RecommendationsOut.model_validate(
        {
            "user_id": user_id,
            "as_of_date": as_of,
            "delivery_policy": policy,
            "items": [recommendation_out(r, policy) for r in items],
            "page": page,  # read by attribute (no deep copy of the dataclasses first)
        },
        from_attributes=True,
    )


def audit_page(
    conn: sqlite3.Connection,
    *,
    action: str | None,
    actor: str | None,
    target_id: str | None,
    limit: int,
    offset: int,
) -> AuditOut:
    """A page of the audit log with the chain's verification result."""
    entries, total = audit.list_audit(
        conn, action=action, actor=actor, target_id=target_id, limit=limit, offset=offset
    )
    ok, problems = audit.verify_audit_chain(conn)
    items = [
        AuditEntryOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            before=json.loads(e.before) if e.before else None,
            after=json.loads(e.after) if e.after else None,
            reason=e.reason,
            hash=e.hash,
        )
        for e in entries
    ]
    return AuditOut(total=total, chain_ok=ok, problems=problems, items=items)


def _relative(path: Path | None, root: Path) -> str | None:
    """A path as the client may see it: relative to the data folder, never the server's layout."""
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).name


def upload_plaid(settings: Settings, user_id: str, body: dict[str, Any], *, actor: str) -> PlaidOut:
    """Ingest one user's new Plaid data, then recompute that user at once.

    Checked before anything is written: the user exists (users are created through
    ``POST /users``, audited), has granted consent, and every record in the body is theirs
    (``strict_owner``: a record naming another user, another user's account or transaction,
    or a removal of a transaction that is not theirs refuses the whole body, 409).
    """

    if not body:
        raise UserError("the body must be a user bundle or a raw Plaid response", field="body")
    conn = connect(settings.db_path)
    require_consent(conn, user_id)
    bundle_user = body.get("user")
    if isinstance(bundle_user, dict) and bundle_user.get("user_id") not in (None, user_id):
        raise OwnershipConflict(
            f"the bundle is for another user, not {user_id!r}: nothing was loaded",
            field="user.user_id",
        )
    with tempfile.TemporaryDirectory(prefix="spendsense-upload-") as tmp:
        path = Path(tmp) / f"{user_id}.json"
        path.write_text(json.dumps(body))
        report = services.ingest_into_store(
            settings, [path], user_id=user_id, actor=actor, strict_owner=True
        )
    try:
        pipeline.recompute_user(settings, user_id)
        recomputed = True
    except UserError:  # nothing left to compute from (no transactions): stored, not computed
        recomputed = False
    return PlaidOut(
        user_id=user_id,
        loaded={t: n for t, (n, _) in report.per_table.items()},
        rejected={t: n for t, (_, n) in report.per_table.items() if n},
        quarantine=_relative(report.quarantine, settings.data_dir),
        recomputed=recomputed,
    )
