"""The renderer on a snapshot from the real builder (voxloop.reports.snapshot), not a fixture file: the two must
agree on units, or a per-cent KPI prints "0.7–0.8%" for 68.6–76.1%."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.urls import reverse

from voxloop.accounts.models import Role, User
from voxloop.reports.models import Report, ReportState
from voxloop.reports.render import render_html, render_xlsx
from voxloop.reports.snapshot import ReportScope, build_snapshot

# The snapshot tests' data (cases, answers and complaints in October and November 2026), shared rather than copied.
from voxloop.reports.tests.test_snapshot import (  # noqa: F401
    NOVEMBER,
    NOW,
    csat_survey,
    departments,
    november,
    people,
    policy,
)

pytestmark = pytest.mark.django_db


def row_cells(html: str, name: str) -> list[str]:
    row = re.search(
        r"<tr>\s*<th scope=\"row\">(?:<a [^>]*>)?" + re.escape(name) + r"(?:</a>)?</th>(.*?)</tr>", html, re.S
    )
    assert row, name
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def per_cents(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_built_snapshot_prints_per_cent_kpis_in_per_cent(november, language):  # noqa: F811
    snapshot = build_snapshot(NOVEMBER, ReportScope(), language, now=NOW)
    html = render_html(snapshot)
    kpi = next(k for k in snapshot["status"]["kpis"] if k["key"] == "csat_top2")
    assert kpi["unit"] == "percent" and kpi["low"] is not None and kpi["change"] and kpi["change"]["delta"]
    value, interval, _n, _target, _previous, change = row_cells(html, kpi["name"])[:6]
    assert value == kpi["display"] and value.endswith("%")
    # The interval in per cent, around the value: 0.7–0.8% would be a fraction printed as per cent.
    low, high = per_cents(interval)
    assert interval.endswith("%") and low <= per_cents(value)[0] <= high
    assert (low, high) == (round(kpi["low"] * 100, 1), round(kpi["high"] * 100, 1))
    # The change in percentage points: the builder's own string, whose size is the delta times 100.
    assert change.startswith(kpi["change"]["display"])
    assert per_cents(kpi["change"]["display"])[0] == pytest.approx(abs(kpi["change"]["delta"]) * 100, abs=0.06)
    assert abs(kpi["change"]["delta"]) * 100 >= 1  # a change that "−0.1 pts" would have hidden
    # The workbook keeps the fraction and shows it as per cent.
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot))).worksheets[0]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == kpi["name"])
    assert row[1].value == kpi["value"] and row[1].number_format == "0.0%"


def test_the_preview_frame_gets_a_standards_mode_page(november, client):  # noqa: F811
    """The report page's frame loads the preview view: a whole document with a doctype, not a quirks-mode
    fragment."""
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    report = Report.objects.create(kind="month", period_start=NOVEMBER.start, period_end=NOVEMBER.end,
                                   language="en", state=ReportState.DRAFT, snapshot=snapshot,
                                   title=snapshot["title"])  # fmt: skip
    client.force_login(User.objects.create_user("ana", password="x", role=Role.ANALYST))
    response = client.get(reverse("reports:preview", args=[report.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en"' in page and page.rstrip().endswith("</html>")
