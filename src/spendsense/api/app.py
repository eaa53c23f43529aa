"""The application factory: REST routers, console and user pages, one error shape."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from spendsense.api.deps import ConnectionPool
from spendsense.api.errors import ErrorOut, install_error_handlers
from spendsense.api.routers import consent, insights, operator, users
from spendsense.api.schemas import HealthOut
from spendsense.config import Settings, load_settings
from spendsense.web import templates as web_templates
from spendsense.web.routes import console, me, signin

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}

health = APIRouter(tags=["health"])
SECRET_QUERY = re.compile(r"((?:^|[?&])(?:token|password|csrf_token)=)[^&\s]*", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Blanks ``token=`` (the customer link), ``password=`` and ``csrf_token=`` in access logs.

    uvicorn's access log writes the full path with its query string, so ``/me?token=...``
    would otherwise put a customer's credential in every log file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = SECRET_QUERY.sub(r"\1[redacted]", record.msg)
        return True


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
        description="Explainable financial insights: REST API, operator console, user page.",
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.cookie_secure = cookie_secure
    app.state.pool = ConnectionPool(settings.db_path, size=pool_size)
    app.state.templates = web_templates.build()
    install_error_handlers(app)
    install_log_redaction()
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
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
    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory spendsense.api.app:app_from_env`` (and several workers).

    Reads ``SPENDSENSE_DATA_DIR``; ``SPENDSENSE_COOKIE_SECURE=0`` allows plain http on localhost.
    """
    import os

    flag = os.environ.get("SPENDSENSE_COOKIE_SECURE")
    return create_app(load_settings(), cookie_secure=None if flag is None else flag == "1")
