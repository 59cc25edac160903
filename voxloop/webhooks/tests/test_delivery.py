"""Webhook delivery against a real HTTP receiver: signing, retries with backoff, timeouts, 410, dead letters,
and two workers at once."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta

import pytest
from django.core.checks import Error
from django.db import connection
from django.utils import timezone, translation

from voxloop.accounts.models import ConfigChange
from voxloop.cases import services as case_services
from voxloop.cases.models import CaseEvent, EventKind
from voxloop.cases.outbox import process_case_events
from voxloop.webhooks import services
from voxloop.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = "60,300"
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_CONNECT_TIMEOUT = 2
    settings.WEBHOOK_READ_TIMEOUT = 2


def _open_case(make_feedback, text: str = "快递三天了还没到，客服也不回复"):
    return case_services.open_case([make_feedback(text)], "normal")


def _queue(make_feedback, **endpoint_kwargs) -> WebhookDelivery:
    """One endpoint, one case: the CREATED event's delivery, stored by the outbox."""
    endpoint = services.create_endpoint(endpoint_kwargs.pop("url"), **endpoint_kwargs)
    _open_case(make_feedback)
    process_case_events()
    return WebhookDelivery.objects.get(endpoint=endpoint)


def test_outbox_stores_one_delivery_per_matching_endpoint_and_posts_only_after_commit(
    make_feedback, receiver, django_capture_on_commit_callbacks
):
    everything = services.create_endpoint(receiver.url("/all"))
    services.create_endpoint(receiver.url("/resolved-only"), event_kinds=["resolved"])
    off = services.create_endpoint(receiver.url("/off"))
    services.set_endpoint_active(off, False)
    case = _open_case(make_feedback)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        process_case_events()
        # Inside the outbox transaction only rows were written: the receiver has heard nothing yet.
        assert receiver.received == []
        assert list(WebhookDelivery.objects.values_list("endpoint_id", "event_kind", "status")) == [
            (everything.pk, "created", "pending")
        ]
    assert callbacks, "the delivery task is scheduled on commit"
    [request] = receiver.on("/all")
    assert receiver.on("/resolved-only") == receiver.on("/off") == []
    body = json.loads(request.body)
    event = CaseEvent.objects.get(case=case, kind=EventKind.CREATED)
    assert body["id"] == event.pk
    assert body["kind"] == "created"
    assert body["case"]["number"] == case.number
    assert body["case"]["id"] == case.pk
    assert body["created_at"] == event.created_at.isoformat()
    assert "customer" not in body["case"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert request.headers["Idempotency-Key"] == str(delivery.pk)
    assert request.headers["X-VoxLoop-Event"] == "created"

    # A retried outbox run (the same event handed over again) queues nothing twice.
    services.handle_case_event(event)
    assert WebhookDelivery.objects.count() == 1


def test_signature_verifies_with_the_endpoint_secret_and_fails_when_tampered(make_feedback, receiver):
    delivery = _queue(make_feedback, url=receiver.url("/verify"))
    run = services.deliver_due()
    assert run.delivered == 1
    [request] = receiver.on("/verify")
    secret = WebhookEndpoint.objects.get().secret
    header = request.headers["X-VoxLoop-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert services.verify_signature(secret, header, request.body)
    assert request.body == delivery.body.encode()
    assert not services.verify_signature(secret, header, request.body.replace(b"created", b"resolved"))
    assert not services.verify_signature("whsec_other", header, request.body)
    # An old capture replayed later is refused.
    stamp = int(header.split(",")[0][2:])
    assert not services.verify_signature(secret, header, request.body, now=stamp + 301)


def test_500_is_retried_on_the_backoff_schedule_then_becomes_a_dead_letter(make_feedback, receiver, fast_retries):
    receiver.answers["/fail"] = 500
    delivery = _queue(make_feedback, url=receiver.url("/fail"))
    start = timezone.now()

    assert services.deliver_due(start).retrying == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code == 500
    assert "receiver says 500" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert timedelta(seconds=54) <= delivery.next_attempt_at - start <= timedelta(seconds=66)

    assert services.deliver_due(start + timedelta(seconds=30)).retrying == 0  # not due yet: nothing sent
    assert len(receiver.on("/fail")) == 1

    second = start + timedelta(seconds=70)
    assert services.deliver_due(second).retrying == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None
    assert timedelta(seconds=270) <= delivery.next_attempt_at - second <= timedelta(seconds=330)

    assert services.deliver_due(second + timedelta(seconds=400)).dead == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert delivery.last_error.startswith("gave up after 3 attempts")
    with translation.override("zh-hans"):
        assert delivery.last_error_display.startswith("尝试 3 次后放弃：")
    assert len(receiver.on("/fail")) == 3
    # Dead letters are never picked up again by the periodic task.
    assert services.deliver_due(second + timedelta(days=2)).dead == 0
    assert len(receiver.on("/fail")) == 3


def test_a_receiver_slower_than_the_read_timeout_counts_as_failed(make_feedback, receiver, fast_retries, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    receiver.answers["/slow"] = ("sleep", 2)
    delivery = _queue(make_feedback, url=receiver.url("/slow"))
    run = services.deliver_due()
    assert run.retrying == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error.startswith("timeout")
    assert delivery.last_status_code is None


def test_a_refused_connection_is_retried(make_feedback, fast_retries):
    # Port 9 (discard) on localhost: nothing listens in the test environment.
    delivery = _queue(make_feedback, url="http://127.0.0.1:9/hook")
    assert services.deliver_due().retrying == 1
    delivery.refresh_from_db()
    assert "ConnectionError" in delivery.last_error


def test_410_gone_switches_the_endpoint_off(make_feedback, receiver):
    receiver.answers["/gone"] = 410
    delivery = _queue(make_feedback, url=receiver.url("/gone"))
    assert services.deliver_due().dead == 1
    delivery.refresh_from_db()
    endpoint = delivery.endpoint
    endpoint.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_status_code == 410
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    # Written by the worker, read by an administrator in either language.
    with translation.override("zh-hans"):
        assert "410" in endpoint.disabled_reason_display and "接收方" in endpoint.disabled_reason_display
    # New events no longer go to it.
    _open_case(make_feedback, "第二个投诉：退款一直没到账")
    process_case_events()
    assert WebhookDelivery.objects.count() == 1


def test_retry_now_sends_a_dead_letter_again(make_feedback, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answers["/flaky"] = 503
    delivery = _queue(make_feedback, url=receiver.url("/flaky"))
    assert services.deliver_due().dead == 1
    receiver.answers["/flaky"] = 200  # the receiver was fixed

    services.retry_delivery(delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert services.deliver_due().delivered == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.on("/flaky")) == 2

    with pytest.raises(services.WebhookError) as excinfo:
        services.retry_delivery(delivery)
    assert excinfo.value.code == services.WebhookErrorCode.NOT_DEAD


def test_waiting_deliveries_of_a_switched_off_endpoint_become_dead_letters_unsent(make_feedback, receiver):
    delivery = _queue(make_feedback, url=receiver.url("/later-off"))
    services.set_endpoint_active(delivery.endpoint, False)
    assert services.deliver_due().dead == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert receiver.received == []
    with pytest.raises(services.WebhookError) as excinfo:
        services.retry_delivery(delivery)
    assert excinfo.value.code == services.WebhookErrorCode.ENDPOINT_INACTIVE


def test_a_stale_claim_loses(make_feedback, receiver):
    """The conditional update at the heart of "never twice": a second worker that read the same row loses."""
    delivery = _queue(make_feedback, url=receiver.url("/once"))
    now = timezone.now()
    assert services._claim(delivery.pk, 0, now)
    assert not services._claim(delivery.pk, 0, now)
    # And the claimed row is not due for anybody else until its lease ends.
    assert services.deliver_due(now).skipped == 0
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_delivery_once(make_feedback, receiver, on_postgres, monkeypatch):
    # Committed for real here, so the after-commit kick would send everything at once; leave it to the workers.
    monkeypatch.setattr(services, "_kick_sender", lambda: None)
    endpoint = services.create_endpoint(receiver.url("/race"))
    for n in range(12):
        _open_case(make_feedback, f"投诉 {n}：快递丢件")
    process_case_events()
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 12
    now = timezone.now()
    barrier = threading.Barrier(2)
    runs: list[services.DeliveryRun] = []

    def worker() -> None:
        try:
            barrier.wait()
            runs.append(services.deliver_due(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    keys = [r.headers["Idempotency-Key"] for r in receiver.on("/race")]
    assert len(keys) == 12
    assert len(set(keys)) == 12
    assert sum(r.delivered for r in runs) == 12
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 12


def test_payload_without_personal_data_masks_contacts_and_with_it_names_the_customer(make_feedback, receiver):
    plain = services.create_endpoint(receiver.url("/plain"), event_kinds=["public_reply"])
    personal = services.create_endpoint(
        receiver.url("/personal"), event_kinds=["public_reply"], include_personal_data=True
    )
    case = _open_case(make_feedback)
    case_services.add_reply(case, None, "已退款，请留意 li.ming@example.com 或 13912345678 的通知")
    process_case_events()
    services.deliver_due()
    plain_body = json.loads(receiver.on("/plain")[0].body)
    personal_body = json.loads(receiver.on("/personal")[0].body)
    assert "li.ming@example.com" not in plain_body["payload"]["text"]
    assert "13912345678" not in plain_body["payload"]["text"]
    assert "customer" not in plain_body["case"]
    assert "li.ming@example.com" in personal_body["payload"]["text"]
    assert personal_body["case"]["customer"]["external_id"] == "C-1"
    assert WebhookDelivery.objects.filter(endpoint__in=[plain, personal]).count() == 2


def test_retry_delays_follow_the_schedule_with_jitter(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = "60,300,1800,7200,43200"
    rng = random.Random(7)
    for failures, base in [(1, 60), (2, 300), (3, 1800), (4, 7200), (5, 43200), (9, 43200)]:
        delays = {services.retry_delay(failures, rng=rng).total_seconds() for _ in range(20)}
        assert all(base * 0.9 <= d <= base * 1.1 for d in delays)
        assert len(delays) > 1, "jitter spreads the retries"


def test_urls_must_be_http_or_https_private_addresses_allowed():
    for bad in ["ftp://example.com/hook", "javascript:alert(1)", "file:///etc/passwd", "http://", "example.com/x"]:
        with pytest.raises(services.WebhookError) as excinfo:
            services.create_endpoint(bad)
        assert excinfo.value.code == services.WebhookErrorCode.BAD_URL
    assert services.create_endpoint("http://10.0.0.5:8080/voxloop").is_active
    with pytest.raises(services.WebhookError) as excinfo:
        services.create_endpoint("https://example.com/hook", event_kinds=["created", "exploded"])
    assert excinfo.value.code == services.WebhookErrorCode.UNKNOWN_EVENT
    assert "exploded" in excinfo.value.message


def test_bad_settings_stop_start_up_with_a_clear_message(settings):
    assert services.check_settings() == []
    settings.WEBHOOK_RETRY_SCHEDULE = "60,five minutes"
    settings.WEBHOOK_MAX_ATTEMPTS = 0
    errors = services.check_settings()
    assert all(isinstance(e, Error) for e in errors)
    assert [e.id for e in errors] == ["webhooks.E001", "webhooks.E002"]
    assert "WEBHOOK_RETRY_SCHEDULE" in errors[0].msg and "five minutes" in errors[0].msg


def test_a_delivery_whose_worker_died_mid_send_is_sent_after_its_lease(make_feedback, receiver):
    delivery = _queue(make_feedback, url=receiver.url("/after-crash"))
    now = timezone.now()
    assert services._claim(delivery.pk, 0, now)  # a worker took it ... and was killed before posting
    assert services.deliver_due(now + timedelta(seconds=30)).delivered == 0
    later = now + services.claim_lease() + timedelta(seconds=1)
    assert services.deliver_due(later).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(receiver.on("/after-crash")) == 1


def test_the_periodic_task_is_scheduled_and_sends(make_feedback, receiver, settings):
    from voxloop.webhooks.tasks import deliver_webhooks_task

    assert settings.CELERY_BEAT_SCHEDULE["webhook-deliveries"]["task"] == deliver_webhooks_task.name
    _queue(make_feedback, url=receiver.url("/beat"))
    assert deliver_webhooks_task.delay().get() == {"delivered": 1, "retrying": 0, "dead": 0, "skipped": 0}


def test_an_endpoint_switched_off_by_410_is_in_the_configuration_audit(make_feedback, receiver):
    receiver.answers["/gone"] = 410
    delivery = _queue(make_feedback, url=receiver.url("/gone"))
    services.deliver_due()
    entry = ConfigChange.objects.filter(object_type="webhooks.webhookendpoint").latest("id")
    assert (entry.object_id, entry.action, entry.changes, entry.username) == (
        str(delivery.endpoint_id),
        "changed",
        {"is_active": [True, False]},
        "",
    )
