"""Search as a user meets it: words not substrings, both scripts, stemming, highlights, who sees what."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.cases.models import Case
from voxloop.cases.services import add_reply
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import Customer, Feedback
from voxloop.feedback.queries import InboxFilters, filter_feedback, inbox_page
from voxloop.search.models import DocKind, SearchDocument
from voxloop.search.queries import highlight, search
from voxloop.search.text import query_tokens, tokenize

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 9, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def no_analysis(settings):
    settings.ANALYZE_ON_INGEST = False


@pytest.fixture
def store(db, django_capture_on_commit_callbacks):
    counter = iter(range(1, 100_000))

    def _store(*texts: str, channel: str = "webform", customer: dict | None = None, **kwargs) -> list[int]:
        items = []
        for text in texts:
            n = next(counter)
            items.append(
                FeedbackInput(
                    text=text, channel=channel, received_at=START + timedelta(minutes=n), source="test",
                    external_id=f"s-{n}", **(customer or {}),
                )
            )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            result = ingest_feedback(items, **kwargs)
        return result.created

    return _store


def _texts(q: str, **filters: Any) -> list[str]:
    return sorted(
        Feedback.objects.filter(pk__in=filter_feedback(InboxFilters(q=q, **filters))).values_list("text", flat=True)
    )


def test_chinese_is_segmented_and_traditional_folds_into_simplified():
    assert query_tokens("配网失败") == ["配网", "失败"]
    assert set(query_tokens("配网失败")) <= set(tokenize("App配网总是失败"))
    assert tokenize("賬單") == tokenize("账单") == ["账单"]
    assert tokenize("Billing FAILED payments") == ["bill", "fail", "payment"]


def test_inbox_search_matches_words_in_both_scripts_and_keeps_its_filters(store):
    store("App配网总是失败，重置了也不行", "配网很顺利", "这个月的賬單不对", "账单金额重复扣款")
    store("账单又错了", channel="email")
    store("Billing page failed to load", "I was billed twice", channel="app")

    assert _texts("配网失败") == ["App配网总是失败，重置了也不行"]
    assert _texts("賬單") == _texts("账单") == ["账单又错了", "账单金额重复扣款", "这个月的賬單不对"]
    assert _texts("账单", channel="email") == ["账单又错了"]
    assert _texts("bill") == ["Billing page failed to load", "I was billed twice"]
    assert _texts("failing billing") == ["Billing page failed to load"]
    # Not a substring scan: "网失" spans two words and matches nothing.
    assert _texts("网失") == []
    page, _cursor = inbox_page(InboxFilters(q="賬單"))
    assert len(page) == 3


def test_the_inbox_counts_all_matches_and_marks_them_in_the_masked_text(store, client, analyst, agent):
    store(*[f"第{n}次 账单不对，请联系 13812345678" for n in range(60)], "賬單重复扣款", "物流太慢")
    client.force_login(agent)
    page = client.get("/feedback/", {"q": "账单"}).content.decode()
    assert "61 条结果（“账单”）" in page  # every match, not just the first page of 50
    # The page shows 50 rows, each with its match marked; the Traditional spelling is marked too.
    assert page.count("<mark>账单</mark>") + page.count("<mark>賬單</mark>") == 50
    assert page.count('class="snippet"') == 50
    client.force_login(analyst)  # a masked role: the phone number stays masked, the word is still marked
    page = client.get("/feedback/", {"q": "账单"}).content.decode()
    assert "13812345678" not in page and "<mark>账单</mark>" in page
    assert 'id="inbox-summary"' not in client.get("/feedback/").content.decode()  # no search, no count


def test_bulk_import_path_indexes_every_row_and_its_customers(store):
    texts = [f"第{n}单 物流太慢了" for n in range(600)] + ["物流很快 充电器坏了"]
    ids = store(*texts, customer={"customer_id": "BULK-1", "customer_name": "王小明", "phone": "13800138000"}, expect_new=True)  # fmt: skip
    assert len(ids) == 601
    assert SearchDocument.objects.filter(kind=DocKind.FEEDBACK, object_id__in=ids).count() == 601
    assert _texts("充电器") == ["物流很快 充电器坏了"]
    customer = Customer.objects.get(external_id="BULK-1")
    assert SearchDocument.objects.filter(kind=DocKind.CUSTOMER, object_id=customer.pk).exists()


def test_highlight_escapes_the_text_and_marks_the_words():
    html = highlight('<script>alert("x")</script> 賬單 billing & more', query_tokens("账单 bill"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>賬單</mark>" in html
    assert "<mark>billing</mark> &amp; more" in html


@pytest.fixture
def two_teams(db) -> tuple[Team, Team, User, User]:
    dept = Department.objects.create(name="服务部")
    mine, other = Team.objects.create(name="甲组", department=dept), Team.objects.create(name="乙组", department=dept)
    agent = User.objects.create_user("agent-a", password="x", role=Role.AGENT)
    agent.teams.add(mine)
    analyst = User.objects.create_user("analyst-a", password="x", role=Role.ANALYST)
    return mine, other, agent, analyst


def test_results_page_counts_highlights_and_respects_case_visibility(client, store, two_teams):
    mine, other, agent, analyst = two_teams
    store("路由器<b>配网</b>总是失败", customer={"customer_id": "K-1", "customer_name": "李雷", "phone": "13912345678"})  # fmt: skip
    own = Case.objects.create(number="C0000101", title="配网失败 客户很着急", team=mine)
    hidden = Case.objects.create(number="C0000102", title="配网失败 另一组的案子", team=other)
    add_reply(hidden, None, "内部说明：配网失败是固件问题", public=False)

    client.force_login(agent)
    body = client.get(reverse("search:results"), {"q": "配网失败"}).content.decode()
    assert "&lt;b&gt;" in body and "<mark>配网</mark>" in body
    assert "C0000101" in body
    assert "C0000102" not in body and "固件问题" not in body
    assert search(agent, "配网失败").case_text.count == 1
    assert search(agent, "c0000102").cases.count == 0
    assert search(agent, "C0000101").cases.hits[0].url == reverse("cases:detail", args=[own.pk])

    # Analysts read every case but see contacts masked.
    assert search(analyst, "配网失败").case_text.count == 2
    found = search(analyst, "139 1234 5678")
    assert found.customers.count == 1
    assert "13912345678" not in found.customers.hits[0].snippet
    assert "13912345678" in search(agent, "+86 13912345678").customers.hits[0].snippet


def test_a_phone_number_typed_with_spaces_or_86_finds_the_texts_that_write_it(store, two_teams):
    """A number from a call, as an agent types it, finds the feedback and case messages quoting it."""
    mine, _other, agent, _analyst = two_teams
    store("请回电 13800138000，路由器坏了", "另一条 13900000000")
    case = Case.objects.create(number="C0000201", title="回电", team=mine)
    add_reply(case, None, "客户留了新号码 13800138000", public=False)
    for typed in ("138 0013 8000", "+86 138-0013-8000", "008613800138000", "13800138000"):
        found = search(agent, typed)
        assert [h.snippet.count("<mark>13800138000</mark>") for h in found.feedback.hits] == [1], typed
        assert found.case_text.count == 1, typed


def test_results_page_in_both_languages(client, store, two_teams):
    _mine, _other, agent, _analyst = two_teams
    store("账单不对", "账单重复")
    client.force_login(agent)
    zh = client.get(reverse("search:results"), {"q": "賬單"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2 条结果" in zh and "反馈" in zh
    en = client.get(reverse("search:results"), {"q": "賬單"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 results for" in en


def test_index_follows_edits_and_deletions_and_can_be_rebuilt(store, two_teams):
    mine, *_ = two_teams
    [pk] = store("退款一直没到账")
    case = Case.objects.create(number="C0000201", title="旧标题", team=mine)
    case.title = "退款延迟"
    case.save()
    assert search(User.objects.get(username="analyst-a"), "退款").case_text.count == 1
    Feedback.objects.get(pk=pk).delete()
    assert not SearchDocument.objects.filter(kind=DocKind.FEEDBACK, object_id=pk).exists()

    SearchDocument.objects.all().delete()
    out = StringIO()
    call_command("rebuild_search_index", stdout=out, stderr=StringIO())
    assert "case: 1" in out.getvalue()
    assert SearchDocument.objects.filter(kind=DocKind.CASE, object_id=case.pk).exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH '\"退款\"'")
            assert cursor.fetchone()[0] == 1


def test_a_common_word_is_served_from_the_newest_documents_with_an_estimated_count(store, two_teams, monkeypatch):
    from voxloop.search import queries

    monkeypatch.setattr(queries, "WINDOW", 4)
    monkeypatch.setattr(queries, "SECTION_SIZE", 2)
    _mine, _other, agent, _analyst = two_teams
    store("发票没开", "账单一", "账单二", "物流慢", "账单三", "账单四")  # oldest first
    common = search(agent, "账单")
    assert [h.snippet for h in common.feedback.hits] == ["<mark>账单</mark>四", "<mark>账单</mark>三"]
    assert common.feedback.approximate and common.feedback.count >= 2
    rare = search(agent, "发票")  # beyond the window: every match is read, and counted exactly
    assert [h.snippet for h in rare.feedback.hits] == ["<mark>发票</mark>没开"]
    assert rare.feedback.count == 1 and not rare.feedback.approximate


def test_case_text_from_the_newest_documents_keeps_to_the_agents_cases(two_teams, monkeypatch):
    from voxloop.search import queries

    monkeypatch.setattr(queries, "CASE_WINDOW", 3)
    monkeypatch.setattr(queries, "SECTION_SIZE", 1)
    mine, other, agent, _analyst = two_teams
    Case.objects.create(number="C0000301", title="退款延迟", team=mine)
    newer = Case.objects.create(number="C0000302", title="退款延迟 第二次", team=mine)
    Case.objects.create(number="C0000303", title="退款延迟 别组", team=other)  # newest, not the agent's
    found = search(agent, "退款")
    assert [h.url for h in found.case_text.hits] == [reverse("cases:detail", args=[newer.pk])]
    assert found.case_text.approximate


def test_the_case_inbox_finds_cases_by_number_or_words_and_marks_them(client, two_teams):
    mine, other, agent, _analyst = two_teams
    Case.objects.create(number="C0000401", title="App配网总是失败，客户很着急", team=mine)
    Case.objects.create(number="C0000402", title="退款一直没到账", team=mine)
    Case.objects.create(number="C0000403", title="配网失败 另一组的工单", team=other)  # not the agent's
    client.force_login(agent)
    page = client.get("/cases/", {"tab": "team", "q": "配网 失败"}).content.decode()
    assert "此列表中有 1 个工单匹配“配网 失败”" in page
    assert "App<mark>配网</mark>总是<mark>失败</mark>" in page
    assert "C0000403" not in page and "C0000402" not in page
    page = client.get("/cases/", {"tab": "team", "q": "c0000402"}).content.decode()  # a number read out on a call
    assert "C0000402" in page and "C0000401" not in page
    # The tabs count the search too, so the agent sees which list holds the case.
    counts = client.get("/cases/counts/", {"tab": "mine", "q": "退款"}).content.decode()
    assert 'data-tab="team"' in counts and 'data-count="1"' in counts
    assert 'data-tab="mine"' in counts and 'data-count="0"' in counts
