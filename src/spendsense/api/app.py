"""The application factory: REST routers, console and user pages, one error shape."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from spendsense.api.deps import ConnectionPool
from spendsense.api.errors import install_error_handlers
from spendsense.api.hardening import Hardening, RedactSecrets
from spendsense.api.routers import consent, insights, operator, users
from spendsense.api.schemas import HealthOut
from spendsense.config import Settings, load_settings
from spendsense.web import templates as web_templates
from spendsense.web.routes import console, me, signin

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
API_DESCRIPTION = """Explainable financial insights from Plaid-style data: signals, personas with their
reasoning, and educational recommendations behind consent and review guardrails.

**Authentication.** Send `Authorization: Bearer <token>`. Operators get a token with
`spendsense operator create NAME --token`; a customer token (`spendsense customer token USER_ID`
or `POST /users/{user_id}/token`) reaches only that user's own data.

**Errors** have one shape: `{"error": {"code", "message", "field"}}`; each route lists the
statuses it can answer. An empty query parameter means "any" (`?window=`).
See docs/api.md for request and response examples."""
TAGS = [
    {"name": "health", "description": "Liveness (no credential)."},
    {"name": "users", "description": "Create and list users, issue customer tokens, upload Plaid data."},
    {"name": "consent", "description": "Grant or revoke consent: nothing is computed without it."},
    {"name": "insights", "description": "Signals, personas, recommendations, traces, feedback."},
    {"name": "operator", "description": "The review queue, operator actions and the audit log."},
]  # fmt: skip


def _docs_assets() -> Path:
    """Swagger UI's files, bundled in the pinned ``fastapi-offline`` package (no CDN at run time)."""
    import importlib.resources

    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SpendSense API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>
"""

health = APIRouter(tags=["health"])


def install_log_redaction() -> None:
    """Attach RedactSecrets to uvicorn's access logger once (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())


@health.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """Liveness check (open to everyone)."""
    return HealthOut(status="ok")


def create_app(
    settings: Settings, *, cookie_secure: bool | None = None, pool_size: int = 16
) -> FastAPI:
    """Build the app for one data folder.

    Args:
        settings: where the database lives.
        cookie_secure: force the Secure cookie flag on (True) or off (False, plain http on
            localhost); by default it follows the request scheme (Secure under https).
        pool_size: SQLite connections shared by the request threads.
    """

    app = FastAPI(
        title="SpendSense",
        version="0.1.0",
        description=API_DESCRIPTION,
        openapi_tags=TAGS,
        generate_unique_id_function=lambda route: route.name,  # operationId: get_users, approve
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.cookie_secure = cookie_secure
    app.state.pool = ConnectionPool(settings.db_path, size=pool_size)
    app.state.templates = web_templates.build()
    install_error_handlers(app)
    app.add_middleware(Hardening, max_body=settings.max_body_bytes)
    install_log_redaction()
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.mount("/docs/assets", StaticFiles(directory=_docs_assets()), name="docs-assets")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        """Interactive API documentation (Swagger UI served from this app, works offline)."""
        return HTMLResponse(DOCS_PAGE)

    for router in (
        health,
        users.router,
        consent.router,
        insights.router,
        operator.router,
        signin.router,
        console.router,
        me.router,
    ):
        app.include_router(router)
    _name_operations(app)
    return app


def _name_operations(app: FastAPI) -> None:
    """A one-line summary per operation from its docstring (what a generated client shows)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            for ops in doc.get("paths", {}).values():
                for op in ops.values():
                    first = (op.get("description") or "").split("\n")[0].strip()
                    if first:
                        op["summary"] = first.rstrip(".")
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory spendsense.api.app:app_from_env`` (and several workers).

    Reads ``SPENDSENSE_DATA_DIR``; ``SPENDSENSE_COOKIE_SECURE=0`` allows plain http on localhost.
    """
    import os

    flag = os.environ.get("SPENDSENSE_COOKIE_SECURE")
    return create_app(load_settings(), cookie_secure=None if flag is None else flag == "1")
