"""The customer's page: one merged, ranked list of ideas across windows, and insights once.

Recommendations are chosen per window (30 and 180 days); a customer sees one list. The
merge (:func:`merge_windows`) keeps one version of each item, best rank score first (the
longer window on ties), up to the per-kind maximum (5 education, 3 offers; 3 and 1 for a
user STABLE in every window), and keeps every number on the page from one source: the
first card to cite a field binds it to its window, and a later card whose version would
show the same field from another window uses the item's other version or is left out.
Insights (:func:`page_insights`) follow those bindings, so a card and an insight never
show two values for one number; the rest come from the window most cards use.

Pure functions over plain values: the page route and the API build the same
:class:`Page` through ``api.service.customer_page``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from spendsense.guardrails.disclosure import offer_disclosure
from spendsense.recommend.calculators import Calculator, calculator
from spendsense.recommend.catalog import Catalog, EducationItem, OfferItem
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.insights import Insight, render_insight
from spendsense.text import DISCLOSURE, plural, render_value

FORMAT_WORDS = {
    "article": "An article",
    "checklist": "A checklist",
    "calculator": "A calculator",
    "template": "A template",
    "guide": "A guide",
    "offer": "A partner offer",
}
KIND_ORDER = ("education", "offer")


class StoredRec(Protocol):
    """What the merge reads of a stored recommendation (``store.reads.Recommendation``)."""

    @property
    def recommendation_id(self) -> str: ...
    @property
    def window_days(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def item_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def rationale(self) -> str: ...
    @property
    def rank(self) -> int: ...
    @property
    def rank_score(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def trace_id(self) -> str: ...


@dataclass(frozen=True)
class Card:
    """One idea as the customer sees it: content, why, period, offer terms, calculator, vote."""

    recommendation_id: str
    item_id: str
    kind: str
    title: str
    summary: str
    body: str
    format: str
    format_label: str
    reading_time_minutes: int
    why: str
    window_days: int
    period_label: str | None
    partner: str | None
    terms: dict[str, str] | None
    offer_disclosure: str | None
    calculator: Calculator | None
    feedback: bool | None
    status: str
    trace_id: str


@dataclass(frozen=True)
class InsightGroup:
    """Insight sentences whose numbers come from one window, with the period in words."""

    window_days: int
    period: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """Everything the customer's page shows, in order."""

    cards: tuple[Card, ...]
    insights: tuple[InsightGroup, ...]
    period_note: str | None  # the period most cards use; the others carry their own label
    disclosure: str
    left_out: tuple[tuple[str, str], ...] = ()


def period_sentence(window_days: int) -> str:
    """``Based on your last 30 days.``"""
    return f"Based on your last {window_days} {plural(window_days, 'day')}."


def period_note_mixed(window_days: int) -> str:
    """The page's period when a few cards use another one (they say so themselves)."""
    return (
        f"These ideas use your last {window_days} {plural(window_days, 'day')} unless a card"
        " says otherwise."
    )


def _limits(cfg: RecommendConfig, stable: bool) -> dict[str, int]:
    if stable:
        return {"education": cfg.stable_education, "offer": cfg.stable_offers}
    return {"education": cfg.education_max, "offer": cfg.offer_max}


def _cited(catalog: Catalog, item_id: str) -> tuple[str, ...]:
    """Fields a card's numbers come from (the period itself, ``window.days``, is not one)."""
    try:
        fields = catalog.get(item_id).fields
    except KeyError:
        return ()
    return tuple(f for f in fields if not f.startswith("window."))


