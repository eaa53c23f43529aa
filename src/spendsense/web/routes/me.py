"""The end user's own page: consent first, then one merged list of ideas with their content.

Progressive enhancement: every form works without JavaScript (a vote or a calculation
posts and comes back to the card); ``/static/me.js`` sends the same forms in the
background and swaps in the server's fragment, so the page does not jump.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from spendsense.api.customer import customer_page
from spendsense.api.deps import CUSTOMER_COOKIE, ConnDep, CurrentPrincipal, ensure_access, identify
from spendsense.api.service import delivered_recommendations
from spendsense.errors import Forbidden, NotFound, Unauthorized
from spendsense.recommend.calculators import recalculate
from spendsense.recommend.page import Card, Page
from spendsense.services import change_consent
from spendsense.store import reads
from spendsense.store.auth import (
    CUSTOMER_SESSION_TTL,
    Principal,
    create_customer_session,
    sign_out_customer,
)
from spendsense.store.consents import is_consented
from spendsense.store.oversight import record_feedback
from spendsense.web.templates import render, set_cookie

router = APIRouter(prefix="/me", include_in_schema=False)
COOKIE_AGE = int(CUSTOMER_SESSION_TTL.total_seconds())  # the session ends server-side too
FETCH_HEADER = "x-requested-with"


def _customer(principal: Principal) -> str:
    if principal.is_operator:
        raise Forbidden("this page is for customers: open the link from your invitation")
    return principal.subject_id


def _page(request: Request, conn: ConnDep, user_id: str) -> tuple[Page, str | None]:
    settings = request.app.state.settings
    as_of = reads.latest_as_of(conn, user_id)
    recs = delivered_recommendations(conn, user_id, settings.delivery_policy, as_of=as_of)
    return customer_page(conn, settings, user_id, recs, as_of), as_of


def _card(page: Page, recommendation_id: str) -> Card:
    for card in page.cards:
        if card.recommendation_id == recommendation_id:
            return card
    raise NotFound("this idea is not on your page any more: reload it", field="recommendation_id")


def _wants_fragment(request: Request) -> bool:
    return request.headers.get(FETCH_HEADER) == "fetch"


def _show(request: Request, conn: ConnDep, user_id: str, **extra: object) -> Response:
    user = reads.get_user(conn, user_id)
    page, as_of = _page(request, conn, user_id)
    context = {"user": user, "page": page, "as_of": as_of, "open_card": None, **extra}
    return render(request, "me/page.html", context)


@router.get("", response_class=HTMLResponse, response_model=None)
def me(request: Request, conn: ConnDep, token: str | None = None) -> Response:
    """Consent choice first; once granted, insights and the merged list of ideas.

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
    if not is_consented(conn, user_id):
        return render(request, "me/consent.html", {"user": reads.get_user(conn, user_id)})
    return _show(request, conn, user_id)


@router.post("/consent", response_class=HTMLResponse, response_model=None)
def consent(
    request: Request,
    conn: ConnDep,
    principal: CurrentPrincipal,
    action: str = Form(pattern="^(grant|revoke)$"),
    confirm: str = Form(default=""),
) -> Response:
    """Opt in (computed at once) or out (after a confirmation: it removes the insights)."""
    user_id = _customer(principal)
    if action == "revoke" and confirm != "yes":
        return render(request, "me/confirm_stop.html", {"user": reads.get_user(conn, user_id)})
    settings = request.app.state.settings
    change_consent(settings, user_id, action, source="web", actor=f"user:{user_id}")
    return RedirectResponse("/me", status_code=303)


@router.post("/feedback", response_class=HTMLResponse, response_model=None)
def feedback(
    request: Request,
    conn: ConnDep,
    principal: CurrentPrincipal,
    recommendation_id: str = Form(max_length=128),
    helpful: str = Form(pattern="^(yes|no)$"),
    text: str = Form(default="", max_length=2000),
) -> Response:
    """Record the customer's vote on one card (one per card; a new vote replaces the old)."""
    user_id = _customer(principal)
    record_feedback(conn, recommendation_id, helpful=helpful == "yes", text=text, user_id=user_id)
    if _wants_fragment(request):
        card = _card(_page(request, conn, user_id)[0], recommendation_id)
        return render(request, "me/_vote.html", {"card": card})
    return RedirectResponse(f"/me#rec-{recommendation_id}", status_code=303)


@router.get("/calculate/{recommendation_id}", response_class=HTMLResponse, response_model=None)
def calculate(
    request: Request, conn: ConnDep, principal: CurrentPrincipal, recommendation_id: str
) -> Response:
    """Run a card's calculator on what the customer typed (the card opens at its result)."""
    user_id = _customer(principal)
    owner = reads.get_recommendation(conn, recommendation_id).user_id
    ensure_access(principal, owner, kind="recommendation", ident=recommendation_id)
    if not is_consented(conn, user_id):
        return RedirectResponse("/me", status_code=303)
    page, _ = _page(request, conn, user_id)
    card = _card(page, recommendation_id)
    if card.calculator is None:
        raise NotFound("this idea has no calculator", field="recommendation_id")
    typed = {k: v for k, v in request.query_params.items() if len(v) <= 32}
    worked = recalculate(card.calculator, typed)
    if _wants_fragment(request):
        return render(request, "me/_calculator.html", {"card": card, "calc": worked})
    return _show(request, conn, user_id, open_card=recommendation_id, calc=worked)


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
