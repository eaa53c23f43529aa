"""Settings: unknown keys fail with a suggestion, the seed's block loads, every setting is documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from spendsense.config import Settings, load_settings, reference, reference_markdown
from spendsense.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _write(tmp_path: Path, body: object, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body) if name.endswith(".json") else yaml.safe_dump(body))
    return path


def test_a_misspelt_threshold_is_an_error_naming_the_right_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"personas": {"thresholds": {"persona_1": {"utilisation_threshold": 0.6}}}}
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "unknown setting 'personas.thresholds.persona_1.utilisation_threshold'" in message
    assert "did you mean 'personas.thresholds.persona_1.utilization_threshold'" in message


@pytest.mark.parametrize(
    "body",
    [{"chunk_user": 10}, {"signals": {"window": [30]}}, {"recommend": {"weights": {"sign": 1}}}],
    ids=["top", "signals", "recommend.weights"],
)
def test_unknown_keys_fail_in_every_section(tmp_path: Path, body: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting .*did you mean"):
        load_settings(_write(tmp_path, body))


def test_every_unknown_key_is_reported_and_a_far_one_gets_no_guess(tmp_path: Path) -> None:
    path = _write(tmp_path, {"zzz": 1, "signals": {"qqq": 2}})
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "'zzz'" in message and "'signals.qqq'" in message and "did you mean" not in message


def test_the_seed_block_loads_as_json(tmp_path: Path, seed_config: dict[str, Any]) -> None:
    settings = load_settings(_write(tmp_path, seed_config, "config.json"))
    assert settings.personas.windows == [30, 180]
    assert settings.personas.thresholds == Settings().personas.thresholds


def test_recommend_settings_come_from_the_file(tmp_path: Path) -> None:
    body = {"recommend": {"education_max": 4, "thresholds": {"emergency_fund_months": 2.0}}}
    settings = load_settings(_write(tmp_path, body))
    assert settings.recommend.education_max == 4
    assert settings.recommend.thresholds.emergency_fund_months == 2.0


def test_one_chunk_size_for_every_stage() -> None:
    names = [name for name, _, _ in reference()]
    assert [n for n in names if n.endswith("chunk_users")] == ["chunk_users"]


def test_every_setting_has_a_description() -> None:
    missing = [name for name, _, text in reference() if not text.strip()]
    assert missing == []


def test_the_configuration_doc_lists_every_setting_as_the_model_says() -> None:
    text = DOCS.read_text()
    table = text.split("<!-- settings:begin -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert table == reference_markdown(), "run: python scripts/config_reference.py"
    for name, _, _ in reference():
        assert f"| `{name}` |" in table
