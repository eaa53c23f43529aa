"""The report's charts as PNG files (matplotlib, Agg backend); skipped with a note when unavailable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#999999"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def persona_mix(mix: pl.DataFrame, path: Path) -> Path:
    """Stacked bars: share of consented users per primary persona (STABLE, none), per window."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 2.4))
    wide = mix.pivot(on="persona", index="window_days", values="share").fill_null(0)
    wide = wide.sort("window_days")
    labels = [f"{w}d" for w in wide["window_days"].to_list()]
    tail = ["STABLE", "no assignment"]
    order = sorted(c for c in wide.columns if c not in ("window_days", *tail))
    order += [c for c in tail if c in wide.columns]
    bottom = [0.0] * wide.height
    for i, col in enumerate(order):
        colour = {"STABLE": COLOURS[6], "no assignment": "#222222"}.get(col, COLOURS[i % 5])
        vals = (wide[col] * 100).to_list()
        ax.barh(labels, vals, left=bottom, color=colour, label=col)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xlabel("% of consented users")
    ax.set_xlim(0, 100)
    if order:  # a legend without bars makes matplotlib warn
        ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.3), frameon=False)
    else:
        ax.text(50, 0, "no persona assignments yet", ha="center", va="center", fontsize=7)
    ax.set_title("Primary persona by window")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def coverage(counts: pl.DataFrame, path: Path) -> Path:
    """Stacked bars per window: covered, ASSIGNED with < 3 behaviours, STABLE, no assignment."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 2.0))
    parts = [("covered", "covered"), ("assigned_lt3", "assigned, < 3 behaviours"),
             ("stable", "STABLE"), ("unassigned", "no assignment")]  # fmt: skip
    labels = [f"{w}d" for w in counts["window_days"].to_list()]
    total = counts["users"].cast(pl.Float64)
    bottom = [0.0] * counts.height
    for i, (col, label) in enumerate(parts):
        vals = (counts[col].cast(pl.Float64) / total * 100).fill_nan(0).to_list()
        ax.barh(labels, vals, left=bottom, color=COLOURS[[2, 1, 6, 3][i]], label=label)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.axvline(100, color="black", lw=0.8, ls=":")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of consented users (target: 100% covered)")
    ax.legend(fontsize=6, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.45), frameon=False)
    ax.set_title("Coverage")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def fairness(rates: pl.DataFrame, path: Path) -> Path:
    """Each group's rate relative to the best group of its attribute (offers, else any persona)."""
    plt = _pyplot()
    outcome, what = "offer", "offer rate"
    if rates.filter(pl.col("outcome") == "offer")["x"].sum() == 0:
        outcome, what = "assigned", "persona assigned (no offers)"
    chosen = rates.filter(pl.col("outcome") == outcome).sort("attribute", "group", descending=True)
    fig, ax = plt.subplots(figsize=(4.2, max(1.6, 0.16 * chosen.height + 0.7)))
    labels = chosen.select(
        pl.format(
            "{}: {} (n={}{})", "attribute", "group", "n",
            pl.when(pl.col("tested")).then(pl.lit("")).otherwise(pl.lit(", not tested")),
        ).alias("label")
    )["label"].to_list()  # fmt: skip
    ratios = chosen["ratio"].fill_null(0).to_list()
    colours = chosen.select(
        pl.when(~pl.col("tested"))
        .then(pl.lit("#d0d0d0"))
        .when(pl.col("significant_violation"))
        .then(pl.lit(COLOURS[3]))
        .when(pl.col("below_four_fifths"))
        .then(pl.lit(COLOURS[1]))
        .otherwise(pl.lit(COLOURS[0]))
        .alias("colour")
    )["colour"].to_list()
    ax.barh(labels, ratios, color=colours)
    ax.axvline(0.8, color="black", lw=0.8, ls="--")
    ax.set_xlim(0, 1.05)
    ax.tick_params(axis="y", labelsize=6)
    tested = int(chosen["tested"].sum())
    ax.set_xlabel(
        "rate / best group's rate (red: significant, orange: not significant,\n"
        f"grey: group too small to test; {tested} of {chosen.height} groups tested)"
    )
    ax.set_title(f"Four-fifths check: {what}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def latency(timings: pl.DataFrame, p50: float | None, p95: float | None, path: Path) -> Path:
    """Histogram of per-user seconds with p50 and p95 marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 1.9))
    secs = timings["seconds"].drop_nulls().to_list()
    ax.hist(secs or [0.0], bins=min(20, max(5, len(secs))), color=COLOURS[0])
    for value, label, style in ((p50, "p50", "-"), (p95, "p95", "--")):
        if value is not None:
            ax.axvline(value, color="black", lw=0.8, ls=style, label=f"{label} {value:.2f}s")
    ax.set_xlabel("seconds per user (recompute_user)")
    ax.set_ylabel("users")
    if p50 is not None or p95 is not None:
        ax.legend(fontsize=6, frameon=False)
    ax.set_title("Per-user latency")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
