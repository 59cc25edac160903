"""In Chromium: an analyst starts a re-analysis from the models page and follows a running job live."""

import pytest

from voxloop.analysis.models import AnalysisJob
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analyst_starts_a_reanalysis_and_sees_it_finish(login_page, analyst, live_server):
    ids = ingest_feedback(
        [prepare_feedback({"text": t}, channel="review", source="b") for t in ("物流太慢了", "Great staff")]
    ).created
    Feedback.objects.filter(pk__in=ids).update(model_version="vx-old")
    page = login_page(analyst)
    page.goto(f"{live_server.url}/analysis/models/")
    page.click("#start-reanalyze button[type=submit]")
    page.wait_for_selector("#analysis-job[data-status=done]")
    assert "2" in page.locator(".job-verdict").inner_text()
    assert "vx-old" not in set(Feedback.objects.filter(pk__in=ids).values_list("model_version", flat=True))


def test_the_job_page_polls_until_the_job_ends(login_page, analyst, live_server):
    job = AnalysisJob.objects.create(kind="reanalyze", status="running", step="reanalyze", done=1, total=4)
    page = login_page(analyst)
    page.goto(f"{live_server.url}/analysis/jobs/{job.pk}/")
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "25"
    AnalysisJob.objects.filter(pk=job.pk).update(done=3)
    page.wait_for_selector("[role=progressbar][aria-valuenow='75']", timeout=10_000)
    AnalysisJob.objects.filter(pk=job.pk).update(status="failed", error="disk full while saving", done=3)
    page.wait_for_selector("#analysis-job[data-status=failed]", timeout=10_000)
    assert "disk full while saving" in page.locator(".job-error").inner_text()
