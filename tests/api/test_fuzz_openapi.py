"""Schemathesis against the app's own OpenAPI document, in-process (ASGI), as operator and customer.

Bounded: a few examples per operation. No response may be a 5xx, and every JSON error keeps the
one shape ({"error": {"code", "message", "field"}}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apiseed import seed
from hypothesis import HealthCheck, given, settings

from spendsense.api.app import create_app

EXAMPLES = 15


@pytest.mark.slow
def test_api_never_500(tmp_path: Path) -> None:
    seeded = seed(tmp_path / "data")
    app = create_app(seeded.settings, cookie_secure=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    principals = {"customer": seeded.cust("u1"), "operator": seeded.op()}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    seen: dict[int, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            for who, headers in principals.items():  # the customer first: it changes less
                response = case.call(headers=headers)
                seen[response.status_code] = seen.get(response.status_code, 0) + 1
                assert response.status_code < 500, (who, case.path, response.text[:300])
                content_type = str(response.headers.get("content-type", ""))
                if response.status_code >= 400 and "application/json" in content_type:
                    body = response.json()
                    assert set(body) == {"error"}, body
                    assert {"code", "message"} <= set(body["error"]), body

        check()
    assert any(code < 300 for code in seen) and any(code >= 400 for code in seen), seen
