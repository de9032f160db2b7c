"""The OpenAPI schema, the docs page, and schemathesis fuzzing the API against it."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from generations.api import tokens
from tests.api.conftest import make_generation
from zimage_site.wsgi import application


def test_the_schema_is_openapi_3_with_examples(anon, db):
    response = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert response.status_code == 200 and schema["openapi"].startswith("3.")
    create = schema["paths"]["/api/v1/generations/"]["post"]
    assert "examples" in create["requestBody"]["content"]["application/json"]
    assert {"202", "402", "429"} <= set(create["responses"])
    assert "bearerAuth" in schema["components"]["securitySchemes"]


def test_the_schema_is_built_without_touching_the_database(client, db, django_assert_num_queries):
    """schemathesis loads it at import, before the test database exists: a query
    there would open a connection (and a pool) on the real database instead."""
    with django_assert_num_queries(0):
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200 and "/api/v1/credits/entries/" in response.json()["paths"]


def test_the_docs_page_renders(anon, db):
    response = anon.get("/api/docs/")
    assert response.status_code == 200 and b"swagger-ui" in response.content


@pytest.fixture
def fuzz_token(owner, settings):
    """Fuzzing as the owner; nothing leaves the process: webhooks off, no throttle."""
    settings.WEBHOOKS_ENABLED, settings.API_THROTTLE_RATE = False, ""
    make_generation(owner, run=True, width=512, height=512)
    # Requests go straight to the WSGI app: keep the end of each from closing the
    # test's database connection (Django's own test client does the same).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield tokens.api_token_create(user=owner, name="fuzz")[1]
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# Loaded at import (no database needed for the schema); each operation is one test.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case, fuzz_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, checks=[not_a_server_error])
