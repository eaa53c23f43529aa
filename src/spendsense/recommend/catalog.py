"""The content catalog: education items and partner offers as data, validated on load.

Files live in ``spendsense/content/education/*.yaml`` and ``.../offers/*.yaml``, each a
mapping with an ``items`` list. Structure errors stop the load (``CatalogError``);
items whose wording fails the tone check, and offers on the harmful list, are
dropped and recorded in ``Catalog.rejected``. The version is a hash of the files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spendsense.errors import ConfigError
from spendsense.guardrails.disclosure import offer_disclosure
from spendsense.guardrails.eligibility import harmful_expr, harmful_reason
from spendsense.guardrails.tone import tone_violations
from spendsense.personas.config import PersonaThresholds
from spendsense.recommend.candidates import Plan, build_plan
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import FIELD_TYPES
from spendsense.recommend.rationale import compiled_templates, parse_template, template_problems
from spendsense.recommend.triggers import SIGNAL_IDS

CONTENT_DIR: Traversable = resources.files("spendsense") / "content"
"""The catalog shipped inside the package (``spendsense/content``, package data in the wheel).

A folder when the package is installed; a folder inside the wheel when it is imported from
the wheel itself, as Spark's driver and executors do with ``spark-submit --py-files``."""


class CatalogError(ConfigError):
    """A catalog file that cannot be read or has an invalid item."""

    code = "invalid_catalog"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]+$", description="Stable id, unique in the catalog.")
    title: str = Field(min_length=3)
    summary: str = Field(min_length=10)
    body: str = Field(min_length=20)
    personas: list[int] = Field(default_factory=list, description="Persona ids 1-5 it is made for.")
    signals: list[str] = Field(
        min_length=1, description="Signals it answers (see triggers.SIGNAL_IDS)."
    )
    fields: list[str] = Field(min_length=1, description="Feature fields the rationale cites.")
    rationale: str = Field(description="Template: plain text with {field:format} placeholders.")
    weight: float = Field(default=0.5, ge=0, le=1, description="Editorial priority among equals.")
    general: bool = Field(default=False, description="Part of the general set for STABLE users.")

    @model_validator(mode="after")
    def _check(self) -> _Item:
        problems = [f"persona {p} is not 1-5" for p in self.personas if p not in range(1, 6)]
        problems += [f"unknown signal '{s}'" for s in self.signals if s not in SIGNAL_IDS]
        problems += [f"unknown field '{f}'" for f in self.fields if f not in FIELD_TYPES]
        problems += [f"field '{f}' may not be cited" for f in self.fields if f.startswith("user.")]
        problems += template_problems(self.rationale, set(FIELD_TYPES))
        cited = {h.field for h in parse_template(self.rationale)[1]}
        if cited != set(self.fields):
            problems.append(f"fields {sorted(self.fields)} differ from those cited {sorted(cited)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def texts(self) -> list[str]:
        """Everything shown to a user (the template's literal text included)."""
        return [self.title, self.summary, self.body, " ".join(parse_template(self.rationale)[0])]


CALCULATORS = ("card_payoff", "emergency_fund", "savings_rate")
"""The working calculators a ``format: calculator`` item can open (see web/calculators.py)."""


class EducationItem(_Item):
    """An article, checklist, calculator or budget template."""

    format: Literal["article", "checklist", "calculator", "template", "guide"]
    reading_time_minutes: int = Field(ge=1, le=60)
    calculator: Literal[CALCULATORS] | None = Field(  # type: ignore[valid-type]
        default=None, description="Which working calculator opens (format: calculator only)."
    )

    @model_validator(mode="after")
    def _calculator(self) -> EducationItem:
        if (self.format == "calculator") != (self.calculator is not None):
            raise ValueError("an item has a calculator exactly when its format is calculator")
        return self


class Eligibility(BaseModel):
    """Who may see an offer; a missing value means no requirement."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_monthly_income: float | None = Field(
        default=None, ge=0, description="income.avg_monthly_income at least."
    )
    max_utilization: float | None = Field(
        default=None, ge=0, description="credit.max_utilization at most."
    )
    no_overdue: bool = Field(default=False, description="No card payment past due.")
    exclude_if_has: list[Literal["savings_account", "credit_card"]] = Field(
        default_factory=list, description="Products the user must not already have."
    )
    min_age: int | None = Field(
        default=None, ge=18, description="Youngest age of the user's age band."
    )


class OfferTerms(BaseModel):
    """The key terms a customer sees beside a partner offer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rate: str | None = Field(
        default=None,
        min_length=3,
        description="APR range (credit) or APY (deposits); absent for products without one.",
    )
    fees: str = Field(min_length=3, description="Every fee, or that there is none.")

    def as_json(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True)


class OfferItem(_Item):
    """A partner product, shown only to users who pass its eligibility."""

    partner: str = Field(min_length=2)
    category: str = Field(pattern=r"^[a-z_]+$")
    terms: OfferTerms = Field(description="Key terms shown with the offer (rate, fees).")
    format: Literal["offer"] = "offer"
    reading_time_minutes: int = Field(default=2, ge=1, le=60)
    eligibility: Eligibility = Eligibility()

    def texts(self) -> list[str]:
        """Shown text plus the partner name, its terms and its disclosure."""
        terms = [t for t in (self.terms.rate, self.terms.fees) if t]
        return [*super().texts(), self.partner, *terms, offer_disclosure(self.partner)]


@dataclass(frozen=True)
class Rejection:
    """An item left out of the catalog at load, and why."""

    item_id: str
    source: str
    reason: str


@dataclass
class Catalog:
    """Validated items, the catalog version, and what was rejected at load."""

    education: tuple[EducationItem, ...]
    offers: tuple[OfferItem, ...]
    version: str
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
    _plans: dict[str, Plan] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def items(self) -> tuple[_Item, ...]:
        return (*self.education, *self.offers)

    def get(self, item_id: str) -> _Item:
        """One item by id."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @cached_property
    def frame(self) -> pl.DataFrame:
        """One row per item: ids, text, persona and signal lists, template, eligibility columns."""
        rows = []
        for item in self.items:
            offer = item if isinstance(item, OfferItem) else None
            elig = offer.eligibility if offer else None
            rows.append(
                {
                    "item_id": item.id,
                    "kind": "offer" if offer else "education",
                    "title": item.title,
                    "summary": item.summary,
                    "body": item.body,
                    "partner": offer.partner if offer else None,
                    "offer_terms": offer.terms.as_json() if offer else None,
                    "category": offer.category if offer else "education",
                    "personas": item.personas,
                    "signals": item.signals,
                    "fields": item.fields,
                    "template": item.rationale,
                    "weight": item.weight,
                    "general": item.general,
                    "elig_min_monthly_income": elig.min_monthly_income if elig else None,
                    "elig_max_utilization": elig.max_utilization if elig else None,
                    "elig_no_overdue": elig.no_overdue if elig else False,
                    "elig_exclude_savings_account": bool(
                        elig and "savings_account" in elig.exclude_if_has
                    ),
                    "elig_exclude_credit_card": bool(elig and "credit_card" in elig.exclude_if_has),
                    "elig_min_age": elig.min_age if elig else None,
                }
            )
        return pl.DataFrame(rows, schema=_ROW_SCHEMA).with_columns(
            harmful_expr().alias("item_harmful")
        )

    @cached_property
    def compiled(self) -> dict[str, tuple[list[str], pl.Expr, pl.Expr]]:
        """Rationale and cited-values expressions per item, compiled once."""
        return compiled_templates(self.frame)

    def plan(self, config: RecommendConfig, personas: PersonaThresholds) -> Plan:
        """Scoring tables and expressions for the configuration, built on first use, then reused."""
        key = config.model_dump_json() + personas.model_dump_json()
        if key not in self._plans:
            self._plans[key] = build_plan(self.frame, config, personas)
        return self._plans[key]


_ROW_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(), "kind": pl.String(), "title": pl.String(), "summary": pl.String(),
    "body": pl.String(), "partner": pl.String(), "offer_terms": pl.String(),
    "category": pl.String(),
    "personas": pl.List(pl.Int32()), "signals": pl.List(pl.String()), "fields": pl.List(pl.String()),
    "template": pl.String(), "weight": pl.Float64(), "general": pl.Boolean(),
    "elig_min_monthly_income": pl.Float64(), "elig_max_utilization": pl.Float64(),
    "elig_no_overdue": pl.Boolean(), "elig_exclude_savings_account": pl.Boolean(),
    "elig_exclude_credit_card": pl.Boolean(), "elig_min_age": pl.Int32(),
}  # fmt: skip
CATALOG_SCHEMA: dict[str, pl.DataType] = {**_ROW_SCHEMA, "item_harmful": pl.Boolean()}
"""The columns of :attr:`Catalog.frame`."""


def catalog_version(documents: Mapping[str, str]) -> str:
    """A short hash over every file's name and text: changes whenever the content does."""
    digest = hashlib.sha256()
    for name in sorted(documents):
        digest.update(name.encode() + b"\0" + documents[name].encode() + b"\0")
    return "cat-" + digest.hexdigest()[:16]


def _entries(name: str, text: str) -> list[object]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise CatalogError(f"{name}: expected a mapping with an 'items' list")
    return list(data["items"])


def parse_catalog(documents: Mapping[str, str]) -> Catalog:
    """Build a catalog from ``{relative path: YAML text}`` (paths under education/ or offers/)."""
    education: list[EducationItem] = []
    offers: list[OfferItem] = []
    rejected: list[Rejection] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for name in sorted(documents):
        is_offer = Path(name).parts[0] == "offers"
        model: type[_Item] = OfferItem if is_offer else EducationItem
        for pos, raw in enumerate(_entries(name, documents[name])):
            item_id = raw.get("id", f"#{pos}") if isinstance(raw, dict) else f"#{pos}"
            try:
                item = model.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"]) or "item"
                errors.append(f"{name} item {item_id}: {loc}: {first['msg']}")
                continue
            if item.id in seen:
                errors.append(f"{name} item {item.id}: duplicate id (also in {seen[item.id]})")
                continue
            seen[item.id] = name
            bad_tone = [v for text in item.texts() for v in tone_violations(text)]
            if bad_tone:
                rejected.append(
                    Rejection(item.id, name, f"tone: {', '.join(sorted(set(bad_tone)))}")
                )
                continue
            if isinstance(item, OfferItem):
                harm = harmful_reason(item.category, item.texts())
                if harm:
                    rejected.append(Rejection(item.id, name, harm))
                    continue
                offers.append(item)
            else:
                education.append(item)  # type: ignore[arg-type]
    if errors:
        raise CatalogError(f"{len(errors)} catalog problem(s): " + " | ".join(errors))
    return Catalog(tuple(education), tuple(offers), catalog_version(documents), tuple(rejected))


def load_catalog(root: Traversable = CONTENT_DIR) -> Catalog:
    """Read and validate every ``*.yaml`` under ``root/education`` and ``root/offers``.

    ``root`` is a folder or a folder inside a zip (:data:`CONTENT_DIR` imported from a wheel).
    """
    try:
        documents = {
            f"{sub}/{entry.name}": entry.read_text(encoding="utf-8")
            for sub in ("education", "offers")
            if (root / sub).is_dir()
            for entry in (root / sub).iterdir()
            if entry.name.endswith(".yaml") and entry.is_file()
        }
    except OSError as exc:
        raise CatalogError(f"{root}: cannot read the catalog: {exc}") from exc
    if not documents:
        raise CatalogError(f"{root}: no catalog files under education/ or offers/")
    return parse_catalog(documents)
