"""The customer's page as data: delivered recommendations merged across windows, content,
insights and votes, for the ``/me`` page and ``GET /recommendations/{user_id}`` alike."""

from __future__ import annotations

import sqlite3
from typing import Any

from spendsense.config import Settings
from spendsense.recommend.catalog import CONTENT_DIR
from spendsense.recommend.fields import view_rows
from spendsense.recommend.insights import INSIGHTS_FILE, Insight, load_insights
from spendsense.recommend.page import Page, build_page
from spendsense.recommend.triggers import threshold_values
from spendsense.signals.schema import FEATURE_TABLES
from spendsense.store import reads


def content(settings: Settings) -> tuple[Any, tuple[Insight, ...]]:
    """The catalog and the insights (the shipped insights when a custom content folder has none)."""
    from spendsense.pipeline import load_content

    root = settings.content_dir or CONTENT_DIR
    insights_root = root if (root / INSIGHTS_FILE).is_file() else CONTENT_DIR
    return load_content(settings), load_insights(insights_root)


def window_values(
    conn: sqlite3.Connection, settings: Settings, user_id: str, as_of: str
) -> dict[int, dict[str, Any]]:
    """Per window, the namespaced values templates cite (``savings.savings_balance``,
    ``card.balance``, ``threshold.utilization_guide``...), as the view the recommendations
    were rendered from has them."""
    rows = reads.feature_rows(conn, user_id, as_of, tuple(FEATURE_TABLES))
    return view_rows(rows, threshold_values(settings.personas.thresholds))


def customer_page(
    conn: sqlite3.Connection,
    settings: Settings,
    user_id: str,
    recs: list[reads.Recommendation],
    as_of: str | None,
) -> Page:
    """The page for ``recs`` (what the delivery policy delivers to the customer)."""
    catalog, insights = content(settings)
    values = window_values(conn, settings, user_id, as_of) if as_of else {}
    statuses = [p.get("status") for p in reads.personas(conn, user_id, as_of)] if as_of else []
    stable = bool(statuses) and all(s == "STABLE" for s in statuses)
    return build_page(
        recs,
        catalog,
        insights,
        values,
        stable=stable,
        feedback=reads.feedback_votes(conn, user_id),
        config=settings.recommend,
    )
