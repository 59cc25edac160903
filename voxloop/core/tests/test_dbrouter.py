"""The read-replica router: which reads go to the replica, and the pin to the primary after a write.

No second server is started: the router's decisions are observed by asking it inside requests handled by its
middleware (the replica alias is declared in settings; no query is sent to it).
"""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from voxloop.accounts.models import User
from voxloop.core import dbrouter
from voxloop.feedback.models import Feedback
from voxloop.metrics.models import MetricDaily

router = dbrouter.ReplicaRouter()


@pytest.fixture
def with_replica(settings, monkeypatch):
    """As with DATABASE_REPLICA_URL set (the alias itself is never queried here)."""
    monkeypatch.setattr(dbrouter, "replica_configured", lambda: True)
    settings.REPLICA_PIN_SECONDS = 15
    return settings


def handle(request, view=None):
    """Run a request through the middleware; returns (response, where the view's reads would go)."""
    seen: dict[str, str | None] = {}

    def get_response(req):
        seen["metrics"] = router.db_for_read(MetricDaily)
        seen["feedback"] = router.db_for_read(Feedback)
        seen["users"] = router.db_for_read(User)
        seen["sessions"] = router.db_for_read(Session)
        if view:
            view()
        return HttpResponse("ok")

    response = dbrouter.ReplicaReadMiddleware(get_response)(request)
    return response, seen


def test_reporting_pages_read_from_the_replica(with_replica):
    factory = RequestFactory()
    for path in ("/metrics/", "/insights/overview/", "/metrics/export.csv", "/feedback/export"):
        response, seen = handle(factory.get(path))
        assert seen["metrics"] == seen["feedback"] == "replica", path
        assert seen["users"] is None and seen["sessions"] is None, "signing in never depends on the replica"
        assert dbrouter.PIN_COOKIE not in response.cookies


def test_other_pages_and_writes_use_the_primary(with_replica):
    factory = RequestFactory()
    _response, seen = handle(factory.get("/feedback/"))
    assert seen["feedback"] is None
    assert router.db_for_write(Feedback) == "default"
    response, seen = handle(factory.post("/metrics/"))
    assert seen["metrics"] is None  # a POST reads what it is about to change from the primary
    assert dbrouter.PIN_COOKIE in response.cookies


def test_a_write_pins_the_browser_to_the_primary_for_a_while(with_replica):
    factory = RequestFactory()
    # A GET that writes (an audit row, a saved view) pins as well as a form post does.
    response, _seen = handle(factory.get("/feedback/1/"), view=lambda: router.db_for_write(Feedback))
    cookie = response.cookies[dbrouter.PIN_COOKIE]
    assert cookie["max-age"] == 15 and cookie["httponly"]
    assert float(cookie.value) == pytest.approx(time.time() + 15, abs=2)

    request = factory.get("/metrics/")
    request.COOKIES[dbrouter.PIN_COOKIE] = cookie.value
    _response, seen = handle(request)
    assert seen["metrics"] is None, "just after writing, the reports read from the primary"

    request = factory.get("/metrics/")
    request.COOKIES[dbrouter.PIN_COOKIE] = f"{time.time() - 1:.0f}"
    _response, seen = handle(request)
    assert seen["metrics"] == "replica", "once the pin has expired, the replica again"

    request = factory.get("/metrics/")
    request.COOKIES[dbrouter.PIN_COOKIE] = "not a time"
    assert handle(request)[1]["metrics"] == "replica"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_on_the_primary(with_replica):
    with dbrouter.replica_reads():
        assert router.db_for_read(MetricDaily) == "replica"
        with transaction.atomic():
            assert router.db_for_read(MetricDaily) is None


def test_without_a_replica_nothing_changes(settings):
    assert "replica" not in settings.DATABASES
    response, seen = handle(RequestFactory().get("/metrics/"))
    assert set(seen.values()) == {None}
    assert dbrouter.PIN_COOKIE not in response.cookies
    with dbrouter.replica_reads():
        assert router.db_for_read(MetricDaily) is None


def test_the_replica_is_never_migrated():
    assert router.allow_migrate("replica", "metrics") is False
    assert router.allow_migrate("default", "metrics") is True
