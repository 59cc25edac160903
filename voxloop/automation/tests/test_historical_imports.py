"""History is not news (issue 17, item 4): imported items received long before their import are analysed and
counted, but open no case and notify nobody; the importer can choose "all history" or "all new"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from voxloop.analysis.services import analyze_feedback
from voxloop.api.services import submit_feedback
from voxloop.automation.services import apply_rules
from voxloop.cases.models import Case, CaseEvent, CaseFeedback
from voxloop.feedback.history import HistoryMode, historical_feedback_ids, is_historical
from voxloop.feedback.models import AnalysisStatus, Feedback, ImportBatch

COMPLAINT = "物流太慢了，等了一个星期还没到，很失望"


@pytest.fixture
def rules_only_when_asked(settings, default_rules):
    settings.AUTOMATION_ON_ANALYSIS = False  # analysis would apply the rules itself; the tests call them
    settings.HISTORICAL_AFTER_DAYS = 7


def write_csv(tmp_path, rows: list[tuple[str, str]]):
    path = tmp_path / "reviews.csv"
    lines = ["评价ID,评价内容,评价时间"] + [f"{ref},{COMPLAINT},{when}" for ref, when in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_and_process(tmp_path, *extra: str) -> dict[str, Feedback]:
    now = timezone.localtime()
    old = (now - timedelta(days=400)).strftime("%Y-%m-%d %H:%M")
    recent = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    call_command("import", str(write_csv(tmp_path, [("OLD", old), ("NEW", recent)])), "--channel", "review", *extra,
                 verbosity=0)  # fmt: skip
    items = {f.external_id: f for f in Feedback.objects.all()}
    analyze_feedback([f.pk for f in items.values()])
    apply_rules([f.pk for f in items.values()])
    return items


def has_case(item: Feedback) -> bool:
    return CaseFeedback.objects.filter(feedback=item).exists()


def test_an_import_of_last_years_complaints_opens_cases_only_for_recent_ones(rules_only_when_asked, tmp_path, capsys):
    items = import_and_process(tmp_path)
    assert "History: Items received more than 7 days before the import are history" in capsys.readouterr().out
    assert has_case(items["NEW"])
    assert not has_case(items["OLD"])  # history opens no case...
    assert Feedback.objects.get(pk=items["OLD"].pk).analysis_status == AnalysisStatus.DONE  # ...but is analysed
    assert (
        Case.objects.count() == 1 and CaseEvent.objects.filter(case__feedback_links__feedback=items["OLD"]).count() == 0
    )


def test_the_importer_can_say_every_item_is_new(rules_only_when_asked, tmp_path):
    items = import_and_process(tmp_path, "--history", "none")
    assert has_case(items["NEW"]) and has_case(items["OLD"])


def test_the_importer_can_say_every_item_is_history(rules_only_when_asked, tmp_path):
    items = import_and_process(tmp_path, "--history", "all")
    assert Case.objects.count() == 0
    assert set(historical_feedback_ids([f.pk for f in items.values()])) == {f.pk for f in items.values()}


def test_an_api_batch_keeps_the_choice_and_a_single_live_item_is_always_news(db):
    old = (timezone.now() - timedelta(days=30)).isoformat()
    batch = submit_feedback([{"text": COMPLAINT, "external_id": "A1", "received_at": old}], history="auto")
    stored = Feedback.objects.get(external_id="A1")
    assert batch.batch_id is not None
    assert ImportBatch.objects.get(pk=batch.batch_id).options["history"] == "auto"
    assert historical_feedback_ids([stored.pk]) == {stored.pk}
    submit_feedback([{"text": COMPLAINT, "external_id": "A2", "received_at": old}], record_batch=False)
    live = Feedback.objects.get(external_id="A2")
    assert historical_feedback_ids([live.pk]) == set()


def test_the_decision(settings):
    settings.HISTORICAL_AFTER_DAYS = 7
    now = timezone.now()
    assert is_historical(now - timedelta(days=8), now, HistoryMode.AUTO)
    assert not is_historical(now - timedelta(days=6), now, HistoryMode.AUTO)
    assert is_historical(now, now, HistoryMode.ALL)
    assert not is_historical(now - timedelta(days=999), now, HistoryMode.NONE)


def test_the_import_page_says_so_and_lets_the_importer_choose(agent_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    upload = SimpleUploadedFile("a.csv", "内容,时间\n好评,2025-03-05\n".encode())
    page = agent_client.post(
        reverse("fileimport:upload"), {"file": upload, "channel": "review"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    html = page.content.decode()
    assert "历史还是新消息？" in html and "不会创建工单" in html
    assert '<option value="auto">导入时已收到超过 7 天的条目算作历史</option>' in html
    form = {"token": page.context["token"], "kind": "feedback", "channel": "review", "map_text": "内容",
            "map_received_at": "时间"}  # fmt: skip
    agent_client.post(reverse("fileimport:start"), {**form, "history": "all"})
    assert ImportBatch.objects.get().options["history"] == "all"


def test_an_unknown_choice_is_refused_with_a_clear_message(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid choice: 'old'"):
        call_command("import", str(write_csv(tmp_path, [("X", "2025-03-05")])), "--channel", "review",
                     "--history", "old", verbosity=0)  # fmt: skip


def test_a_tampered_choice_on_the_page_is_refused_in_the_readers_language(agent_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    upload = SimpleUploadedFile("a.csv", "内容,时间\n好评,2025-03-05\n".encode())
    page = agent_client.post(reverse("fileimport:upload"), {"file": upload, "channel": "review"})
    form = {"token": page.context["token"], "kind": "feedback", "channel": "review", "map_text": "内容",
            "map_received_at": "时间", "history": "yesterday"}  # fmt: skip
    response = agent_client.post(reverse("fileimport:start"), form, HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True)
    assert "未知的历史选项“yesterday”" in response.content.decode()
    assert ImportBatch.objects.count() == 0
