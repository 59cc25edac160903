"""A customer's email reply joins the case it answers: by our Message-ID in In-Reply-To/References, by the case
number in the subject, or by the tracking link it quotes; a reply to a closed case reopens it or opens a linked
follow-up case. The messages are written the way Outlook, Gmail, QQ Mail and Foxmail write them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.utils import timezone, translation

from voxloop.accounts.models import User
from voxloop.cases import outbox
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind, Severity, SLAPolicy
from voxloop.cases.queries import timeline
from voxloop.cases.services import add_reply, assign_case, merge_cases, open_case, resolve_case, set_status
from voxloop.cases.tests.conftest import MONDAY_9, english_messages  # noqa: F401 - a fixture
from voxloop.cases.tracking import tracking_url
from voxloop.channels.email import files
from voxloop.channels.email.models import SentMessageId
from voxloop.channels.email.tests.clients import CLIENTS, Reply, foxmail, gmail, outlook, qq_mail
from voxloop.channels.email.threading import outgoing_message_id
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import Feedback
from voxloop.notify.models import Notification, NotificationKind
from voxloop.notify.services import send_due_messages

pytestmark = pytest.mark.django_db

CUSTOMER_EMAIL = "li.na@example.com"
counter = iter(range(1, 100_000))


@pytest.fixture
def case(sla_defaults) -> Case:
    """A case opened from the customer's first email (its customer is found by that address)."""
    n = next(counter)
    pk = ingest_feedback(
        [
            FeedbackInput(
                text="洗衣机漏水，请尽快处理", title="洗衣机漏水", channel="email", received_at=MONDAY_9,
                source="email:support", external_id=f"first-{n}@example.com", email=CUSTOMER_EMAIL,
                customer_name="李娜",
            )
        ]
    ).created[0]  # fmt: skip
    return open_case([pk], Severity.NORMAL, now=timezone.now())


@pytest.fixture
def agent(staffed_team) -> User:
    user = User.objects.create_user("wang-agent", password="x", role="agent", first_name="伟")
    user.teams.add(staffed_team)
    return user


def receive(tmp_path: Path, raw: bytes, name: str = "reply.eml") -> Feedback:
    """Import one message as the mailbox would; the stored feedback."""
    path = tmp_path / name
    path.write_bytes(raw)
    batch = files.import_mail_file(path)
    assert (batch.status, batch.accepted_count, batch.rejected_count) == ("completed", 1, 0)
    return Feedback.objects.get(batch=batch)


def our_message_id(case: Case) -> str:
    """Send the customer a reply the way the product does, and return the Message-ID it carried."""
    agent = User.objects.filter(role="agent").first() or User.objects.create_user("a", password="x", role="agent")
    add_reply(case, agent, "请提供漏水位置的照片。")
    outbox.process_case_events()
    send_due_messages()
    sent = django_mail.outbox[-1]
    return sent.extra_headers["Message-ID"].strip("<>")


def joined(case: Case, feedback: Feedback) -> bool:
    return CaseFeedback.objects.filter(case=case, feedback=feedback).exists()


# --- the Message-ID we send ---------------------------------------------------------------------------------


def test_mail_to_the_customer_carries_a_message_id_we_store(case, agent):
    message_id = our_message_id(case)
    stored = SentMessageId.objects.get(message_id=message_id)
    assert stored.case_id == case.pk
    assert message_id.endswith("@localhost") or "@" in message_id
    # The same outgoing message, sent again after a failure, keeps its Message-ID.
    assert outgoing_message_id(case.pk, stored.outgoing_id) == f"<{message_id}>"
    assert SentMessageId.objects.count() == 1


# --- joining by headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", sorted(CLIENTS))
def test_a_reply_from_each_client_joins_its_case_by_in_reply_to(tmp_path, case, agent, client_name):
    ours = our_message_id(case)
    raw = CLIENTS[client_name](
        Reply(
            subject=f"回复：Re: your case {case.number}",
            text="照片附上了，还是漏水。",
            quoted="请提供漏水位置的照片。",
            in_reply_to=ours,
            references=[ours],
        )
    )
    item = receive(tmp_path, raw)
    assert joined(case, item)
    assert Case.objects.count() == 1
    event = CaseEvent.objects.get(case=case, kind=EventKind.CUSTOMER_MESSAGE)
    assert event.payload["via"] == "email"
    assert event.payload["text"] == "照片附上了，还是漏水。"  # the quote stays out of the timeline
    entry = [e for e in timeline(case) if e.event.pk == event.pk][0]
    assert entry.summary == "Email from the customer"


