"""Read-only queries behind the API and the console: users, profiles, recommendations, metrics."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI's light commands read this module; Polars loads where frames are built
    import polars as pl

from spendsense.errors import unknown

FEATURE_FAMILIES = ("subscriptions", "savings", "credit", "income", "cash_flow")
KEY_COLUMNS = ("user_id", "window_days", "as_of_date")


@dataclass(frozen=True)
class Recommendation:
    """One stored recommendation (the columns of the recommendations table)."""

    recommendation_id: str
    user_id: str
    window_days: int
    as_of_date: str
    kind: str
    item_id: str
    title: str
    rationale: str
    disclosure: str
    rank: int
    rank_score: float | None
    status: str
    trace_id: str
    version: int
    updated_at: str | None
    partner: str | None = None
    offer_terms: str | None = None  # JSON: {"rate": ..., "fees": ...}
    offer_disclosure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # shallow: every field is a scalar, and dataclasses.asdict deep-copies (the hot path's
        # biggest cost under load)
        return dict(self.__dict__)


REC_COLUMNS = ", ".join(f"r.{f}" for f in Recommendation.__dataclass_fields__)


def feature_table(
    conn: sqlite3.Connection, name: str, where: str = "", params: tuple[object, ...] = ()
) -> pl.DataFrame:
    """One feature table (``feature_<name>``) read into its declared schema, rows filtered by ``where``."""
    import polars as pl

    from spendsense.signals.schema import FEATURE_TABLES

    schema = FEATURE_TABLES[name]
    cur = conn.execute(f"SELECT * FROM feature_{name} {where}", params)
    names = [d[0] for d in cur.description]
    rows = [tuple(r) for r in cur.fetchall()]
    if rows:
        raw = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    else:
        raw = pl.DataFrame(schema={n: pl.String for n in names})
    cols = []
    for col, dtype in schema.items():
        if col not in raw.columns:
            cols.append(pl.lit(None, dtype).alias(col))
        elif dtype == pl.Date():
            cols.append(pl.col(col).cast(pl.String).str.to_date(strict=False).alias(col))
        elif dtype == pl.Boolean():
            cols.append(pl.col(col).cast(pl.Int64, strict=False).cast(pl.Boolean).alias(col))
        else:
            cols.append(pl.col(col).cast(dtype, strict=False).alias(col))
    return raw.select(cols)


def user_features(conn: sqlite3.Connection, user_id: str, as_of: str) -> dict[str, pl.DataFrame]:
    """Every feature table's rows for one user at one as-of date."""
    from spendsense.signals.schema import FEATURE_TABLES

    where = "WHERE user_id = ? AND as_of_date = ?"
    return {name: feature_table(conn, name, where, (user_id, as_of)) for name in FEATURE_TABLES}


