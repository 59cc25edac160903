"""Server-side request forgery: by default webhooks reach public addresses only, checked when an endpoint is saved
and again on the address a delivery connects to (DNS rebinding); a receiver's answer is kept as a short excerpt."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import translation

from voxloop.cases.outbox import process_case_events
from voxloop.cases.services import open_case
from voxloop.webhooks import services
from voxloop.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

LOCAL_TARGETS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://[fd00:ec2::254]/latest/meta-data/",  # its IPv6 address on AWS
    "http://10.0.0.5/hook",
    "http://192.168.1.10/hook",
    "http://172.16.0.1/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0:8000/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
]


@pytest.fixture
def default_policy(settings):
    """The production default (the test settings allow private targets for the other webhook tests)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    return settings


@pytest.mark.parametrize("url", LOCAL_TARGETS)
def test_local_private_and_metadata_targets_are_refused_when_saved(default_policy, url):
    with pytest.raises(services.WebhookError) as caught:
        services.create_endpoint(url)
    assert caught.value.code == services.WebhookErrorCode.BAD_URL
    assert "private" in caught.value.message
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted(default_policy):
    endpoint = services.create_endpoint("https://93.184.216.34/hook")
    assert endpoint.url == "https://93.184.216.34/hook"


def test_editing_an_endpoint_to_a_local_target_is_refused(default_policy):
    endpoint = services.create_endpoint("https://93.184.216.34/hook")
    with pytest.raises(services.WebhookError):
        services.update_endpoint(endpoint, url="http://169.254.169.254/latest/meta-data/")
    endpoint.refresh_from_db()
    assert endpoint.url == "https://93.184.216.34/hook"


def test_the_form_says_why_in_both_languages(default_policy, client, admin_user):
    client.force_login(admin_user)
    for language, expected in (
        ("en", "169.254.169.254 is a loopback, private, link-local or cloud-metadata address"),
        ("zh-hans", "169.254.169.254 是回环、内网、链路本地或云元数据地址"),
    ):
        response = client.post(
            "/settings/webhooks/new/",
            {"url": "http://169.254.169.254/latest/meta-data/", "is_active": "on"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400
        assert expected in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_explicit_settings_allow_them(default_policy):
    default_policy.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert services.create_endpoint("http://10.0.0.5/hook")
    assert services.create_endpoint("http://localhost/hook")
    # Link-local (where the metadata service answers) needs its network named, even then.
    with pytest.raises(services.WebhookError):
        services.create_endpoint("http://169.254.169.254/latest/meta-data/")
    default_policy.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    default_policy.WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert services.create_endpoint("http://10.20.3.4/hook")
    with pytest.raises(services.WebhookError):
        services.create_endpoint("http://10.21.3.4/hook")


def _queue_to(url: str, make_feedback) -> WebhookDelivery:
    # Saved directly, as if the name resolved to a public address when it was saved (DNS rebinding).
    endpoint = WebhookEndpoint.objects.create(url=url)
    open_case([make_feedback("快递三天了还没到")], "normal")
    process_case_events()
    return WebhookDelivery.objects.get(endpoint=endpoint)


def test_delivery_refuses_a_name_that_now_resolves_to_loopback(default_policy, make_feedback, receiver):
    port = receiver.base_url.rsplit(":", 1)[1]
    delivery = _queue_to(f"http://localhost:{port}/rebound", make_feedback)

    run = services.deliver_due()
    assert run.dead == 1
    assert receiver.received == []  # nothing reached the local server
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_status_code is None
    assert "localhost resolves to 127.0.0.1" in delivery.last_error
    with translation.override("zh-hans"):
        assert "localhost 解析为 127.0.0.1" in delivery.last_error_display

    # Allowed by name, the same delivery goes through when retried.
    default_policy.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    services.retry_delivery(delivery)
    assert services.deliver_due().delivered == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.on("/rebound")) == 1


def test_an_ip_literal_saved_before_the_check_is_refused_at_delivery(default_policy, make_feedback, receiver):
    delivery = _queue_to(receiver.url("/direct"), make_feedback)
    assert services.deliver_due().dead == 1
    assert receiver.received == []
    delivery.refresh_from_db()
    assert "127.0.0.1" in delivery.last_error


def test_only_a_short_sanitised_excerpt_of_the_answer_is_kept_and_shown(make_feedback, receiver, client, admin_user):
    secret_page = (
        b"<html><head><title>Internal admin</title></head><body><h1>Error</h1><p>call 13812345678</p>"
        + b"<pre>" + b"x" * 200 + b" AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG</pre></body></html>"
    )  # fmt: skip
    receiver.answers["/leak"] = ("body", 500, secret_page)
    delivery = _queue_to(receiver.url("/leak"), make_feedback)
    services.deliver_due()
    delivery.refresh_from_db()
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith("HTTP 500: Internal admin Error call")
    assert len(delivery.last_error) <= 100
    assert "<" not in delivery.last_error
    assert "13812345678" not in delivery.last_error
    assert "wJalrXUtnFEMI" not in delivery.last_error
    client.force_login(admin_user)
    page = client.get(f"/settings/webhooks/deliveries/{delivery.pk}/").content.decode()
    assert "wJalrXUtnFEMI" not in page
    assert "13812345678" not in page


def test_a_bad_allowed_network_stops_start_up(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/33"]
    assert [e.id for e in services.check_settings()] == ["webhooks.E004"]


def test_answers_stored_before_the_fix_are_cut_to_the_excerpt(make_feedback):
    delivery = _queue_to("https://93.184.216.34/hook", make_feedback)
    page = "<html><body>" + "internal admin " * 30 + "13812345678</body></html>"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        last_error=f"gave up after 6 attempts: HTTP 500: {page}",
        last_error_i18n={"template": "gave up after %(attempts)s attempts: %(error)s",
                         "params": {"attempts": 6, "error": f"HTTP 500: {page}"}},
    )  # fmt: skip
    migration = importlib.import_module("voxloop.webhooks.migrations.0003_shorten_stored_receiver_answers")
    migration.shorten(apps, None)
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("gave up after 6 attempts: HTTP 500: internal admin")
    assert len(delivery.last_error) <= 80 and "<" not in delivery.last_error
    assert len(delivery.last_error_i18n["params"]["error"]) <= 80
    with translation.override("zh-hans"):
        assert delivery.last_error_display.startswith("尝试 6 次后放弃：HTTP 500: internal admin")
