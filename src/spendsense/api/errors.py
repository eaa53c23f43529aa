"""One JSON error shape for every error: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from spendsense.errors import SpendSenseError

log = logging.getLogger(__name__)
HTML_PREFIXES = ("/console", "/me", "/login", "/logout")
LOCATION_PARTS = ("body", "query", "path", "header", "cookie")
HTTP_CODES = {
    404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
    413: "payload_too_large",
}  # fmt: skip


class ErrorDetail(BaseModel):
    """What went wrong, for people and programs."""

    code: str = Field(description="Stable machine-readable code, e.g. not_found, consent_required.")
    message: str = Field(description="One sentence for a person: what is wrong, what to do.")
    field: str | None = Field(default=None, description="The input field at fault, if one is.")


class ErrorOut(BaseModel):
    """The one error shape."""

    error: ErrorDetail = Field(description="The error.")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return ErrorOut(error=ErrorDetail(code=code, message=message, field=field)).model_dump()


# What each error status means here, with a realistic body, for the OpenAPI document.
ERROR_DOCS: dict[int, tuple[str, tuple[str, str, str | None]]] = {
    401: ("No credential, or an unknown or revoked token.",
          ("unauthorized", "sign in first: send 'Authorization: Bearer <token>' or sign in at /login", None)),
    403: ("Not allowed: an operator route called by a customer, a missing CSRF token, or a "
          "user who has not granted consent (code consent_required).",
          ("forbidden", "this needs an operator credential", None)),
    404: ("The user, recommendation or trace does not exist, or (to a customer) is another"
          " user's: both answer the same.",
          ("not_found", "unknown user 'u_0009999'", "user_id")),
    409: ("The item changed since it was loaded (another operator acted first), or the user exists.",
          ("conflict", "the recommendation changed since you loaded it (version 2 now): reload it", "version")),
    422: ("Invalid input; `field` names the first bad field.",
          ("invalid_input", "window: Input should be greater than or equal to 1", "window")),
}  # fmt: skip


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route can give, each described with an example body."""
    return {
        code: {
            "model": ErrorOut,
            "description": ERROR_DOCS[code][0],
            "content": {"application/json": {"example": error_body(*ERROR_DOCS[code][1])}},
        }
        for code in codes
    }


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith(HTML_PREFIXES) and "authorization" not in request.headers


def _respond(request: Request, status: int, code: str, message: str, field: str | None) -> Response:
    if _wants_html(request):
        if status == 401 and request.url.path.startswith("/console"):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        templates = request.app.state.templates
        principal = _page_principal(request)
        context = {
            "status": status, "code": code, "message": message, "field": field,
            "principal": principal, "csrf": getattr(principal, "csrf", None),
        }  # fmt: skip
        return templates.TemplateResponse(request, "error.html", context, status_code=status)
    return JSONResponse(error_body(code, message, field), status_code=status)


def _page_principal(request: Request) -> Any:
    """Who is looking at an error page (so it keeps its navigation), even when the error came
    before the route's own sign-in check (a bad query parameter)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
    from spendsense.api.deps import identify

    pool = getattr(request.app.state, "pool", None)
    if pool is None:
        return None
    conn = pool.acquire()
    try:
        return identify(request, conn)
    except SpendSenseError:
        return None
    finally:
        pool.release(conn)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error (ours, validation, unknown routes, crashes) through the one shape."""

    @app.exception_handler(SpendSenseError)
    async def _ours(request: Request, exc: SpendSenseError) -> Response:
        return _respond(request, exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        parts = [str(p) for p in first.get("loc", ()) if p not in LOCATION_PARTS]
        field = ".".join(parts) or None
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        message = f"{field or 'request'}: {first.get('msg', 'invalid')}{more}"
        return _respond(request, 422, "invalid_input", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404:
            message = f"nothing at {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return _respond(request, exc.status_code, code, message, None)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # a number too large for SQLite's 64-bit integers, from any input the bounds missed
        return _respond(request, 422, "invalid_input", "a number in the request is too large", None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "internal_error", "something went wrong on our side", None)
