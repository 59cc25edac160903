"""The outgoing mail page: an administrator sees every message VoxLoop meant to send, to whom and why it was not
sent, and is told plainly when no mail server is configured (the demo), so nothing reached anyone."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from voxloop.accounts.models import AuditLog, Role, User
from voxloop.cases.services import add_reply, escalate_case, open_case
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.notify.tests.test_notify import agent_wang, deliver, feedback  # noqa: F401 - a fixture

SINK = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def mail_sent(agent_wang, staffed_team) -> dict:  # noqa: F811
    """A reply to a customer with an address, one to a customer without one, and an escalation to a colleague."""
    User.objects.filter(pk=staffed_team.lead_id).update(email="lead@corp.example")
    case = open_case([feedback(language="zh")], team=staffed_team, now=MONDAY_9)
    add_reply(case, agent_wang, "您的包裹明天到，请留意 13812345678 的来电。")
    silent = open_case([feedback(email="")], now=MONDAY_9)
    add_reply(silent, agent_wang, "已处理")
    escalate_case(case, agent_wang, reason="客户要求主管回电")
    deliver()
    admin = User.objects.create_user("root", password="x", role=Role.ADMIN)
    return {"case": case, "silent": silent, "admin": admin}


def _page(client, url: str, lang: str = "en") -> str:
    client.cookies["django_language"] = lang
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@override_settings(EMAIL_BACKEND=SINK)
def test_without_a_mail_server_the_page_says_nothing_reached_anyone(client, mail_sent):
    client.force_login(mail_sent["admin"])
    page = _page(client, reverse("outgoing_mail:list"))
    assert 'id="mail-server" data-delivered="false"' in page and "No mail server is configured." in page
    assert "the console log" in page
    rows = page.split('id="outgoing-mail"', 1)[1].split("</table>", 1)[0]
    assert "li.na@example.com" in rows  # the customer's address, as an admin may see it
    assert "lead@corp.example" in rows  # the team lead told of the escalation
    assert rows.count('data-status="not_sent"') == 1 and "no email address" in rows  # the silent customer
    assert mail_sent["case"].number in rows and mail_sent["silent"].number in rows
    # viewing customers' addresses unmasked is audited
    assert AuditLog.objects.filter(user=mail_sent["admin"], object_type="notify.outgoingmessage").exists()


@override_settings(EMAIL_BACKEND=SINK)
def test_the_page_is_in_chinese_for_a_chinese_admin(client, mail_sent):
    client.force_login(mail_sent["admin"])
    page = _page(client, reverse("outgoing_mail:list"), "zh-hans")
    assert "未配置邮件服务器" in page and "No mail server" not in page and "控制台日志" in page


@override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="mail.corp.example", EMAIL_PORT=587)
def test_with_a_mail_server_it_names_the_server(client, mail_sent):
    client.force_login(mail_sent["admin"])
    page = _page(client, reverse("outgoing_mail:list"))
    assert 'data-delivered="true"' in page and "mail.corp.example:587" in page


@override_settings(EMAIL_BACKEND=SINK)
def test_filters_and_one_message_with_its_text(client, mail_sent):
    client.force_login(mail_sent["admin"])
    page = _page(client, reverse("outgoing_mail:list") + "?to=staff")
    rows = page.split('id="outgoing-mail"', 1)[1].split("</table>", 1)[0]
    assert "li.na@example.com" not in rows and "lead@corp.example" in rows
    page = _page(client, reverse("outgoing_mail:list") + f"?to=customer&status={MessageStatus.NOT_SENT}")
    assert page.count('data-status="not_sent"') == 1 and 'data-status="sent"' not in page
    reply = OutgoingMessage.objects.get(case=mail_sent["case"], recipient="customer", kind="customer_reply")
    detail = _page(client, reverse("outgoing_mail:detail", args=[reply.pk]))
    assert "您的包裹明天到" in detail and "li.na@example.com" in detail
    assert reply.subject in detail


@override_settings(EMAIL_BACKEND=SINK)
def test_a_bad_filter_is_a_clear_error_not_a_crash(client, mail_sent):
    client.force_login(mail_sent["admin"])
    client.cookies["django_language"] = "en"
    response = client.get(reverse("outgoing_mail:list") + "?status=lost&to=martians")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Unknown status “lost”." in page and "Unknown recipient group “martians”." in page
    assert client.get(reverse("outgoing_mail:detail", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT, Role.ANALYST])
def test_only_admins_see_outgoing_mail(client, mail_sent, role):
    client.force_login(User.objects.create_user(f"u-{role}", password="x", role=role))
    assert client.get(reverse("outgoing_mail:list")).status_code == 403
    message = OutgoingMessage.objects.first()
    assert message is not None
    assert client.get(reverse("outgoing_mail:detail", args=[message.pk])).status_code == 403
