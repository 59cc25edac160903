"""Early warning in a real headless Chromium: the alert list and one alert draw their charts (canvas) without console
errors, an analyst acknowledges from the page, and the drill link lists exactly the feedback behind the alert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from voxloop.alerts import services
from voxloop.alerts.models import Alert, AlertStatus
from voxloop.alerts.tests.handmade import build
from voxloop.analysis.models import FeedbackTopic, Topic
from voxloop.feedback.models import Feedback
from voxloop.metrics.days import day_bounds, local_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def spike_alert() -> tuple[Alert, set[int]]:
    """A logistics surge yesterday and today (hand-made roll-ups), with the feedback items behind it."""
    today = local_day(timezone.now())
    yesterday = today - timedelta(days=1)
    Topic.objects.get_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    Topic.objects.get_or_create(code="billing", defaults={"name_zh": "价格与账单", "name_en": "Billing"})
    build(today, spikes={("logistics", yesterday): 4.0, ("logistics", today): 4.0})

    def item(n: int, day, topic: str, sentiment: str, text: str) -> Feedback:  # noqa: ANN001
        f = Feedback.objects.create(channel="webform", source="browser", external_id=f"a{n}",
                                    received_at=day_bounds(day)[0] + timedelta(minutes=30 + n), text=text,
                                    sentiment=sentiment, kind="complaint" if sentiment == "negative" else "other")  # fmt: skip
        FeedbackTopic.objects.create(feedback=f, code=f"{topic}.delay", top_code=topic)
        return f

    behind = {
        item(1, yesterday, "logistics", "negative", "快递五天还没到 <b>加急</b>").pk,
        item(2, today, "logistics", "negative", "物流信息一直不更新").pk,
        item(3, today, "logistics", "positive", "快递员态度很好").pk,
    }
    item(4, today - timedelta(days=6), "logistics", "negative", "上周的快递也慢")  # before the alert
    item(5, today, "billing", "negative", "发票开错了")  # another topic
    services.detect(today)
    return Alert.objects.get(), behind


def test_alert_list_and_detail_draw_charts_acknowledge_and_drill_down(login_page, analyst, spike_alert, live_server):
    alert, behind = spike_alert
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/alerts/")
    page.wait_for_selector("[data-insight-chart=alerts_per_day] canvas")
    assert page.locator("[data-insight-chart] canvas").count() >= 1
    row = page.locator(f"tr.alert-row[data-alert='{alert.pk}']")
    assert "物流配送" in row.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "insights-alerts.png"), full_page=True)

    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/insights/alerts/{alert.pk}/")
    page.wait_for_selector("[data-insight-chart=series] canvas")
    assert page.locator("#chart-series [data-rendered=true]").count() == 1
    # example text is shown as text, not markup
    assert "<b>加急</b>" in page.locator("#alert-examples").inner_text()
    assert page.locator("#alert-examples b").count() == 0
    page.screenshot(path=str(SHOTS / "insights-alert-detail.png"), full_page=True)

    page.fill("textarea[name=note]", "快递公司罢工，已通知客户")
    page.click("button[name=acknowledge]")
    page.wait_for_load_state("networkidle")
    assert "快递公司罢工" in page.locator("#alert-note").inner_text()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == analyst

    page.click("#alert-drill")
    page.wait_for_load_state("networkidle")
    assert "/feedback/" in page.url and "topic=logistics" in page.url
    shown = {int(pk) for pk in page.locator("tr.inbox-row").evaluate_all("rows => rows.map(r => r.dataset.id)")}
    assert shown == behind

    # the acknowledged tab lists it, with who acknowledged it
    page.goto(f"{live_server.url}/insights/alerts/?status=acknowledged")
    page.wait_for_selector("[data-insight-chart] canvas")
    acknowledged = page.locator(f"tr.alert-row[data-alert='{alert.pk}']")
    assert analyst.username in acknowledged.inner_text()


def test_clicking_an_anomalous_point_opens_that_days_feedback(login_page, analyst, spike_alert, live_server):
    alert, behind = spike_alert
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/alerts/{alert.pk}/")
    page.wait_for_selector("[data-insight-chart=series] canvas")
    # where the last anomalous point (today) is drawn, in viewport coordinates: scrolled into view first, as a
    # user would, since the alert's summary (with its create-action link) can push the chart below the fold
    x, y = page.locator("[data-insight-chart=series]").evaluate(
        """el => {
            el.scrollIntoView({block: "center"});
            const chart = echarts.getInstanceByDom(el);
            const marked = chart.getOption().series.find(s => s.type === "scatter");
            const [day, value] = marked.data[marked.data.length - 1].value;
            const column = chart.getOption().xAxis[0].data.indexOf(day);
            const point = chart.convertToPixel({gridIndex: 0}, [column, value]);
            const box = el.getBoundingClientRect();
            return [box.left + point[0], box.top + point[1]];
        }"""
    )
    # the point is on screen and nothing (an action marker, a band) lies over the chart there
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('[data-insight-chart]')?.dataset.insightChart", [x, y]
    )
    assert on_top == "series"
    page.mouse.click(x, y)
    page.wait_for_url("**/feedback/**")
    page.wait_for_load_state("networkidle")
    today = local_day(timezone.now()).isoformat()
    assert f"date_from={today}" in page.url and f"date_to={today}" in page.url and "topic=logistics" in page.url
    shown = {int(pk) for pk in page.locator("tr.inbox-row").evaluate_all("rows => rows.map(r => r.dataset.id)")}
    today_items = set(Feedback.objects.filter(pk__in=behind, external_id__in=["a2", "a3"]).values_list("pk", flat=True))
    assert shown == today_items


def test_subscribing_from_the_page(login_page, manager, spike_alert, live_server):
    page = login_page(manager)
    page.goto(f"{live_server.url}/insights/alerts/")
    page.click("#my-subscriptions")
    page.wait_for_load_state("networkidle")
    page.select_option("select[name=min_severity]", "medium")
    page.select_option("select[name=scope]", "topic:logistics")
    page.click("button[name=subscribe]")
    page.wait_for_load_state("networkidle")
    row = page.locator("tr.subscription-row")
    assert row.count() == 1 and "物流配送" in row.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "insights-alert-subscriptions.png"), full_page=True)
    page.click("button[name=unsubscribe]")
    page.wait_for_load_state("networkidle")
    assert page.locator("tr.subscription-row").count() == 0
