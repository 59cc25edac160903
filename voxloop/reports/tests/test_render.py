"""The report as a reader gets it: the PDF's text, fonts and contents page, the Excel workbook, the email and the
browser preview, in Chinese and English, from the fixture snapshots in fixtures/ (no database: the renderer reads
nothing but the snapshot)."""

import copy
import io
import json
import logging
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.apps import apps
from django.test import modify_settings, override_settings
from pypdf import PdfReader

from voxloop.reports.render import chart_svgs, render_email, render_html, render_pdf, render_xlsx
from voxloop.reports.render.charts import _charts
from voxloop.reports.render.workbook import sheet_title

FIXTURES = Path(__file__).parent / "fixtures"
SITE = "https://voc.example.com"
# One worker runs the module, so the module-scoped PDFs below are rendered once each (split over the xdist workers
# and interleaved with other modules, the English one was rendered twice in a run).
pytestmark = pytest.mark.xdist_group("reports-render")
ZH_SECTIONS = ("服务质量现状", "存在的问题及原因分析", "改进建议", "附录")
EN_SECTIONS = ("Service quality status", "Problems and their causes", "Improvement suggestions", "Appendix")


@pytest.fixture(autouse=True, scope="module")
def report_catalog():
    """The report's translations live in its app's locale/: the app must be installed while rendering."""
    with override_settings(SITE_URL=SITE):
        if apps.is_installed("voxloop.reports"):
            yield
        else:
            with modify_settings(INSTALLED_APPS={"append": "voxloop.reports"}):
                yield


def load(language: str) -> dict:
    return json.loads((FIXTURES / f"snapshot_month_{language}.json").read_text(encoding="utf-8"))


def empty(language: str) -> dict:
    """A snapshot of a period with no data at all: every section present and empty."""
    snapshot = load(language)
    snapshot["status"] = {"summary": "", "kpis": [], "channels": []}
    snapshot["problems"] = {"narrative": "", "pareto": [], "changes": [], "alerts": [], "emerging": [], "drivers": [],
                            "repeat": {}, "touchpoints": [], "quotes": {}}  # fmt: skip
    snapshot.update(suggestions=[], actions=[], series={}, tables=[])
    snapshot["appendix"] = {"definitions": [], "coverage": {}, "caveats": []}
    return snapshot


