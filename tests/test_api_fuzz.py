"""API fuzzing from the OpenAPI description (schemathesis): requests generated for every route, valid and
invalid, sent over real HTTP to `newssearch serve`. No answer may be a server error, and every answer must
have a documented status, content type and shape (cli/apimodels.py; extra fields are refused)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis: pip install -e '.[test]'")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,  # noqa: E402
                                               status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 40  # per route and generation mode: the whole file runs in well under a minute


ROUTES = ["/health", "/search", "/suggest", "/categories", "/articles/{article_id}", "/articles/{article_id}/related"]


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server.base}/openapi.json")


def test_the_description_lists_every_route(api_schema):
    assert sorted(api_schema.raw_schema["paths"]) == sorted(ROUTES)


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE


# Invalid requests (negative) only for routes whose parameters can be wrong: the others take none, or any text.
@pytest.mark.parametrize("route,mode", [(r, POSITIVE) for r in ROUTES]
                         + [(r, NEGATIVE) for r in ROUTES
                            if r not in ("/health", "/categories", "/articles/{article_id}")])
def test_every_answer_is_documented_and_none_is_a_server_error(api_schema, route, mode):
    operation = api_schema[route]["GET"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        # A connection per request: one kept alive can be closed by the server's idle timeout (5 s) just as
        # the next request is sent on it, while hypothesis thinks between examples.
        case.call_and_validate(checks=CHECKS, timeout=30, headers={"Connection": "close"})

    check()
