"""Values the database cannot store (issue 15.2, 15.3, 15.15): a clear 4xx naming the field, never a 500; in a
batch only the bad item is refused and the good ones are stored. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json

import pytest

from voxloop.api.services import create_api_token
from voxloop.feedback.models import Feedback, Order, QuarantinedRow

pytestmark = pytest.mark.django_db

FAR_EAST = "2026-01-05T10:00:00+16:00"  # Python reads it; PostgreSQL refuses offsets beyond ±15:59


@pytest.fixture
def token() -> str:
    return create_api_token(
        "shop", ["feedback:write", "feedback:read", "customers:write", "orders:write", "cases:read"]
    )[1]


def post(client, url: str, body, token: str, **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        url, data=data, content_type="application/json", headers={"Authorization": f"Bearer {token}", **headers}
    )


def get(client, url: str, token: str, **params):
    return client.get(url, params, headers={"Authorization": f"Bearer {token}"})


def _fields(response) -> list[str]:
    return [d["field"] for d in response.json()["detail"]]


def test_offset_beyond_16_hours_in_a_list_filter_is_422_naming_it(client, token):
    response = get(client, "/api/feedback", token, until=FAR_EAST)
    assert response.status_code == 422, response.content
    assert _fields(response) == ["until"]
    assert "offset" in response.json()["detail"][0]["message"]
    since = get(client, "/api/feedback", token, since="2026-01-05T10:00:00-16:30")
    assert since.status_code == 422
    assert get(client, "/api/feedback", token, until="2026-01-05T10:00:00+15:59").status_code == 200


def test_offset_beyond_16_hours_in_one_item_is_422_naming_it(client, token):
    response = post(client, "/api/feedback", {"text": "物流太慢", "received_at": FAR_EAST}, token)
    assert response.status_code == 422, response.content
    assert _fields(response) == ["received_at"]
    assert not Feedback.objects.exists()


def test_offset_beyond_16_hours_refuses_only_that_item_of_a_batch(client, token):
    items = [
        {"text": "good one", "external_id": "g1"},
        {"text": "far east", "external_id": "bad", "received_at": FAR_EAST},
        {"text": "good two", "external_id": "g2", "received_at": "2026-01-05T10:00:00+08:00"},
    ]
    response = post(client, "/api/feedback/batch", {"items": items}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["created", "rejected", "created"]
    assert body["items"][1]["field"] == "received_at"
    assert "offset" in body["items"][1]["message"]
    assert sorted(Feedback.objects.values_list("external_id", flat=True)) == ["g1", "g2"]
    row = QuarantinedRow.objects.get()
    assert (row.row_number, row.field, row.raw["external_id"]) == (2, "received_at", "bad")


def test_offset_beyond_16_hours_refuses_only_that_order(client, token):
    items = [
        {"order_id": "o-1", "ordered_at": "2026-01-05T10:00:00+08:00", "amount": "10.50", "customer_id": "c1"},
        {"order_id": "o-2", "ordered_at": FAR_EAST, "customer_id": "c1"},
    ]
    response = post(client, "/api/orders/batch", {"items": items}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ids"][1] is None and body["ids"][0] is not None
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["index"] == 1
    assert body["errors"][0]["field"] == "ordered_at"
    assert list(Order.objects.values_list("external_id", flat=True)) == ["o-1"]


def test_offset_beyond_16_hours_in_cases_updated_since_is_422(client, admin_user):
    raw = create_api_token("cases", ["cases:read"], created_by_id=admin_user.pk)[1]
    response = get(client, "/api/cases", raw, updated_since=FAR_EAST)
    assert response.status_code == 422, response.content
    assert _fields(response) == ["updated_since"]


def test_a_hand_made_cursor_with_such_an_offset_is_400(client, token):
    cursor = base64.urlsafe_b64encode(f"{FAR_EAST}|5".encode()).decode()
    response = get(client, "/api/feedback", token, cursor=cursor)
    assert response.status_code == 400, response.content


def test_a_date_that_cannot_be_put_in_utc_is_422_not_500(client, token):
    # Year 1 east of Greenwich is year 0 in UTC, which Python cannot represent (SQLite stores UTC).
    response = get(client, "/api/feedback", token, since="0001-01-01T00:00:00+10:00")
    assert response.status_code == 422, response.content
    assert _fields(response) == ["since"]


# --- Lone surrogates (15.3): valid JSON, but no UTF-8 text the database can store

SURROGATE_BATCH = (
    '{"items": [{"text": "good one", "external_id": "s1"},'
    ' {"text": "bad \\ud800 text", "external_id": "s2"},'
    ' {"text": "paired \\ud83d\\ude00 emoji is fine", "external_id": "s3"},'
    ' {"text": "bad key", "external_id": "s4", "note\\udfff": 1}]}'
)


def test_a_lone_surrogate_refuses_only_that_item_of_a_batch(client, token):
    response = post(client, "/api/feedback/batch", SURROGATE_BATCH, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["created", "rejected", "created", "rejected"]
    assert body["items"][1]["code"] == "invalid_unicode"
    assert body["items"][1]["field"] == "text"
    assert body["items"][3]["field"] == "note\\udfff"
    assert sorted(Feedback.objects.values_list("external_id", flat=True)) == ["s1", "s3"]
    assert Feedback.objects.get(external_id="s3").text == "paired 😀 emoji is fine"
    # The refused item is kept, readable, with the bad character spelt out.
    kept = QuarantinedRow.objects.get(row_number=2)
    assert kept.raw["text"] == "bad \\ud800 text"


def test_a_lone_surrogate_in_one_item_is_422(client, token):
    response = post(client, "/api/feedback", '{"text": "x\\udc00y"}', token)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["type"] == "invalid_unicode"
    assert _fields(response) == ["text"]
    orders = post(
        client,
        "/api/orders/batch",
        '{"items": [{"order_id": "\\ud800", "ordered_at": "2026-01-01", "customer_id": "c"}]}',
        token,
    )
    assert orders.status_code == 200, orders.content
    assert orders.json()["errors"][0]["field"] == "order_id"
    customers = post(client, "/api/customers/batch", '{"items": [{"name": "\\ud800", "customer_id": "c"}]}', token)
    assert customers.status_code == 200, customers.content
    assert customers.json()["rejected"] == 1
    assert not Feedback.objects.exists()


# --- NUL characters (15.15): removed, since PostgreSQL cannot store them, but never without notice


def test_removed_nul_characters_are_recorded_and_reported(client, token):
    one = post(client, "/api/feedback", {"text": "好评\u0000好评", "external_id": "n1", "shop\u0000": "x"}, token)
    assert one.status_code == 201, one.content
    assert "NUL characters were removed from text, shop" in one.json()["warnings"][0]
    item = Feedback.objects.get(external_id="n1")
    assert item.text == "好评好评"
    assert item.raw_payload["_voxloop"] == {"nul_removed_from": ["text", "shop"]}
    items = [{"text": "clean", "external_id": "n2"}, {"text": "a\u0000b", "external_id": "n3", "title": "t\u0000"}]
    batch = post(client, "/api/feedback/batch", {"items": items}, token).json()
    assert batch["created"] == 2
    assert batch["warnings"] == [
        {
            "index": 1,
            "code": "nul_removed",
            "fields": ["text", "title"],
            "message": "NUL characters were removed from text, title: the database cannot store them.",
        }
    ]
    assert Feedback.objects.get(external_id="n3").raw_payload["_voxloop"]["nul_removed_from"] == ["text", "title"]
    clean = post(client, "/api/feedback", {"text": "fine", "external_id": "n4"}, token).json()
    assert "warnings" not in clean


def test_api_errors_are_english_unless_the_client_asks_for_another_language(client, token):
    body = {"text": "x", "received_at": "2030-01-01T00:00:00Z"}
    plain = post(client, "/api/feedback", body, token)
    assert plain.json()["detail"] == "The date 2030-01-01T00:00:00+00:00 is in the future."
    assert plain["Content-Language"] == "en"
    chinese = post(client, "/api/feedback", body, token, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "未来" in chinese.json()["detail"], chinese.json()
    assert chinese["Content-Language"] == "zh-hans"
    french = post(client, "/api/feedback", body, token, **{"Accept-Language": "fr-FR"})
    assert french.json()["detail"].startswith("The date")
    reader = create_api_token("reader", ["feedback:read"])[1]
    scope = client.get("/api/cases", headers={"Authorization": f"Bearer {reader}"})
    assert scope.status_code == 403
    assert scope.json()["detail"] == "This token lacks the scope “cases:read”."


def test_a_nul_character_in_a_query_parameter_is_400_not_500(client, token):
    response = get(client, "/api/feedback", token, external_id="a\x00b")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "nul_in_parameter"
    assert "external_id" in response.json()["detail"]


def test_an_unknown_query_parameter_is_422_naming_it(client, token):
    assert post(client, "/api/feedback", {"text": "物流太慢", "external_id": "q1"}, token).status_code == 201
    # A misspelt filter must not answer with every item as if no filter had been given.
    response = get(client, "/api/feedback", token, sinse="2026-01-05T10:00:00Z", external_id="q1")
    assert response.status_code == 422, response.content
    assert _fields(response) == ["sinse"]
    assert "since" in response.json()["detail"][0]["message"]  # the accepted names are listed
    assert get(client, "/api/feedback", token, since="2026-01-05T10:00:00Z", external_id="q1").status_code == 200
    # Every operation, also those that take no query parameter at all, and in the client's language.
    item = Feedback.objects.get()
    response = client.get(
        f"/api/feedback/{item.pk}",
        {"expand": "all"},
        headers={"Authorization": f"Bearer {token}"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 422
    assert _fields(response) == ["expand"]
    assert "未知的查询参数" in response.json()["detail"][0]["message"]
    batch = client.post(
        "/api/feedback/batch?dry_run=1",
        data=json.dumps({"items": [{"text": "x"}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert batch.status_code == 422
    assert _fields(batch) == ["dry_run"]
    assert Feedback.objects.count() == 1
    assert get(client, "/api/cases", token, statu="new").status_code == 422
