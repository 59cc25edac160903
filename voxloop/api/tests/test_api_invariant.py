"""The batch invariant of issue 15, by property-based tests: for every generated batch, items in = created +
duplicates + rejected, every rejection carries its reason (and is kept in quarantine), never a 500, and every good
item is stored. Runs on SQLite and, with VOXLOOP_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxloop.api.schemas import first_bad_unicode
from voxloop.api.services import create_api_token
from voxloop.feedback.models import Customer, Feedback, Order, QuarantinedRow

pytestmark = pytest.mark.django_db

GOOD_DATES = st.sampled_from(["2026-01-05T10:00:00+08:00", "2025-12-31T23:59:59Z", "2026-02-01 08:00", None])
BAD_DATES = st.sampled_from(
    ["2026-01-05T10:00:00+16:00", "2026-01-05T10:00:00-23:59", "0001-01-01T00:00:00+10:00", "2999-01-01", "soon"]
)
# Text that can be stored, and the kinds of text that cannot (lone surrogates) or are changed (NUL).
GOOD_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30).filter(str.strip)
BAD_TEXT = st.sampled_from(["", "   ", "\ud800", "好评\udfff", None, 7])

good_item = st.fixed_dictionaries(
    {"text": GOOD_TEXT},
    optional={
        "received_at": GOOD_DATES,
        "rating": st.integers(1, 5),
        "channel": st.sampled_from(["review", "email", "api"]),
        "external_id": st.text("abcdef0123", min_size=1, max_size=6),
        "email": st.sampled_from(["li@example.com", "wang@example.cn"]),
        "extra": st.one_of(st.integers(), st.text(max_size=5), st.just("nul\x00inside")),
    },
)
bad_item = st.one_of(
    st.fixed_dictionaries({"text": GOOD_TEXT, "received_at": BAD_DATES}),
    st.fixed_dictionaries({"text": BAD_TEXT}),
    st.fixed_dictionaries({"text": GOOD_TEXT, "rating": st.sampled_from(["five", 1000, -1, "NaN"])}),
    st.fixed_dictionaries({"text": GOOD_TEXT, "bad\ud800key": st.just(1)}),
    st.fixed_dictionaries({"text": GOOD_TEXT, "channel": st.just("pigeon")}),
    st.sampled_from([None, 3, "text", []]),
)
batches = st.lists(st.one_of(good_item, bad_item), min_size=1, max_size=12)


def _post(client, url: str, items: list, token: str):
    # json.dumps writes a lone surrogate as the escape "\ud800", exactly what a client would send.
    body = json.dumps({"items": items})
    return client.post(url, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=batches)
def test_feedback_batch_accounts_for_every_item(client, batch, tally):
    tally.add("hypothesis invariant: API batches", feedback_batches=1, feedback_items=len(batch))
    token = create_api_token("invariant", ["feedback:write"])[1]
    items = batch
    before = Feedback.objects.count()
    response = _post(client, "/api/feedback/batch", items, token)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    outcomes = body["items"]
    assert [o["index"] for o in outcomes] == list(range(len(items)))
    assert body["created"] + body["duplicates"] + body["rejected"] == len(items)
    for outcome in outcomes:
        if outcome["status"] == "rejected":
            assert outcome["code"] and outcome["message"], outcome
        else:
            assert outcome["id"] is not None, outcome  # a duplicate names the stored item
    # Every good item is stored (created now, or a duplicate of a stored one).
    for item, outcome in zip(items, outcomes, strict=True):
        if _is_good(item):
            assert outcome["status"] in {"created", "duplicate"}, (item, outcome)
    assert Feedback.objects.count() == before + body["created"]
    assert QuarantinedRow.objects.filter(batch_id=body["batch_id"]).count() == body["rejected"]


def _is_good(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("text"), str)
        and bool(item["text"].strip())
        and first_bad_unicode(item) is None
        and item.get("received_at") in {None, "2026-01-05T10:00:00+08:00", "2025-12-31T23:59:59Z", "2026-02-01 08:00"}
        and item.get("channel", "api") in {"review", "email", "api"}
        and (item.get("rating") is None or isinstance(item.get("rating"), int) and 1 <= item["rating"] <= 5)
        and set(item) <= {"text", "received_at", "rating", "channel", "external_id", "email", "extra"}
    )


good_order = st.fixed_dictionaries(
    {"order_id": st.text("ABC123", min_size=1, max_size=4), "ordered_at": GOOD_DATES.filter(bool)},
    optional={"amount": st.integers(0, 1000), "customer_id": st.just("C1"), "email": st.just("a@b.cn")},
).map(lambda o: {**o, "customer_id": o.get("customer_id", "C2")})
bad_order = st.one_of(
    st.fixed_dictionaries({"order_id": st.just("X"), "ordered_at": BAD_DATES, "customer_id": st.just("C1")}),
    st.fixed_dictionaries({"order_id": st.just("\ud800"), "ordered_at": GOOD_DATES.filter(bool)}),
    st.fixed_dictionaries({"ordered_at": GOOD_DATES.filter(bool)}),
    st.sampled_from([None, "order"]),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.one_of(good_order, bad_order), min_size=1, max_size=8))
def test_order_batch_accounts_for_every_item(client, items, tally):
    tally.add("hypothesis invariant: API batches", order_batches=1, order_items=len(items))
    token = create_api_token("invariant", ["orders:write", "customers:write"])[1]
    response = _post(client, "/api/orders/batch", items, token)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert len(body["ids"]) == len(items)
    refused = {e["index"] for e in body["errors"]}
    assert len(refused) == body["rejected"]
    assert all(e["code"] and e["message"] for e in body["errors"])
    for index, item in enumerate(items):
        # Stored, or refused with its reason: never neither.
        assert (body["ids"][index] is None) == (index in refused), (item, body)
    stored = set(Order.objects.values_list("pk", flat=True))
    assert {pk for pk in body["ids"] if pk is not None} <= stored
    assert Customer.objects.exists() or not stored
