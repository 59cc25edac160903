"""The fast lane adapts itself to an installation's own feedback: from the models page and every week on
the bulk queue, switching only when the adapted model is not worse (voxloop.analysis.jobs.run_adapt)."""

import pytest
from django.conf import settings
from django.urls import reverse

from voxloop.analysis import jobs
from voxloop.analysis.model_switch import active_model_dir, pointer
from voxloop.analysis.models import AnalysisJob
from voxloop.analysis.tests.test_jobs import start, store
from voxloop.core.queues import BULK, TASK_QUEUES
from voxloop_nlp.tests.test_adapt import LIKED, domain_texts

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("model_pointer")]


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture(autouse=True)
def _restore_model():
    from voxloop_nlp import models_store

    pointer().unlink(missing_ok=True)
    yield
    pointer().unlink(missing_ok=True)
    models_store.activate(models_store.PACKAGE_MODEL_DIR)


def test_too_little_feedback_keeps_the_model_and_says_why(client, analyst, django_capture_on_commit_callbacks):
    import voxloop_nlp

    store("快递太慢了，包装也破了", "The staff were lovely, thanks!", "还行")
    client.force_login(analyst)
    assert "Adapt to this installation" in client.get(reverse("analysis:models")).content.decode()
    response = start(client, django_capture_on_commit_callbacks, kind="adapt")
    job = AnalysisJob.objects.get()
    assert response.status_code == 302 and job.kind == "adapt" and job.status == "done"
    assert job.result["switched"] is False and job.result["reason"] == "too_few"
    assert active_model_dir() is None and voxloop_nlp.MODEL_VERSION == job.result["old_version"]
    detail = client.get(response.url).content.decode()
    assert "Too few recent items the model is sure about" in detail and "stays in use" in detail


def test_the_weekly_task_adapts_on_the_installations_feedback_and_switches():
    import voxloop_nlp
    from voxloop.analysis.tasks import adapt_fast_lane_task

    assert TASK_QUEUES["voxloop.analysis.tasks.adapt_fast_lane_task"] == BULK
    assert settings.CELERY_BEAT_SCHEDULE["adapt-fast-lane"]["task"] == "voxloop.analysis.tasks.adapt_fast_lane_task"
    shipped = voxloop_nlp.MODEL_VERSION
    store(*domain_texts())
    adapt_fast_lane_task()
    job = AnalysisJob.objects.get(kind="adapt")
    assert job.status == "done" and job.result["switched"] is True, job.result
    assert job.result["positives"] == job.result["negatives"] > 0
    # the product now analyses with the adapted model, which has learnt the installation's own product name
    assert active_model_dir() is not None and voxloop_nlp.MODEL_VERSION == job.result["new_version"] != shipped
    assert voxloop_nlp.analyze(f"买了{LIKED}").to_dict()["sentiment"]["score"] > -0.15
    # a second run while a job is running does nothing
    AnalysisJob.objects.create(kind="reanalyze", status="running")
    assert jobs.adapt_periodically() is None
