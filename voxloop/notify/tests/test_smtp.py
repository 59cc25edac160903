"""Sending through Django's real SMTP backend to a real socket: a small SMTP server in a thread that accepts,
refuses (550) or defers (451) recipients. Bounces fail at once and show on the case timeline; temporary
failures and a server that is down are retried with backoff, then given up with the reason."""

from __future__ import annotations

import socket
import socketserver
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from voxloop.cases import outbox
from voxloop.cases.models import CaseEvent, EventKind
from voxloop.cases.services import add_reply, open_case
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.notify.services import retry_delay, send_due_messages


class SMTPStub(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SMTPHandler)
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()  # 550: the address does not exist
        self.defer: set[str] = set()  # 451: try again later

    @property
    def port(self) -> int:
        return self.server_address[1]


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: SMTPStub = self.server  # type: ignore[assignment]
        recipients: list[str] = []
        self.reply("220 stub ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-stub")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 stub")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>").lower()
                if address in server.refuse:
                    self.reply(f"550 5.1.1 <{address}>: no such user")
                elif address in server.defer:
                    self.reply("451 4.3.0 mailbox busy, try later")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = b""
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b""):
                        break
                    data += line
                server.messages.append((recipients, data))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp(settings):
    server = SMTPStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reply_to(address: str, agent) -> OutgoingMessage:
    pk = ingest_feedback(
        [FeedbackInput(text="还没到", channel="email", received_at=MONDAY_9, source="smtp-test",
                       external_id=address, customer_id=address, email=address)]
    ).created[0]  # fmt: skip
    case = open_case([pk], now=MONDAY_9)
    add_reply(case, agent, "您好，包裹明天到。")
    outbox.process_case_events()
    return OutgoingMessage.objects.get(case=case)


def test_message_is_delivered_over_smtp(smtp, agent):
    message = reply_to("li.na@example.com", agent)
    run = send_due_messages()
    assert (run.sent, run.failed, run.retrying) == (1, 0, 0)
    [(recipients, data)] = smtp.messages
    assert recipients == ["li.na@example.com"]
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["Subject"] == message.subject
    assert "您好，包裹明天到。" in parsed.get_content()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.SENT, 1, "")


def test_a_bounce_fails_at_once_and_the_agent_sees_why(smtp, agent):
    smtp.refuse.add("nobody@example.com")
    message = reply_to("nobody@example.com", agent)
    run = send_due_messages()
    assert (run.sent, run.failed) == (0, 1)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1  # a permanent refusal is not retried
    assert "550" in message.last_error and "no such user" in message.last_error
    note = CaseEvent.objects.get(case=message.case, kind=EventKind.NOTIFICATION)
    assert note.payload["delivery"] == "failed"
    assert "550" in note.payload["reason"]
    assert note.payload["to"] == "nobody@example.com"
    # The next message on the same connection still goes out.
    good = reply_to("ok@example.com", agent)
    assert send_due_messages().sent == 1
    good.refresh_from_db()
    assert good.status == MessageStatus.SENT


def test_a_deferral_is_retried_with_backoff_then_delivered(smtp, agent):
    smtp.defer.add("busy@example.com")
    message = reply_to("busy@example.com", agent)
    start = timezone.now()
    run = send_due_messages(now=start)
    assert (run.sent, run.retrying) == (0, 1)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert "451" in message.last_error
    assert message.next_attempt_at == start + timedelta(seconds=60)
    assert send_due_messages(now=start + timedelta(seconds=30)).retrying == 0  # not due yet
    smtp.defer.clear()
    assert send_due_messages(now=start + timedelta(seconds=61)).sent == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)


def test_a_server_that_is_down_is_retried_then_given_up_with_the_reason(settings, agent):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.NOTIFY_MAX_ATTEMPTS = 3
    message = reply_to("li.na@example.com", agent)
    now = timezone.now()
    for attempt in (1, 2):
        assert send_due_messages(now=now).retrying == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.PENDING, attempt)
        assert "ConnectionRefusedError" in message.last_error
        assert message.next_attempt_at == now + retry_delay(attempt)
        now = message.next_attempt_at
    assert retry_delay(2) == 2 * retry_delay(1)
    assert send_due_messages(now=now).failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error.startswith("gave up after 3 attempts: ConnectionRefusedError")
    assert CaseEvent.objects.get(case=message.case, kind=EventKind.NOTIFICATION).payload["delivery"] == "failed"


def test_backoff_is_capped():
    assert retry_delay(30) == timedelta(hours=6)
