"""/api/reports: generate (202, then a draft), list with cursors, read with the snapshot and delivery log, download
the archived files, and clear refusals."""

from __future__ import annotations

import pytest
from django.test import TestCase

from voxloop.accounts.models import Role
from voxloop.api.tests.test_cases_api import call, token_for
from voxloop.reports import services
from voxloop.reports.models import Report, ReportState
from voxloop.reports.services import Recipients
from voxloop.reports.tests.fixtures import last_month, person, seed_complaints

RW = ["reports:read", "reports:write"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return person("bea-admin", Role.ADMIN)


def test_generate_then_read_download_and_list(client, boss):
    seed_complaints(last_month(), per_day=1)
    token = token_for(boss, RW)
    with TestCase.captureOnCommitCallbacks(execute=True):  # the generation task runs after commit (eagerly here)
        answer = call(client, "post", "/api/reports", token, {"kind": "month", "language": "en"})
    assert answer.status_code == 202, answer.content
    created = answer.json()
    assert created["state"] == "generating" and created["scope"] == "Whole organisation"
    assert created["period_start"] == last_month().start.isoformat()

    detail = call(client, "get", f"/api/reports/{created['id']}", token).json()
    assert detail["state"] == "draft" and detail["progress"] == 100
    assert detail["snapshot"]["period"]["start"] == created["period_start"]
    pdf = client.get(detail["links"]["pdf"], headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    xlsx = client.get(detail["links"]["xlsx"], headers={"Authorization": f"Bearer {token}"})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")  # a zip: the workbook
    assert detail["links"]["page"] == f"/reports/{created['id']}/"

    report = Report.objects.get(pk=created["id"])
    services.approve_report(report, boss)
    services.send_report(report, boss, Recipients(users=[boss]))
    sent = call(client, "get", f"/api/reports/{created['id']}", token).json()
    assert sent["state"] == "sent"
    assert sent["deliveries"] == [{
        "recipient": "bea-admin", "status": "queued", "reason": "", "test": False, "department_id": None,
        "contacts_shown": True, "attempts": 0, "sent_at": None,
    }]  # fmt: skip

    for period in ("2026-01-15", "2026-04-15", "2026-07-15"):
        call(client, "post", "/api/reports", token, {"kind": "quarter", "period_containing": period})
    seen, cursor = [], None
    while True:
        page = call(client, "get", "/api/reports", token, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(Report.objects.values_list("pk", flat=True)) and len(seen) == 4
    quarters = call(client, "get", "/api/reports", token, kind="quarter").json()["items"]
    assert {r["kind"] for r in quarters} == {"quarter"} and len(quarters) == 3


def test_refusals_are_specific(client, boss):
    token = token_for(boss, RW)
    ahead = call(client, "post", "/api/reports", token, {"kind": "month", "period_containing": "2999-01-01"})
    assert ahead.status_code == 400 and ahead.json()["code"] == "invalid"
    assert "period that has ended" in ahead.json()["detail"]
    nowhere = call(client, "post", "/api/reports", token, {"kind": "week", "department": 999})
    assert nowhere.status_code == 400 and nowhere.json()["field"] == "department"
    assert call(client, "post", "/api/reports", token, {"kind": "year"}).status_code == 422
    assert call(client, "get", "/api/reports/999", token).status_code == 404
    assert call(client, "get", "/api/reports", token, cursor="bad!").status_code == 400
    report = Report.objects.create(kind="month", period_start="2026-01-01", period_end="2026-01-31", language="en")
    no_files = call(client, "get", f"/api/reports/{report.pk}/files/pdf", token)
    assert no_files.status_code == 409 and no_files.json()["code"] == "wrong_state"
    assert report.state == ReportState.GENERATING

    viewer_token = token_for(person("val-viewer", Role.VIEWER), RW)
    assert call(client, "get", "/api/reports", viewer_token).status_code == 200  # viewers read metrics
    refused = call(client, "post", "/api/reports", viewer_token, {"kind": "week"})
    assert refused.status_code == 403 and "prepare service-quality reports" in refused.json()["detail"]
    agent_token = token_for(person("al-agent", Role.AGENT), RW)
    assert call(client, "get", "/api/reports", agent_token).status_code == 403
    read_only = token_for(boss, ["reports:read"])
    assert call(client, "post", "/api/reports", read_only, {"kind": "week"}).status_code == 403
