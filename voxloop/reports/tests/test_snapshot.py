"""The report's data as a reader checks it: every KPI equals the metrics page for the same dates and scope, a
department's report covers its teams only, quotes are masked for a reader without the right to see contacts,
month boundaries follow the organisation's zone, empty periods are grey, and both languages are translated."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.metrics import services as rollups
from voxloop.metrics.queries import Cut, Period, kpi_panel
from voxloop.metrics.templatetags.metrics_format import kpi_format
from voxloop.metrics.tests import conftest as metrics_fixtures
from voxloop.metrics.tests.conftest import make_case, make_customer, make_feedback, make_response
from voxloop.reports.periods import period_for
from voxloop.reports.snapshot import REPORT_KPIS, ReportScope, build_snapshot

SH = ZoneInfo("Asia/Shanghai")
# The metrics tests' fixtures (an SLA policy on a calendar, two teams, a CSAT survey), shared rather than copied.
policy, people, csat_survey = metrics_fixtures.policy, metrics_fixtures.people, metrics_fixtures.csat_survey
NOVEMBER = period_for("month", datetime(2026, 11, 10).date())
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=SH)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


@pytest.fixture(autouse=True)
def english_formats():
    """The metrics page's formats are compared in English (the reports override the language themselves)."""
    with translation.override("en"):
        yield


@pytest.fixture
def departments(people):
    after_sales = Department.objects.create(name="售后服务部", name_en="After-sales service")
    logistics = Department.objects.create(name="物流部", name_en="Logistics")
    people["team"].department = after_sales
    people["team"].save()
    people["other_team"].department = logistics
    people["other_team"].save()
    return {"after_sales": after_sales, "logistics": logistics}


@pytest.fixture
def november(policy, people, csat_survey, departments):
    """Cases, survey answers and complaints in October and November 2026, for two teams in two departments."""
    team, other = people["team"], people["other_team"]
    customer = make_customer("张伟")
    customer.phone = "13812345678"
    customer.save()
    for month, count in ((10, 3), (11, 6)):
        for i in range(count):
            opened = at(month, 3 + i)
            resolved = opened + timedelta(hours=6) if i % 3 else None
            make_case(opened, policy=policy, replies=[opened + timedelta(hours=1)], resolved=resolved,
                      status="resolved" if resolved else "open", team=team, customer=customer,
                      reopen_count=1 if i == 1 else 0)  # fmt: skip
        make_case(at(month, 20), policy=policy, replies=[at(month, 20, 12)], resolved=at(month, 21),
                  status="resolved", team=other)  # fmt: skip
    for score, csat in ((10, 5), (9, 5), (8, 4), (3, 1), (10, 4)):
        make_response(csat_survey, at(11, 12), nps=score, csat=csat, team=team, dimensions={"speed": csat})
    for score in (2, 6, 9):
        make_response(csat_survey, at(10, 12), nps=score, csat=2, team=team, dimensions={"speed": 2})
    make_response(csat_survey, at(11, 13), nps=0, csat=1, team=other, dimensions={"speed": 1})
    texts = [
        "快递太慢了，张伟的电话13812345678一直没人回，已经等了五天",
        "物流延误严重，客服也不回复我的邮件 zhangwei@example.com",
        "送货员态度很差，包裹还破损了，要求赔偿",
    ]
    for i, text in enumerate(texts):
        make_feedback(at(11, 5 + i), sentiment="negative", score=-0.8 + i * 0.1, kind="complaint",
                      topics=("logistics",), customer=customer if i == 0 else None, text=text)  # fmt: skip
    make_feedback(at(11, 9), sentiment="negative", score=-0.5, kind="complaint", topics=("price",),
                  text="价格比别家贵太多了，不划算")  # fmt: skip
    make_feedback(at(10, 9), sentiment="negative", score=-0.5, kind="complaint", topics=("price",),
                  text="价格涨了，不满意")  # fmt: skip
    rollups.rebuild()
    return people


def kpis(snapshot):
    return {k["key"]: k for k in snapshot["status"]["kpis"]}


