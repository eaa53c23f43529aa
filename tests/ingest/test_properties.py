"""Properties: arbitrary JSON never crashes ingest; valid records are never dropped."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import account, bundle, ingest_paths, txn

from spendsense.errors import InputUnreadable

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
fields = st.sampled_from(
    ["amount", "date", "account_id", "pending", "payment_channel", "iso_currency_code", "name"]
)


def _ingest(doc: Any) -> Any:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "u1.data.json"
        path.write_text(json.dumps(doc))
        return ingest_paths([path])


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_never_crashes(doc: Any) -> None:
    """Any JSON is either refused as a whole with a one-line reason, or read with every reject
    naming its position and reason."""
    try:
        batch = _ingest(doc)
    except InputUnreadable as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert all(r.position and r.reason for r in batch.rejects)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(fields, json_values, max_size=3), st.lists(json_values, max_size=3))
def test_valid_records_survive_bad_neighbours(change: dict[str, Any], junk: list[Any]) -> None:
    good = [txn(f"g{i}", amount=i + 0.25) for i in range(3)]
    bad = {**txn("bad"), **change}
    doc = bundle(accounts=[account()], transactions=[*good, bad, *junk])
    b = _ingest(doc)
    ids = b.frames["transactions"]["transaction_id"].to_list()
    assert ids[:3] == ["g0", "g1", "g2"]
    assert b.frames["transactions"]["amount_cents"].to_list()[:3] == [25, 125, 225]
    # everything given is either loaded or rejected with a position
    assert len(ids) + sum(r.table == "transactions" for r in b.rejects) == 4 + len(junk)
