"""Detection on hand-made roll-ups: the right alerts, once, and the right people told once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django import forms
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from voxloop.alerts import services
from voxloop.alerts.models import Alert, AlertStatus, AlertSubscription
from voxloop.alerts.tests.handmade import TODAY, build, build_nps
from voxloop.metrics.models import MetricDaily
from voxloop.notify.models import MessageKind, OutgoingMessage
from voxloop.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

D1, D0 = TODAY - timedelta(days=1), TODAY  # the spike: yesterday (Tuesday) and today


def spike(factor: float = 4.0, extra: dict | None = None) -> dict:
    return {("logistics", D1): factor, ("logistics", D0): factor, **(extra or {})}


@pytest.fixture
def subscriber(analyst):
    analyst.email = "anna@example.com"
    analyst.save(update_fields=["email"])
    AlertSubscription.objects.create(user=analyst, min_severity="medium")
    return analyst


def test_a_spike_in_one_topic_is_exactly_one_alert_with_its_start_day():
    build(spikes=spike())
    run = services.detect(TODAY)
    alert = Alert.objects.get()
    assert (alert.metric, alert.dimension, alert.value) == ("count", "topic", "logistics")
    assert alert.started_on == D1
    assert alert.last_day == D0
    assert alert.status == AlertStatus.OPEN
    assert alert.ratio is not None and alert.ratio > 2.5
    assert alert.observed > alert.expected * 2.5
    assert run.created == 1 and run.series > 4


def test_a_weekday_pattern_alone_is_no_alert():
    # weekends are twice as busy as weekdays in logistics and quality, half as busy in billing
    build()
    run = services.detect(TODAY)
    assert run.found == 0
    assert not Alert.objects.exists()


def test_running_detection_again_updates_instead_of_duplicating(subscriber):
    build(spikes=spike())
    services.detect(TODAY)
    first = Alert.objects.get()
    again = services.detect(TODAY)
    assert Alert.objects.count() == 1
    assert again.created == 0 and again.updated == 1 and again.announced == 0
    assert OutgoingMessage.objects.count() == 1
    # next day, the run goes on: the same alert grows
    MetricDaily.objects.all().delete()
    build(TODAY + timedelta(days=1), spikes=spike(extra={("logistics", TODAY + timedelta(days=1)): 4.0}))
    services.detect(TODAY + timedelta(days=1))
    alert = Alert.objects.get()
    assert alert.pk == first.pk
    assert alert.started_on == D1 and alert.last_day == TODAY + timedelta(days=1)


@override_settings(LANGUAGE_CODE="en")  # commands speak the site language
def test_the_command_prints_progress_and_a_summary(capsys):
    build(spikes=spike())
    call_command("detect_alerts", "--date", TODAY.isoformat())
    out, err = capsys.readouterr()
    assert "1 alerts created" in out
    assert "detect_alerts: scoring" in err


def test_a_subscriber_gets_one_email_through_the_outbox(subscriber, django_capture_on_commit_callbacks):
    build(spikes=spike())
    with django_capture_on_commit_callbacks(execute=True):
        services.detect(TODAY)
    message = OutgoingMessage.objects.get()
    assert message.kind == MessageKind.STAFF_ALERT
    assert message.to_user == subscriber and message.to_email == "anna@example.com"
    assert len(mail.outbox) == 1
    assert D1.isoformat() in mail.outbox[0].subject
    alert = Alert.objects.get()
    assert f"/insights/alerts/{alert.pk}/" in mail.outbox[0].body
    assert "topic=logistics" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        services.detect(TODAY)
    assert len(mail.outbox) == 1


def test_subscriptions_filter_by_severity_and_scope(analyst, manager, admin_user):
    for user, email in ((analyst, "a@example.com"), (manager, "m@example.com"), (admin_user, "x@example.com")):
        user.email = email
        user.save(update_fields=["email"])
    AlertSubscription.objects.create(user=analyst, min_severity="medium", dimension="topic", value="logistics")
    AlertSubscription.objects.create(user=manager, min_severity="medium", dimension="product")
    AlertSubscription.objects.create(user=admin_user, min_severity="critical")
    build(spikes=spike(2.5))  # a medium or high alert, not critical
    services.detect(TODAY)
    assert Alert.objects.get().severity != "critical"
    assert list(OutgoingMessage.objects.values_list("to_email", flat=True)) == ["a@example.com"]


def test_acknowledging_stops_further_notification(subscriber, manager):
    build(spikes={("logistics", D0): 2.6})
    services.detect(TODAY)
    alert = Alert.objects.get()
    assert alert.severity != "critical"
    assert OutgoingMessage.objects.count() == 1
    services.acknowledge(alert, manager, "Courier strike in Shanghai; customers informed.")
    # tomorrow it is much worse: severity rises, but an acknowledged alert is not announced again
    MetricDaily.objects.all().delete()
    tomorrow = TODAY + timedelta(days=1)
    build(tomorrow, spikes={("logistics", D0): 2.6, ("logistics", tomorrow): 8.0})
    services.detect(tomorrow)
    alert.refresh_from_db()
    assert alert.severity == "critical"
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == manager and alert.acknowledgement_note.startswith("Courier strike")
    assert OutgoingMessage.objects.count() == 1


def test_a_rise_in_severity_is_announced_once_more(subscriber):
    build(spikes={("logistics", D0): 2.6})
    services.detect(TODAY)
    MetricDaily.objects.all().delete()
    tomorrow = TODAY + timedelta(days=1)
    build(tomorrow, spikes={("logistics", D0): 2.6, ("logistics", tomorrow): 8.0})
    services.detect(tomorrow)
    services.detect(tomorrow)
    assert OutgoingMessage.objects.count() == 2
    assert Alert.objects.get().notified_severity == "critical"


def test_the_webhook_event_is_queued_for_endpoints_that_want_it():
    wants = WebhookEndpoint.objects.create(url="https://hooks.example.com/a", event_kinds=["alert.raised"])
    WebhookEndpoint.objects.create(url="https://hooks.example.com/b", event_kinds=["resolved"])
    build(spikes=spike())
    services.detect(TODAY)
    services.detect(TODAY)
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == wants and delivery.event_kind == "alert.raised" and delivery.case is None
    body = json.loads(delivery.body)
    alert = Alert.objects.get()
    assert body["kind"] == "alert.raised"
    assert body["alert"]["id"] == alert.pk and body["alert"]["value"] == "logistics"
    assert body["alert"]["started_on"] == D1.isoformat() and body["alert"]["severity"] == alert.severity


def test_a_negative_share_rise_in_one_topic_is_a_rate_alert():
    shares = {("billing", TODAY - timedelta(days=i)): 0.75 for i in range(3)}
    build(negative_share=shares)
    services.detect(TODAY)
    alert = Alert.objects.get()
    assert (alert.metric, alert.dimension, alert.value) == ("rate", "topic", "billing")
    assert alert.started_on == TODAY - timedelta(days=2)
    # the usual share is ~20% (the baseline of the later days already holds the first risen day)
    assert alert.observed > 0.6 and alert.expected == pytest.approx(0.2, abs=0.06)


def test_an_nps_drop_is_an_alert():
    build()
    build_nps(drop_days={TODAY})
    services.detect(TODAY)
    alert = Alert.objects.get()
    assert alert.metric == "nps" and alert.started_on == TODAY
    assert alert.observed < 0 < alert.expected


def test_old_runs_are_history_and_alerts_close_after_their_run(settings):
    settings.ALERTS_CLOSE_AFTER_DAYS = 3
    old = TODAY - timedelta(days=30)
    build(spikes={("logistics", old): 4.0, ("logistics", old + timedelta(days=1)): 4.0})
    assert services.detect(TODAY).found == 1
    assert not Alert.objects.exists()  # older than the last few days: not stored...
    services.detect(TODAY, backfill=True)  # ...unless asked: then stored closed and silent
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.CLOSED and alert.notified_severity == alert.severity
    # an open alert closes once its run has been over for ALERTS_CLOSE_AFTER_DAYS days
    Alert.objects.all().delete()
    services.detect(old + timedelta(days=2))
    assert Alert.objects.get().status == AlertStatus.OPEN
    services.detect(old + timedelta(days=5))
    assert Alert.objects.get().status == AlertStatus.CLOSED


def test_examples_are_negative_or_complaint_items_of_the_cut_in_the_window():
    from django.utils import timezone

    from voxloop.analysis.models import FeedbackTopic
    from voxloop.feedback.models import Feedback
    from voxloop.metrics.days import day_bounds

    build(spikes=spike())
    noon = day_bounds(D0)[0] + timedelta(hours=12)

    def item(n: int, topic: str, sentiment: str, kind: str = "", when=noon) -> Feedback:  # noqa: ANN001
        f = Feedback.objects.create(channel="webform", source="t", external_id=f"e{n}", received_at=when,
                                    text=f"item {n}", sentiment=sentiment, kind=kind)  # fmt: skip
        FeedbackTopic.objects.create(feedback=f, code=f"{topic}.x", top_code=topic)
        return f

    wanted = [item(i, "logistics", "negative", when=noon - timedelta(minutes=i)) for i in range(3)]
    complaint = item(10, "logistics", "neutral", "complaint", when=noon - timedelta(hours=30))
    item(20, "logistics", "positive")  # not negative, not a complaint
    item(21, "billing", "negative")  # another topic
    item(22, "logistics", "negative", when=noon - timedelta(days=5))  # before the alert
    assert timezone.is_aware(noon)
    services.detect(TODAY)
    alert = Alert.objects.get()
    assert alert.example_ids == [f.pk for f in wanted] + [complaint.pk]


def test_alert_raised_is_an_event_webhook_endpoints_can_choose():
    from django.utils import translation

    from voxloop.webhooks import queries as webhook_queries
    from voxloop.webhooks.forms import EndpointForm
    from voxloop.webhooks.services import validate_kinds

    assert validate_kinds(["alert.raised", "resolved"]) == ["alert.raised", "resolved"]
    kinds = EndpointForm().fields["event_kinds"]
    assert isinstance(kinds, forms.ChoiceField)
    assert kinds.valid_value("alert.raised")  # offered among the choices
    with translation.override("en"):
        assert webhook_queries.event_label("alert.raised") == "Early-warning alert raised"


def test_detection_reads_the_roll_ups_the_metrics_service_builds():
    """End to end on real feedback rows: ingest-shaped items, the roll-up rebuild, then detection."""
    import numpy as np

    from voxloop.analysis.models import FeedbackTopic
    from voxloop.feedback.models import Feedback
    from voxloop.metrics.days import day_bounds
    from voxloop.metrics.services import rebuild

    rng = np.random.default_rng(3)
    items, topics = [], []
    for back in range(70, -1, -1):
        day = TODAY - timedelta(days=back)
        n = int(rng.poisson(12 if day.weekday() < 5 else 24)) * (4 if back <= 1 else 1)
        start = day_bounds(day)[0]
        for i in range(n):
            items.append(Feedback(channel="webform", source="e2e", external_id=f"{back}-{i}", text="快递慢",
                                  received_at=start + timedelta(minutes=10 + i), sentiment="neutral"))  # fmt: skip
    Feedback.objects.bulk_create(items, batch_size=2000)
    for feedback_id in Feedback.objects.values_list("id", flat=True):
        topics.append(FeedbackTopic(feedback_id=feedback_id, code="logistics.delay", top_code="logistics"))
    FeedbackTopic.objects.bulk_create(topics, batch_size=2000)
    rebuild(["feedback"], until=TODAY)
    services.detect(TODAY)
    alerts = {(a.metric, a.dimension, a.value, a.started_on) for a in Alert.objects.all()}
    assert ("count", "topic", "logistics", D1) in alerts
    assert ("count", "", "", D1) in alerts  # every item is logistics: the total rose the same
    assert ("count", "channel", "webform", D1) in alerts
    assert not {a for a in alerts if a[0] != "count"}


def test_nothing_to_score_is_no_error():
    run = services.detect(TODAY)
    assert (run.series, run.found, run.created) == (0, 0, 0)