def test_every_kpi_equals_the_metrics_panel_for_the_same_period(november):
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    panel = kpi_panel(Period(NOVEMBER.start, NOVEMBER.end))
    cards = {c.definition.key: c for c in panel.cards}
    rows = kpis(snapshot)
    for kpi in REPORT_KPIS:
        card, row = cards[kpi.key], rows[kpi.key]
        assert row["display"] == kpi_format(card.current.value, card.definition.unit), kpi.key
        assert row["n"] == card.current.n, kpi.key
        if card.current.value is None:
            assert row["value"] is None
            continue
        scale = 1 / 3600 if kpi.unit == "hours" else 1
        assert row["value"] == pytest.approx(card.current.value * scale, abs=1e-3), kpi.key
    assert rows["nps"]["display"] == "+16.7"  # 3 promoters and 2 detractors of 6 answers
    assert rows["nps"]["n"] == 6
    # The previous column is the previous calendar month, as the panel shows it for October's dates.
    october = kpi_panel(Period(NOVEMBER.previous().start, NOVEMBER.previous().end))
    before = {c.definition.key: c for c in october.cards}
    assert rows["nps"]["previous"]["display"] == kpi_format(before["nps"].current.value, "points")
    assert rows["cases_opened"]["previous"]["n"] == 4 and rows["cases_opened"]["n"] == 7
    # CSAT by sub-dimension: the panel's table.
    speed = rows["csat_dim:speed"]
    dims = {d["dimension"]: d for d in panel.csat_dimensions}
    assert speed["value"] == pytest.approx(dims["speed"]["top2"]) and speed["n"] == dims["speed"]["n"]
    json.dumps(snapshot)  # archived as JSON, unchanged
    # "As of": how far the roll-ups have caught up, never later than the generation time.
    assert snapshot["as_of"] <= snapshot["generated_at"] == "2026-12-01T06:00:00+08:00"
    assert snapshot["appendix"]["coverage"]["items"] == 4 and snapshot["appendix"]["coverage"]["not_analysed"] == 0


def test_the_metrics_page_shows_the_reports_numbers(november, client):
    analyst = User.objects.create_user("ana", password="x", role=Role.ANALYST)
    client.force_login(analyst)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    url = snapshot["status"]["kpis"][0]["url"]
    assert url.startswith(reverse("metrics:panel"))
    page = client.get(url).content.decode()
    for key in ("nps", "csat_top2", "resolution_rate", "reopen_rate", "sla_compliance", "cases_opened"):
        assert kpis(snapshot)[key]["display"] in page, key


def test_department_scope_covers_its_teams_only(november, departments):
    scope = ReportScope(department_id=departments["after_sales"].pk)
    snapshot = build_snapshot(NOVEMBER, scope, "en", now=NOW)
    rows = kpis(snapshot)
    team = november["team"]
    panel = kpi_panel(Period(NOVEMBER.start, NOVEMBER.end), Cut("team", str(team.pk)))
    cards = {c.definition.key: c for c in panel.cards}
    assert rows["cases_opened"]["n"] == 6  # the other team's case is not in it
    assert rows["nps"]["n"] == 5
    for key in ("nps", "csat_top2", "resolution_rate", "reopen_rate", "cases_opened"):
        assert rows[key]["display"] == kpi_format(cards[key].current.value, cards[key].definition.unit), key
    # Feedback has no team: its figures are left out, and the report says so.
    assert "feedback_items" not in rows and "negative_share" not in rows
    assert any("no team" in c for c in snapshot["appendix"]["caveats"])
    assert snapshot["scope"]["department"]["name"] == "After-sales service"
    logistics = build_snapshot(NOVEMBER, ReportScope(department_id=departments["logistics"].pk), "en", now=NOW)
    assert kpis(logistics)["cases_opened"]["n"] == 1


def test_quotes_are_masked_without_the_right_to_see_contacts(november):
    masked = build_snapshot(NOVEMBER, ReportScope(see_contacts=False), "zh-hans", now=NOW)
    quotes = masked["problems"]["quotes"]["logistics"]
    text = json.dumps(quotes, ensure_ascii=False)
    assert quotes and len(quotes) <= 3
    assert "13812345678" not in text and "zhangwei@example.com" not in text and "张伟" not in text
    assert all(q["url"].startswith("/feedback/") for q in quotes)
    assert [q["date"] for q in quotes] == ["2026-11-05", "2026-11-06", "2026-11-07"]  # the most negative first
    shown = build_snapshot(NOVEMBER, ReportScope(see_contacts=True), "zh-hans", now=NOW)
    assert "13812345678" in json.dumps(shown["problems"]["quotes"], ensure_ascii=False)


