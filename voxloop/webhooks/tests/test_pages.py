"""The webhooks page as an administrator meets it: create, edit, switch off, dead letters and "retry now"."""

from __future__ import annotations

import pytest

from voxloop.cases.outbox import process_case_events
from voxloop.cases.services import open_case
from voxloop.webhooks import services
from voxloop.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages asserted in English; the browser test reads Chinese
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_only_administrators_see_the_page_and_its_menu_entry(client, admin_user, agent, manager):
    for user in (agent, manager):
        client.force_login(user)
        assert client.get("/settings/webhooks/").status_code == 403
        assert client.post("/settings/webhooks/new/", {"url": "https://x.example/h"}).status_code == 403
        assert b'href="/settings/webhooks/"' not in client.get("/cases/").content
    assert not WebhookEndpoint.objects.exists()
    client.force_login(admin_user)
    response = client.get("/settings/webhooks/")
    assert response.status_code == 200
    assert b'href="/settings/webhooks/"' in response.content
    assert "No webhooks yet." in response.content.decode()


def test_create_shows_the_secret_and_refuses_bad_urls(admin_client, admin_user):
    response = admin_client.post(
        "/settings/webhooks/new/",
        {"url": "ftp://files.example.com/in", "description": "CRM", "event_kinds": ["created"], "is_active": "on"},
    )
    assert response.status_code == 400
    assert "must start with http:// or https://" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()

    response = admin_client.post(
        "/settings/webhooks/new/",
        {
            "url": "http://10.1.2.3/voxloop",
            "description": "CRM",
            "event_kinds": ["created", "resolved"],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.event_kinds, endpoint.created_by) == (
        "http://10.1.2.3/voxloop",
        ["created", "resolved"],
        admin_user,
    )
    page = response.content.decode()
    assert endpoint.secret in page
    assert "Copy its signing secret" in page

    old_secret = endpoint.secret
    admin_client.post(f"/settings/webhooks/{endpoint.pk}/rotate-secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret


def test_edit_and_switch_off(admin_client):
    endpoint = services.create_endpoint("https://hooks.example.com/a")
    response = admin_client.post(
        f"/settings/webhooks/{endpoint.pk}/",
        {"url": "https://hooks.example.com/b", "description": "ERP", "include_personal_data": "on", "is_active": "on"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.include_personal_data) == (
        "https://hooks.example.com/b",
        "ERP",
        True,
    )
    admin_client.post(f"/settings/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "Switch on" in admin_client.get("/settings/webhooks/").content.decode()


def test_dead_letters_are_listed_and_retry_now_sends_again(admin_client, make_feedback, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answers["/broken"] = 500
    endpoint = services.create_endpoint(receiver.url("/broken"), description="Broken CRM")
    open_case([make_feedback()], "normal")
    process_case_events()
    services.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD

    page = admin_client.get("/settings/webhooks/").content.decode()
    dead_section = page.split('id="dead-letters"')[1].split("</table>")[0]
    assert "Broken CRM" in dead_section
    assert "500" in dead_section
    assert "Retry now" in dead_section
    detail = admin_client.get(f"/settings/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "gave up after 1 attempts" in detail

    receiver.answers["/broken"] = 200
    response = admin_client.post(f"/settings/webhooks/deliveries/{delivery.pk}/retry/", follow=True)
    assert "is being sent again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    services.deliver_due()  # what the task kicked after commit does
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert endpoint.deliveries.count() == 1


@pytest.mark.browser
def test_administrator_creates_a_webhook_in_a_browser(login_page, admin_user, live_server):
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/settings/webhooks/")
    page.click("text=新建 Webhook")
    page.fill("input[name=url]", "https://hooks.example.com/voxloop")
    page.fill("input[name=description]", "客服系统")
    page.check("input[name=event_kinds][value=resolved]")
    page.click("#endpoint-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_kinds == ["resolved"]
    assert endpoint.secret in page.inner_text("#secret")
    page.goto(f"{live_server.url}/settings/webhooks/")
    assert "客服系统" in page.inner_text("#endpoints")