def test_references_alone_find_the_case_even_from_another_address_and_subject(tmp_path, case, agent):
    ours = our_message_id(case)
    raw = outlook(
        Reply(
            subject="RE: 照片",
            text="我用公司邮箱补充一下：是进水管漏水。",
            from_email="lina@company.example",
            references=["some-older@mail.example.com", ours],
        )
    )
    item = receive(tmp_path, raw)
    assert joined(case, item)


def test_a_reply_to_the_customers_own_earlier_mail_joins_the_case_that_holds_it(tmp_path, case):
    first = case.feedback_items.get()
    raw = gmail(Reply(subject="Re: 洗衣机漏水", text="补充：型号是 XQG80。", in_reply_to=first.external_id))
    item = receive(tmp_path, raw)
    assert joined(case, item)


# --- joining by the case number in the subject ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "client_name"),
    [
        ("Re: ", "gmail"),
        ("RE: ", "outlook"),
        ("回复：", "qq_mail"),
        ("答复: ", "outlook"),
        ("Fw: ", "outlook"),
        ("转发: ", "foxmail"),
    ],
)
def test_a_reply_whose_subject_names_the_case_joins_it(tmp_path, case, prefix, client_name):
    raw = CLIENTS[client_name](Reply(subject=f"{prefix}我们已收到您的反馈（工单 {case.number}）", text="还在漏水"))
    item = receive(tmp_path, raw)
    assert joined(case, item)
    assert Case.objects.count() == 1


def test_full_width_case_numbers_are_read(tmp_path, case):
    full_width = case.number.translate(str.maketrans("C0123456789", "Ｃ０１２３４５６７８９"))
    item = receive(tmp_path, foxmail(Reply(subject=f"回复：（工单 {full_width}）", text="还在漏水")))
    assert joined(case, item)


def test_a_stranger_naming_a_case_number_does_not_write_into_the_case(tmp_path, case):
    raw = gmail(Reply(subject=f"Re: 工单 {case.number}", text="我也想看看", from_email="someone@else.example"))
    item = receive(tmp_path, raw)
    assert not CaseFeedback.objects.filter(feedback=item).exists()
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.CUSTOMER_MESSAGE).exists()


def test_a_number_that_names_no_case_is_new_feedback(tmp_path, case):
    item = receive(tmp_path, gmail(Reply(subject="Re: 工单 C9999999", text="这是什么")))
    assert not CaseFeedback.objects.filter(feedback=item).exists()


# --- joining by the tracking link ---------------------------------------------------------------------------


def test_a_forward_quoting_the_tracking_link_joins_the_case(tmp_path, case):
    quoted = f"您可以在这里查看进度：{tracking_url(case)}"
    raw = foxmail(Reply(subject="转发: 进度", text="帮我看看这个工单", quoted=quoted, from_email="husband@example.org"))
    item = receive(tmp_path, raw)
    assert joined(case, item)


def test_an_expired_tracking_link_joins_nothing(tmp_path, case):
    Case.objects.filter(pk=case.pk).update(tracking_expires_at=timezone.now() - timedelta(days=1))
    raw = qq_mail(Reply(subject="进度", text="请问进度", quoted=tracking_url(case), from_email="x@example.org"))
    item = receive(tmp_path, raw)
    assert not CaseFeedback.objects.filter(feedback=item).exists()


# --- what the reply does to the case ------------------------------------------------------------------------


def test_a_reply_to_a_case_waiting_on_the_customer_resumes_it(tmp_path, case, agent):
    set_status(case, CaseStatus.PENDING_CUSTOMER, agent)
    receive(tmp_path, gmail(Reply(subject=f"Re: 工单 {case.number}", text="照片在附件里")))
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_a_reply_to_a_resolved_case_reopens_it(tmp_path, case, agent):
    resolve_case(case, agent, root_cause="logistics", resolution="已更换")
    receive(tmp_path, outlook(Reply(subject=f"答复: 您的工单 {case.number} 已解决", text="没有解决，还是漏")))
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == (CaseStatus.REOPENED, 1)
    assert CaseEvent.objects.get(case=case, kind=EventKind.REOPENED).payload["reason"] == "customer_message"


