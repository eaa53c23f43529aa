"""One typed settings object, built by the CLI or the app factory (never at import)."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from spendsense.config_section import Section
from spendsense.errors import ConfigError
from spendsense.guardrails.delivery import DEFAULT_POLICY, DESCRIPTIONS, DeliveryPolicy
from spendsense.paths import DEFAULT_DATA_DIR, resolve_data_dir
from spendsense.paths import db_path as db_path_of
from spendsense.personas.config import PersonasConfig
from spendsense.recommend.config import RecommendConfig
from spendsense.signals.config import SignalsConfig

CONFIG_VERSION = "2026-11-21.1"


class Settings(Section):
    """Everything a run needs; every field has a default and a description (an unknown key
    anywhere is an error that names the closest known one)."""

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Where the database, features and reports live."
    )
    signals: SignalsConfig = Field(
        default=SignalsConfig(), description="Signal windows, recurring detection, levels."
    )
    personas: PersonasConfig = Field(
        default=PersonasConfig(), description="The persona design's block (seed 000)."
    )
    recommend: RecommendConfig = Field(
        default=RecommendConfig(), description="Item counts, rank weights, trigger levels."
    )
    version: str = Field(
        default=CONFIG_VERSION, description="Configuration version quoted in traces."
    )
    content_dir: Path | None = Field(
        default=None,
        description="Catalog folder (education/, offers/); default: the catalog shipped in the "
        "package (spendsense/content).",
    )
    delivery_policy: DeliveryPolicy = Field(
        default=DEFAULT_POLICY,
        description="What a customer sees (guardrails.delivery): "
        + "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())
        + ". Env: SPENDSENSE_DELIVERY_POLICY.",
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest HTTP request body the app accepts (413 beyond it).",
    )
    chunk_users: int = Field(
        default=25_000,
        ge=1,
        description="Users per chunk: the unit of work that bounds memory (and maps to Spark); "
        "every stage of a run, embedded or Spark, sees at most this many users at once.",
    )

    @property
    def db_path(self) -> Path:
        return db_path_of(self.data_dir)

    @property
    def windows(self) -> list[int]:
        return self.personas.windows or self.signals.windows


def load_settings(config_file: Path | None = None, data_dir: Path | None = None) -> Settings:
    """Build settings from an optional YAML/JSON file, ``SPENDSENSE_DATA_DIR`` /
    ``SPENDSENSE_DELIVERY_POLICY`` and arguments."""
    raw: dict[str, object] = {}
    if config_file is not None:
        import yaml  # only for a configuration file: every CLI command builds settings

        try:
            text = config_file.read_text()
            loaded = json.loads(text) if config_file.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"{config_file}: cannot read configuration: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: configuration must be a mapping")
        raw = loaded
    if data_dir is not None or "data_dir" not in raw:  # the argument, else the file's, else env
        raw["data_dir"] = resolve_data_dir(data_dir)
    if "delivery_policy" not in raw and os.environ.get("SPENDSENSE_DELIVERY_POLICY"):
        raw["delivery_policy"] = os.environ["SPENDSENSE_DELIVERY_POLICY"]
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        raise ConfigError("configuration: " + "; ".join(problems)) from exc


def _problem(error: Any) -> str:
    """One validation error as a sentence; an unknown key names its closest known sibling."""
    loc = [str(p) for p in error["loc"]]
    where = ".".join(loc)
    if error["type"] != "extra_forbidden":
        return f"field {where}: {error['msg']}"
    known = _fields_at(loc[:-1])
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    hint = f"; did you mean '{'.'.join([*loc[:-1], close[0]])}'?" if close else ""
    return f"unknown setting '{where}'{hint} (known here: {', '.join(known)})"


def _fields_at(path: list[str]) -> list[str]:
    """The field names of the section at ``path`` (``["personas", "thresholds"]``)."""
    model: type[BaseModel] = Settings
    for name in path:
        annotation = model.model_fields[name].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def reference() -> list[tuple[str, str, str]]:
    """Every setting as (dotted name, default, description), sections before their fields."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            dotted = f"{prefix}{name}"
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                rows.append((dotted, "", info.description or ""))
                walk(annotation, f"{dotted}.")
            else:
                rows.append((dotted, json.dumps(info.default, default=str), info.description or ""))

    walk(Settings, "")
    return rows


def reference_markdown() -> str:
    """The settings table of docs/configuration.md (``python scripts/config_reference.py``)."""
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for name, default, text in reference():
        shown = f"`{default}`" if default else "(section)"
        lines.append(f"| `{name}` | {shown} | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
