"""The operator console: users, a user's page, the review queue, metrics and the audit log."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from spendsense.api import actions
from spendsense.api.deps import (
    MAX_PAGE,
    SESSION_COOKIE,
    Blank,
    ConnDep,
    CurrentOperator,
    Days,
    IsoDate,
    SettingsDep,
)
from spendsense.api.schemas import BULK_MAX, MAX_VERSION, AuditOut
from spendsense.api.service import audit_page, list_users_page, persona_filter, profile_of
from spendsense.errors import SpendSenseError
from spendsense.guardrails.delivery import STATE_LABELS
from spendsense.services import change_consent
from spendsense.store import reads
from spendsense.store.auth import create_customer_token, set_notice
from spendsense.store.consents import consent_history
from spendsense.store.oversight import (
    REVIEW_STATUSES,
    review_queue,
)
from spendsense.web.charts import bar_chart, line_chart
from spendsense.web.display import (
    missing_data,
    signal_groups,
    streams_by_window,
)
from spendsense.web.templates import render

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50
# An empty filter (the menus' "any") means "not given", here as in the REST API.
Window = Annotated[Days | None, Blank, Query()]
AsOf = Annotated[IsoDate | None, Blank, Query()]


def _back(
    request: Request, conn: sqlite3.Connection, target: str, message: str, kind: str = "ok"
) -> RedirectResponse:
    """Redirect to a console page (at the item acted on); the notice waits in the session.

    Never in the URL: a link cannot make the console show its text as an official alert.
    """
    target, _, anchor = target.partition("#")  # back to the item acted on, not the page top
    if not target.startswith("/console") or "//" in target:
        target, anchor = "/console/users", ""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        set_notice(conn, secret, kind, message)
    fragment = f"#{quote(anchor, safe=':._-')}" if anchor else ""  # ids carry colons
    return RedirectResponse(f"{target}{fragment}", status_code=303)


def _pager_query(**filters: object) -> str:
    """The current filters as a query-string prefix for the pager links."""
    kept = {k: v for k, v in filters.items() if v not in (None, "")}
    return urlencode(kept) + "&" if kept else ""


@router.get("", response_class=HTMLResponse, response_model=None)
def home(operator: CurrentOperator) -> Response:
    """The console starts at the users list."""
    return RedirectResponse("/console/users", status_code=303)


@router.get("/users", response_class=HTMLResponse, response_model=None)
def users_page(
    request: Request,
    conn: ConnDep,
    operator: CurrentOperator,
    window: Window = None,
    as_of: AsOf = None,
    q: str = Query(default="", max_length=100),
    persona: str = Query(default="", max_length=100),
    consent: str = Query(default="", pattern="^(|granted|revoked|none)$"),
    status: str = Query(default="", max_length=20),
    page: int = Query(default=1, ge=1, le=MAX_PAGE),
) -> Response:
    """Search and filter users by persona, window, consent, review status and as-of date."""
    found = list_users_page(
        conn, q=q or None, persona=persona or None, window=window, consent=consent or None,
        review_status=status or None, as_of=as_of, limit=PAGE, offset=(page - 1) * PAGE,
    )  # fmt: skip
    filters = {
        "q": q, "persona": persona, "window": window, "consent": consent, "status": status,
        "as_of": as_of or "",
    }  # fmt: skip
    context = {
        "rows": found.items, "total": found.total, "page": page,
        "pages": max(1, -(-found.total // PAGE)), "filters": filters,
        "personas": reads.persona_names(conn), "statuses": REVIEW_STATUSES,
        "as_of_dates": reads.as_of_dates(conn), "pager_query": _pager_query(**filters),
    }  # fmt: skip
    return render(request, "console/users.html", context)


@router.get("/users/{user_id}", response_class=HTMLResponse, response_model=None)
def user_page(
    request: Request, user_id: str, conn: ConnDep, operator: CurrentOperator, as_of: AsOf = None
) -> Response:
    """Signals side by side, personas with readable traces, streams, balance chart, recommendations."""
    user = reads.get_user(conn, user_id)
    profile = profile_of(conn, user, as_of)
    as_of = profile.as_of_date
    recs = reads.recommendations(conn, user_id, as_of=as_of)
    here = f"/console/users/{user_id}" + (
        f"?as_of={as_of}" if as_of and as_of != reads.latest_as_of(conn, user_id) else ""
    )
    context = {
        "user": user,
        "profile": profile,
        "signal_groups": signal_groups(profile.windows),
        "missing": {w.window_days: missing_data(w.persona.assignment_trace if w.persona else None) for w in profile.windows},
        "stream_windows": streams_by_window(reads.recurring_streams(conn, user_id, as_of) if as_of else []),
        "balance": line_chart(reads.balance_series(conn, user_id, as_of)),
        "recs": recs,
        "traces": reads.traces_for(conn, [r.trace_id for r in recs]),
        "consents": consent_history(conn, user_id),
        "as_of_dates": reads.as_of_dates_of(conn, user_id),
        "here": here,
    }  # fmt: skip
    return render(request, "console/user.html", context)


@router.post(
    "/recommendations/{recommendation_id}/{action}",
    response_class=HTMLResponse,
    response_model=None,
)
def act(
    request: Request,
    recommendation_id: str,
    action: str,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
    version: int = Form(ge=1, le=MAX_VERSION),
    reason: str = Form(default="", max_length=1000),
    title: str = Form(default="", max_length=300),
    rationale: str = Form(default="", max_length=4000),
    item_id: str = Form(default="", max_length=128),
    next: str = Form(default="/console/review"),
) -> Response:
    """Approve / override / flag / unflag from a form; conflicts come back as a notice."""
    try:
        rec = actions.act(
            conn, settings, recommendation_id, action, version=version, actor=operator.name,
            reason=reason, title=title, rationale=rationale, item_id=item_id,
        )  # fmt: skip
    except SpendSenseError as exc:
        return _back(request, conn, next, exc.message, "error")
    return _back(request, conn, next, f"{rec.title}: {rec.status} (version {rec.version})")


@router.post("/users/{user_id}/consent", response_class=HTMLResponse, response_model=None)
def consent(
    request: Request,
    user_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    operator: CurrentOperator,
    action: str = Form(pattern="^(grant|revoke)$"),
) -> Response:
    """An operator records a consent change (audited; a grant recomputes the user)."""
    result = change_consent(settings, user_id, action, source="console", actor=operator.name)
    return _back(request, conn, f"/console/users/{user_id}", f"consent {result['status']}")


@router.post("/users/{user_id}/token", response_class=HTMLResponse, response_model=None)
def token(request: Request, user_id: str, conn: ConnDep, operator: CurrentOperator) -> Response:
    """Issue a personal link for the user (shown once)."""
    secret = create_customer_token(conn, user_id, actor=operator.name)
    link = str(request.base_url).rstrip("/") + f"/me?token={secret}"
    return render(request, "console/token.html", {"user_id": user_id, "link": link})


@router.get("/review", response_class=HTMLResponse, response_model=None)
def review_page(
    request: Request,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
    window: Window = None,
    status: str = Query(default="", max_length=20),
    persona: str = Query(default="", max_length=100),
    kind: str = Query(default="", pattern="^(|education|offer)$"),
    delivery: str = Query(default="", pattern="^(|delivered|awaiting_review|withheld)$"),
    page: int = Query(default=1, ge=1, le=MAX_PAGE),
) -> Response:
    """The approval queue (offers first, then severity), filters, inline and bulk actions."""
    rows, total = review_queue(
        conn, status=status or None, persona=persona_filter(persona), window=window,
        kind=kind or None, delivery=delivery or None, policy=settings.delivery_policy,
        limit=PAGE, offset=(page - 1) * PAGE,
    )  # fmt: skip
    filters = {
        "status": status, "persona": persona, "window": window, "kind": kind,
        "delivery": delivery,
    }  # fmt: skip
    context = {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)),
        "filters": filters, "personas": reads.persona_names(conn), "statuses": REVIEW_STATUSES,
        "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        "pager_query": _pager_query(**filters), "delivery_labels": STATE_LABELS,
    }  # fmt: skip
    return render(request, "console/review.html", context)


@router.post("/review/bulk", response_class=HTMLResponse, response_model=None)
def review_bulk(
    request: Request,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
    action: str = Form(pattern="^(approve|flag)$"),
    item: Annotated[list[str] | None, Form(max_length=BULK_MAX)] = None,
    reason: str = Form(default="", max_length=1000),
    next: str = Form(default="/console/review"),
) -> Response:
    """Approve or flag the ticked items, each checked and audited on its own."""
    items: list[tuple[str, int]] = []
    for value in item or []:
        rid, _, version = value.rpartition(":")  # ids carry colons; the version is last
        if not rid or not version.isdigit():
            return _back(request, conn, next, f"not an item: {value!r}", "error")
        items.append((rid, int(version)))
    if not items:
        return _back(request, conn, next, "tick at least one item first", "error")
    try:
        outcomes = actions.act_many(
            conn, settings, action, items, actor=operator.name, reason=reason
        )
    except SpendSenseError as exc:
        return _back(request, conn, next, exc.message, "error")
    done = [rec for _, rec, _ in outcomes if rec is not None]
    refused = [(rid, err) for rid, rec, err in outcomes if rec is None and err is not None]
    verb = "approved" if action == "approve" else "flagged"
    message = f"{len(done)} {verb}"
    if refused:
        message += f"; {len(refused)} not changed: " + "; ".join(
            f"{rid}: {err.message}" for rid, err in refused
        )
    return _back(request, conn, next, message, "error" if refused else "ok")


@router.get("/metrics", response_class=HTMLResponse, response_model=None)
def metrics_page(request: Request, conn: ConnDep, operator: CurrentOperator) -> Response:
    """Persona mix by window, coverage, review status and feedback, as charts."""
    m = reads.metrics(conn)
    windows = sorted({row["window_days"] for row in m["persona_mix"]})
    mix = {
        w: bar_chart(
            [(r["persona"], r["users"]) for r in m["persona_mix"] if r["window_days"] == w]
        )
        for w in windows
    }
    coverage = bar_chart(
        [
            ("consented", m["coverage"]["consented"]),
            ("with a persona", m["coverage"]["with_persona"]),
            ("with recommendations", m["coverage"]["with_recommendations"]),
        ]
    )
    statuses = bar_chart(sorted(m["review_status"].items()))
    fb = m["feedback"]
    feedback = bar_chart([("helpful", fb["helpful"]), ("not helpful", fb["total"] - fb["helpful"])])
    context = {"m": m, "mix": mix, "coverage": coverage, "statuses": statuses, "feedback": feedback}
    return render(request, "console/metrics.html", context)


@router.get("/audit", response_class=HTMLResponse, response_model=None)
def audit_log_page(
    request: Request,
    conn: ConnDep,
    operator: CurrentOperator,
    action: str = Query(default="", max_length=64),
    page: int = Query(default=1, ge=1, le=MAX_PAGE),
) -> Response:
    """The audit log, newest first, with the chain's verification result."""
    log = audit_page(
        conn, action=action or None, actor=None, target_id=None, limit=PAGE,
        offset=(page - 1) * PAGE,
    )  # fmt: skip
    context = {
        "log": log, "action": action, "page": page, "pages": max(1, -(-log.total // PAGE)),
        "pager_query": _pager_query(action=action), "links": _audit_links(conn, log),
        "changes": {e.seq: _changes(e.before, e.after) for e in log.items},
    }  # fmt: skip
    return render(request, "console/audit.html", context)


def _audit_links(conn: Any, log: AuditOut) -> dict[int, str]:
    """A console link per entry's target: the user's page, or the item on its user's page."""
    rec_ids = [e.target_id for e in log.items if e.target_type == "recommendation"]
    owners: dict[str, str] = {}
    if rec_ids:
        marks = ",".join("?" * len(rec_ids))
        rows = conn.execute(
            "SELECT recommendation_id, user_id FROM recommendations"
            f" WHERE recommendation_id IN ({marks})",
            rec_ids,
        ).fetchall()
        owners = {r[0]: r[1] for r in rows}
    links: dict[int, str] = {}
    for e in log.items:
        if e.target_type == "user":
            links[e.seq] = f"/console/users/{quote(e.target_id)}"
        elif e.target_type == "recommendation" and e.target_id in owners:
            links[e.seq] = f"/console/users/{quote(owners[e.target_id])}#rec-{e.target_id}"
        elif e.target_type == "run":
            links[e.seq] = f"/console/users?as_of={quote(e.target_id)}"
    return links


def _changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """Field by field, what an entry changed: (field, before, after), unchanged fields left out."""
    old = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    new = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    return [
        (key, old.get(key), new.get(key))
        for key in [*old, *(k for k in new if k not in old)]
        if old.get(key) != new.get(key)
    ]