def test_pareto_of_complaint_topics_with_intervals(november):
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    pareto = snapshot["problems"]["pareto"]
    assert [r["key"] for r in pareto] == ["logistics", "price"]
    top = pareto[0]
    assert top["n"] == 3 and top["share"] == pytest.approx(0.75)
    assert top["low"] < top["share"] < top["high"]
    assert top["url"].startswith("/feedback/") and "topic=logistics" in top["url"]
    assert snapshot["problems"]["narrative"]


def test_month_boundaries_follow_the_organisations_zone(policy, people):
    utc = ZoneInfo("UTC")
    # 16:30 UTC on 31 October is 00:30 on 1 November in Shanghai; 16:30 UTC on 30 November is already December.
    make_feedback(datetime(2026, 10, 31, 16, 30, tzinfo=utc), sentiment="neutral")
    make_feedback(datetime(2026, 10, 31, 15, 30, tzinfo=utc), sentiment="neutral")  # 23:30 on 31 October
    make_feedback(datetime(2026, 11, 30, 16, 30, tzinfo=utc), sentiment="neutral")
    rollups.rebuild()
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    assert kpis(snapshot)["feedback_items"]["n"] == 1
    assert kpis(snapshot)["feedback_items"]["previous"]["n"] == 1
    assert snapshot["period"] == {"start": "2026-11-01", "end": "2026-11-30", "label": "November 2026"}
    december = build_snapshot(NOVEMBER.next(), ReportScope(), "en", now=NOW)
    assert kpis(december)["feedback_items"]["n"] == 1


def test_an_empty_period_is_grey_and_says_so(db):
    for language in ("zh-hans", "en"):
        snapshot = build_snapshot(NOVEMBER, ReportScope(), language, now=NOW)
        assert {k["light"] for k in snapshot["status"]["kpis"]} == {"grey"}
        assert all(k["value"] is None or k["unit"] == "count" for k in snapshot["status"]["kpis"])
        assert snapshot["problems"]["pareto"] == [] and snapshot["problems"]["quotes"] == {}
        assert snapshot["status"]["summary"]
        json.dumps(snapshot)


def test_both_languages_have_translated_labels(november):
    zh = build_snapshot(NOVEMBER, ReportScope(), "zh-hans", now=NOW)
    en = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    assert zh["title"].startswith("服务质量评估报告") and zh["period"]["label"] == "2026年11月"
    assert en["title"].startswith("Service quality report")
    for snapshot in (zh, en):
        for row in snapshot["status"]["kpis"]:
            assert row["name"] and row["name"] != row["key"]
            assert row["definition"]
    zh_names = {k["key"]: k["name"] for k in zh["status"]["kpis"]}
    en_names = {k["key"]: k["name"] for k in en["status"]["kpis"]}
    assert zh_names["resolution_rate"] != en_names["resolution_rate"]
    assert zh["scope"]["label"] != en["scope"]["label"]
    assert zh["status"]["summary"] != en["status"]["summary"]
    for table in zh["tables"]:
        assert table["title"] != next(t["title"] for t in en["tables"] if t["key"] == table["key"])
    # No sentence of the Chinese report's generated text is left in English.
    chinese = " ".join([zh["status"]["summary"], zh["problems"]["narrative"], *zh["appendix"]["caveats"],
                        *[d["definition"] for d in zh["appendix"]["definitions"]]])  # fmt: skip
    assert "the " not in chinese.lower()


def test_significance_and_lights(november):
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    rows = kpis(snapshot)
    nps = rows["nps"]
    assert nps["change"]["vs"] == "previous" and nps["change"]["p"] is not None
    assert nps["light"] in {"green", "red"}
    assert rows["cases_opened"]["light"] == "grey"  # a volume is neither good nor bad
    assert rows["frt_business_median"]["change"] is None or rows["frt_business_median"]["change"]["significant"] is None
    repeat = rows["repeat_rate"]
    assert repeat["target"] == pytest.approx(0.15) and repeat["target_display"] == "15.0%"
    series = snapshot["series"]["feedback_items"]
    assert len(series) == 30 and sum(p["value"] for p in series) == rows["feedback_items"]["value"]


def test_team_changes_are_reflected_by_department(november, departments):
    """Moving a team to another department moves its figures with it (departments are read now)."""
    Team.objects.filter(pk=november["other_team"].pk).update(department=departments["after_sales"])
    snapshot = build_snapshot(NOVEMBER, ReportScope(department_id=departments["after_sales"].pk), "en", now=NOW)
    assert kpis(snapshot)["cases_opened"]["n"] == 7
