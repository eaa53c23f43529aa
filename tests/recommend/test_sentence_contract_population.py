"""The sentence contract over a generated population of 10,000 users and both windows.

Every rationale template and insight wording is rendered over every (user, window) wherever
it could be shown; the real engine then chooses recommendations and every customer's merged
page is built: each sentence must meet the contract (spendsense.text.CONTRACT), and each
page must show every item once and every number from one period.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from edge_population import AS_OF, WINDOWS, edge_features, edge_users

from spendsense.config import Settings
from spendsense.eval.sentences import failures_by_rule, population_sentences
from spendsense.personas import assign_personas
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.engine import recommend
from spendsense.recommend.fields import build_view
from spendsense.recommend.insights import load_insights
from spendsense.recommend.page import Page, population_pages
from spendsense.recommend.triggers import threshold_values

pytestmark = pytest.mark.slow
USERS = 10_000
GENERATED = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def population(catalog: Catalog) -> dict[str, Any]:
    settings = Settings()
    features = edge_features(USERS)
    users = edge_users(USERS)
    assignments = assign_personas(features, settings.personas, GENERATED)
    result = recommend(
        features, assignments, users, catalog, as_of=AS_OF, generated_at=GENERATED,
        config_version="t", config=settings.recommend, personas=settings.personas.thresholds,
    )  # fmt: skip
    keys = pl.DataFrame(
        {"user_id": users["user_id"].to_list() * len(WINDOWS),
         "window_days": [w for w in WINDOWS for _ in range(USERS)]},
        schema={"user_id": pl.String, "window_days": pl.Int32},
    )  # fmt: skip
    view = build_view(
        features, keys, users, as_of=AS_OF,
        thresholds=threshold_values(settings.personas.thresholds),
    )  # fmt: skip
    return {"settings": settings, "assignments": assignments, "recs": result.recommendations,
            "view": view}  # fmt: skip


def test_every_sentence_over_ten_thousand_users_meets_the_contract(
    population: dict[str, Any], catalog: Catalog
) -> None:
    view, recs = population["view"], population["recs"]
    assert view["user_id"].n_unique() >= 10_000 and set(view["window_days"]) == set(WINDOWS)
    checked, pages = population_sentences(
        view, recs, population["assignments"], catalog, load_insights(),
        config=population["settings"].recommend,
    )  # fmt: skip
    by_source = dict(checked.group_by("source").len().iter_rows())
    assert by_source["template"] > 100_000 and by_source["insight"] > 50_000
    assert by_source["page"] > 50_000 and pages.height == USERS
    rendered = set(checked.filter(pl.col("source") == "template")["id"].unique())
    assert rendered == {i.id for i in catalog.items}, "every template rendered for someone"
    insights = set(checked.filter(pl.col("source") == "insight")["id"].unique())
    assert insights == {i.id for i in load_insights()}, "every insight wording rendered"
    failures = failures_by_rule(checked)
    assert failures.is_empty(), failures.to_dicts()
    assert pages["repeated"].max() == 0


def _pages(population: dict[str, Any], catalog: Catalog) -> Iterator[tuple[str, Page]]:
    return population_pages(
        population["recs"], population["view"], population["assignments"], catalog,
        load_insights(), config=population["settings"].recommend,
    )  # fmt: skip


def test_every_page_shows_each_number_from_one_period(
    population: dict[str, Any], catalog: Catalog
) -> None:
    cfg = population["settings"].recommend
    values = {(r["user_id"], r["window_days"]): r for r in population["view"].to_dicts()}
    checked = 0
    for user_id, page in _pages(population, catalog):
        shown: dict[str, object] = {}  # field -> the value the page shows for it
        for card in page.cards:
            row = values[(user_id, card.window_days)]
            for field in catalog.get(card.item_id).fields:
                if not field.startswith("window."):
                    assert shown.setdefault(field, row[field]) == row[field], (user_id, field)
        education = sum(c.kind == "education" for c in page.cards)
        offers = len(page.cards) - education
        assert education <= cfg.education_max and offers <= cfg.offer_max
        assert len({c.item_id for c in page.cards}) == len(page.cards)
        windows = [c.window_days for c in page.cards]
        if len(set(windows)) > 1:  # the page names its main period, other cards their own
            main = max(set(windows), key=lambda w: (windows.count(w), w))
            assert page.period_note and f"last {main} days" in page.period_note
            for c in page.cards:
                if c.window_days != main:
                    assert c.period_label or f"last {c.window_days} days" in c.why
        checked += 1
    assert checked == USERS
