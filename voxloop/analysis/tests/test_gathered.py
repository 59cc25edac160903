"""Items stored one at a time are analysed together: the first small task takes the others waiting after it."""

import pytest
from django.core.cache import cache

from voxloop.analysis import services
from voxloop.analysis.tasks import analyze_feedback_task
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import BatchStatus, Feedback, ImportBatch, ImportKind

pytestmark = pytest.mark.django_db


def store(text, batch=None):
    (pk,) = ingest_feedback([prepare_feedback({"text": text}, channel="api", source="t")], batch=batch).created
    return pk


def status(*pks):
    return dict(Feedback.objects.filter(pk__in=pks).values_list("pk", "analysis_status"))


@pytest.fixture(autouse=True)
def _no_gathering_lock():
    cache.delete(services.COALESCE_LOCK)
    yield
    cache.delete(services.COALESCE_LOCK)


def test_one_small_task_analyses_the_single_items_waiting_after_it():
    batch = ImportBatch.objects.create(kind=ImportKind.FEEDBACK, status=BatchStatus.RUNNING)
    first, second, third = store("快递太慢了"), store("质量很好"), store("退款还没处理")
    imported = store("包装破了", batch=batch)  # an import's item: its own task analyses it
    assert analyze_feedback_task.apply(args=([first],)).get() == 3
    assert status(first, second, third, imported) == {first: "done", second: "done", third: "done",
                                                      imported: "pending"}  # fmt: skip
    # The others' own tasks find their items analysed and do nothing more.
    assert analyze_feedback_task.apply(args=([second],)).get() == 0


def test_while_another_worker_gathers_a_small_task_waits_its_turn():
    pk = store("客服态度很好")
    cache.add(services.COALESCE_LOCK, "another worker", timeout=60)
    assert services.analyze_gathered([pk]) is None
    assert status(pk) == {pk: "pending"}
    cache.delete(services.COALESCE_LOCK)
    assert services.analyze_gathered([pk]) == 1
    assert status(pk) == {pk: "done"}
    assert cache.get(services.COALESCE_LOCK) is None  # released after the run


def test_an_inline_task_does_not_wait_for_a_lock_it_cannot_see_released():
    pk = store("安装师傅很专业")
    cache.add(services.COALESCE_LOCK, "another worker", timeout=60)
    assert analyze_feedback_task.apply(args=([pk],)).get() == 1
    assert status(pk) == {pk: "done"}
