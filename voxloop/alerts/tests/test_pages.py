"""The early-warning pages: who may see and act, what they show, forms that re-render with their errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from voxloop.accounts.models import Role, User
from voxloop.alerts import services
from voxloop.alerts.models import Alert, AlertStatus, AlertSubscription
from voxloop.alerts.tests.handmade import TODAY, build
from voxloop.analysis.models import FeedbackTopic, Topic
from voxloop.feedback.models import Feedback
from voxloop.metrics.days import day_bounds

pytestmark = pytest.mark.django_db

D1 = TODAY - timedelta(days=1)


@pytest.fixture
def alert(monkeypatch) -> Alert:
    Topic.objects.get_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    build(spikes={("logistics", D1): 4.0, ("logistics", TODAY): 4.0})
    noon = day_bounds(TODAY)[0] + timedelta(hours=12)
    item = Feedback.objects.create(channel="webform", source="t", external_id="x1", received_at=noon,
                                   text="<script>alert('x')</script> 快递三天没动", sentiment="negative")  # fmt: skip
    FeedbackTopic.objects.create(feedback=item, code="logistics.delay", top_code="logistics")
    services.detect(TODAY)
    # the pages show "today" as the site's today: pin it to the data's
    monkeypatch.setattr("voxloop.alerts.views.today", lambda: TODAY)
    return Alert.objects.get()


def _viewer() -> User:
    return User.objects.create_user(username="vera-viewer", password="pw-for-tests", role=Role.VIEWER)


def _urls(alert: Alert) -> list[str]:
    return [reverse("alerts:list"), reverse("alerts:detail", args=[alert.pk]), reverse("alerts:subscriptions")]


def test_agents_get_403_everywhere(client, agent, alert):
    client.force_login(agent)
    for url in _urls(alert):
        assert client.get(url).status_code == 403
    assert client.post(reverse("alerts:detail", args=[alert.pk]), {"note": "x"}).status_code == 403
    assert not Alert.objects.get().is_acknowledged


def test_anonymous_users_are_sent_to_log_in(client, alert):
    for url in _urls(alert):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_shows_what_rose_by_how_much_and_since_when(client, analyst, alert):
    client.force_login(analyst)
    response = client.get(reverse("alerts:list") + "?period=custom&start=2026-01-01&end=2026-03-04")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-insight-chart="alerts_per_day"' in html
    assert f'data-alert="{alert.pk}"' in html
    assert "物流配送" in html
    assert D1.isoformat() in html
    assert f'href="/insights/alerts/{alert.pk}/"' in html
    # the acknowledged tab is empty until someone acknowledges
    response = client.get(reverse("alerts:list") + "?period=custom&start=2026-01-01&end=2026-03-04&status=acknowledged")
    assert f'data-alert="{alert.pk}"' not in response.content.decode()


def test_the_list_is_the_insights_subnav_entry(client, analyst, alert):
    client.force_login(analyst)
    html = client.get(reverse("alerts:list")).content.decode()
    assert '<a href="/insights/alerts/" class="active" aria-current="page">' in html


def test_the_chart_exports_as_csv(client, analyst, alert):
    client.force_login(analyst)
    response = client.get(reverse("alerts:list") + "?period=custom&start=2026-03-01&end=2026-03-04&export=csv"
                          "&chart=alerts_per_day")  # fmt: skip
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert any(line.startswith(D1.isoformat()) for line in lines)


def test_the_detail_page_escapes_example_text_and_links_the_drill_down(client, analyst, alert):
    client.force_login(analyst)
    response = client.get(reverse("alerts:detail", args=[alert.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; 快递三天没动" in html
    item = Feedback.objects.get(external_id="x1")
    assert f'href="/feedback/{item.pk}/"' in html
    assert f"/feedback/?date_from={D1.isoformat()}&amp;date_to={TODAY.isoformat()}&amp;topic=logistics" in html
    assert 'data-insight-chart="series"' in html


def test_the_series_export_holds_the_anomalous_days(client, analyst, alert):
    client.force_login(analyst)
    response = client.get(reverse("alerts:detail", args=[alert.pk]) + "?export=csv&chart=series")
    rows = [line.split(",") for line in response.content.decode("utf-8-sig").splitlines()[1:]]
    flagged = [row[0] for row in rows if row[-1] == "1"]
    assert flagged == [D1.isoformat(), TODAY.isoformat()]


def test_acknowledging_records_who_when_and_the_note(client, manager, alert):
    client.force_login(manager)
    url = reverse("alerts:detail", args=[alert.pk])
    response = client.post(url, {"note": "Courier strike; customers informed."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == manager
    assert alert.acknowledgement_note == "Courier strike; customers informed."
    html = client.get(
        reverse("alerts:list") + "?status=acknowledged&period=custom&start=2026-02-01&end=2026-03-04"
    ).content.decode()
    assert "Courier strike" in html and "mona-manager" in html


def test_an_invalid_note_re_renders_with_its_error_and_status_200(client, analyst, alert):
    client.force_login(analyst)
    response = client.post(reverse("alerts:detail", args=[alert.pk]), {"note": "x" * 2001})
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Alert.objects.get().is_acknowledged


def test_viewers_see_alerts_but_cannot_acknowledge(client, alert):
    client.force_login(_viewer())
    url = reverse("alerts:detail", args=[alert.pk])
    response = client.get(url)
    assert response.status_code == 200 and 'name="acknowledge"' not in response.content.decode()
    assert client.post(url, {"note": "no"}).status_code == 403
    assert not Alert.objects.get().is_acknowledged


def test_subscribing_and_unsubscribing(client, analyst, alert):
    client.force_login(analyst)
    url = reverse("alerts:subscriptions")
    response = client.post(url, {"min_severity": "medium", "scope": "topic:logistics", "email": "on"})
    assert response.status_code == 302
    subscription = AlertSubscription.objects.get(user=analyst)
    assert (subscription.dimension, subscription.value, subscription.min_severity) == ("topic", "logistics", "medium")
    html = client.get(url).content.decode()
    assert "物流配送" in html and 'name="unsubscribe"' in html
    # subscribing to the same scope again changes it instead of adding a second one
    client.post(url, {"min_severity": "critical", "scope": "topic:logistics"})
    assert AlertSubscription.objects.get(user=analyst).min_severity == "critical"
    client.post(url, {"unsubscribe": str(subscription.pk)})
    assert not AlertSubscription.objects.exists()


def test_an_invalid_subscription_re_renders_with_its_errors(client, analyst, alert):
    client.force_login(analyst)
    response = client.post(reverse("alerts:subscriptions"), {"min_severity": "enormous", "scope": "topic:nope"})
    assert response.status_code == 200
    assert response.content.decode().count('class="errorlist') == 2
    assert not AlertSubscription.objects.exists()


def test_one_user_cannot_remove_another_users_subscription(client, analyst, manager, alert):
    theirs = AlertSubscription.objects.create(user=manager, min_severity="high")
    client.force_login(analyst)
    client.post(reverse("alerts:subscriptions"), {"unsubscribe": str(theirs.pk)})
    assert AlertSubscription.objects.filter(pk=theirs.pk).exists()


def test_the_detail_page_reads_few_queries(client, analyst, alert, django_assert_max_num_queries):
    client.force_login(analyst)
    with django_assert_max_num_queries(15):
        assert client.get(reverse("alerts:detail", args=[alert.pk])).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(reverse("alerts:list")).status_code == 200