def get_user(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    """The user's row, or 404."""
    row = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        raise unknown("user", user_id, field="user_id")
    return dict(row)


def latest_as_of(conn: sqlite3.Connection, user_id: str) -> str | None:
    """The newest as-of date with persona or feature output for the user."""
    row = conn.execute(
        "SELECT MAX(d) FROM (SELECT MAX(as_of_date) AS d FROM persona_assignments WHERE user_id = ?"
        " UNION ALL SELECT MAX(as_of_date) FROM feature_cash_flow WHERE user_id = ?"
        " UNION ALL SELECT MAX(as_of_date) FROM recommendations WHERE user_id = ?)",
        (user_id, user_id, user_id),
    ).fetchone()
    return row[0] if row and row[0] else None


def signals(conn: sqlite3.Connection, user_id: str, as_of: str) -> dict[int, dict[str, Any]]:
    """{window_days: {family: {column: value}}} from the feature tables at one as-of."""
    out: dict[int, dict[str, Any]] = {}
    for family in FEATURE_FAMILIES:
        rows = conn.execute(
            f"SELECT * FROM feature_{family} WHERE user_id = ? AND as_of_date = ? ORDER BY window_days",
            (user_id, as_of),
        ).fetchall()
        for r in rows:
            values = {k: v for k, v in dict(r).items() if k not in KEY_COLUMNS}
            out.setdefault(int(r["window_days"]), {})[family] = values
    return out


def feature_rows(
    conn: sqlite3.Connection, user_id: str, as_of: str, tables: tuple[str, ...]
) -> dict[str, list[dict[str, Any]]]:
    """Every row of each ``feature_<table>`` for one user at one as-of (the customer's page)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        rows = conn.execute(
            f"SELECT * FROM feature_{table} WHERE user_id = ? AND as_of_date = ?", (user_id, as_of)
        ).fetchall()
        out[table] = [dict(r) for r in rows]
    return out


def feedback_votes(conn: sqlite3.Connection, user_id: str) -> dict[str, bool]:
    """The customer's current vote per recommendation id (helpful or not)."""
    rows = conn.execute(
        "SELECT recommendation_id, helpful FROM feedback WHERE user_id = ? ORDER BY created_at",
        (user_id,),
    ).fetchall()
    return {r["recommendation_id"]: bool(r["helpful"]) for r in rows}


def personas(conn: sqlite3.Connection, user_id: str, as_of: str) -> list[dict[str, Any]]:
    """Persona assignments per window at one as-of, the trace decoded."""
    rows = conn.execute(
        "SELECT * FROM persona_assignments WHERE user_id = ? AND as_of_date = ? ORDER BY window_days",
        (user_id, as_of),
    ).fetchall()
    out = []
    for r in rows:
        item = dict(r)
        item["assignment_trace"] = _json(item.get("assignment_trace"))
        out.append(item)
    return out


def recurring_streams(conn: sqlite3.Connection, user_id: str, as_of: str) -> list[dict[str, Any]]:
    """Recurring streams at one as-of, longest window first, biggest monthly amount first."""
    rows = conn.execute(
        "SELECT * FROM feature_recurring_streams WHERE user_id = ? AND as_of_date = ?"
        " ORDER BY window_days DESC, monthly_amount DESC",
        (user_id, as_of),
    ).fetchall()
    return [dict(r) for r in rows]


def recommendations(
    conn: sqlite3.Connection, user_id: str, *, as_of: str | None = None
) -> list[Recommendation]:
    """Every one of the user's recommendations at the latest as-of, whatever its review status.

    What a customer may see is decided by the delivery policy (``guardrails.delivery``,
    applied by ``api.service.delivered_recommendations``), never here.
    """
    as_of = as_of or latest_as_of(conn, user_id)
    if as_of is None:
        return []
    rows = conn.execute(
        f"SELECT {REC_COLUMNS} FROM recommendations r WHERE r.user_id = ? AND r.as_of_date = ?"
        " ORDER BY r.window_days, r.kind, r.rank",
        (user_id, as_of),
    ).fetchall()
    return [Recommendation(**dict(r)) for r in rows]


def get_recommendation(conn: sqlite3.Connection, recommendation_id: str) -> Recommendation:
    row = conn.execute(
        f"SELECT {REC_COLUMNS} FROM recommendations r WHERE r.recommendation_id = ?",
        (recommendation_id,),
    ).fetchone()
    if row is None:
        raise unknown("recommendation", recommendation_id, field="recommendation_id")
    return Recommendation(**dict(row))


def get_trace(conn: sqlite3.Connection, trace_id: str) -> dict[str, Any]:
    """One decision trace, decoded, or 404."""
    row = conn.execute("SELECT * FROM decision_traces WHERE trace_id = ?", (trace_id,)).fetchone()
    if row is None:
        raise unknown("trace", trace_id, field="trace_id")
    item = dict(row)
    item["trace"] = _json(item["trace"])
    return item


def traces_for(conn: sqlite3.Connection, trace_ids: list[str]) -> dict[str, Any]:
    """Decoded traces by id for a page of recommendations."""
    if not trace_ids:
        return {}
    marks = ",".join("?" * len(trace_ids))
    rows = conn.execute(
        f"SELECT trace_id, trace FROM decision_traces WHERE trace_id IN ({marks})", trace_ids
    ).fetchall()
    return {r["trace_id"]: _json(r["trace"]) for r in rows}


def list_users(
    conn: sqlite3.Connection,
    *,
    q: str | None = None,
    persona: str | None = None,
    window: int | None = None,
    consent: str | None = None,
    review_status: str | None = None,
    as_of: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Users with their primary personas (30d/180d) and counts of recommendations by status.

    Personas are those of ``as_of`` (a run date), else of each user's newest as-of; every row
    says which (``as_of_date``).
    """
    clauses: list[str] = []
    args: list[object] = []
    # the as-of shown per user: the chosen one, else the user's newest
    day = (
        "?"
        if as_of
        else "(SELECT MAX(p2.as_of_date) FROM persona_assignments p2 WHERE p2.user_id = u.user_id)"
    )
    day_args: list[object] = [as_of] if as_of else []
    if q:
        clauses.append("(u.user_id LIKE ? OR u.name LIKE ?)")
        args += [f"%{q}%", f"%{q}%"]
    if consent:
        clauses.append("u.consent_status = ?")
        args.append(consent)
    if persona:
        win = " AND pa.window_days = ?" if window else ""
        clauses.append(
            "EXISTS (SELECT 1 FROM persona_assignments pa WHERE pa.user_id = u.user_id"
            f" AND pa.as_of_date = {day}"
            f" AND (pa.primary_persona_name = ? OR pa.status = ?){win})"
        )
        args += [*day_args, persona, persona, *([window] if window else [])]
    if review_status:
        clauses.append(
            "EXISTS (SELECT 1 FROM recommendations r WHERE r.user_id = u.user_id AND r.status = ?"
            + (" AND r.as_of_date = ?" if as_of else "")
            + ")"
        )
        args += [review_status, *day_args]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = conn.execute(f"SELECT COUNT(*) FROM users u{where}", args).fetchone()[0]

    def persona_at(window_days: int) -> str:
        return (
            "(SELECT COALESCE(primary_persona_name, status) FROM persona_assignments pa"
            f" WHERE pa.user_id = u.user_id AND pa.window_days = {window_days}"
            f" AND pa.as_of_date = {day})"
        )

    counts = " AND r.as_of_date = ?" if as_of else ""
    rows = conn.execute(
        f"SELECT u.user_id, u.name, u.consent_status, {day} AS as_of_date,"
        f" {persona_at(30)} AS persona_30, {persona_at(180)} AS persona_180,"
        " (SELECT COUNT(*) FROM recommendations r WHERE r.user_id = u.user_id"
        f"  AND r.status = 'proposed'{counts}) AS proposed,"
        " (SELECT COUNT(*) FROM recommendations r WHERE r.user_id = u.user_id"
        f"  AND r.status = 'flagged'{counts}) AS flagged"
        f" FROM users u{where} ORDER BY u.user_id LIMIT ? OFFSET ?",
        (*day_args, *day_args, *day_args, *day_args, *day_args, *args, limit, offset),
    ).fetchall()
    return [dict(r) for r in rows], int(total)


def as_of_dates_of(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """The run dates with outputs for one user, newest first."""
    rows = conn.execute(
        "SELECT as_of_date FROM persona_assignments WHERE user_id = ?"
        " UNION SELECT as_of_date FROM recommendations WHERE user_id = ? ORDER BY 1 DESC",
        (user_id, user_id),
    ).fetchall()
    return [str(r[0]) for r in rows]


def as_of_dates(conn: sqlite3.Connection) -> list[str]:
    """Every run date with persona assignments, newest first (for the as-of menus)."""
    rows = conn.execute(
        "SELECT DISTINCT as_of_date FROM persona_assignments ORDER BY as_of_date DESC"
    ).fetchall()
    return [str(r[0]) for r in rows]


def persona_names(conn: sqlite3.Connection) -> list[str]:
    """Every persona name (and STABLE) present in the assignments, for filter menus."""
    rows = conn.execute(
        "SELECT DISTINCT COALESCE(primary_persona_name, status) FROM persona_assignments ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows if r[0]]


def balance_series(
    conn: sqlite3.Connection, user_id: str, as_of: str | None, days: int = 180
) -> list[tuple[str, float]]:
    """Daily end-of-day checking balance (dollars), rebuilt backwards from the current balance."""
    rows = conn.execute(
        """
        WITH cur AS (
            SELECT COALESCE(SUM(current_cents), 0) AS cents FROM accounts
            WHERE user_id = :u AND type = 'depository' AND subtype = 'checking'
              AND COALESCE(holder_category, 'personal') != 'business'
        ), daily AS (
            SELECT t.date AS d, SUM(t.amount_cents) AS out_cents FROM transactions t
            JOIN accounts a ON a.account_id = t.account_id
            WHERE t.user_id = :u AND a.type = 'depository' AND a.subtype = 'checking'
              AND COALESCE(a.holder_category, 'personal') != 'business' AND t.pending = 0
            GROUP BY t.date
        )
        SELECT d, (SELECT cents FROM cur)
                  + COALESCE(SUM(out_cents) OVER (ORDER BY d DESC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS bal
        FROM daily ORDER BY d
        """,
        {"u": user_id},
    ).fetchall()
    series = [(r["d"], r["bal"] / 100.0) for r in rows]
    if as_of:
        series = [p for p in series if p[0] <= as_of]
    return series[-days:]


def metrics(conn: sqlite3.Connection) -> dict[str, Any]:
    """Persona mix by window, coverage, review status counts and feedback, for the metrics page."""
    mix = conn.execute(
        "SELECT pa.window_days, COALESCE(pa.primary_persona_name, pa.status) AS persona,"
        " COUNT(*) AS users FROM persona_assignments pa"
        " WHERE pa.as_of_date = (SELECT MAX(as_of_date) FROM persona_assignments)"
        " GROUP BY 1, 2 ORDER BY 1, 3 DESC"
    ).fetchall()
    consented = conn.execute(
        "SELECT COUNT(*) FROM users WHERE consent_status = 'granted'"
    ).fetchone()[0]
    with_persona = conn.execute(
        "SELECT COUNT(DISTINCT pa.user_id) FROM persona_assignments pa"
        " JOIN users u ON u.user_id = pa.user_id AND u.consent_status = 'granted'"
    ).fetchone()[0]
    with_recs = conn.execute(
        "SELECT COUNT(DISTINCT r.user_id) FROM recommendations r"
        " JOIN users u ON u.user_id = r.user_id AND u.consent_status = 'granted'"
    ).fetchone()[0]
    statuses = conn.execute(
        "SELECT status, COUNT(*) AS n FROM recommendations GROUP BY status ORDER BY status"
    ).fetchall()
    feedback = conn.execute(
        "SELECT COALESCE(SUM(helpful), 0) AS helpful, COUNT(*) AS total FROM feedback"
    ).fetchone()
    users = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    return {
        "users": int(users),
        "consented": int(consented),
        "persona_mix": [dict(r) for r in mix],
        "coverage": {
            "with_persona": int(with_persona),
            "with_recommendations": int(with_recs),
            "consented": int(consented),
        },
        "review_status": {r["status"]: int(r["n"]) for r in statuses},
        "feedback": {"helpful": int(feedback["helpful"]), "total": int(feedback["total"])},
    }


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"raw": text}
