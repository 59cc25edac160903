"""Messages to customers by their own channel: SMS and chat-app messages reach the company's own HTTP gateway (a
real server on loopback here) as signed JSON; 5xx and timeouts are retried later, 4xx fails with the gateway's
reason; a customer with only e-mail gets e-mail; no address or an opt-out sends nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from voxloop.accounts import privacy
from voxloop.accounts.models import Department, Role, User
from voxloop.actions import incidents, notices, services
from voxloop.actions.models import ActionStatus, FixNotice, ImprovementAction
from voxloop.analysis.models import FeedbackTopic
from voxloop.cases import delivery, outbox
from voxloop.cases.models import CaseEvent, EventKind
from voxloop.cases.queries import timeline
from voxloop.cases.services import add_reply, open_case
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import Customer, Feedback
from voxloop.notify.models import DeliveryGateway, MessageKind, MessageStatus, OutgoingMessage
from voxloop.notify.services import send_due_messages
from voxloop.webhooks.services import SIGNATURE_HEADER, verify_signature

SECRET = "gwsec_test"
PHONE = "+8613800138000"


@dataclass
class Gateway:
    """A gateway on loopback: records each request and answers with the next queued status (200 when none)."""

    url: str
    requests: list[dict] = field(default_factory=list)
    answers: list[tuple[int, dict]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
            status, answer = state.answers.pop(0) if state.answers else (200, {"id": "gw-1"})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gateways(db, gateway: Gateway) -> Gateway:
    for channel in ("sms", "im"):
        DeliveryGateway.objects.create(
            channel=channel,
            url=gateway.url,
            secret=SECRET,
            token_header="X-Gateway-Token",
            token="t0k",
            timeout_seconds=5,
        )
    return gateway


@pytest.fixture
def agent(db, staffed_team) -> User:
    user = User.objects.create_user("zhao", password="x", role=Role.AGENT, first_name="敏", email="zhao@corp.example")
    user.teams.add(staffed_team)
    return user


counter = iter(range(1, 100_000))


def case_from(channel: str, source: str, *, email: str = "", phone: str = "", handles: dict | None = None):
    n = next(counter)
    pk = ingest_feedback([
        FeedbackInput(
            text="快递还没到", channel=channel, received_at=MONDAY_9, source=source, external_id=f"g-{n}",
            customer_id=f"G-{n}", customer_name="李娜", email=email, phone=phone, handles=handles or {},
        )
    ]).created[0]  # fmt: skip
    return open_case([pk], now=MONDAY_9)


def deliver(now: datetime | None = None) -> None:
    outbox.process_case_events()
    send_due_messages(now)


def test_a_reply_to_an_sms_customer_reaches_the_gateway_signed(gateways, agent):
    case = case_from("hotline", "call-centre", email="li.na@example.com", phone=PHONE)
    route = delivery.reply_route(case)
    assert (route.channel, route.address) == ("sms", PHONE)
    add_reply(case, agent, "您的包裹明天到。")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert (message.status, message.channel, message.address, message.to_email) == ("sent", "sms", PHONE, "")
    assert mail.outbox == []  # by SMS, not also by e-mail
    [request] = gateways.requests
    payload = json.loads(request["body"])
    assert payload["to"] == PHONE and payload["channel"] == "sms" and payload["case"] == case.number
    assert "您的包裹明天到。" in payload["text"] and payload["language"] == message.language
    assert payload["message_id"] == request["headers"]["Idempotency-Key"] == f"voxloop-{message.pk}"
    assert request["headers"]["X-Gateway-Token"] == "t0k"
    assert verify_signature(SECRET, request["headers"][SIGNATURE_HEADER], request["body"])
    assert not verify_signature("another secret", request["headers"][SIGNATURE_HEADER], request["body"])
    reply = CaseEvent.objects.get(case=case, kind=EventKind.PUBLIC_REPLY)
    for language, summary in (("en", "Public reply to the customer, by SMS"), ("zh-hans", "通过短信")):
        with translation.override(language):
            entry = next(e for e in timeline(case, agent) if e.event.pk == reply.pk)
        assert summary in entry.summary  # the timeline says which channel the reply went by


def test_a_chat_app_customer_is_answered_in_the_chat_app(gateways, agent):
    case = case_from("chat", "wechat", handles={"wechat": "wx_lina"})
    add_reply(case, agent, "您好")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert (message.status, message.channel, message.address) == ("sent", "im", "wx_lina")
    assert json.loads(gateways.requests[0]["body"])["to"] == "wx_lina"


def test_a_5xx_answer_is_retried_later_and_then_sent(gateways, agent, settings):
    settings.NOTIFY_RETRY_SECONDS = 60
    case = case_from("hotline", "call-centre", phone=PHONE)
    gateways.answers = [(503, {"error": "provider down"})]
    add_reply(case, agent, "稍后回复")
    outbox.process_case_events()
    now = timezone.now()
    send_due_messages(now)
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert message.status == MessageStatus.PENDING and "503" in message.last_error
    assert message.next_attempt_at is not None and message.next_attempt_at >= now + timedelta(seconds=60)
    send_due_messages(now + timedelta(seconds=10))  # not due yet: nothing posted
    assert len(gateways.requests) == 1
    send_due_messages(now + timedelta(minutes=2))
    message.refresh_from_db()
    assert (message.status, message.attempts, len(gateways.requests)) == ("sent", 2, 2)
    # the same message id both times: the gateway can drop a repeat
    keys = {r["headers"]["Idempotency-Key"] for r in gateways.requests}
    assert keys == {f"voxloop-{message.pk}"}


def test_a_timeout_is_retried(db, agent):
    # A gateway that accepts the connection but never answers: the configured timeout ends the attempt.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        DeliveryGateway.objects.create(
            channel="sms", url=f"http://127.0.0.1:{listener.getsockname()[1]}/", secret=SECRET, timeout_seconds=1
        )
        case = case_from("hotline", "call-centre", phone=PHONE)
        add_reply(case, agent, "hello")
        deliver()
    finally:
        listener.close()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert message.status == MessageStatus.PENDING and "gateway not reached" in message.last_error


def test_a_4xx_answer_fails_at_once_with_the_gateways_reason(gateways, agent):
    case = case_from("hotline", "call-centre", phone=PHONE)
    gateways.answers = [(400, {"error": "number is not a mobile number"})]
    add_reply(case, agent, "hello")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert message.status == MessageStatus.FAILED
    assert message.last_error == "gateway answered 400: number is not a mobile number"
    note = CaseEvent.objects.get(case=case, kind=EventKind.NOTIFICATION)
    assert (note.payload["delivery"], note.payload["channel"]) == ("failed", "sms")
    with translation.override("en"):
        entry = next(e for e in timeline(case, agent) if e.event.pk == note.pk)
    # the number as the one masking rule shows it to this agent
    assert entry.summary == f"A message by SMS to {privacy.contact_for(PHONE, agent)} could not be delivered."
    assert "number is not a mobile number" in entry.text


def test_a_customer_with_only_email_gets_email(gateways, agent):
    case = case_from("hotline", "call-centre", email="li.na@example.com")  # called us, but left no number
    add_reply(case, agent, "hello")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert (message.status, message.channel, message.address) == ("sent", "email", "li.na@example.com")
    assert [m.to for m in mail.outbox] == [["li.na@example.com"]] and gateways.requests == []


def test_without_an_enabled_gateway_the_sms_customer_gets_email(gateways, agent):
    DeliveryGateway.objects.update(enabled=False)
    case = case_from("hotline", "call-centre", email="li.na@example.com", phone=PHONE)
    assert delivery.reply_route(case).channel == "email"
    add_reply(case, agent, "hello")
    deliver()
    assert len(mail.outbox) == 1 and gateways.requests == []


def test_no_address_is_not_sent_with_a_reason(gateways, agent):
    case = case_from("hotline", "call-centre")
    route = delivery.reply_route(case)
    assert not route.will_send and route.reason_code == "no_address"
    with translation.override("zh-hans"):
        assert "短信" not in str(delivery.reply_route(case).not_sent_reason)  # says no address at all, in Chinese
    add_reply(case, agent, "hello")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert (message.status, message.last_error) == (MessageStatus.NOT_SENT, "no_address")
    assert gateways.requests == [] and mail.outbox == []


def test_opt_out_holds_for_chat_apps_as_for_email(gateways, agent):
    # A WeChat post on social media is not the customer writing to us: an opted-out customer hears nothing.
    case = case_from("social", "wechat", handles={"wechat": "wx_lina"})
    Customer.objects.filter(pk=case.customer_id).update(opted_out=True)
    case.refresh_from_db()
    case.customer.refresh_from_db()
    assert not delivery.reply_route(case).will_send
    add_reply(case, agent, "hello")
    deliver()
    message = OutgoingMessage.objects.get(kind=MessageKind.CUSTOMER_REPLY)
    assert (message.status, message.last_error) == (MessageStatus.NOT_SENT, "opted_out")
    assert gateways.requests == []


def test_the_route_names_the_channel_in_both_languages(gateways):
    case = case_from("hotline", "sms", phone=PHONE)
    for language, label in (("en", "SMS"), ("zh-hans", "短信")):
        with translation.override(language):
            assert delivery.reply_route(case).channel_label == label


# --- the actions app: fix notices and the incident reply ------------------------------------------------------


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)), timezone.get_current_timezone())


@pytest.fixture
def manager(db) -> User:
    return User.objects.create_user("boss", password="x", role=Role.MANAGER, email="boss@corp.example")


@pytest.fixture
def closed_action(manager):
    department = Department.objects.create(name="物流部", manager=manager)
    today = timezone.localdate()
    people = {
        "sms": Customer.objects.create(name="短信客户", phone=PHONE, email="sms@example.com", language="zh-CN"),
        "mail": Customer.objects.create(name="Jane", email="jane@example.com", language="en"),
        "sms_opted_out": Customer.objects.create(name="Out", phone="+8613900139000", opted_out=True),
        "nothing": Customer.objects.create(name="Nobody"),
    }
    sources = {"sms": ("hotline", "sms"), "mail": ("email", "mail"), "sms_opted_out": ("hotline", "sms"),
               "nothing": ("hotline", "sms")}  # fmt: skip
    for key, customer in people.items():
        channel, source = sources[key]
        item = Feedback.objects.create(
            channel=channel, source=source, external_id=f"a-{key}", received_at=_at(today - timedelta(days=20)),
            text="快递太慢", kind="complaint", sentiment="negative", customer=customer, language="zh",
        )  # fmt: skip
        FeedbackTopic.objects.create(feedback=item, code="delivery", top_code="delivery")
    action = services.create_action(
        manager, title="换快递", department=department, owner=manager, due_date=today, topics=["delivery"], plan="x",
    )  # fmt: skip
    ImprovementAction.objects.filter(pk=action.pk).update(
        status=ActionStatus.CLOSED_EFFECTIVE, public_note="我们更换了快递公司。"
    )
    action.refresh_from_db()
    return action, people


def test_fix_notices_go_by_each_customers_channel(gateways, closed_action, manager):
    action, people = closed_action
    with translation.override("en"):
        audience = notices.notice_audience(action)
        assert {(c, label, n) for c, label, n in audience.channels()} == {("sms", "SMS", 1), ("email", "email", 1)}
    assert (audience.opted_out, audience.no_address) == (1, 1)
    result = notices.send_fix_notices(manager, action)
    assert (result.sent, result.failed) == (2, 0)
    by_customer = {n.customer_id: n for n in FixNotice.objects.filter(action=action)}
    assert (by_customer[people["sms"].pk].channel, by_customer[people["sms"].pk].address) == ("sms", PHONE)
    assert by_customer[people["mail"].pk].channel == "email"
    [request] = gateways.requests  # the opted-out SMS customer is not told
    payload = json.loads(request["body"])
    assert payload["to"] == PHONE and "我们更换了快递公司。" in payload["text"]
    assert verify_signature(SECRET, request["headers"][SIGNATURE_HEADER], request["body"])
    assert [m.to for m in mail.outbox] == [["jane@example.com"]]


def test_a_refused_fix_notice_is_logged_with_the_gateways_reason(gateways, closed_action, manager):
    action, people = closed_action
    gateways.answers = [(404, {"error": "unknown number"})]
    result = notices.send_fix_notices(manager, action)
    assert (result.sent, result.failed) == (1, 1)
    notice = FixNotice.objects.get(action=action, customer=people["sms"])
    assert notice.status == "failed" and notice.error == "gateway answered 404: unknown number"


def test_the_incident_reply_preview_counts_channels(gateways, manager, agent):
    cases = [
        case_from("hotline", "sms", phone=PHONE),
        case_from("email", "mail", email="a@example.com"),
        case_from("hotline", "sms"),  # nothing to send to
    ]
    action = services.create_action(
        manager, title="停电", department=Department.objects.create(name="运维", manager=manager), owner=manager,
        due_date=timezone.localdate(), topics=["delivery"], plan="x",
    )  # fmt: skip
    action.cases.add(*cases)
    with translation.override("en"):
        assert incidents.answer_routes(action) == [("email", "email", 1), ("sms", "SMS", 1),
                                                   ("", "not sent: no address", 1)]  # fmt: skip
    with translation.override("zh-hans"):
        labels = [label for _c, label, _n in incidents.answer_routes(action)]
    assert "短信" in labels
    incidents.answer_linked_cases(manager, action, "已修复")
    deliver()
    sent = OutgoingMessage.objects.filter(kind=MessageKind.CUSTOMER_REPLY)
    assert sorted(sent.values_list("channel", "status")) == [("email", "not_sent"), ("email", "sent"), ("sms", "sent")]
    assert json.loads(gateways.requests[0]["body"])["to"] == PHONE


# --- what the pages say before anything is sent ----------------------------------------------------------------


@pytest.mark.parametrize(("language", "words"), [("en", "Will be sent by SMS to"), ("zh-hans", "短信")])
def test_the_reply_box_names_the_channel(gateways, agent, client, language, words):
    case = case_from("hotline", "sms", phone=PHONE, email="li.na@example.com")
    client.force_login(agent)
    html = client.get(reverse("cases:detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-route="sms"' in html and words in html
    assert str(privacy.contact_for(PHONE, agent)) in html  # the number as the one masking rule shows it


@pytest.mark.parametrize(("language", "words"), [("en", "1 by SMS"), ("zh-hans", "通过短信：1")])
def test_the_notice_preview_counts_by_channel(gateways, closed_action, manager, client, language, words):
    action, _people = closed_action
    client.force_login(manager)
    html = client.get(reverse("actions:notices", args=[action.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'data-channel="sms"' in html and words in html


def test_the_outgoing_message_log_names_the_channel(gateways, agent, client):
    case = case_from("hotline", "sms", phone=PHONE)
    add_reply(case, agent, "hello")
    deliver()
    admin = User.objects.create_user("root", password="x", role=Role.ADMIN)
    client.force_login(admin)
    html = client.get(reverse("outgoing_mail:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"SMS: {privacy.contact_for(PHONE, admin)}" in html