def merge_windows(
    recs: Sequence[StoredRec],
    catalog: Catalog,
    *,
    stable: bool,
    config: RecommendConfig | None = None,
    values: Mapping[int, Mapping[str, Any]] | None = None,
) -> tuple[list[StoredRec], dict[str, int], list[tuple[str, str]]]:
    """One version per item, best first, within the per-kind maxima, numbers from one source.

    A field bound to one window conflicts with another window's version only where the two
    windows' values differ (``values``: per window, the cited values; a savings balance is
    the same in both). Returns the chosen recommendations (education first, then offers,
    each best first), the window each cited field is bound to, and (item id, reason) for
    items left out.
    """
    known = values or {}

    def agrees(field: str, window: int) -> bool:
        if field not in bound or bound[field] == window:
            return True
        here, there = known.get(window, {}), known.get(bound[field], {})
        return field in here and field in there and here[field] == there[field]

    limits = _limits(config or RecommendConfig(), stable)
    ordered = sorted(
        recs, key=lambda r: (-(r.rank_score or 0.0), r.rank, -r.window_days, r.item_id)
    )
    versions: dict[str, list[StoredRec]] = {}
    for rec in ordered:
        versions.setdefault(rec.item_id, []).append(rec)
    bound: dict[str, int] = {}
    counts = dict.fromkeys(KIND_ORDER, 0)
    chosen: list[StoredRec] = []
    left_out: list[tuple[str, str]] = []
    for item_id, options in versions.items():
        kind = options[0].kind
        if counts.get(kind, 0) >= limits.get(kind, 0):
            left_out.append((item_id, f"the page already has {limits.get(kind, 0)} of this kind"))
            continue
        fields = _cited(catalog, item_id)
        fits = [o for o in options if all(agrees(f, o.window_days) for f in fields)]
        if not fits:
            left_out.append((item_id, "its numbers come from another period than the page's"))
            continue
        pick = fits[0]
        for f in fields:
            bound.setdefault(f, pick.window_days)
        counts[kind] = counts.get(kind, 0) + 1
        chosen.append(pick)
    chosen.sort(key=lambda r: KIND_ORDER.index(r.kind) if r.kind in KIND_ORDER else len(KIND_ORDER))
    return chosen, bound, left_out


def main_window(chosen: Sequence[StoredRec], windows: Sequence[int]) -> int | None:
    """The window most chosen cards come from (ties: the longer); the longest without cards."""
    if chosen:
        counts: dict[int, int] = {}
        for rec in chosen:
            counts[rec.window_days] = counts.get(rec.window_days, 0) + 1
        return max(counts, key=lambda w: (counts[w], w))
    return max(windows) if windows else None


def page_insights(
    insights: Sequence[Insight],
    values: Mapping[int, Mapping[str, Any]],
    bound: Mapping[str, int],
    default_window: int | None,
) -> tuple[InsightGroup, ...]:
    """Each insight once, from the window its fields are bound to (else ``default_window``),
    grouped by window with the default first."""
    by_window: dict[int, list[str]] = {}
    for insight in insights:
        windows = {bound[f] for f in insight.fields if f in bound}
        if len(windows) > 1:
            continue  # its numbers would mix two periods
        window = windows.pop() if windows else default_window
        if window is None or window not in values:
            continue
        rendered = render_insight(insight, values[window])
        if rendered is None:
            continue
        if any(bound.get(f, window) != window for f in rendered.fields):
            continue
        by_window.setdefault(window, []).append(rendered.sentence)
    order = sorted(by_window, key=lambda w: (w != default_window, w))
    return tuple(
        InsightGroup(w, period_sentence(w), tuple(by_window[w])) for w in order if by_window[w]
    )


def _offer_fields(item: Any) -> tuple[str | None, dict[str, str] | None, str | None]:
    """(partner, key terms, offer disclosure) of an offer item; all None for education."""
    if not isinstance(item, OfferItem):
        return None, None, None
    terms = item.terms.model_dump(exclude_none=True)
    return item.partner, terms, offer_disclosure(item.partner)


def build_card(
    rec: StoredRec,
    catalog: Catalog,
    values: Mapping[str, Any],
    *,
    show_period: bool,
    feedback: bool | None,
) -> Card:
    """A stored recommendation with its catalog content, for the page and the API."""
    try:
        item: Any = catalog.get(rec.item_id)
    except KeyError:
        item = None
    fmt = getattr(item, "format", "offer" if rec.kind == "offer" else "article")
    minutes = int(getattr(item, "reading_time_minutes", 2))
    label = f"{FORMAT_WORDS.get(fmt, 'An idea')}, about {render_value(minutes, 'count_minute')} to read."
    partner, terms, offer_disclosure = _offer_fields(item)
    kind = getattr(item, "calculator", None) if isinstance(item, EducationItem) else None
    window = f"last {rec.window_days} days"
    return Card(
        recommendation_id=rec.recommendation_id,
        item_id=rec.item_id,
        kind=rec.kind,
        title=rec.title,
        summary=getattr(item, "summary", ""),
        body=getattr(item, "body", ""),
        format=fmt,
        format_label=label,
        reading_time_minutes=minutes,
        why=rec.rationale,
        window_days=rec.window_days,
        period_label=period_sentence(rec.window_days)
        if show_period and window not in rec.rationale
        else None,
        partner=partner,
        terms=terms,
        offer_disclosure=offer_disclosure,
        calculator=calculator(kind, values) if kind else None,
        feedback=feedback,
        status=rec.status,
        trace_id=rec.trace_id,
    )


