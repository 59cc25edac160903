"""The REST API through Django's test client: real database, real JSON, real auth headers."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command

from voxloop.api.models import ApiToken
from voxloop.api.services import create_api_token
from voxloop.feedback.models import Customer, Feedback, ImportBatch, Order, QuarantinedRow

pytestmark = pytest.mark.django_db

ALL_SCOPES = ["feedback:write", "feedback:read", "customers:write", "orders:write"]


@pytest.fixture
def token() -> str:
    return create_api_token("shop", ALL_SCOPES)[1]


def post(client, url: str, body, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers)


def get(client, url: str, token: str, **params):
    return client.get(url, params, headers={"Authorization": f"Bearer {token}"})


def test_create_one_then_retry_is_duplicate(client, token):
    body = {"text": "快递太慢了，等了一周", "external_id": "r-1", "rating": 2, "email": "li@example.com"}
    first = post(client, "/api/feedback", body, token)
    assert first.status_code == 201, first.content
    again = post(client, "/api/feedback", body, token)
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "status": "duplicate"}
    item = Feedback.objects.get()
    assert item.channel == "api"
    assert item.source == "api:shop"
    assert item.customer.email == "li@example.com"
    assert item.raw_payload["external_id"] == "r-1"


def test_create_one_rejected_names_field(client, token):
    response = post(client, "/api/feedback", {"text": "   ", "external_id": "x"}, token)
    assert response.status_code == 422
    assert response.json()["field"] == "text"
    assert response.json()["code"] == "empty_text"
    assert not Feedback.objects.exists()


def test_batch_reports_each_item_and_retry_creates_nothing(client, token):
    items = [
        {"text": "质量很好，好评", "external_id": "a", "received_at": "2026-01-05T10:00:00+08:00", "extra_col": 7},
        {"text": "", "external_id": "b"},
        {"text": "Refund took 3 weeks", "external_id": "c", "channel": "review", "source": "jd"},
        {"text": "质量很好，好评", "external_id": "a", "received_at": "2026-01-05T10:00:00+08:00"},
        {"text": "bad date", "external_id": "d", "received_at": "2030-01-01T00:00:00Z"},
    ]
    response = post(client, "/api/feedback/batch", {"items": items}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["created", "rejected", "created", "duplicate", "rejected"]
    assert body["items"][1] | {"message": ""} == {
        "index": 1, "status": "rejected", "id": None, "code": "empty_text", "field": "text", "message": "",
    }  # fmt: skip
    assert body["items"][3]["id"] == body["items"][0]["id"]
    assert body["items"][4]["field"] == "received_at"
    assert (body["created"], body["duplicates"], body["rejected"]) == (2, 1, 2)
    assert Feedback.objects.get(external_id="a").raw_payload["extra_col"] == 7
    assert Feedback.objects.get(external_id="c").source == "jd"
    batch = ImportBatch.objects.get(pk=body["batch_id"])
    assert (batch.origin, batch.accepted_count, batch.duplicate_count, batch.rejected_count) == ("api", 2, 1, 2)
    assert sorted(QuarantinedRow.objects.values_list("row_number", "reason_code")) == [
        (2, "empty_text"), (5, "date_in_future"),
    ]  # fmt: skip

    retry = post(client, "/api/feedback/batch", {"items": items}, token).json()
    assert retry["created"] == 0
    assert Feedback.objects.count() == 2
    assert [i["status"] for i in retry["items"]] == ["duplicate", "rejected", "duplicate", "duplicate", "rejected"]
    assert retry["items"][0]["id"] == body["items"][0]["id"]


def test_batch_over_limit_is_refused_and_stores_nothing(client, token, settings):
    settings.API_BATCH_LIMIT = 10
    items = [{"text": f"item {n}", "external_id": str(n)} for n in range(11)]
    response = post(client, "/api/feedback/batch", {"items": items}, token)
    assert response.status_code == 422
    assert "at most 10 items; this one has 11" in response.json()["detail"][0]["message"]
    assert not Feedback.objects.exists()
    assert not ImportBatch.objects.exists()


def test_invalid_json_and_wrong_types_are_4xx_naming_the_field(client, token):
    broken = post(client, "/api/feedback/batch", '{"items": [{"text": "hi",}', token)
    assert broken.status_code == 400
    assert "parse" in broken.content.decode().lower()
    not_list = post(client, "/api/feedback/batch", {"items": "nope"}, token)
    assert not_list.status_code == 422
    empty = post(client, "/api/feedback/batch", {"items": []}, token)
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"][0]["message"]
    single = post(client, "/api/feedback", {"text": "x", "rating": "five"}, token)
    assert single.status_code == 422
    assert single.json()["detail"][0]["field"] == "rating"
    assert not Feedback.objects.exists()
    # In a batch an item of the wrong shape is refused on its own, naming its field; the others are stored.
    items = [
        {"text": "ok", "external_id": "ok"},
        {"text": "x", "rating": "five"},
        {"rating": 3},
        {"text": "x", "rating": 3, "rating_scale": 10**6},
        "not an object",
    ]
    response = post(client, "/api/feedback/batch", {"items": items}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["created"] + ["rejected"] * 4
    assert [i["field"] for i in body["items"][1:]] == ["rating", "text", "rating_scale", ""]
    assert all(i["message"] for i in body["items"][1:])
    assert list(Feedback.objects.values_list("external_id", flat=True)) == ["ok"]
    assert QuarantinedRow.objects.filter(batch_id=body["batch_id"]).count() == 4


def test_oversized_body_is_413_and_emoji_html_control_chars_are_kept_safely(client, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    big = {"items": [{"text": "长" * 600_000, "external_id": "big"}]}
    response = post(client, "/api/feedback/batch", big, token)
    assert response.status_code == 413
    assert "larger than 1 MB" in response.json()["detail"]
    odd = {"text": "好评😀\x00\x07<script>alert(1)</script>", "external_id": "odd"}
    assert post(client, "/api/feedback", odd, token).status_code == 201
    assert Feedback.objects.get().text == "好评😀<script>alert(1)</script>"  # control characters dropped


def test_auth_missing_wrong_revoked_and_scopes(client):
    body = {"items": [{"text": "hello"}]}
    assert post(client, "/api/feedback/batch", body, None).status_code == 401
    assert post(client, "/api/feedback/batch", body, "vxl_not-a-token").status_code == 401
    reader_token, reader = create_api_token("reader", ["feedback:read"])
    denied = post(client, "/api/feedback/batch", body, reader)
    assert denied.status_code == 403
    assert "feedback:write" in denied.json()["detail"]
    assert get(client, "/api/feedback", reader).status_code == 200
    writer = create_api_token("writer", ["feedback:write"])[1]
    assert get(client, "/api/feedback", writer).status_code == 403
    assert post(client, "/api/customers/batch", {"items": [{"customer_id": "c1"}]}, writer).status_code == 403
    assert post(client, "/api/orders/batch", {"items": []}, writer).status_code == 403
    reader_token.refresh_from_db()
    assert reader_token.last_used_at is not None
    ApiToken.objects.filter(pk=reader_token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert get(client, "/api/feedback", reader).status_code == 401
    assert not Feedback.objects.exists()


def test_token_is_stored_hashed():
    token, raw = create_api_token("x", ["feedback:read"])
    assert raw.startswith("vxl_")
    assert raw not in json.dumps(list(ApiToken.objects.values()), default=str)


def test_list_filters_and_cursor_pagination(client, token):
    items = [
        {"text": f"评价 {n}", "external_id": f"e{n}", "received_at": f"2026-02-{n + 1:02d}T08:00:00+08:00",
         "channel": "review" if n % 2 else "chat", "customer_id": "C9" if n < 3 else "C7", "product": "P1"}
        for n in range(7)
    ]  # fmt: skip
    assert post(client, "/api/feedback/batch", {"items": items}, token).json()["created"] == 7
    page1 = get(client, "/api/feedback", token, limit=3).json()
    assert [i["external_id"] for i in page1["items"]] == ["e6", "e5", "e4"]
    page2 = get(client, "/api/feedback", token, limit=3, cursor=page1["next_cursor"]).json()
    page3 = get(client, "/api/feedback", token, limit=3, cursor=page2["next_cursor"]).json()
    assert [i["external_id"] for i in page2["items"] + page3["items"]] == ["e3", "e2", "e1", "e0"]
    assert page3["next_cursor"] is None
    assert {i["channel"] for i in get(client, "/api/feedback", token, channel="review").json()["items"]} == {"review"}
    by_customer = get(client, "/api/feedback", token, customer="C9").json()["items"]
    assert sorted(i["external_id"] for i in by_customer) == ["e0", "e1", "e2"]
    window = get(client, "/api/feedback", token, since="2026-02-02T00:00:00+08:00", until="2026-02-04T00:00:00+08:00")
    assert [i["external_id"] for i in window.json()["items"]] == ["e2", "e1"]
    assert len(get(client, "/api/feedback", token, product="P1").json()["items"]) == 7
    assert get(client, "/api/feedback", token, product="nope").json()["items"] == []
    assert get(client, "/api/feedback", token, cursor="!!bad").status_code == 400
    assert get(client, "/api/feedback", token, since="yesterday").status_code == 422
    one = get(client, f"/api/feedback/{page1['items'][0]['id']}", token).json()
    assert one["raw_payload"]["external_id"] == "e6"
    assert one["customer_external_id"] == "C7"
    assert get(client, "/api/feedback/999999", token).status_code == 404


def test_customers_and_orders_batch(client, token):
    customers = [
        {"customer_id": "C1", "name": "王芳", "phone": "138-0000-1111", "tags": ["vip"], "segment": "loyal"},
        {"name": "no key"},
        {"customer_id": 42, "email": "a@b.cn"},
    ]
    response = post(client, "/api/customers/batch", {"items": customers}, token).json()
    assert (response["created"], response["rejected"]) == (2, 1)
    assert response["errors"][0]["index"] == 1
    assert response["errors"][0]["code"] == "missing_customer_key"
    assert response["ids"][1] is None
    assert Customer.objects.get(external_id="C1").phone == "13800001111"
    again = post(client, "/api/customers/batch", {"items": [{"customer_id": "C1", "language": "zh"}]}, token).json()
    assert again["updated"] == 1
    assert Customer.objects.get(external_id="C1").name == "王芳"

    orders = [
        {"order_id": "O-1", "customer_id": "C1", "ordered_at": "2026-03-01T12:00:00+08:00", "amount": "199.50"},
        {"order_id": "O-2", "phone": "13800001111", "ordered_at": "2026-03-05T12:00:00+08:00", "amount": 50},
        {"order_id": "O-3", "ordered_at": "2026-03-05T12:00:00+08:00"},
    ]
    result = post(client, "/api/orders/batch", {"items": orders}, token).json()
    assert (result["created"], result["rejected"]) == (2, 1)
    assert result["errors"][0]["field"] == "customer_id"
    customer = Customer.objects.get(external_id="C1")
    assert customer.order_count == 2
    assert str(customer.lifetime_value) == "249.50"
    bad = post(client, "/api/orders/batch", {"items": [{"order_id": "O-9", "ordered_at": "soon"}]}, token)
    assert bad.status_code == 200  # refused item by item, like invalid values
    assert bad.json()["errors"][0]["field"] == "ordered_at"
    assert Order.objects.count() == 2


def test_a_new_customer_named_twice_in_one_batch_is_created_once(client, token):
    # Found by the invariant test: the second row with the same id and another e-mail was not matched to the
    # customer the first row had just created, whose unique id then made the whole batch a 500.
    orders = [
        {"order_id": "O-1", "customer_id": "C7", "email": "a@b.cn", "ordered_at": "2026-03-01T12:00:00+08:00"},
        {"order_id": "O-2", "customer_id": "C7", "ordered_at": "2026-03-02T12:00:00+08:00"},
    ]
    result = post(client, "/api/orders/batch", {"items": orders}, token)
    assert result.status_code == 200, result.content[:300]
    assert (result.json()["created"], result.json()["rejected"]) == (2, 0)
    assert Customer.objects.get(external_id="C7").order_count == 2
    customers = [{"customer_id": "C8", "phone": "13800002222"}, {"customer_id": "C8", "email": "c8@b.cn"}]
    response = post(client, "/api/customers/batch", {"items": customers}, token)
    assert response.status_code == 200, response.content[:300]
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert Customer.objects.filter(external_id="C8").values_list("phone", "email").get() == (
        "13800002222",
        "c8@b.cn",
    )


def test_create_api_token_command(capsys):
    call_command("create_api_token", "--name", "crm", "--scopes", "feedback:write,customers:write")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get(name="crm")
    assert raw.startswith("vxl_")
    assert token.scopes == ["customers:write", "feedback:write"]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_token", "--name", "x", "--scopes", "feedback:delete")


def test_openapi_docs_are_served(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/feedback/batch" in schema["paths"]
    assert "/api/orders/batch" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


def test_admin_creates_token_shown_once_and_revokes(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/api/apitoken/add/", {"name": "erp", "scopes": ["feedback:write", "feedback:read"]}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="erp")
    shown = [str(m) for m in response.context["messages"]]
    raw = next(match.group(0) for m in shown if (match := re.search(r"vxl_[\w-]+", m)))
    assert token.scopes == ["feedback:read", "feedback:write"]
    assert token.created_by == admin_user
    assert client.get("/api/feedback", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/feedback", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_committed_openapi_schema_is_current():
    from django.conf import settings

    from voxloop.api.management.commands.export_openapi_schema import openapi_json

    committed = (settings.BASE_DIR / "docs" / "api" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_json(), "run: voxloop export_openapi_schema --output docs/api/openapi.json"


@pytest.mark.urls("voxloop.api.tests.urls")
def test_tokens_page_creates_shows_once_and_revokes(client, admin_user, manager):
    client.force_login(manager)
    assert client.get("/settings/api-tokens/").status_code == 403
    client.force_login(admin_user)
    created = client.post("/settings/api-tokens/", {"name": "<i>erp</i>", "scopes": ["feedback:read"]})
    html = created.content.decode()
    raw = re.search(r"vxl_[\w-]+", html).group(0)
    assert "&lt;i&gt;erp&lt;/i&gt;" in html
    assert "<i>erp</i>" not in html
    assert raw not in client.get("/settings/api-tokens/").content.decode()  # shown once only
    assert client.get("/api/feedback", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    missing_scope = client.post("/settings/api-tokens/", {"name": "x"})
    assert "new-token" not in missing_scope.content.decode()
    assert ApiToken.objects.count() == 1
    token = ApiToken.objects.get()
    assert client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 302
    assert client.get("/api/feedback", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


@pytest.mark.browser
@pytest.mark.urls("voxloop.api.tests.urls")
def test_tokens_page_in_browser(login_page, admin_user, live_server):
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/settings/api-tokens/")
    page.fill("input[name=name]", "crm sync")
    page.check("input[value='customers:write']")
    page.click("#create-token button[type=submit]")
    token = page.locator("#new-token code").inner_text()
    assert token.startswith("vxl_")
    assert page.locator("#tokens").inner_text().count("crm sync") == 1
    assert ApiToken.objects.get().scopes == ["customers:write"]


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(client, token, settings):
    import time_machine

    settings.API_RATE_LIMIT_PER_MINUTE = 3
    other = create_api_token("crm", ["feedback:read"])[1]
    with time_machine.travel("2026-11-24 10:00:10 +0000", tick=False):
        for _ in range(3):
            assert get(client, "/api/feedback", token).status_code == 200
        limited = client.get("/api/feedback", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
        assert limited.status_code == 429
        assert limited["Retry-After"] == "50"
        assert limited.json()["retry_after"] == 50
        assert "more than 3 requests in a minute" in limited.json()["detail"]
        assert get(client, "/api/feedback", other).status_code == 200  # each token has its own budget
    with time_machine.travel("2026-11-24 10:01:00 +0000", tick=False):
        assert get(client, "/api/feedback", token).status_code == 200  # a new minute
