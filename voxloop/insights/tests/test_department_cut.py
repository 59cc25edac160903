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
