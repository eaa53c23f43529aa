"""Catalog: shipped content validates and covers every persona; bad items are refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from spendsense.recommend.catalog import (
    CONTENT_DIR,
    Catalog,
    CatalogError,
    load_catalog,
    parse_catalog,
)
from spendsense.recommend.insights import load_insights
from spendsense.recommend.triggers import SIGNAL_IDS

GOOD_OFFER = {
    "id": "off_ok", "title": "Savings account", "partner": "Bank", "category": "high_yield_savings",
    "terms": {"rate": "4.00% APY", "fees": "no monthly fee"},
    "summary": "A plain savings account offer.", "body": "A savings account with no monthly fee.",
    "personas": [4], "signals": ["savings_growth"], "fields": ["savings.savings_balance"],
    "rationale": "We suggested this because you have {savings.savings_balance:money} saved.",
}  # fmt: skip


def _doc(items: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"items": items})


def test_shipped_catalog_counts_and_coverage(catalog: Catalog) -> None:
    assert len(catalog.education) >= 30
    assert len(catalog.offers) >= 12
    assert catalog.rejected == ()
    for persona in range(1, 6):
        assert any(persona in i.personas for i in catalog.education), persona
        assert any(persona in i.personas for i in catalog.offers), persona
    answered = {s for i in catalog.items for s in i.signals}
    assert answered == set(SIGNAL_IDS)
    assert {i.format for i in catalog.education} >= {
        "article",
        "checklist",
        "calculator",
        "template",
    }
    assert catalog.version.startswith("cat-")


def test_version_changes_with_content() -> None:
    one = parse_catalog({"offers/a.yaml": _doc([GOOD_OFFER])})
    two = parse_catalog({"offers/a.yaml": _doc([{**GOOD_OFFER, "title": "Savings account 2"}])})
    assert one.version != two.version


def test_harmful_offer_is_excluded_with_reason() -> None:
    payday = {**GOOD_OFFER, "id": "off_payday", "category": "payday_loan"}
    worded = {**GOOD_OFFER, "id": "off_advance", "body": "Instant cash advance up to $500."}
    cat = parse_catalog({"offers/a.yaml": _doc([GOOD_OFFER, payday, worded])})
    assert [o.id for o in cat.offers] == ["off_ok"]
    reasons = {r.item_id: r.reason for r in cat.rejected}
    assert reasons["off_payday"].startswith("harmful: category")
    assert reasons["off_advance"].startswith("harmful: wording")


def test_shaming_item_is_dropped_with_reason() -> None:
    bad = {**GOOD_OFFER, "id": "off_bad", "summary": "Stop being so irresponsible with savings."}
    cat = parse_catalog({"offers/a.yaml": _doc([bad])})
    assert cat.offers == ()
    assert cat.rejected[0].reason.startswith("tone:")


@pytest.mark.parametrize(
    "change",
    [
        {"fields": ["savings.nope"]},
        {"rationale": "We suggested this because you are great."},
        {"rationale": "You have {savings.savings_balance:money} saved."},
        {"personas": [7]},
        {"signals": ["unknown_signal"]},
        {"surprise": 1},
    ],
)
def test_invalid_item_stops_the_load(change: dict[str, object]) -> None:
    with pytest.raises(CatalogError):
        parse_catalog({"offers/a.yaml": _doc([{**GOOD_OFFER, **change}])})


def test_duplicate_ids_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="duplicate"):
        parse_catalog({"offers/a.yaml": _doc([GOOD_OFFER, GOOD_OFFER])})
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)


def test_load_from_a_copy(tmp_path: Path) -> None:
    (tmp_path / "offers").mkdir()
    (tmp_path / "offers" / "a.yaml").write_text(_doc([GOOD_OFFER]))
    assert [o.id for o in load_catalog(tmp_path).offers] == ["off_ok"]
    assert CONTENT_DIR.is_dir()


def test_the_catalog_and_insights_load_from_inside_a_zip(tmp_path: Path) -> None:
    """As on Spark executors, where spendsense is imported from the zip ``--py-files`` ships."""
    shipped = Path(str(CONTENT_DIR))
    archive = tmp_path / "spendsense.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(p for p in shipped.rglob("*") if p.is_file()):
            zipped.write(path, f"spendsense/content/{path.relative_to(shipped).as_posix()}")
    inside = zipfile.Path(archive, "spendsense/content/")
    catalog = load_catalog(inside)
    assert catalog.version == load_catalog().version
    assert catalog.items == load_catalog().items
    assert load_insights(inside) == load_insights()


def test_a_changed_catalog_file_is_picked_up_after_the_recheck_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog is cached per process; its files are looked at again at most every
    RECHECK_S, and a changed file then gives a new catalog."""
    import shutil

    from spendsense import stages
    from spendsense.config import Settings

    monkeypatch.setattr(stages, "RECHECK_S", 3600.0)
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    settings = Settings(data_dir=tmp_path / "data", content_dir=folder)
    first = stages.load_content(settings)
    assert stages.load_content(settings) is first
    offers = folder / "offers" / "partners.yaml"
    offers.write_text(offers.read_text().replace("Meridian Card Co.", "Meridian Cards Ltd."))
    assert stages.load_content(settings) is first  # within the interval: not looked at again
    monkeypatch.setattr(stages, "RECHECK_S", 0.0)
    changed = stages.load_content(settings)
    assert changed is not first
    assert any(o.partner == "Meridian Cards Ltd." for o in changed.offers)
