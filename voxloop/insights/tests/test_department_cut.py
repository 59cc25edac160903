"""The insight pages cut by responsible department: a department is responsible for the topics of its improvement
actions; root causes and the trends' topic charts keep those topics only (with or beside another cut), the other
charts say they are not cut, in Chinese and English."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import translation

from voxloop.accounts.models import Department
from voxloop.actions import services as actions
from voxloop.insights.filters import parse_filters
from voxloop.insights.root_causes import root_causes
from voxloop.insights.tests.test_root_causes import PARAMS, TODAY, complaints, topics  # noqa: F401 -- fixtures
from voxloop.metrics.queries import PeriodError

pytestmark = pytest.mark.django_db


@pytest.fixture
def departments(complaints, manager, agent):  # noqa: F811 -- the fixture imported above
    logistics = Department.objects.create(name="物流部", name_en="Logistics", manager=manager)
    quality = Department.objects.create(name="质量部", name_en="Quality", manager=manager)
    finance = Department.objects.create(name="财务部", name_en="Finance", manager=manager)
    due = TODAY + timedelta(days=30)
    for department, scope in ((logistics, ["logistics.delay"]), (quality, ["quality"]), (finance, ["price"])):
        actions.create_action(manager, title="整改", department=department, owner=agent, due_date=due, topics=scope,
                              today=TODAY)  # fmt: skip
    finance_action = finance.actions.get()
    actions.cancel_action(manager, finance_action, "重复")  # a cancelled action makes no one responsible
    return logistics, quality


def test_root_causes_keep_the_departments_topics(departments, complaints):  # noqa: F811
    logistics, quality = departments
    with translation.override("en"):
        top = root_causes(parse_filters({**PARAMS, "department": str(logistics.pk)}, TODAY), "top", "en")
        sub = root_causes(parse_filters({**PARAMS, "department": str(logistics.pk)}, TODAY), "sub", "en")
        both = root_causes(
            parse_filters({**PARAMS, "department": str(quality.pk), "product": str(complaints.pk)}, TODAY), "top", "en"
        )
        none = root_causes(
            parse_filters({**PARAMS, "department": str(logistics.pk), "product": str(complaints.pk)}, TODAY),
            "top",
            "en",
        )
    assert {r.cause: r.count for r in top.topics.rows} == {"logistics": 40}  # quality is another department's
    assert top.topics.rows[0].percent == 100.0 and top.topics.previous_total == 10
    assert {r.cause: r.count for r in sub.topics.rows} == {"logistics.delay": 30}  # a sub-topic follows its parent
    assert {r.cause: r.count for r in both.topics.rows} == {"quality": 10}  # beside a product cut
    assert none.topics.total == 0


def test_an_unknown_department_is_refused_clearly(departments, client, analyst):
    with pytest.raises(PeriodError):
        parse_filters({**PARAMS, "department": "999999"}, TODAY)
    client.force_login(analyst)
    page = client.get("/insights/root-causes/", {**PARAMS, "department": "999999"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "Unknown responsible department" in page.content.decode()


def test_the_pages_offer_and_say_the_department_cut_in_both_languages(departments, client, analyst):
    logistics, quality = departments
    client.force_login(analyst)
    query = {**PARAMS, "department": str(logistics.pk)}
    en = client.get("/insights/root-causes/", query, HTTP_ACCEPT_LANGUAGE="en")
    html = en.content.decode()
    assert en.status_code == 200
    assert '<select name="department">' in html and "Responsible department" in html
    assert f'<option value="{logistics.pk}" selected>Logistics</option>' in html
    assert f'<option value="{quality.pk}">Quality</option>' in html and "Finance" not in html
    assert "only the topics <strong>Logistics</strong> is responsible for" in html
    bars = json.loads(json.dumps(en.context["chart_options"]))["complaint_topics"]["xAxis"]["data"]
    assert bars == ["Logistics and delivery"]
    trends = f"/insights/trends/?period=custom&amp;start=2026-03-01&amp;end=2026-03-10&amp;department={logistics.pk}"
    assert trends in html
    zh = client.get("/insights/root-causes/", query, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "责任部门" in zh and "只看 <strong>物流部</strong> 负责的主题" in zh and "物流部 的话题趋势" in zh


def test_trends_cut_the_topic_charts_and_say_which_charts_are_not_cut(departments, client, analyst):
    logistics, _quality = departments
    client.force_login(analyst)
    page = client.get("/insights/trends/", {**PARAMS, "department": str(logistics.pk)}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    charts = {c.key: c for c in page.context["page"].charts}
    assert [s["name"] for s in charts["topics"].option["series"]] == ["Logistics and delivery"]
    assert charts["topic-sentiment"].option["yAxis"]["data"] == ["Logistics and delivery"]
    assert charts["sentiment"].note.startswith("Not cut by responsible department")
    html = page.content.decode()  # reached from root causes: the chosen department is offered, and "All"
    assert f'<option value="{logistics.pk}" selected>Logistics</option>' in html and "Quality" not in html
    overview = client.get("/insights/", {**PARAMS, "department": str(logistics.pk)}, HTTP_ACCEPT_LANGUAGE="en")
    assert "this page is not cut by responsible department" in overview.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_choosing_a_department_in_chromium_keeps_its_topics(browser, live_server, manager, agent, language):
    """Root causes in a real Chromium: choose the responsible department in the filter bar, the Pareto keeps its
    topic only, and the link opens the department's topic trends."""
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from voxloop.actions.tests.test_browser import signed_in
    from voxloop.analysis.models import Topic
    from voxloop.metrics import services as metrics
    from voxloop.metrics.tests.conftest import make_feedback

    shots = Path("/tmp/actions")
    shots.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    for code, zh, en in [
        ("logistics", "物流配送", "Logistics and delivery"),
        ("quality", "产品质量", "Product quality"),
    ]:
        Topic.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en})
    noon = datetime.combine(today - timedelta(days=3), datetime.min.time()).replace(hour=12)
    for i in range(30):
        make_feedback(noon.replace(tzinfo=ZoneInfo("Asia/Shanghai")), kind="complaint", sentiment="negative",
                      topics=("logistics",) if i < 20 else ("quality",))  # fmt: skip
    metrics.rebuild(since=today - timedelta(days=10), until=today)
    logistics = Department.objects.create(name="物流部", name_en="Logistics", manager=manager)
    quality = Department.objects.create(name="质量部", name_en="Quality", manager=manager)
    for department, topic in ((logistics, "logistics"), (quality, "quality")):
        actions.create_action(manager, title="整改", department=department, owner=agent,
                              due_date=today + timedelta(days=30), topics=[topic])  # fmt: skip
    context, page, errors = signed_in(browser, live_server, manager, language)
    try:
        page.goto(f"{live_server.url}/insights/root-causes/?period=30")
        page.select_option("select[name=department]", str(quality.pk))
        with page.expect_navigation():
            page.click("#insight-filters button[type=submit]")
        page.wait_for_selector("[data-insight-chart=complaint_topics][data-rendered=true]", timeout=10000)
        said = page.locator("#department-cut").inner_text()
        assert ("Quality" in said) if language == "en" else ("质量部" in said)
        options = json.loads(page.locator("#insight-charts").inner_text())
        assert options["complaint_topics"]["xAxis"]["data"] == (
            ["Product quality"] if language == "en" else ["产品质量"]
        )
        page.screenshot(path=str(shots / f"root-causes-department-{language}.png"), full_page=True)
        with page.expect_navigation():
            page.click("#department-trends a")
        assert f"department={quality.pk}" in page.url
        page.wait_for_selector("[data-insight-chart=topics][data-rendered=true]", timeout=10000)
        trends = json.loads(page.locator("#insight-charts").inner_text())
        assert [s["name"] for s in trends["topics"]["series"]] == (
            ["Product quality"] if language == "en" else ["产品质量"]
        )
    finally:
        context.close()
    assert not errors, errors
