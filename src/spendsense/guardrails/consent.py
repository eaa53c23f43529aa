"""Consent filter: no consent, no processing (pure helper over the users table)."""

from __future__ import annotations

import polars as pl

GRANTED = "granted"


def filter_consented(frame: pl.DataFrame, users: pl.DataFrame) -> pl.DataFrame:
    """Keep the rows of ``frame`` whose ``user_id`` has ``consent_status == "granted"`` in ``users``."""
    granted = users.filter(pl.col("consent_status") == GRANTED).select(
        pl.col("user_id").cast(pl.String)
    )
    return frame.join(granted.unique(), on="user_id", how="semi")
