"""The JSON API against its own OpenAPI document (schemathesis): whatever parameters are sent
(impossible dates, unknown names, odd text, numbers out of range), no request is a server
error; every answer is JSON.

The operations are read from the document of a site on a demo ledger built by the test (not at
collection), and each is fed hypothesis examples from schemathesis' strategy for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from infra.web import create_app
from tests.cli_process import cledger

EXAMPLES = 15  # per operation


@pytest.mark.slow
def test_no_parameter_makes_a_server_error(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/demo.db"
    cledger("demo", store=store)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(store))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    seen: dict[str, set[int]] = {}
    for operation in operations:
        _checker(operation, seen)()
    # the examples reached the views, not only the parameter checks
    assert sum(200 in codes for codes in seen.values()) >= 10, seen


def _checker(operation: Any, seen: dict[str, set[int]]) -> Any:
    """A hypothesis test of one operation: each example sent, no server error, JSON back."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error])
        kind = response.headers.get("content-type")
        kind = kind[0] if isinstance(kind, list) else kind
        assert str(kind).startswith("application/json"), (case.path, response.text[:200])
        seen.setdefault(operation.path, set()).add(response.status_code)

    return check
