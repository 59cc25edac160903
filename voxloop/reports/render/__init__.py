"""The service-quality report (服务质量评估报告) drawn from its snapshot: PDF, HTML, Excel, email and charts.

Pure functions of the snapshot dict (docs/reports.md; voxloop.reports.snapshot builds it): nothing here reads the
database, so an archived report renders the same forever. The snapshot's language is active while rendering.
"""

from voxloop.reports.render.charts import chart_svgs
from voxloop.reports.render.document import render_html, render_pdf
from voxloop.reports.render.mail import render_email
from voxloop.reports.render.workbook import render_xlsx

__all__ = ["chart_svgs", "render_email", "render_html", "render_pdf", "render_xlsx"]
