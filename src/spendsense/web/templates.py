"""The Jinja environment (autoescape on for every template), its filters and cookie helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from spendsense import text
from spendsense.guardrails.delivery import STATE_LABELS, delivery_state
from spendsense.web import display
from spendsense.web.charts import bar_chart, line_chart

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DISCLOSURE = text.DISCLOSURE


def money(value: Any) -> str:
    """$1,234.56 (text.money), or an em dash for a missing value on the console."""
    return text.money(value) or "—"


def pct(value: Any, digits: int = 0) -> str:
    """A 0-1 share as a percentage."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def show(value: Any) -> str:
    """Any signal value, readably."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def terms(value: Any) -> dict[str, str]:
    """An offer's key terms (stored as JSON text) as a mapping; empty when there are none."""
    if not value:
        return {}
    parsed = json.loads(value) if isinstance(value, str) else value
    return dict(parsed) if isinstance(parsed, dict) else {}


def label(name: str) -> str:
    return name.replace("_", " ")


def build() -> Jinja2Templates:
    """Templates with autoescape forced on (html, svg and txt alike) and our filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    templates = Jinja2Templates(env=env)
    env.filters.update(
        money=money, pct=pct, show=show, label=label, terms=terms, when=display.when,
        signal=display.fmt_signal, signal_label=display.label_of,
    )  # fmt: skip
    env.globals.update(
        comparison_note=display.comparison_note,
        bar_chart=bar_chart,
        line_chart=line_chart,
        DISCLOSURE=DISCLOSURE,
        delivery_state=delivery_state,
        DELIVERY_LABELS=STATE_LABELS,
    )
    return templates


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render a page with the caller's CSRF token at hand for forms."""
    templates: Jinja2Templates = request.app.state.templates
    principal = getattr(request.state, "principal", None)
    base = {
        "principal": principal,
        "csrf": getattr(principal, "csrf", None),
        "delivery_policy": request.app.state.settings.delivery_policy,
        "notice": getattr(request.state, "notice", None),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax; Secure under https unless the app says otherwise (http on localhost)."""
    forced = request.app.state.cookie_secure
    secure = request.url.scheme == "https" if forced is None else bool(forced)
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
