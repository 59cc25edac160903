"""The KPI panel, its drill-downs and exports as a user meets them; the API with its scope; a real browser."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from voxloop.accounts.models import AuditLog
from voxloop.api.services import create_api_token
from voxloop.metrics import services
from voxloop.metrics.tests.conftest import make_case, make_customer, make_response
from voxloop.surveys.models import Response


@pytest.fixture
def recent_data(policy, people, csat_survey):
    """Cases and responses over the last few days (relative to today, as the panel's default period is)."""
    now = timezone.now()
    customer = make_customer("carol", "at_risk")
    cases = []
    for i in range(3):
        opened = now - timedelta(days=3, hours=i)
        cases.append(make_case(opened, policy=policy, replies=[opened + timedelta(hours=1)],
                               resolved=opened + timedelta(hours=5) if i < 2 else None,
                               status="resolved" if i < 2 else "open", customer=customer, team=people["team"],
                               assignee=people["assignee"]))  # fmt: skip
    for score in (10, 9, 3):
        make_response(csat_survey, now - timedelta(days=2), nps=score, csat=5 if score > 5 else 2,
                      case=cases[0], agent=people["replier"], dimensions={"speed": 4})  # fmt: skip
    services.rebuild()
    return cases


@pytest.fixture(autouse=True)
def english_pages(client):
    """Pages are asserted in English (the site default is Chinese); the catalogs are checked elsewhere."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


def test_panel_shows_numbers_with_n_and_drills_down(analyst_client, recent_data):
    response = analyst_client.get(reverse("metrics:panel"), {"period": "7"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Resolution rate" in page and "66.7%" in page  # 2 of 3 cases resolved
    assert "n = 3" in page
    assert "+33.3" in page  # NPS: 2 promoters, 1 detractor of 3
    # The drill-down link of the resolution rate lists exactly those 3 cases.
    drill = analyst_client.get(reverse("metrics:drill_cases"), {"period": "7", "kpi": "resolution_rate"})
    assert drill.status_code == 200
    assert all(c.number in drill.content.decode() for c in recent_data)
    responses = analyst_client.get(reverse("metrics:drill_responses"), {"period": "7", "kpi": "nps"})
    assert responses.content.decode().count("<tr>") == 4  # header + 3 responses


def test_panel_cut_by_team_and_breakdown_by_agent(analyst_client, recent_data, people):
    response = analyst_client.get(
        reverse("metrics:panel"), {"period": "30", "cut": "team", "value": people["other_team"].pk, "by": "agent"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Team = Logistics" in page or "团队 = 物流组" in page  # the dimension by its name, not "team"
    assert "Feedback (by the day it was received)" in page  # feedback cannot be cut by team: said so
    assert "Li" in page and "Wang" in page  # the breakdown by agent lists the replier and the assignee
    assert "<h2>By agent</h2>" in page  # a heading that reads as a sentence, not "By Agent"


def test_breakdown_heading_reads_naturally_in_chinese(analyst_client, recent_data):
    analyst_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    page = analyst_client.get(reverse("metrics:panel"), {"period": "30", "by": "topic"}).content.decode()
    assert "<h2>按主题</h2>" in page


def test_empty_panel_says_no_data(analyst_client):
    page = analyst_client.get(reverse("metrics:panel")).content.decode()
    assert "no data" in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "365"}, "Unknown period"),
        ({"period": "custom", "start": "2026-11-30", "end": "2026-11-01"}, "before the start date"),
        ({"period": "custom", "start": "30/11/2026", "end": "2026-12-01"}, "is not a date"),
        ({"cut": "colour"}, "Unknown cut"),
        ({"value": "5"}, "needs a cut dimension"),
    ],
)
def test_bad_parameters_get_a_clear_error(analyst_client, params, message):
    response = analyst_client.get(reverse("metrics:panel"), params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_agents_may_not_see_the_panel(agent_client):
    assert agent_client.get(reverse("metrics:panel")).status_code == 403
    assert agent_client.get(reverse("metrics:export", args=["csv"])).status_code == 403


def test_csv_and_excel_exports(analyst_client, recent_data):
    csv_response = analyst_client.get(reverse("metrics:export", args=["csv"]), {"table": "kpis", "period": "7"})
    assert csv_response.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    # Translated names, the unit in its own column, rates in per cent, durations in hours.
    assert rows[0][:4] == ["Metric", "Unit", "Value", "Sample size"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Resolution rate"][1:4] == ["%", "66.7", "3"]
    assert by_name["NPS"][3] == "3"
    assert by_name["First response, median (business hours)"][1] == "hours"
    xlsx = analyst_client.get(reverse("metrics:export", args=["xlsx"]), {"table": "breakdown", "by": "agent"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Agent" and sheet.title == "Breakdown"
    assert {"Wang", "Li"} <= {row[0] for row in values[1:]}
    assert all(isinstance(v, (int, float)) for row in values[1:] for v in row[1:3] if v is not None)  # numbers
    assert not any("_" in str(h) for h in values[0])  # no internal keys such as cases_opened
    daily = analyst_client.get(reverse("metrics:export", args=["csv"]), {"table": "daily", "kpi": "nps"})
    assert daily.content.decode("utf-8-sig").splitlines()[0] == "Day,NPS (points),NPS: number of cases or answers"


def test_export_rejects_unknown_tables_and_formats(analyst_client):
    response = analyst_client.get(reverse("metrics:export", args=["csv"]), {"table": "secrets"})
    assert response.status_code == 400 and "Unknown table" in response.content.decode()
    assert analyst_client.get(reverse("metrics:export", args=["pdf"])).status_code == 400


def test_api_needs_the_metrics_scope(client, recent_data):
    _token, raw = create_api_token("bi", ["metrics:read"])
    _other, other_raw = create_api_token("feed", ["feedback:write"])
    ok = client.get("/api/metrics/kpis", {"period": "7"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ok.status_code == 200
    kpis = {k["key"]: k for k in ok.json()["kpis"]}
    assert kpis["resolution_rate"]["value"] == pytest.approx(2 / 3) and kpis["resolution_rate"]["n"] == 3
    assert kpis["nps"]["extra"]["promoters"] == pytest.approx(2 / 3)
    assert client.get("/api/metrics/kpis", HTTP_AUTHORIZATION=f"Bearer {other_raw}").status_code == 403
    assert client.get("/api/metrics/kpis").status_code == 401
    table = client.get("/api/metrics/tables/breakdown", {"by": "topic"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert table.status_code == 200 and table.json()["header"][0] == "topic"
    bad = client.get("/api/metrics/kpis", {"period": "custom", "start": "x"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bad.status_code == 400 and "not a date" in bad.json()["detail"]


@pytest.mark.browser
def test_panel_in_a_browser_draws_charts_and_opens_a_table(login_page, analyst, live_server, recent_data):
    page = login_page(analyst)
    page.goto(f"{live_server.url}/metrics/?period=7")
    page.wait_for_selector("#kpi-nps .chart svg")  # ECharts drew the daily line
    page.click("#kpi-nps summary")  # the table is one click away
    expect(page.locator("#kpi-nps table")).to_be_visible()
    page.click("#kpi-resolution_rate a.drill")
    page.wait_for_selector("#drill-rows")
    assert page.locator("#drill-rows tbody tr").count() == 3


def test_drill_down_lists_are_audited_when_shown_unmasked(client, analyst, manager, recent_data):
    # Comments are shown as written to managers (audited, one entry per row) and hidden from analysts (no entry).
    client.force_login(analyst)
    client.get(reverse("metrics:drill_responses"), {"period": "7", "kpi": "nps"})
    assert not AuditLog.objects.exists()
    client.force_login(manager)
    client.get(reverse("metrics:drill_responses"), {"period": "7", "kpi": "nps"})
    entries = AuditLog.objects.filter(user=manager, object_type="surveys.response")
    assert sorted(int(e.object_id) for e in entries) == sorted(Response.objects.values_list("pk", flat=True))
