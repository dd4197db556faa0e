"""Property-based fuzzing of every Open311 operation against the OpenAPI document it serves.

Schemathesis generates requests from the document; every answer must be no 5xx, a documented
status and content type, and JSON that matches the documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from city311.open311 import openapi
from city311.open311.models import ApiKey
from tests import test_open311 as reads

# The city, as the read tests set it up.
city = reads.city

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi.document("http://testserver/open311/v2/")["paths"].items()
    for method in item
]


@pytest.fixture
def open311_schema(city):
    city.report()
    # As Django's test client does: the test's transaction must survive each request's end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", get_wsgi_application())
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_it_answers_every_generated_request_as_documented(open311_schema, method, path):
    key = ApiKey.issue("Fuzzer", rate_limit_per_minute=100_000)[1]
    operation = open311_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    def answers_as_documented(case):
        if method == "POST" and isinstance(case.body, dict) and len(case.body) % 2 == 0:
            # Half the posts carry a real key, so the fuzzing reaches past the key check.
            case.body["api_key"] = key
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()
