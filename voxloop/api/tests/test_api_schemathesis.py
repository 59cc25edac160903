"""Schemathesis over the whole OpenAPI schema (issue 15): every operation, generated requests, every check.

0 server errors, 0 answers that break the schema (status codes, content types, headers, bodies), valid data
accepted, invalid data refused. A fixed seed and a bounded number of examples per operation keep it in CI's time;
SCHEMATHESIS_MAX_EXAMPLES raises the bound for a longer run by hand."""

from __future__ import annotations

import os
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from schemathesis.core.failures import ServerError
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from voxloop.accounts.models import User
from voxloop.api.models import IdempotentRequest, Scope
from voxloop.api.services import create_api_token

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
SEED = 20261207
TALLY = f"schemathesis (seed {SEED}, at most {MAX_EXAMPLES} generated per operation, all checks; valid data may be refused with a documented code)"

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
# Valid data (accepted, or refused with a documented code) and invalid data (refused: a 4xx, or in a batch the
# item named; an unknown query parameter is a 422 too).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode(m) for m in os.environ.get("SCHEMATHESIS_MODES", "positive,negative").split(",")]
)


@schemathesis.check
def valid_data_refused_only_for_a_documented_reason(ctx, response, case) -> None:
    """positive_data_acceptance, less what JSON Schema cannot say: a schema-valid request may still be refused for
    a documented rule across fields or the present (a date in the future, a rating above its scale, a case that
    cannot move to that status), and then the answer names the rule in `code`. A refusal without a code means the
    schema promised something the API does not accept."""
    meta = case.meta
    if meta is None or response.status_code not in (400, 422):
        return
    if not meta.generation.mode.is_positive or any(c.mode.is_negative for c in meta.components.values()):
        return
    body = response.json()
    if not (isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]):
        raise AssertionError(f"A schema-valid request was refused without a documented code: {body}")


def batch_refuses_bad_items_one_by_one(ctx, response, case) -> None:
    """A batch with a schema-violating body is refused whole (4xx) or answers which item it refused."""
    meta = case.meta
    if meta is None or not case.path.endswith("/batch") or response.status_code != 200:
        return
    body_negative = meta.generation.mode.is_negative and any(c.mode.is_negative for c in meta.components.values())
    if not body_negative:
        return
    answer = response.json()
    if not answer.get("rejected"):
        raise AssertionError(f"A schema-violating batch was stored with no item refused: {answer}")


@pytest.fixture
def api_headers(db, settings) -> Iterator[dict[str, str]]:
    # Hundreds of requests a minute: the per-token limit is tested on its own (test_api.py).
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    admin = User.objects.create_superuser("schemathesis", password="x", role="admin")
    raw = create_api_token("schemathesis", list(Scope.values), created_by_id=admin.pk)[1]
    # The WSGI app closes the database connection after each request, the test's transaction with it; Django's
    # own test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {raw}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@hypothesis.seed(SEED)
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_every_operation_keeps_to_the_schema(case, api_headers, tally):
    # Each generated request stands alone: a key drawn twice by chance must not replay another request's answer.
    IdempotentRequest.objects.all().delete()
    excluded = [positive_data_acceptance]
    if case.path.endswith("/batch"):
        # A batch refuses a bad item on its own and stores the others (200): what negative_data_rejection
        # expects of a whole request, batch_refuses_bad_items_one_by_one checks item by item.
        excluded.append(negative_data_rejection)
    # The run's summary line (printed at the end of pytest's output): operations, requests, failures by kind.
    tally.distinct(TALLY, "operations", case.operation.label)
    tally.add(TALLY, examples=1)
    try:
        case.call_and_validate(
            headers=api_headers,
            excluded_checks=excluded,
            additional_checks=[batch_refuses_bad_items_one_by_one],
        )
    except AssertionError as exc:  # schemathesis' Failure, or a FailureGroup of several
        failures = getattr(exc, "exceptions", (exc,))
        server = sum(isinstance(f, ServerError) for f in failures)
        tally.add(TALLY, server_errors=server, schema_violations=len(failures) - server)
        raise
    else:
        tally.add(TALLY, server_errors=0, schema_violations=0)
