"""`voxloop retrain` keeps the current model unless the new one is at least as good."""

from pathlib import Path

import pytest
from django.core.management import call_command

from voxloop.analysis.model_switch import active_model_dir, ensure_active_model, pointer, switch_to
from voxloop.analysis.services import correct_feedback
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

# Both modules move the one model pointer under DATA_DIR: run them on the same xdist worker, never side by side.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("model_pointer")]
DATASETS = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def _restore_model():
    """Each test starts and ends on the shipped model, with no switch recorded."""
    from voxloop_nlp import models_store

    pointer().unlink(missing_ok=True)
    yield
    pointer().unlink(missing_ok=True)
    models_store.activate(models_store.PACKAGE_MODEL_DIR)


@pytest.mark.slow
@pytest.mark.skipif(not DATASETS.exists(), reason="needs ../shared/datasets")
def test_retrain_uses_corrections_and_switches_only_when_not_worse(agent, capsys):
    from voxloop_nlp import models_store

    item = ingest_feedback([prepare_feedback({"text": "一般吧，说不上好"}, channel="review")]).created[0]
    correct_feedback(Feedback.objects.get(pk=item), "sentiment", "negative", user=agent)
    call_command("retrain", "--data-dir", str(DATASETS), "--limit-per-dataset", "60", "--dry-run")
    out = capsys.readouterr().out
    assert "1 sentiment" in out
    assert active_model_dir() is None  # a dry run never switches
    call_command("retrain", "--data-dir", str(DATASETS), "--limit-per-dataset", "60")
    out = capsys.readouterr().out
    if "WORSE" in out:
        assert "Kept the current model" in out
        assert active_model_dir() is None
    else:
        assert "Switched to" in out
        model_dir = active_model_dir()
        assert model_dir is not None
        assert models_store.active().directory.resolve() == model_dir.resolve()


@pytest.mark.slow
def test_retrain_works_without_the_datasets(agent, capsys, monkeypatch, tmp_path):
    """A real install has no ../shared/datasets: retrain refits on the state shipped in the package and
    judges the new model on each shipped evaluation set and the held-out corrections separately."""
    monkeypatch.setenv("VOXLOOP_DATASETS", str(tmp_path / "absent"))
    ids = ingest_feedback(
        [prepare_feedback({"text": t}, channel="review") for t in ("一般吧，说不上好", "送餐员给我打电话比较粗鲁")]
    ).created
    for pk in ids:
        correct_feedback(Feedback.objects.get(pk=pk), "sentiment", "negative", user=agent)
    call_command("retrain", "--dry-run")
    out = capsys.readouterr().out
    assert "2 sentiment" in out
    for name in ("online_shopping", "chnsenticorp_htl", "uci_yelp", "uci_amazon", "semeval14_restaurant"):
        assert f"  {name}: " in out  # each shipped evaluation set reported on its own
    assert "Dry run" in out or "Kept the current model: the new one was worse by more than 0.5 point on" in out
    assert active_model_dir() is None


def test_switching_is_picked_up_by_other_processes(tmp_path, settings):
    import shutil

    from voxloop_nlp import models_store

    copy = tmp_path / "copy"
    shutil.copytree(models_store.PACKAGE_MODEL_DIR, copy)
    switch_to(copy)
    assert pointer().read_text() == str(copy.resolve())
    models_store.activate(models_store.PACKAGE_MODEL_DIR)  # another process still on the old model...
    ensure_active_model()  # ...moves to the switched one before its next batch
    assert models_store.active().directory.resolve() == copy.resolve()
