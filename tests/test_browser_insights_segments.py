"""Customer segments in a real headless Chromium: the charts draw on canvas without console errors, clicking the
high-risk bar lists exactly those customers, each row leads to the customer's page, and a manager opens recovery
cases from the list after confirming."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps

from voxloop.cases.models import ACTIVE_STATUSES, Case, SLAPolicy
from voxloop.feedback.models import Customer, CustomerSegment
from voxloop.insights import segmentation
from voxloop.insights.tests.test_segments import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def placed() -> dict[str, Customer]:
    # A transactional test starts with empty tables: put back the default SLA policies cases need.
    if not SLAPolicy.objects.exists():
        importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies").create_defaults(
            apps, None
        )
    world = build_world()
    segmentation.assign_segments()
    return world


def _click_bar(page, key: str, category: int) -> None:  # noqa: ANN001
    """Click the middle of bar ``category`` of a horizontal bar chart, where a person would click."""
    x, y = page.evaluate(
        """([key, category]) => {
            const el = document.querySelector(`[data-insight-chart="${key}"]`);
            const chart = echarts.getInstanceByDom(el);
            const value = chart.getOption().series[0].data[category].value;
            const [x, y] = chart.convertToPixel({seriesIndex: 0}, [value / 2, category]);
            const box = el.getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        [key, category],
    )
    page.mouse.click(x, y)


def test_segments_chart_drills_to_the_customers_and_a_manager_opens_recovery_cases(
    login_page, manager, placed, live_server
):
    page = login_page(manager)
    page.goto(f"{live_server.url}/insights/segments/")
    page.wait_for_selector("[data-insight-chart=segments] canvas")
    page.wait_for_selector("[data-insight-chart=value-tiers] canvas")
    assert page.locator("[data-insight-chart] canvas").count() == 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "insights-segments.png"), full_page=True)

    _click_bar(page, "segments", 0)  # the first bar: high-risk recovery
    page.wait_for_url("**/insights/segments/high_risk_recovery/")
    page.wait_for_load_state("networkidle")
    shown = {
        int(pk) for pk in page.locator("tr.customer-row").evaluate_all("rows => rows.map(r => r.dataset.customer)")
    }
    expected = set(Customer.objects.filter(segment=CustomerSegment.HIGH_RISK_RECOVERY).values_list("pk", flat=True))
    assert shown == expected == {placed["vip_unhappy"].pk, placed["vip_low_score"].pk}
    page.screenshot(path=str(SHOTS / "insights-segment-list.png"), full_page=True)

    # The bulk action asks for a confirmation first; then one case per customer without one.
    before = Case.objects.count()
    page.click("#recovery summary")
    page.click("button[name=open_cases]")  # not confirmed: the browser's required check keeps the form back
    assert Case.objects.count() == before
    page.check("input[name=confirm]")
    page.click("button[name=open_cases]")
    page.wait_for_load_state("networkidle")
    assert "2" in page.locator("ul.messages").inner_text()  # "Opened 2 recovery cases." in the page's language
    assert Case.objects.count() == before + 2
    assert Case.objects.filter(customer__in=expected, status__in=ACTIVE_STATUSES).count() == 2
    assert page.locator("tr.customer-row td:last-child a").count() == 2  # each row now shows its open case

    row = page.locator(f"tr.customer-row[data-customer='{placed['vip_unhappy'].pk}']")
    row.locator("td:first-child a").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/feedback/customers/{placed['vip_unhappy'].pk}/")
    assert "vip_unhappy" in page.locator("h1").inner_text()


def test_an_analyst_follows_a_value_tier_and_sees_no_actions(login_page, analyst, placed, live_server):
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/segments/")
    page.wait_for_selector("[data-insight-chart=value-tiers] canvas")
    assert page.locator("button[name=recompute]").count() == 0
    page.goto(f"{live_server.url}/insights/segments/others/")
    page.click("a[data-tier=low]")
    page.wait_for_load_state("networkidle")
    shown = {
        int(pk) for pk in page.locator("tr.customer-row").evaluate_all("rows => rows.map(r => r.dataset.customer)")
    }
    assert shown == {placed[f"low_{i}"].pk for i in range(6)}
    assert page.locator("#recovery").count() == 0