class Pdf:
    """A rendered PDF, read back as a reader's tools see it, with what WeasyPrint logged while drawing it."""

    def __init__(self, snapshot: dict):
        logged = _Recorder()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(logged)
        try:
            self.data = render_pdf(snapshot)
        finally:
            logger.removeHandler(logged)
        self.log = [record.getMessage() for record in logged.records]
        self.reader = PdfReader(io.BytesIO(self.data))
        self.pages = [page.extract_text() or "" for page in self.reader.pages]
        self.compact = [re.sub(r"\s+", "", text) for text in self.pages]

    @property
    def text(self) -> str:
        return "\n".join(self.pages)

    @property
    def all_compact(self) -> str:
        return "".join(self.compact)

    def fonts(self) -> dict[str, bool]:
        """Every font the pages use, and whether its program is embedded in the file."""
        found = {}
        for page in self.reader.pages:
            resources: Any = page["/Resources"]
            for ref in (resources.get("/Font") or {}).values():
                font = ref.get_object()
                descendants = font.get("/DescendantFonts")
                described = descendants[0].get_object() if descendants else font
                descriptor = described["/FontDescriptor"].get_object()
                found[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        return found

    def first_page_with(self, text: str, after: int = 0) -> int:
        needle = re.sub(r"\s+", "", text)
        return next(i + 1 for i, page in enumerate(self.compact) if i >= after and needle in page)


class _Recorder(logging.Handler):
    """WeasyPrint logs a glyph no font has (".notdef glyph rendered …") as a warning: keep them."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def zh(report_catalog):
    return Pdf(load("zh"))


@pytest.fixture(scope="module")
def en(report_catalog):
    return Pdf(load("en"))


def test_chinese_pdf_has_the_four_sections_in_order_with_every_kpi(zh):
    snapshot = load("zh")
    pages = [zh.first_page_with(title, after=1) for title in ZH_SECTIONS]
    assert pages == sorted(pages), "sections out of order"
    for kpi in snapshot["status"]["kpis"]:
        assert re.sub(r"\s+", "", kpi["name"]) in zh.all_compact, kpi["name"]
        assert re.sub(r"\s+", "", kpi["display"]) in zh.all_compact, kpi["display"]
        if kpi["target_display"]:
            assert re.sub(r"\s+", "", kpi["target_display"]) in zh.all_compact
    # Traffic lights say it in words, not only in colour.
    for label in ("达标", "需关注", "未达标", "无目标或数据"):
        assert label in zh.all_compact
    assert re.sub(r"\s+", "", snapshot["status"]["summary"])[:40] in zh.all_compact
    assert "配送延迟" in zh.all_compact and "帕累托" in zh.all_compact


def test_no_glyph_is_missing_and_the_fonts_are_embedded(zh):
    assert not [m for m in zh.log if "notdef" in m or "missing" in m.lower()], zh.log
    assert "\ufffd" not in zh.text
    # Every Han character of the titles, section names and KPI names comes back out of the PDF.
    snapshot = load("zh")
    source = "".join([snapshot["title"], *ZH_SECTIONS, *(k["name"] for k in snapshot["status"]["kpis"])])
    han = {c for c in source if unicodedata.name(c, "").startswith("CJK UNIFIED")}
    assert han and not han - set(zh.all_compact)
    fonts = zh.fonts()
    assert fonts and all(fonts.values()), fonts
    # The charts are drawn as vectors: no page holds a bitmap, and their labels are text in the PDF.
    assert not [image for page in zh.reader.pages for image in page.images]
    assert zh.all_compact.count("投诉占比") >= 2  # the Pareto chart's axis title, besides its caption
    assert any("Noto-Sans-CJK-SC" in name for name in fonts)


def test_missing_glyph_detection_works():
    """The check above is real: a character no installed font has is logged by WeasyPrint and lost in the text."""
    snapshot = empty("zh")
    snapshot["status"]["summary"] = "服务质量 \U0010fffd"
    broken = Pdf(snapshot)
    assert any("notdef" in m for m in broken.log)


def test_contents_page_numbers_match_where_the_sections_start(zh, en):
    for pdf, titles in ((zh, ZH_SECTIONS), (en, EN_SECTIONS)):
        assert len(pdf.pages) >= 3
        assert ("目录" if pdf is zh else "Contents") in pdf.compact[0]
        # One contents line per entry: "1 服务质量现状 ........ 2".
        lines = {
            re.sub(r"[\s.]+", "", line[: line.find("..")]): line for line in pdf.pages[0].splitlines() if ".." in line
        }
        for title in titles:
            line = next((v for k, v in lines.items() if k.endswith(re.sub(r"\s+", "", title))), None)
            assert line, f"{title} not in the contents: {lines}"
            number = re.search(r"(\d+)\s*$", line)
            assert number, f"{title}: no page number in {line!r}"
            listed = int(number.group(1))
            assert listed == pdf.first_page_with(title, after=1), title


def test_every_page_but_the_cover_has_the_running_header_and_its_number(zh, en):
    total = len(zh.pages)
    assert "第1页" not in zh.compact[0]
    for number, page in enumerate(zh.compact[1:], start=2):
        assert f"第{number}页，共{total}页" in page
        assert "服务质量评估报告" in page and "2026年11月" in page
    assert f"Page 2 of {len(en.pages)}" in en.pages[1]
    assert "Service quality report · November 2026" in en.pages[1]


def test_english_pdf_is_in_english(en):
    for title in EN_SECTIONS:
        assert title in en.text
    assert "Net Promoter Score (NPS)" in en.text
    assert "Misses target" in en.text and "Same period last year" in en.text
    assert not re.search(r"[\u4e00-\u9fff]", en.text), "Chinese left in the English report"


def test_quotes_and_findings_link_to_the_items_with_absolute_addresses():
    html = render_html(load("zh"), for_print=True)
    assert f'href="{SITE}/feedback/1203/"' in html
    assert f'href="{SITE}/cases/?topic=delivery.late&amp;period=2026-11"' in html
    assert 'href="/' not in html, "a site-relative link cannot work in a PDF or an email"


def test_charts_are_vector_svg_with_no_missing_glyph():
    _charts.cache_clear()  # drawn afresh here, or a warning from an earlier draw would go unseen
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        charts = chart_svgs(load("zh"))
    assert set(charts) == {"pareto", "channels", "trends"}
    for svg in charts.values():
        assert svg.startswith("<svg") and "<image" not in svg  # vectors, no embedded bitmap
    assert "配送延迟" in charts["pareto"] and "Noto Sans CJK SC" in charts["pareto"]
    assert "本期" in charts["channels"]


def test_charts_are_drawn_once_per_snapshot():
    snapshot = load("en")
    first = chart_svgs(snapshot)
    hits = _charts.cache_info().hits
    snapshot["status"]["summary"] = "edited"  # an edit of the text keeps the charts
    assert chart_svgs(copy.deepcopy(snapshot)) == first
    assert _charts.cache_info().hits == hits + 1
    snapshot["problems"]["pareto"][0]["share"] = 0.5
    assert chart_svgs(snapshot)["pareto"] != first["pareto"]


def test_charts_of_an_empty_snapshot_are_left_out():
    assert chart_svgs(empty("en")) == {}


def test_excel_has_a_kpi_sheet_and_one_sheet_per_table_with_numbers_as_numbers():
    snapshot = load("zh")
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    tables = snapshot["tables"]
    # The "kpis" table is the KPI sheet (built from status.kpis with each row's unit); every other table a sheet.
    assert len(workbook.sheetnames) == len(tables)
    assert workbook.sheetnames[0] == "指标汇总"
    kpis = workbook.worksheets[0]
    assert kpis["A1"].font.bold and kpis.column_dimensions["A"].width >= 15
    for row, kpi in zip(kpis.iter_rows(min_row=2), snapshot["status"]["kpis"], strict=True):
        assert row[0].value == kpi["name"]
        assert row[1].value == kpi["value"] and isinstance(row[1].value, int | float)
        assert row[5].value == kpi["target"]
        if kpi["unit"] == "percent":
            # A fraction (0.874) under Excel's per-cent format: shows 87.4%, computes as 0.874.
            assert row[1].number_format == "0.0%" and row[2].number_format == "0.0%" and 0 <= row[1].value <= 1
    pareto = workbook["投诉主题帕累托"]
    assert [c.value for c in pareto[2]][:3] == [snapshot["problems"]["pareto"][0]["label"], 601, 0.21]
    assert pareto["C2"].number_format == "0.0%"
    for sheet in workbook.worksheets:
        assert len(sheet.title) <= 31 and not re.search(r"[\[\]:*?/\\]", sheet.title)
        assert all(cell.font.bold for cell in sheet[1])


def test_every_table_sheet_holds_the_snapshot_rows_unchanged():
    snapshot = load("en")
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    sheets = {sheet.title: sheet for sheet in workbook.worksheets[1:]}
    for table in snapshot["tables"][1:]:
        title = sheet_title(table["title"], set())
        sheet = sheets.get(title)
        assert sheet is not None, f"no sheet for {table['title']!r} in {list(sheets)}"
        assert [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)] == table["rows"]


def test_customer_text_is_escaped_in_every_output():
    snapshot = load("en")
    snapshot["problems"]["quotes"]["delivery.late"][0]["text"] = '<script>alert(1)</script> & "late"'
    snapshot["status"]["summary"] = "<img src=x onerror=alert(1)>"
    for html in (render_html(snapshot), render_html(snapshot, for_print=True), render_email(snapshot)[2]):
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render_html(snapshot)


def test_sheet_titles_are_valid_and_unique():
    taken: set[str] = set()
    assert sheet_title("a/b:c*d?[e]\\f", taken) == "a b c d  e  f"
    long = "x" * 40
    assert sheet_title(long, taken) == "x" * 31
    assert sheet_title(long, taken) == "x" * 27 + " (2)"
    assert sheet_title("", taken) == "Sheet"


def test_email_has_the_summary_and_kpis_inline_and_a_link():
    snapshot = load("zh")
    subject, text, html = render_email(snapshot, report_url="/reports/7/")
    assert subject == snapshot["title"]
    assert snapshot["status"]["summary"] in text
    assert snapshot["status"]["summary"] in html
    assert f"{SITE}/reports/7/" in text and f'href="{SITE}/reports/7/"' in html
    assert "净推荐值（NPS）" in html and "未达标" in html and "<style" not in html
    assert "未达标" in text


def test_english_email():
    subject, text, html = render_email(load("en"))
    assert subject == "Service quality report · November 2026"
    assert "Misses target" in html and f"{SITE}/reports/" in text


def test_preview_is_a_standards_mode_document_with_the_same_sections_and_charts():
    html = render_html(load("en"))
    # The preview is a frame's whole page: without a doctype a browser lays it out in quirks mode.
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en"' in html and "<body>" in html
    assert '<meta charset="utf-8">' in html and '<article class="report-doc"' in html
    assert "cover" not in re.findall(r'<section class="([^"]+)"', html)
    for title in EN_SECTIONS:
        assert title in html
    assert html.count('src="data:image/svg+xml;base64,') == 3


@pytest.mark.parametrize(("language", "no_data"), [("zh", "本期暂无数据"), ("en", "No data for this period.")])
def test_empty_sections_render_and_say_so(language, no_data):
    snapshot = empty(language)
    pdf = Pdf(snapshot)
    assert re.sub(r"\s+", "", no_data) in pdf.all_compact
    assert len(pdf.pages) >= 3
    assert no_data in render_html(snapshot)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    assert workbook.worksheets[0].max_row == 1  # the header only
    assert no_data in render_email(snapshot)[1]


def test_a_snapshot_missing_whole_sections_still_renders():
    pdf = Pdf({"language": "en", "title": "Bare"})
    assert "No data for this period." in pdf.text
    assert render_xlsx({"language": "en"}) and render_email({"language": "en"})[0]


@pytest.mark.slow
def test_a_huge_snapshot_still_renders():
    snapshot = load("zh")
    rows = copy.deepcopy(snapshot["problems"]["pareto"])
    snapshot["problems"]["pareto"] = [
        {**rows[i % len(rows)], "key": f"topic.{i}", "label": f"主题{i:03d}", "n": 1000 - i} for i in range(200)
    ]
    snapshot["tables"][1]["rows"] = [[r["label"], r["n"], r["share"], r["cumulative"], None]
                                     for r in snapshot["problems"]["pareto"]]  # fmt: skip
    long_quote = "配送一直没有到，" * 700 + "最后一句话。"
    snapshot["problems"]["quotes"]["topic.0"] = [{"text": long_quote, "date": "2026-11-30", "channel": "微信",
                                                  "url": "/feedback/9/"}]  # fmt: skip
    pdf = Pdf(snapshot)
    assert "主题199" in pdf.all_compact and "最后一句话" in pdf.all_compact
    assert len(pdf.pages) > 10
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    assert workbook["投诉主题帕累托"].max_row == 201


def kpi_cells(html: str, name: str) -> list[list[str]]:
    """The text of each cell in the KPI table's row for the indicator called name."""
    row = re.search(
        r"<tr>\s*<th scope=\"row\">(?:<a [^>]*>)?" + re.escape(name) + r"(?:</a>)?</th>(.*?)</tr>", html, re.S
    )
    assert row, name
    return [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_percent_kpis_are_fractions_shown_as_per_cent_everywhere():
    """Per cents are fractions in the snapshot (0.912 is 91.2%): the interval and the change are per cent and
    percentage points, not "0.9–0.9%" and "−0.0 pts"."""
    snapshot = load("en")
    html = render_html(snapshot)
    cells = kpi_cells(html, "SLA compliance")
    value, interval, _n, target, previous, change = (" ".join(c) for c in cells[:6])
    assert (value, interval, target, previous) == ("91.2%", "90.3–92.1%", "95.0%", "93.1%")
    assert change.startswith("−1.9 pts")
    # Without the snapshot's strings the renderer formats the raw fractions itself, in the same units.
    sla = next(k for k in snapshot["status"]["kpis"] if k["key"] == "sla_compliance")
    for key in ("display", "target_display"):
        sla[key] = None
    sla["previous"]["display"] = None
    value, interval, _n, target, previous, change = (
        " ".join(c) for c in kpi_cells(render_html(snapshot), "SLA compliance")[:6]
    )
    assert (value, interval, target, previous) == ("91.2%", "90.3–92.1%", "95.0%", "93.1%")
    # The snapshot's own change string wins over the renderer's formatting.
    sla["change"]["display"] = "-1.9 个百分点"
    assert " ".join(kpi_cells(render_html(snapshot), "SLA compliance")[5]).startswith("-1.9 个百分点")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh", ("显著变差", "无显著恶化", "未达标", "达标")),
        ("en", ("Significantly worse", "No significant decline", "Misses target", "Meets target")),
    ],
)
def test_lights_say_what_was_judged(language, words):
    """Without a target the light judges the change against the previous period: it must not say "misses target"
    beside a target column showing "–"."""
    worse, not_worse, misses, meets = words
    snapshot = load(language)
    kpis = {k["key"]: k for k in snapshot["status"]["kpis"]}
    for key in ("sla_compliance", "reopen_rate"):
        kpis[key].update(target=None, target_display=None)
    names = {key: kpis[key]["name"] for key in kpis}
    html = render_html(snapshot)
    assert " ".join(kpi_cells(html, names["sla_compliance"])[-1]) == worse  # red, significantly down, no target
    assert " ".join(kpi_cells(html, names["reopen_rate"])[-1]) == not_worse  # green, no target
    assert " ".join(kpi_cells(html, names["csat_top2"])[-1]) == meets  # green against its target
    assert "light-legend" in html
    subject, text, mail = render_email(snapshot)
    assert worse in text and not_worse in mail and meets in mail
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(snapshot)))
    states = [row[10].value for row in workbook.worksheets[0].iter_rows(min_row=2)]
    assert worse in states and not_worse in states and misses in states


def test_a_drivers_interval_stands_beside_the_gap_it_belongs_to(report_catalog):
    """The 95% interval is the NPS gap's (mentioning vs. not), not the impact's (gap x share): shown side by side,
    so -6.8 is never read against an interval of -22.2 to -16.4."""
    snapshot = load("en")
    snapshot["problems"]["drivers"] = [
        {"key": "quality", "label": "Product quality", "impact": -6.8, "display": "-6.8", "n": 2934,
         "difference": -19.3, "low": -22.2, "high": -16.4, "significant": True},
    ]  # fmt: skip
    html = render_html(snapshot)
    row = re.search(r"<tr><th scope=\"row\">Product quality</th>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:3] == ["-6.8", "-19.3", "-22.2–-16.4"]
    assert "NPS gap vs. the rest" in html and "95% interval of the gap" in html
