"""Retries (issue 15.5): a request sent again must not store the feedback twice, with or without external_id,
and an Idempotency-Key replays the first answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from voxloop.api.services import create_api_token
from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> str:
    return create_api_token("shop", ["feedback:write", "customers:write", "orders:write"])[1]


def post(client, url: str, body, token: str, **headers):
    return client.post(
        url, json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {token}", **headers}
    )


def test_a_retry_without_external_id_or_received_at_is_a_duplicate(client, token):
    body = {"text": "客服态度很差", "phone": "13800001111"}
    with time_machine.travel(datetime(2026, 3, 1, 10, 59, 50, tzinfo=UTC), tick=False):
        first = post(client, "/api/feedback", body, token)
    assert first.status_code == 201, first.content
    with time_machine.travel(datetime(2026, 3, 1, 11, 0, 20, tzinfo=UTC), tick=False):  # across the hour
        retry = post(client, "/api/feedback", body, token)
        batch = post(client, "/api/feedback/batch", {"items": [body, {"text": "另一条"}]}, token).json()
    assert retry.status_code == 200, retry.content
    assert retry.json() == {"id": first.json()["id"], "status": "duplicate"}
    assert [i["status"] for i in batch["items"]] == ["duplicate", "created"]
    assert batch["items"][0]["id"] == first.json()["id"]
    # The same words from the same customer hours later are new feedback, not a retry.
    with time_machine.travel(datetime(2026, 3, 1, 14, 0, 0, tzinfo=UTC), tick=False):
        later = post(client, "/api/feedback", body, token)
    assert later.status_code == 201
    assert Feedback.objects.filter(text="客服态度很差").count() == 2


def test_an_idempotency_key_replays_the_first_answer(client, token):
    body = {"items": [{"text": "第一条"}, {"text": ""}]}
    first = post(client, "/api/feedback/batch", body, token, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 200, first.content
    again = post(client, "/api/feedback/batch", body, token, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.json() == first.json()  # the same batch id and statuses: nothing ran twice
    assert again["Idempotent-Replayed"] == "true"
    assert Feedback.objects.count() == 1
    # The same key with another request is refused, clearly; a new key is a new request.
    other = post(client, "/api/feedback/batch", {"items": [{"text": "别的"}]}, token, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "different request" in other.json()["detail"]
    fresh = post(client, "/api/feedback/batch", {"items": [{"text": "别的"}]}, token, **{"Idempotency-Key": "k-2"})
    assert fresh.status_code == 200 and fresh.json()["created"] == 1
    # A single item: the 201 is replayed as a 201 (not turned into a 200 duplicate).
    one = post(client, "/api/feedback", {"text": "单条", "external_id": "x1"}, token, **{"Idempotency-Key": "k-3"})
    replay = post(client, "/api/feedback", {"text": "单条", "external_id": "x1"}, token, **{"Idempotency-Key": "k-3"})
    assert (one.status_code, replay.status_code) == (201, 201)
    assert replay.json() == one.json()


def test_idempotency_keys_expire_after_24_hours_and_belong_to_one_token(client, token):
    body = {"items": [{"order_id": "O-1", "ordered_at": "2026-03-01T10:00:00+08:00", "customer_id": "C1"}]}
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), tick=False):
        first = post(client, "/api/orders/batch", body, token, **{"Idempotency-Key": "order-1"})
        assert first.json()["created"] == 1
        other_token = create_api_token("crm", ["orders:write"])[1]
        theirs = post(client, "/api/orders/batch", body, other_token, **{"Idempotency-Key": "order-1"})
        assert "Idempotent-Replayed" not in theirs  # another token's key is another key
        assert theirs.json()["updated"] == 1
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC), tick=False):
        changed = {"items": [{**body["items"][0], "amount": "5"}]}
        later = post(client, "/api/orders/batch", changed, token, **{"Idempotency-Key": "order-1"})
    assert later.status_code == 200, later.content  # expired: a new request, not a reused key
    assert "Idempotent-Replayed" not in later


def test_a_bad_or_unauthenticated_idempotency_key_is_a_clear_error(client, token):
    long_key = post(client, "/api/feedback", {"text": "x"}, token, **{"Idempotency-Key": "k" * 256})
    assert long_key.status_code == 422
    assert long_key.json()["code"] == "invalid_idempotency_key"
    nobody = client.post(
        "/api/feedback", json.dumps({"text": "x"}), content_type="application/json", headers={"Idempotency-Key": "a"}
    )
    assert nobody.status_code == 401
    assert not Feedback.objects.exists()
