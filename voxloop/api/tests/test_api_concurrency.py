"""Identical submissions at the same moment (issue 15.4): one is stored, every other answer is a duplicate that
carries the stored item's id, and none is a 500. Real concurrent requests, each thread on its own connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from voxloop.api.services import create_api_token
from voxloop.feedback.models import Feedback

THREADS = 8
ROUNDS = 6


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the race exists on PostgreSQL (VOXLOOP_TEST_DATABASE_URL)")


def _at_once(call: Callable[[], Any], threads: int = THREADS) -> list[Any]:
    """Run `call` in `threads` threads released together; each result or exception, in thread order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(n: int) -> None:
        try:
            barrier.wait()
            results[n] = call()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[n] = exc
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def _post(token: str, url: str, body: dict) -> tuple[int, dict]:
    response = Client().post(
        url, json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_identical_single_items_at_once_store_one_and_name_it_to_all(on_postgres):
    token = create_api_token("race", ["feedback:write"])[1]
    for n in range(ROUNDS):
        body = {"text": f"同一条反馈 {n}", "external_id": f"race-{n}"}
        results = _at_once(lambda body=body: _post(token, "/api/feedback", body))
        assert all(isinstance(r, tuple) for r in results), results
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] * (THREADS - 1) + [201], results
        stored = Feedback.objects.get(external_id=f"race-{n}").pk
        assert {answer["id"] for _, answer in results} == {stored}, results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_identical_batches_at_once_give_every_duplicate_its_id(on_postgres):
    token = create_api_token("race", ["feedback:write"])[1]
    for n in range(ROUNDS):
        items = [{"text": f"批量 {n}-{i}", "external_id": f"b-{n}-{i}"} for i in range(5)]
        results = _at_once(lambda items=items: _post(token, "/api/feedback/batch", {"items": items}))
        assert all(isinstance(r, tuple) and r[0] == 200 for r in results), results
        stored = dict(Feedback.objects.filter(external_id__startswith=f"b-{n}-").values_list("external_id", "pk"))
        assert len(stored) == 5
        assert sum(answer["created"] for _, answer in results) == 5
        for _, answer in results:
            assert [item["id"] for item in answer["items"]] == [stored[f"b-{n}-{i}"] for i in range(5)], answer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_sent_at_once_runs_once(on_postgres):
    token = create_api_token("race", ["feedback:write"])[1]
    body = {"items": [{"text": f"无编号 {i}"} for i in range(20)]}

    def send() -> tuple[int, dict]:
        response = Client().post(
            "/api/feedback/batch", json.dumps(body), content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"},
        )  # fmt: skip
        return response.status_code, response.json()

    results = _at_once(send)
    assert all(isinstance(r, tuple) and r[0] in {200, 409} for r in results), results
    answers = [answer for status, answer in results if status == 200]
    assert answers and all(answer == answers[0] for answer in answers)
    assert all(answer["code"] == "idempotency_key_in_use" for status, answer in results if status == 409)
    assert Feedback.objects.count() == 20
