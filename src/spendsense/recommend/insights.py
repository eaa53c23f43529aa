"""Insights: plain sentences about a customer's own numbers, from ``content/insights.yaml``.

An insight lists wordings (templates in the rationale language) in order of preference; the
first whose every cited value is showable (:func:`spendsense.text.showable`) is used, and an
insight with none is left out: no sentence ever shows a zero or a missing value. The same
rule runs in Python for one page (:func:`render_insight`) and in Polars for a whole
population (:func:`insight_sentences`, for the sentence check over every user).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spendsense.recommend.catalog import CONTENT_DIR, CatalogError
from spendsense.recommend.fields import FIELD_TYPES, KEYS
from spendsense.recommend.rationale import (
    compile_template,
    parse_template,
    render_template,
    template_problems,
)
from spendsense.text import showable, showable_expr

INSIGHTS_FILE = "insights.yaml"


class Insight(BaseModel):
    """One insight: its id, wordings in order of preference, and an optional true/false gate."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]+$")
    templates: list[str] = Field(min_length=1)
    when: str | None = Field(default=None, description="A true/false field that must be true.")

    @model_validator(mode="after")
    def _check(self) -> Insight:
        problems = [
            f"template {n + 1}: {p}"
            for n, t in enumerate(self.templates)
            for p in template_problems(t, set(FIELD_TYPES), because=False, needs_number=False)
        ]
        if self.when is not None and FIELD_TYPES.get(self.when) != pl.Boolean():
            problems.append(f"when: '{self.when}' is not a true/false field")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def cited(self, template: str) -> list[tuple[str, str]]:
        """(field, format) of every placeholder in one of its templates."""
        return [(h.field, h.fmt) for h in parse_template(template)[1]]

    @property
    def fields(self) -> set[str]:
        """Every field any of its wordings cites."""
        return {f for t in self.templates for f, _ in self.cited(t)}


@dataclass(frozen=True)
class Rendered:
    """One insight's sentence and the fields its numbers come from."""

    insight_id: str
    sentence: str
    fields: tuple[str, ...]


def render_insight(insight: Insight, values: Mapping[str, Any]) -> Rendered | None:
    """The first wording of ``insight`` whose cited values can all be shown (None if none can)."""
    if insight.when is not None and not values.get(insight.when):
        return None
    for template in insight.templates:
        cited = insight.cited(template)
        if all(showable(values.get(f), fmt) for f, fmt in cited):
            sentence = render_template(template, values)
            if sentence is not None:
                return Rendered(insight.id, sentence, tuple(dict.fromkeys(f for f, _ in cited)))
    return None


def insight_sentences(view: pl.DataFrame, insights: tuple[Insight, ...]) -> pl.DataFrame:
    """Every insight sentence of every (user, window) of a feature view, long form.

    Columns: user_id, window_days, insight_id, sentence. Rows without a showable wording
    are left out, as on the page.
    """
    parts = []
    for insight in insights:
        chosen = pl.lit(None, pl.String)
        for template in reversed(insight.templates):
            ok = pl.all_horizontal([showable_expr(f, fmt) for f, fmt in insight.cited(template)])
            chosen = pl.when(ok).then(compile_template(template)).otherwise(chosen)
        if insight.when is not None:
            chosen = pl.when(pl.col(insight.when).fill_null(False)).then(chosen)
        parts.append(
            view.select(*KEYS, pl.lit(insight.id).alias("insight_id"), chosen.alias("sentence"))
        )
    if not parts:
        return pl.DataFrame(
            schema={
                **{k: view.schema[k] for k in KEYS},
                "insight_id": pl.String,
                "sentence": pl.String,
            }
        )
    return pl.concat(parts).drop_nulls("sentence")


def parse_insights(text: str, source: str = INSIGHTS_FILE) -> tuple[Insight, ...]:
    """Insights from YAML text (``insights:`` list); problems name the file and the item."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("insights"), list):
        raise CatalogError(f"{source}: expected a mapping with an 'insights' list")
    out: list[Insight] = []
    errors: list[str] = []
    for pos, raw in enumerate(data["insights"]):
        name = raw.get("id", f"#{pos}") if isinstance(raw, dict) else f"#{pos}"
        try:
            out.append(Insight.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "item"
            errors.append(f"{source} insight {name}: {loc}: {first['msg']}")
    ids = [i.id for i in out]
    errors += [
        f"{source} insight {i}: duplicate id" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if errors:
        raise CatalogError(f"{len(errors)} insight problem(s): " + " | ".join(errors))
    return tuple(out)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> tuple[Insight, ...]:
    return parse_insights(path.read_text(encoding="utf-8"), path.name)


def load_insights(root: Traversable = CONTENT_DIR) -> tuple[Insight, ...]:
    """``root/insights.yaml``, parsed once per process while the file is unchanged."""
    path = root / INSIGHTS_FILE
    try:
        if isinstance(path, Path):
            return _load(path, path.stat().st_mtime_ns)
        return parse_insights(path.read_text(encoding="utf-8"), path.name)  # inside a wheel
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the insights: {exc}") from exc
