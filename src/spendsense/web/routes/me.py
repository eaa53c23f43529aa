"""The end user's own page: consent first, then insights in plain language, with feedback."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from spendsense.api.deps import (
    CUSTOMER_COOKIE,
    ConnDep,
    CurrentPrincipal,
    SettingsDep,
    identify,
)
from spendsense.api.service import delivered_recommendations, profile_of
from spendsense.errors import Forbidden, Unauthorized
from spendsense.recommend.triggers import utilization_guide
from spendsense.store import reads
from spendsense.store.auth import (
    CUSTOMER_SESSION_TTL,
    Principal,
    create_customer_session,
    sign_out_customer,
)
from spendsense.store.consents import is_consented
from spendsense.store.oversight import change_consent, record_feedback
from spendsense.web.plain import plain_signals
from spendsense.web.templates import render, set_cookie

router = APIRouter(prefix="/me", include_in_schema=False)
COOKIE_AGE = int(CUSTOMER_SESSION_TTL.total_seconds())  # the session ends server-side too


def _customer(principal: Principal) -> str:
    if principal.is_operator:
        raise Forbidden("this page is for customers: open the link from your invitation")
    return principal.subject_id


@router.get("", response_class=HTMLResponse, response_model=None)
def me(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    token: str | None = None,
    thanks: int = 0,
) -> Response:
    """Consent choice first; once granted, signals and recommendation cards.

    ``/me?token=...`` (the personal link) trades the token for a cookie and drops it from the URL.
    """
    if token is not None:
        session = create_customer_session(conn, token)
        if session is None:
            raise Unauthorized("this link is not valid any more: ask for a new one")
        response = RedirectResponse("/me", status_code=303)
        set_cookie(request, response, CUSTOMER_COOKIE, session[0], max_age=COOKIE_AGE)
        return response
    principal = identify(request, conn)
    if principal is None:
        raise Unauthorized("open the personal link you were given to see your page")
    request.state.principal = principal
    user_id = _customer(principal)
    user = reads.get_user(conn, user_id)
    if not is_consented(conn, user_id):
        return render(request, "me/consent.html", {"user": user})
    profile = profile_of(conn, user)
    guide = utilization_guide(settings.personas.thresholds)
    windows = [
        {"days": w.window_days, "lines": plain_signals(w.signals, w.window_days, guide)}
        for w in sorted(profile.windows, key=lambda w: -w.window_days)
    ]
    recs = delivered_recommendations(
        conn, user_id, settings.delivery_policy, as_of=profile.as_of_date
    )
    context = {"user": user, "windows": windows, "recs": recs, "thanks": thanks}
    return render(request, "me/insights.html", context)


@router.post("/consent", response_class=HTMLResponse, response_model=None)
def consent(
    conn: ConnDep, principal: CurrentPrincipal, action: str = Form(pattern="^(grant|revoke)$")
) -> Response:
    """Opt in or out; opting out removes insights at once."""
    user_id = _customer(principal)
    change_consent(conn, user_id, action, source="web", actor=f"user:{user_id}", by_operator=False)
    return RedirectResponse("/me", status_code=303)


@router.post("/feedback", response_class=HTMLResponse, response_model=None)
def feedback(
    conn: ConnDep,
    principal: CurrentPrincipal,
    recommendation_id: str = Form(max_length=128),
    helpful: str = Form(pattern="^(yes|no)$"),
    text: str = Form(default="", max_length=2000),
) -> Response:
    """Record a helpful / not helpful vote on one card."""
    user_id = _customer(principal)
    record_feedback(conn, recommendation_id, helpful=helpful == "yes", text=text, user_id=user_id)
    return RedirectResponse(f"/me?thanks=1#rec-{recommendation_id}", status_code=303)


@router.post("/signout", response_class=HTMLResponse, response_model=None)
def signout(request: Request, conn: ConnDep, principal: CurrentPrincipal) -> Response:
    """End the session server-side and revoke the personal link it came from; drop the cookie."""
    _customer(principal)  # like every /me route: customers only
    secret = request.cookies.get(CUSTOMER_COOKIE)
    if secret:
        sign_out_customer(conn, secret)
    response = RedirectResponse("/me/signed-out", status_code=303)
    response.delete_cookie(CUSTOMER_COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse, response_model=None)
def signed_out(request: Request) -> Response:
    """A friendly goodbye (open to everyone)."""
    return render(request, "me/signed_out.html", {})
