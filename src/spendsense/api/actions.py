"""Operator writes on recommendations: guarded by the pipeline's own check, traced and audited.

Every route that changes a recommendation (the REST API, the console, bulk actions) calls
:func:`act`. Approve and override run ``guardrails.check.guardrail_check`` (the function the
pipeline gates its output with) on the row they would leave for the customer; a failing
write is refused with the reasons (422 ``guardrails_failed``) and the refusal is audited.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import polars as pl

from spendsense.config import Settings
from spendsense.errors import SpendSenseError, UserError
from spendsense.guardrails.check import CHECKS, checks_summary, guardrail_check
from spendsense.guardrails.disclosure import DISCLOSURE, offer_disclosure
from spendsense.guardrails.eligibility import eligibility_checks
from spendsense.recommend.catalog import Catalog, OfferItem
from spendsense.recommend.fields import build_view
from spendsense.recommend.rationale import render
from spendsense.recommend.triggers import threshold_values
from spendsense.stages import load_content
from spendsense.store.audit import append_audit
from spendsense.store.db import transaction
from spendsense.store.oversight import ACTIONS, act_on_recommendation, content_of
from spendsense.store.reads import Recommendation, get_recommendation, get_user, user_features

GUARDED_ACTIONS = ("approve", "override")
ELIGIBILITY_IDS = [name for name, _, _ in eligibility_checks()]


class GuardrailRefusal(UserError):
    """An operator write that fails the guardrail check; nothing was changed."""

    code = "guardrails_failed"


def _catalog(settings: Settings) -> Catalog:

    return load_content(settings)


def user_view(conn: sqlite3.Connection, rec: Recommendation, settings: Settings) -> pl.DataFrame:
    """The recommendation's user and window as the pipeline saw them: the stored features at its
    as-of, and the configured levels a rationale may quote."""
    user = get_user(conn, rec.user_id)
    features = user_features(conn, rec.user_id, rec.as_of_date)
    population = pl.DataFrame(
        {"user_id": [rec.user_id], "window_days": [rec.window_days]},
        schema={"user_id": pl.String, "window_days": pl.Int32},
    )
    users = pl.DataFrame(
        {"user_id": [rec.user_id], "age_band": [user.get("age_band")]},
        schema={"user_id": pl.String, "age_band": pl.String},
    )
    return build_view(
        features,
        population,
        users,
        as_of=date.fromisoformat(rec.as_of_date),
        thresholds=threshold_values(settings.personas.thresholds),
    )


def _new_content(
    rec: Recommendation,
    catalog: Catalog,
    view: pl.DataFrame,
    *,
    item_id: str | None,
    title: str | None,
    rationale: str | None,
) -> dict[str, Any]:
    """What an override leaves: the item (with its kind, partner and terms) and the text."""
    content = content_of(rec)
    new_item = (item_id or "").strip() or rec.item_id
    if new_item != rec.item_id:
        content["item_id"] = new_item
        try:
            item = catalog.get(new_item)
        except KeyError:
            item = None  # the check refuses it, naming the item
        if item is not None:
            offer = item if isinstance(item, OfferItem) else None
            content.update(
                kind="offer" if offer else "education",
                title=item.title,
                rationale=_rendered(new_item, catalog, view),
                disclosure=DISCLOSURE,
                partner=offer.partner if offer else None,
                offer_terms=offer.terms.as_json() if offer else None,
                offer_disclosure=offer_disclosure(offer.partner) if offer else None,
            )
    content["title"] = (title or "").strip() or content["title"]
    content["rationale"] = (rationale or "").strip() or content["rationale"]
    if not content["rationale"]:
        raise UserError(
            f"item {new_item!r} cites numbers this user does not have: write the rationale",
            field="rationale",
        )
    if all(content[k] == v for k, v in content_of(rec).items()):
        raise UserError(
            "an override must replace the item or change its title or rationale",
            field="rationale",
        )
    return content


def _rendered(item_id: str, catalog: Catalog, view: pl.DataFrame) -> str | None:
    """The item's rationale template filled with this user's numbers (None when a field is missing)."""
    frame = pl.DataFrame(
        {"_row": [0], "item_id": [item_id]}, schema={"_row": pl.UInt32, "item_id": pl.String}
    )
    value = render(frame, view, catalog.compiled)["rationale"][0]
    return str(value) if value is not None else None


def check_content(
    rec: Recommendation, content: dict[str, Any], catalog: Catalog, view: pl.DataFrame
) -> dict[str, Any]:
    """The guardrail check on the row as it would be written: each check's outcome and reasons."""
    row = pl.DataFrame(
        [{"user_id": rec.user_id, "window_days": rec.window_days, **content}],
        schema={
            "user_id": pl.String, "window_days": pl.Int32, "item_id": pl.String,
            "kind": pl.String, "title": pl.String, "rationale": pl.String,
            "disclosure": pl.String, "partner": pl.String, "offer_terms": pl.String,
            "offer_disclosure": pl.String,
        },
    )  # fmt: skip
    result = guardrail_check(row, catalog.frame, view).row(0, named=True)
    return checks_summary(result)


