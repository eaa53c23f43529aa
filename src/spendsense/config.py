"""One typed settings object, built by the CLI or the app factory (never at import)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from spendsense.errors import ConfigError
from spendsense.guardrails.delivery import DEFAULT_POLICY, DESCRIPTIONS, DeliveryPolicy
from spendsense.personas.config import PersonasConfig
from spendsense.recommend.config import RecommendConfig
from spendsense.signals.config import SignalsConfig

CONFIG_VERSION = "2026-11-21.1"


class Settings(BaseModel):
    """Everything a run needs; every field has a default and a description."""

    model_config = {"extra": "ignore"}
    data_dir: Path = Field(
        default=Path("data"), description="Where the database, features and reports live."
    )
    signals: SignalsConfig = SignalsConfig()
    personas: PersonasConfig = PersonasConfig()
    recommend: RecommendConfig = RecommendConfig()
    version: str = Field(
        default=CONFIG_VERSION, description="Configuration version quoted in traces."
    )
    content_dir: Path | None = Field(
        default=None,
        description="Catalog folder (education/, offers/); default: the shipped content/.",
    )
    delivery_policy: DeliveryPolicy = Field(
        default=DEFAULT_POLICY,
        description="What a customer sees (guardrails.delivery): "
        + "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())
        + ". Env: SPENDSENSE_DELIVERY_POLICY.",
    )
    chunk_users: int = Field(
        default=25_000,
        ge=1,
        description="Users per chunk: the unit of work that bounds memory (and maps to Spark).",
    )

    @property
    def db_path(self) -> Path:
        return self.data_dir / "spendsense.db"

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
    if data_dir is not None:
        raw["data_dir"] = data_dir
    elif "data_dir" not in raw and os.environ.get("SPENDSENSE_DATA_DIR"):
        raw["data_dir"] = os.environ["SPENDSENSE_DATA_DIR"]
    if "delivery_policy" not in raw and os.environ.get("SPENDSENSE_DELIVERY_POLICY"):
        raw["delivery_policy"] = os.environ["SPENDSENSE_DELIVERY_POLICY"]
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"configuration field {loc}: {first['msg']}") from exc
