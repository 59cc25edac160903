"""The report as a reader gets it: PDF text and fonts, the Excel workbook, the email, the browser preview."""

import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from django.apps import apps
from django.test import modify_settings
from pypdf import PdfReader

from voxloop.reports.render import chart_svgs, render_email, render_html, render_pdf, render_xlsx

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="module")
def report_catalog():
    """The report's translations live in its app's locale/: make sure the app is installed while rendering."""
    if apps.is_installed("voxloop.reports"):
        yield
        return
    with modify_settings(INSTALLED_APPS={"append": "voxloop.reports"}):
        yield


def load(language: str) -> dict:
    return json.loads((FIXTURES / f"snapshot_month_{language}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def zh_pdf(report_catalog):
    return render_pdf(load("zh"))


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def test_chinese_pdf_has_the_sections_kpis_and_values(zh_pdf):
    snapshot = load("zh")
    text = "\n".join(pages_text(zh_pdf))
    compact = re.sub(r"\s+", "", text)
    for title in ("服务质量现状", "存在的问题及原因分析", "改进建议", "附录", "目录"):
        assert title in compact
    for kpi in snapshot["status"]["kpis"]:
        assert re.sub(r"\s+", "", kpi["name"]) in compact
        assert re.sub(r"\s+", "", kpi["display"]) in compact
    assert "\ufffd" not in text
    assert len(PdfReader(io.BytesIO(zh_pdf)).pages) >= 3


def test_excel_numbers_equal_the_snapshot():
    snapshot = load("zh")
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    kpis = workbook.worksheets[0]
    assert kpis["A1"].font.bold
    for row, kpi in zip(kpis.iter_rows(min_row=2, values_only=True), snapshot["status"]["kpis"], strict=True):
        assert row[0] == kpi["name"]
        assert row[1] == kpi["value"]
    assert len(workbook.sheetnames) == 1 + len(snapshot["tables"])


def test_email_has_the_summary_inline():
    snapshot = load("en")
    subject, text, html = render_email(snapshot, report_url="/reports/7/")
    assert subject == snapshot["title"]
    assert snapshot["status"]["summary"] in text
    assert snapshot["status"]["summary"] in html.replace("&#x27;", "'")
    assert "http://" in html and "/reports/7/" in html


def test_preview_is_a_fragment_with_the_charts():
    snapshot = load("en")
    html = render_html(snapshot)
    assert not html.lstrip().startswith("<!DOCTYPE")
    assert "Service quality status" in html
    assert set(chart_svgs(snapshot)) >= {"pareto", "channels"}
