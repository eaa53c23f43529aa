"""Operator sign-in and sign-out for the console (session cookie + CSRF)."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from spendsense.api.deps import SESSION_COOKIE, ConnDep, CurrentOperator
from spendsense.errors import SpendSenseError
from spendsense.store.auth import SESSION_TTL, authenticate, create_session, end_session
from spendsense.web.templates import render, set_cookie

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "ss_login_csrf"


def client_of(request: Request) -> str:
    """Who is signing in, for throttling: the peer address (behind a proxy, run uvicorn with
    ``--proxy-headers`` and ``--forwarded-allow-ips`` so this is the real client)."""
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    """Only same-site console paths: never an open redirect."""
    if target and target.startswith("/console") and "//" not in target:
        return target
    return "/console/users"


def _login_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"next": next_url, "login_csrf": token, "error": error}, status
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page (open to everyone)."""
    return _login_page(request, _safe_next(next), None, 200)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    conn: ConnDep,
    username: str = Form(max_length=64),
    password: str = Form(max_length=1024),
    csrf_token: str = Form(default=""),
    next: str = Form(default="/console/users"),
) -> Response:
    """Check the password (throttled), start a session, go to the console."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, _safe_next(next), "Your sign-in form expired: try again.", 403)
    try:
        operator_id = authenticate(conn, username, password, client=client_of(request))
    except SpendSenseError as exc:
        return _login_page(request, _safe_next(next), exc.message, exc.status)
    secret, _ = create_session(conn, operator_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, secret, max_age=int(SESSION_TTL.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", response_class=HTMLResponse, response_model=None)
def logout(request: Request, conn: ConnDep, operator: CurrentOperator) -> Response:
    """End the session (CSRF-checked like every browser POST)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        end_session(conn, secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