def _trace_update(
    content: dict[str, Any], checks: dict[str, Any], catalog: Catalog, *, operator_text: bool
) -> dict[str, Any]:
    """The trace's item, tone, eligibility and gate members after an override (the new item)."""
    try:
        category = catalog.get(content["item_id"]).model_dump().get("category", "education")
    except KeyError:  # pragma: no cover - the check refused unknown items already
        category = None
    return {
        "item": {
            "id": content["item_id"],
            "kind": content["kind"],
            "title": content["title"],
            "category": category,
        },
        "tone": {"passed": checks["tone"], "violations": checks["tone_violations"]},
        # the pipeline's shape: the check ids that passed and failed (none for education)
        "eligibility": {
            "passed": [c for c in ELIGIBILITY_IDS if c not in checks["eligibility_failed"]]
            if content["kind"] == "offer"
            else [],
            "failed": checks["eligibility_failed"],
        },
        "guardrails": {"checks": list(CHECKS), "passed": checks["passed"]},
        "rationale_by": "operator" if operator_text else "pipeline",
    }


def act(
    conn: sqlite3.Connection,
    settings: Settings,
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
    """Approve, override, flag or unflag one recommendation, guarded, traced and audited."""
    if action not in ACTIONS:
        raise UserError(f"action must be one of {', '.join(ACTIONS)}", field="action")
    if action not in GUARDED_ACTIONS:
        return act_on_recommendation(
            conn, recommendation_id, action, version=version, actor=actor, reason=reason
        )
    if action == "override" and not (reason or "").strip():
        raise UserError("a reason is required to override a recommendation", field="reason")
    rec = get_recommendation(conn, recommendation_id)
    catalog = _catalog(settings)
    view = user_view(conn, rec, settings)
    content = None
    if action == "override":
        content = _new_content(
            rec, catalog, view, item_id=item_id, title=title, rationale=rationale
        )
    checks = check_content(rec, content or content_of(rec), catalog, view)
    if not checks["passed"]:
        with transaction(conn):
            append_audit(
                conn,
                actor=actor,
                action=f"recommendation.{action}.refused",
                target_type="recommendation",
                target_id=recommendation_id,
                before=content_of(rec),
                after={**(content or content_of(rec)), "checks": checks},
                reason=reason,
            )
        raise GuardrailRefusal(
            f"refused: the {action} fails the guardrail checks, so nothing was changed: "
            + "; ".join(checks["reasons"]),
            field="rationale" if checks["tone_violations"] else "item_id",
        )
    return act_on_recommendation(
        conn,
        recommendation_id,
        action,
        version=version,
        actor=actor,
        reason=reason,
        content=content,
        checks=checks,
        trace_update=(
            _trace_update(content, checks, catalog, operator_text=bool((rationale or "").strip()))
            if content
            else None
        ),
    )


def act_many(
    conn: sqlite3.Connection,
    settings: Settings,
    action: str,
    items: list[tuple[str, int]],
    *,
    actor: str,
    reason: str | None = None,
) -> list[tuple[str, Recommendation | None, SpendSenseError | None]]:
    """Apply one action to many items, each on its own: guarded, traced and audited like
    :func:`act` (one audit entry per item); a refusal or conflict on one does not stop the rest.
    """
    if action not in ("approve", "flag"):
        raise UserError("a bulk action is approve or flag", field="action")
    if action == "flag" and not (reason or "").strip():
        raise UserError("a reason is required to flag recommendations", field="reason")
    out: list[tuple[str, Recommendation | None, SpendSenseError | None]] = []
    for recommendation_id, version in items:
        try:
            rec = act(
                conn, settings, recommendation_id, action, version=version, actor=actor,
                reason=reason,
            )  # fmt: skip
            out.append((recommendation_id, rec, None))
        except SpendSenseError as exc:
            out.append((recommendation_id, None, exc))
    return out
