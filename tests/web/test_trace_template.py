"""The console's trace view says where Savings Builder's figures come from."""

from __future__ import annotations

import pytest

from spendsense.web.templates import build


def _trace(source: str | None) -> dict[str, object]:
    crit = {"value": 600.0, "threshold": 200.0, "op": ">=", "met": True, "source": source}
    return {
        "evaluations": {
            "persona_4": {
                "persona_name": "Savings Builder",
                "matched": True,
                "criteria": {"net_inflow_monthly": crit},
            }
        }
    }


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("checking_transfers", "from transfers to savings seen on checking"),
        ("savings_account", "from the savings account's own history"),
        (None, None),
    ],
)
def test_trace_names_the_savings_source(source: str | None, shown: str | None) -> None:
    html = build().env.get_template("_trace.html").render(trace=_trace(source))
    assert "600.00" in html
    if shown is None:
        assert "from transfers" not in html and "own history" not in html
    else:
        assert shown in html