def close(case: Case, agent: User, days_ago: int) -> None:
    resolve_case(case, agent, root_cause="logistics", resolution="已更换")
    set_status(case, CaseStatus.CLOSED, agent)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=days_ago))


def test_a_reply_soon_after_closing_reopens_the_case(tmp_path, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 7
    close(case, agent, days_ago=2)
    item = receive(tmp_path, qq_mail(Reply(subject=f"回复：工单 {case.number}", text="又坏了")))
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert joined(case, item)
    assert Case.objects.count() == 1


def test_a_reply_long_after_closing_opens_a_linked_follow_up_case(tmp_path, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 7
    close(case, agent, days_ago=30)
    item = receive(tmp_path, foxmail(Reply(subject=f"回复：工单 {case.number}", text="又坏了，同一个问题")))
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED  # the closed record stays as it was closed
    follow_up = Case.objects.exclude(pk=case.pk).get()
    assert follow_up.repeat_of_id == case.pk
    assert follow_up.status == CaseStatus.NEW
    assert (follow_up.customer_id, follow_up.severity) == (case.customer_id, case.severity)
    assert joined(follow_up, item) and not joined(case, item)
    old_entry = timeline(case)[-1]
    assert old_entry.summary == (
        f"The customer replied to this closed case; follow-up case {follow_up.number} was opened."
    )
    with translation.override("zh-hans"):
        new_entries = [e.summary for e in timeline(follow_up)]
        assert f"跟进已关闭的工单 {case.number}：客户回复了它。" in new_entries
        assert f"客户回复了这个已关闭的工单，已开立跟进工单 {follow_up.number}。" == timeline(case)[-1].summary


def test_with_no_reopen_window_every_reply_to_a_closed_case_opens_a_follow_up(tmp_path, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 0
    close(case, agent, days_ago=0)
    receive(tmp_path, gmail(Reply(subject=f"Re: 工单 {case.number}", text="还有问题")))
    assert Case.objects.filter(repeat_of=case).count() == 1


def test_a_reply_to_a_merged_case_joins_the_surviving_case(tmp_path, case, agent, sla_defaults):
    n = next(counter)
    other_pk = ingest_feedback(
        [FeedbackInput(text="漏水", channel="email", received_at=MONDAY_9, source="email:support",
                       external_id=f"other-{n}@example.com", email=CUSTOMER_EMAIL)]
    ).created[0]  # fmt: skip
    survivor = open_case([other_pk], now=timezone.now())
    merge_cases(survivor, [case], agent)
    item = receive(tmp_path, gmail(Reply(subject=f"Re: 工单 {case.number}", text="请问进度")))
    assert joined(survivor, item)


def test_an_out_of_office_reply_joins_nothing(tmp_path, case, agent):
    set_status(case, CaseStatus.PENDING_CUSTOMER, agent)
    ours = our_message_id(case)
    raw = outlook(
        Reply(
            subject=f"自动答复: Re: your case {case.number}",
            text="我正在休假，11月30日回来。",
            in_reply_to=ours,
            extra_headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        )
    )
    receive(tmp_path, raw)
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_CUSTOMER  # a holiday notice is no answer
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.CUSTOMER_MESSAGE).exists()


def test_importing_the_same_reply_twice_joins_it_once(tmp_path, case):
    raw = gmail(Reply(subject=f"Re: 工单 {case.number}", text="请问进度"))
    receive(tmp_path, raw, "reply.eml")
    again = files.import_mail_file(tmp_path / "reply.eml")  # the same file from the same mailbox, again
    assert again.duplicate_count == 1
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CUSTOMER_MESSAGE).count() == 1


def test_the_customer_message_notifies_the_assignee(tmp_path, case, agent):
    assign_case(case, agent, None)
    receive(tmp_path, gmail(Reply(subject=f"Re: 工单 {case.number}", text="请问进度")))
    outbox.process_case_events()
    assert Notification.objects.filter(user=agent, kind=NotificationKind.CUSTOMER_REPLIED, case=case).exists()


def test_a_reply_the_case_cannot_take_is_kept_and_the_import_goes_on(tmp_path, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 0
    close(case, agent, days_ago=1)
    SLAPolicy.objects.update(is_active=False)  # the follow-up case would need one
    item = receive(tmp_path, gmail(Reply(subject=f"Re: 工单 {case.number}", text="又坏了")))
    assert not CaseFeedback.objects.filter(feedback=item).exists()  # stored, left to the rules
    assert Case.objects.count() == 1
