"""Inline SVG chart geometry: the numbers only; templates draw them (and escape every label)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LineChart:
    """A polyline over a date axis, with its extremes for labelling."""

    width: int
    height: int
    points: str = ""
    zero_y: float | None = None
    low: float = 0.0
    high: float = 0.0
    first: str = ""
    last: str = ""
    count: int = 0


@dataclass
class Bar:
    label: str
    value: float
    share: float  # 0-1 of the largest bar


@dataclass
class BarChart:
    bars: list[Bar] = field(default_factory=list)
    total: float = 0.0


def line_chart(series: list[tuple[str, float]], width: int = 640, height: int = 180) -> LineChart:
    """Scale (date, value) pairs into SVG coordinates with a small margin."""
    chart = LineChart(width=width, height=height, count=len(series))
    if not series:
        return chart
    values = [v for _, v in series]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 8
    step = (width - 2 * pad) / max(len(series) - 1, 1)

    def y(v: float) -> float:
        return round(height - pad - (v - low) / span * (height - 2 * pad), 1)

    chart.points = " ".join(f"{round(pad + i * step, 1)},{y(v)}" for i, v in enumerate(values))
    chart.zero_y = y(0.0) if low < 0 < high else None
    chart.low, chart.high = low, high
    chart.first, chart.last = series[0][0], series[-1][0]
    return chart


def bar_chart(pairs: list[tuple[Any, float]]) -> BarChart:
    """Horizontal bars scaled to the largest value."""
    if not pairs:
        return BarChart()
    top = max(float(v) for _, v in pairs) or 1.0
    bars = [Bar(label=str(k), value=float(v), share=float(v) / top) for k, v in pairs]
    return BarChart(bars=bars, total=sum(b.value for b in bars))