def build_page(
    recs: Sequence[StoredRec],
    catalog: Catalog,
    insights: Sequence[Insight],
    values: Mapping[int, Mapping[str, Any]],
    *,
    stable: bool,
    feedback: Mapping[str, bool] | None = None,
    config: RecommendConfig | None = None,
) -> Page:
    """The whole page for one customer from their delivered recommendations and values.

    ``values`` maps each window to its namespaced feature values (``savings.savings_balance``);
    ``feedback`` maps a recommendation id to the customer's current vote.
    """
    chosen, bound, left_out = merge_windows(
        recs, catalog, stable=stable, config=config, values=values
    )
    default = main_window(chosen, sorted(values))
    votes = feedback or {}
    cards = tuple(
        build_card(
            r,
            catalog,
            values.get(r.window_days, {}),
            show_period=r.window_days != default,
            feedback=votes.get(r.recommendation_id),
        )
        for r in chosen
    )
    groups = page_insights(insights, values, bound, default)
    note = None
    if chosen and default is not None:
        mixed = any(r.window_days != default for r in chosen)
        note = period_sentence(default) if not mixed else period_note_mixed(default)
    return Page(cards, groups, note, DISCLOSURE, tuple(left_out))


def page_sentences(page: Page) -> list[tuple[str, str]]:
    """(where, sentence) for every sentence the page shows built from the customer's data or
    our wording (catalog titles, summaries and bodies are editorial and checked at load)."""
    out: list[tuple[str, str]] = [("disclosure", page.disclosure)]
    if page.period_note:
        out.append(("period_note", page.period_note))
    for group in page.insights:
        out.append(("insight_period", group.period))
        out += [("insight", s) for s in group.sentences]
    for card in page.cards:
        out += [("why", card.why), ("format_label", card.format_label)]
        if card.period_label:
            out.append(("period_label", card.period_label))
        if card.offer_disclosure:
            out.append(("offer_disclosure", card.offer_disclosure))
        if card.calculator:
            out += [("calculator", s) for s in card.calculator.result]
            out += [("calculator_hint", f.hint) for f in card.calculator.fields if f.hint]
    return out


@dataclass(frozen=True)
class _Rec:
    """A stored recommendation read from a frame (what :class:`StoredRec` needs)."""

    recommendation_id: str
    window_days: int
    kind: str
    item_id: str
    title: str
    rationale: str
    rank: int
    rank_score: float | None
    status: str
    trace_id: str


def population_pages(
    recs: pl.DataFrame,
    view: pl.DataFrame,
    assignments: pl.DataFrame,
    catalog: Catalog,
    insights: Sequence[Insight],
    *,
    config: RecommendConfig | None = None,
) -> Iterator[tuple[str, Page]]:
    """(user_id, page) for every user of ``view``: the page each would see from ``recs`` (the
    delivered recommendations) with the values of ``view`` (:func:`fields.build_view`).

    The merge is sequential per user (a card's version depends on the cards before it), so
    this runs :func:`build_page` once per user, as the page route does per request.
    """
    names = list(_Rec.__dataclass_fields__)
    rows = recs.select(
        [(pl.col(n) if n in recs.columns else pl.lit(None)).alias(n) for n in names]
    ).with_columns(pl.col("window_days").cast(pl.Int64), pl.col("rank").cast(pl.Int64))
    by_user: dict[str, list[_Rec]] = {}
    user_ids = recs["user_id"].to_list() if "user_id" in recs.columns else []
    for user_id, fields in zip(user_ids, rows.iter_rows(), strict=True):
        by_user.setdefault(user_id, []).append(_Rec(*fields))
    values: dict[str, dict[int, dict[str, Any]]] = {}
    for row in view.to_dicts():
        values.setdefault(row["user_id"], {})[int(row["window_days"])] = row
    status = assignments.group_by("user_id").agg((pl.col("status") == "STABLE").all().alias("s"))
    stable = dict(zip(status["user_id"].to_list(), status["s"].to_list(), strict=True))
    for user_id in sorted(values):
        page = build_page(
            by_user.get(user_id, []),
            catalog,
            insights,
            values[user_id],
            stable=bool(stable.get(user_id, False)),
            config=config,
        )
        yield user_id, page
