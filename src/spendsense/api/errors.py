"""One JSON error shape for every error: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from spendsense.errors import SpendSenseError

log = logging.getLogger(__name__)
HTML_PREFIXES = ("/console", "/me", "/login", "/logout")
LOCATION_PARTS = ("body", "query", "path", "header", "cookie")
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


class ErrorDetail(BaseModel):
    """What went wrong, for people and programs."""

    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    """The one error shape."""

    error: ErrorDetail


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return ErrorOut(error=ErrorDetail(code=code, message=message, field=field)).model_dump()


def _wants_html(request: Request) -> bool:
    return request.url.path.startswith(HTML_PREFIXES) and "authorization" not in request.headers


def _respond(request: Request, status: int, code: str, message: str, field: str | None) -> Response:
    if _wants_html(request):
        if status == 401 and request.url.path.startswith("/console"):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "code": code, "message": message, "field": field},
            status_code=status,
        )
    return JSONResponse(error_body(code, message, field), status_code=status)


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

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "internal_error", "something went wrong on our side", None)
