"""Consent filter: only granted users pass."""

from __future__ import annotations

import polars as pl

from spendsense.guardrails.consent import filter_consented


def test_only_granted_users_are_kept() -> None:
    users = pl.DataFrame(
        {"user_id": ["a", "b", "c", "d"], "consent_status": ["granted", "revoked", "none", None]}
    )
    frame = pl.DataFrame({"user_id": ["a", "a", "b", "c", "d", "e"], "x": [1, 2, 3, 4, 5, 6]})
    assert filter_consented(frame, users)["x"].to_list() == [1, 2]
