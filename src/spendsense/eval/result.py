"""Metric records and the evaluation result: targets, pass/fail, JSON/CSV and the summary table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

Op = Literal[">=", "<=", "==", "info"]


@dataclass(frozen=True)
class Metric:
    """One measured number with its target; ``passed`` is None for numbers without a target."""

    group: str
    name: str
    value: float | None
    target: float | None
    op: Op
    unit: str
    n: int
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """True/False against the target (False when nothing was measured); None without a target."""
        if self.op == "info" or self.target is None:
            return None
        if self.value is None:
            return False
        if self.op == ">=":
            return self.value >= self.target - 1e-12
        if self.op == "<=":
            return self.value <= self.target + 1e-12
        return abs(self.value - self.target) < 1e-12

    @property
    def verdict(self) -> str:
        """PASS, FAIL, "not tested" (a target with nothing to measure) or "" (no target)."""
        if self.passed is None:
            return ""
        if self.value is None:
            return "not tested"
        return "PASS" if self.passed else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record (``passed`` and ``verdict`` included)."""
        return {**asdict(self), "passed": self.passed, "verdict": self.verdict}


def metric(
    group: str,
    name: str,
    value: float | None,
    *,
    target: float | None = None,
    op: Op = "info",
    unit: str = "",
    n: int = 0,
    note: str = "",
) -> Metric:
    """Build a metric, rounding the value for stable output."""
    rounded = None if value is None else round(float(value), 6)
    return Metric(group, name, rounded, target, op, unit, int(n), note)


def share(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, None when nothing was measured."""
    return None if denominator == 0 else numerator / denominator


@dataclass
class EvalResult:
    """All metrics of one evaluation, the details behind them and the files written."""

    as_of_date: str | None
    metrics: list[Metric]
    details: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    frames: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    def get(self, group: str, name: str) -> Metric:
        """The metric called ``name`` in ``group`` (KeyError when absent)."""
        for m in self.metrics:
            if m.group == group and m.name == name:
                return m
        raise KeyError(f"{group}.{name}")

    @property
    def targets(self) -> list[Metric]:
        """Metrics that carry a target."""
        return [m for m in self.metrics if m.op != "info"]

    @property
    def failed(self) -> list[Metric]:
        """Targets not met, the ones that could not be tested included."""
        return [m for m in self.targets if not m.passed]

    @property
    def all_passed(self) -> bool:
        """True when every metric with a target passes."""
        return all(m.passed for m in self.targets)

    def to_json(self) -> dict[str, Any]:
        """The whole result as a JSON-ready mapping (metrics.json)."""
        return {
            "as_of_date": self.as_of_date,
            "all_targets_passed": self.all_passed,
            "metrics": [m.as_dict() for m in self.metrics],
            "details": self.details,
            "notes": self.notes,
        }

    def frame(self) -> pl.DataFrame:
        """The metrics as a table (metrics.csv)."""
        rows = [m.as_dict() for m in self.metrics]
        schema = {
            "group": pl.String, "name": pl.String, "value": pl.Float64, "target": pl.Float64,
            "op": pl.String, "unit": pl.String, "n": pl.Int64, "note": pl.String,
            "passed": pl.Boolean,
        }  # fmt: skip
        return pl.DataFrame(rows, schema=schema, orient="row")

    def write(self, out_dir: Path) -> None:
        """Write metrics.json and metrics.csv into ``out_dir``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=2, sort_keys=True, default=str)
        (out_dir / "metrics.json").write_text(text + "\n")
        self.frame().write_csv(out_dir / "metrics.csv")
        self.files["metrics.json"] = str(out_dir / "metrics.json")
        self.files["metrics.csv"] = str(out_dir / "metrics.csv")

    def summary_table(self) -> str:
        """A plain-text table of the targets and key numbers, for the CLI."""
        lines = [f"SpendSense evaluation as of {self.as_of_date or 'n/a'}"]
        header = f"{'metric':<52} {'value':>10} {'target':>10}  result"
        lines += [header, "-" * len(header)]
        for m in self.metrics:
            if m.op == "info" and not m.note.startswith("key:"):
                continue
            value = _fmt(m.value, m.unit)
            target = "" if m.target is None else f"{m.op} {_fmt(m.target, m.unit)}"
            lines.append(f"{m.group + '.' + m.name:<52} {value:>10} {target:>10}  {m.verdict}")
        failed = [m for m in self.failed if m.value is not None]
        untested = [m for m in self.failed if m.value is None]
        lines.append("-" * len(header))
        lines.append(
            f"{len(self.targets) - len(self.failed)}/{len(self.targets)} targets met"
            + (f"; failing: {', '.join(m.group + '.' + m.name for m in failed)}" if failed else "")
            + (
                f"; not tested: {', '.join(m.group + '.' + m.name for m in untested)}"
                if untested
                else ""
            )
        )
        lines += [f"  {k}: {v}" for k, v in sorted(self.files.items())]
        return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.3f}s"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3f}"
