"""The report as an email: subject, plain text and HTML with the summary and the KPI table inline.

Mail clients ignore <style> blocks and most CSS, so the HTML is tables with inline styles only; the PDF goes
along as an attachment (added by the caller, voxloop.reports.delivery).
"""

from typing import Any

from django.conf import settings
from django.template import Context
from django.utils.translation import pgettext

from voxloop.reports.render import formatting as fmt
from voxloop.reports.render.document import _kpi_row, engine
from voxloop.reports.render.formatting import in_language

LIGHT_COLOURS = {"green": "#1e6b3a", "amber": "#8a5300", "red": "#a61b1b", "grey": "#52606d"}
LIGHT_MARKS = {"green": "●", "amber": "◆", "red": "■", "grey": "○"}  # a shape per light, in case colour is lost


def render_email(snapshot: dict[str, Any], *, report_url: str | None = None) -> tuple[str, str, str]:
    """(subject, plain text, html). report_url: the report's page (site-relative or absolute); the reports list
    when not given."""
    with in_language(snapshot):
        link = fmt.absolute(report_url or "/reports/") or settings.SITE_URL
        title = str(snapshot.get("title") or pgettext("service report", "Service quality report"))
        status = snapshot.get("status") or {}
        summary = str(status.get("summary") or "")
        rows = [_kpi_row(k) for k in status.get("kpis") or []]
        for row in rows:
            row["colour"] = LIGHT_COLOURS.get(row["light"], LIGHT_COLOURS["grey"])
            row["mark"] = LIGHT_MARKS.get(row["light"], LIGHT_MARKS["grey"])
        period = (snapshot.get("period") or {}).get("label", "")
        scope = (snapshot.get("scope") or {}).get("label", "")
        subject = title

        lines = [title, " · ".join(str(x) for x in (period, scope) if x), ""]
        lines += [summary or pgettext("service report", "No data for this period."), ""]
        if rows:
            lines.append(pgettext("service report", "Indicators"))
            target, previous = pgettext("service report", "Target"), pgettext("service report", "Previous period")
            for row in rows:
                lines.append(
                    f"- {row['name']}: {row['value']} ({target} {row['target']}; {previous} {row['previous']}; "
                    f"{row['delta']}, {row['change_note']}) [{row['light_label']}]"
                )
            lines.append("")
        lines += [pgettext("service report", "The full report is attached as a PDF and on the reports page:"), link]
        text = "\n".join(lines) + "\n"

        html = (
            engine()
            .get_template("reports/document/email.html")
            .render(Context({"s": snapshot, "title": title, "period": period, "scope": scope, "summary": summary,
                             "rows": rows, "link": link, "lang": fmt.language_of(snapshot)}))
        )  # fmt: skip
        return subject, text, html
