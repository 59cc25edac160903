"""The models page starts `retrain` and `reanalyze` as background jobs and shows their progress and result."""

from pathlib import Path

import pytest
from django.urls import reverse

from voxloop.analysis.model_switch import active_model_dir, pointer
from voxloop.analysis.models import AnalysisJob
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

# Both modules move the one model pointer under DATA_DIR: run them on the same xdist worker, never side by side.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("model_pointer")]
DATASETS = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return client


@pytest.fixture(autouse=True)
def _restore_model():
    from voxloop_nlp import models_store

    pointer().unlink(missing_ok=True)
    yield
    pointer().unlink(missing_ok=True)
    models_store.activate(models_store.PACKAGE_MODEL_DIR)


def store(*texts):
    return ingest_feedback([prepare_feedback({"text": t}, channel="review", source="t") for t in texts]).created


def start(client, captured, **data):
    with captured(execute=True):
        return client.post(reverse("analysis:models"), data)


def test_analyst_reanalyses_stale_items_and_sees_the_result(client, analyst, django_capture_on_commit_callbacks):
    import voxloop_nlp

    ids = store("快递太慢了，包装也破了", "The staff were lovely, thanks!", "还行")
    Feedback.objects.filter(pk__in=ids).update(model_version="vx-old")
    client.force_login(analyst)
    page = client.get(reverse("analysis:models"))
    assert page.status_code == 200
    assert voxloop_nlp.MODEL_VERSION in page.content.decode()
    response = start(client, django_capture_on_commit_callbacks, kind="reanalyze")
    job = AnalysisJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("analysis:job", args=[job.pk])
    assert job.status == "done" and job.result["count"] == 3
    assert set(Feedback.objects.filter(pk__in=ids).values_list("model_version", flat=True)) == {
        voxloop_nlp.MODEL_VERSION
    }
    detail = client.get(response.url).content.decode()
    assert f"Re-analysed 3 items with model {voxloop_nlp.MODEL_VERSION}" in detail
    # finished: the job's card stops polling (the top bar's bell polls on every page)
    job_card_tag = detail[detail.index('<section class="card analysis-job"') :].split(">", 1)[0]
    assert "hx-get" not in job_card_tag and "hx-trigger" not in job_card_tag


def test_a_running_job_is_polled_and_shows_its_progress(client, analyst):
    job = AnalysisJob.objects.create(kind="reanalyze", status="running", step="reanalyze", done=250, total=1000)
    client.force_login(analyst)
    partial = client.get(reverse("analysis:job", args=[job.pk]), headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "250 of 1000 items" in html
    assert 'aria-valuenow="25"' in html
    assert "<html" not in html  # htmx gets the fragment only


@pytest.mark.slow
def test_retrain_without_the_datasets_runs_on_the_shipped_state(
    client, admin_user, monkeypatch, tmp_path, django_capture_on_commit_callbacks
):
    # A real install has no datasets: the job refits on the training state in the package (it used to fail).
    monkeypatch.setenv("VOXLOOP_DATASETS", str(tmp_path))
    client.force_login(admin_user)
    response = start(client, django_capture_on_commit_callbacks, kind="retrain", dry_run="on")
    job = AnalysisJob.objects.get()
    assert job.status == "done", job.error
    html = client.get(response.url).content.decode()
    assert "online_shopping" in html and "uci_yelp" in html  # old and new figures, set by set


@pytest.mark.slow
@pytest.mark.skipif(not DATASETS.exists(), reason="needs ../shared/datasets")
def test_retrain_dry_run_reports_old_and_new_scores_and_never_switches(
    client, analyst, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    response = start(client, django_capture_on_commit_callbacks, kind="retrain", dry_run="on", limit_per_dataset="30")
    job = AnalysisJob.objects.get()
    assert job.status == "done", job.error
    assert job.options == {"dry_run": True, "limit_per_dataset": 30}
    assert job.step == "done" and job.done == job.total
    assert job.result["dry_run"] and not job.result["switched"]
    assert {row["name"] for row in job.result["datasets"]} >= {"online_shopping", "uci_yelp"}
    assert active_model_dir() is None
    html = client.get(response.url).content.decode()
    verdict = "Dry run:" if job.result["not_worse"] else "was worse on the held-out data"
    assert verdict in html and job.result["new_version"] in html


def test_one_job_at_a_time(client, admin_user):
    running = AnalysisJob.objects.create(kind="retrain", status="running")
    client.force_login(admin_user)
    response = client.post(reverse("analysis:models"), {"kind": "reanalyze"})
    assert response.status_code == 400
    assert f"Job #{running.pk}" in response.content.decode()
    assert AnalysisJob.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "retrain", "limit_per_dataset": "lots"}, "Sample size must be a whole number"),
        ({"kind": "retrain", "limit_per_dataset": "0"}, "Sample size must be between 1"),
        ({"kind": "delete-everything"}, "Unknown job kind"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(client, admin_user, data, message):
    client.force_login(admin_user)
    response = client.post(reverse("analysis:models"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AnalysisJob.objects.exists()


@pytest.mark.parametrize("persona", ["agent", "manager"])
def test_only_admins_and_analysts_see_the_models_page(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("analysis:models")).status_code == 403
    assert client.post(reverse("analysis:models"), {"kind": "reanalyze"}).status_code == 403
    job = AnalysisJob.objects.create(kind="reanalyze")
    assert client.get(reverse("analysis:job", args=[job.pk])).status_code == 403
    assert not AnalysisJob.objects.exclude(pk=job.pk).exists()


def test_the_menu_links_the_models_page_for_analysts_only(client, analyst, agent):
    client.force_login(analyst)
    assert reverse("analysis:models") in client.get(reverse("feedback:inbox")).content.decode()
    client.force_login(agent)
    assert reverse("analysis:models") not in client.get(reverse("feedback:inbox")).content.decode()


def test_retrain_command_shows_a_progress_bar(capsys, monkeypatch, tmp_path):
    from django.core.management import CommandError, call_command

    # A --data-dir (train from scratch) that holds no datasets is a clear error, not a traceback.
    with pytest.raises(CommandError, match="Training data not found"):
        call_command("retrain", "--dry-run", "--data-dir", str(tmp_path))
    assert "retrain:" in capsys.readouterr().err  # tqdm's bar on stderr, stopped at the failing step


def test_the_page_speaks_chinese_by_default(client, analyst):
    job = AnalysisJob.objects.create(kind="reanalyze", status="failed", error="disk full")
    client.force_login(analyst)
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    html = client.get(reverse("analysis:job", args=[job.pk])).content.decode()
    assert "任务失败" in html and "disk full" in html
