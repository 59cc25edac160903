"""Who may see, prepare, approve and send on the reports pages (the same policy as the services and the API), and
bad input answered with a clear message instead of an error page."""

from __future__ import annotations

import pytest
from django.utils import translation

from voxloop.accounts.models import Role
from voxloop.reports.models import Report, ReportSchedule, ReportState
from voxloop.reports.snapshot import ReportScope, build_snapshot
from voxloop.reports.tests.fixtures import last_month, person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


def draft() -> Report:
    """A draft of last month with nothing in it (the renderer gets a real, empty snapshot)."""
    period = last_month()
    snapshot = build_snapshot(period, ReportScope(), "zh-hans")
    snapshot["status"]["summary"] = "old"
    return Report.objects.create(kind="month", period_start=period.start, period_end=period.end, language="zh-hans",
                                 state=ReportState.DRAFT, snapshot=snapshot, title=snapshot["title"])  # fmt: skip


@pytest.mark.parametrize(
    ("role", "reads", "prepares", "approves"),
    [
        (Role.ADMIN, True, True, True),
        (Role.MANAGER, True, True, True),
        (Role.ANALYST, True, True, False),
        (Role.VIEWER, True, False, False),
        (Role.AGENT, False, False, False),
    ],
)
def test_the_policy_matrix(client, role, reads, prepares, approves):
    client.force_login(person(f"u-{role}", role))
    report = draft()
    page = client.get("/reports/")
    assert page.status_code == (200 if reads else 403)
    if reads:
        body = page.content.decode()
        assert ('id="generate-form"' in body) == prepares and ('id="new-schedule"' in body) == prepares
        detail = client.get(f"/reports/{report.pk}/").content.decode()
        assert ('id="edit-form"' in detail) == prepares and ('id="approve"' in detail) == approves
    assert client.get("/reports/schedules/new/").status_code == (200 if prepares else 403)
    edited = client.post(f"/reports/{report.pk}/edit/", {"summary": "new", "narrative": "n"})
    assert edited.status_code == (302 if prepares else 403)
    report.refresh_from_db()
    assert report.snapshot["status"]["summary"] == ("new" if prepares else "old")
    approved = client.post(f"/reports/{report.pk}/approve/")
    assert approved.status_code == (302 if approves else 403)
    # Approving renders the files; without approval rights nothing changed.
    assert Report.objects.get(pk=report.pk).state == (ReportState.APPROVED if approves else ReportState.DRAFT)


def test_bad_input_gets_a_clear_answer(client):
    admin = person("ada", Role.ADMIN)
    client.force_login(admin)
    client.cookies["django_language"] = "en"
    sent = draft()
    Report.objects.filter(pk=sent.pk).update(state=ReportState.SENT)
    refused = client.post(f"/reports/{sent.pk}/edit/", {"summary": "x", "narrative": "y"}, follow=True)
    assert "This report is Sent, so it cannot be edited (only drafts are)." in refused.content.decode()
    assert client.get(f"/reports/{sent.pk}/download/doc/").status_code == 404
    assert client.get("/reports/99999/").status_code == 404
    too_long = client.post(f"/reports/{draft().pk}/edit/", {"summary": "x" * 6000, "narrative": ""}, follow=True)
    assert "at most 5000 characters" in too_long.content.decode()
    future = client.post("/reports/generate/", {"kind": "month", "language": "en", "day": "2999-01-01"}, follow=True)
    assert "A report covers a period that has ended." in future.content.decode()
    bad_kind = client.post("/reports/generate/", {"kind": "year", "language": "en"}, follow=True)
    assert "Select a valid choice" in bad_kind.content.decode() and not Report.objects.filter(kind="year").exists()
    schedule = client.post("/reports/schedules/new/", {"name": "W", "kind": "week", "language": "en",
                                                       "external_addresses": "a@example.com; nope"})  # fmt: skip
    assert schedule.status_code == 200 and "nope is not an e-mail address." in schedule.content.decode()
    assert not ReportSchedule.objects.exists()
    assert client.get(f"/reports/{sent.pk}/compare/").status_code == 200  # no earlier report: says so


def test_a_download_says_it_is_written_in_the_reports_language(client):
    """A Chinese report downloaded from the English interface is labelled Chinese (Content-Language)."""
    client.force_login(person("ada", Role.ADMIN))
    client.cookies["django_language"] = "en"
    report = draft()
    response = client.get(f"/reports/{report.pk}/download/xlsx/")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert client.get("/reports/")["Content-Language"] == "en"
