"""Views and exports of customers' personal data leave an audit entry; masked views do not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from voxloop.accounts.models import AuditAction, AuditLog
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback, ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db


def add_feedback(**extra) -> Feedback:
    data = {"text": "空调不制冷", "received_at": "2026-03-05 10:00", "phone": "13800138000", **extra}
    result = ingest_feedback([prepare_feedback(data, channel="review", source="t")])
    return Feedback.objects.get(pk=result.created[0])


def test_agent_viewing_a_customer_and_an_item_is_recorded(client, agent):
    item = add_feedback()
    client.force_login(agent)
    client.get(reverse("feedback:customer", args=[item.customer_id]), REMOTE_ADDR="10.1.2.3")
    client.get(reverse("feedback:detail", args=[item.pk]))
    entries = list(AuditLog.objects.order_by("id"))
    assert [(e.username, e.action, e.object_type) for e in entries] == [
        ("adam-agent", AuditAction.VIEW_PERSONAL_DATA, "feedback.customer"),
        ("adam-agent", AuditAction.VIEW_PERSONAL_DATA, "feedback.feedback"),
    ]
    assert entries[0].customer_id == item.customer_id == entries[1].customer_id
    assert entries[0].ip_address == "10.1.2.3"
    assert entries[0].path == reverse("feedback:customer", args=[item.customer_id])


def test_analyst_sees_masked_data_and_leaves_no_entry(client, analyst):
    item = add_feedback()
    client.force_login(analyst)
    client.get(reverse("feedback:customer", args=[item.customer_id]))
    assert not AuditLog.objects.exists()


def test_anonymous_feedback_without_contact_is_not_personal_data(client, agent):
    item = add_feedback(phone="")
    client.force_login(agent)
    assert client.get(reverse("feedback:detail", args=[item.pk])).status_code == 200
    assert not AuditLog.objects.exists()


def test_downloading_rejected_rows_is_an_export_even_for_an_analyst(client, analyst):
    batch = ImportBatch.objects.create(file_name="reviews.csv")
    QuarantinedRow.objects.create(
        batch=batch, row_number=2, raw={"电话": "13900139000"}, reason_code="empty_text", reason="empty"
    )
    client.force_login(analyst)
    response = client.get(reverse("fileimport:rejected_csv", args=[batch.pk]))
    # Masked as on the batch page: analysts do not see phones (issue 15.9); the file's uploader would.
    body = b"".join(response.streaming_content).decode()
    assert "13900139000" not in body and "139****00" in body
    entry = AuditLog.objects.get()
    assert (entry.username, entry.action, entry.object_type) == (
        "anna-analyst",
        "export_personal_data",
        "feedback.importbatch",
    )


def test_audit_page_is_for_admins_and_filters_by_user(client, admin_user, agent, manager):
    item = add_feedback()
    for user in (agent, manager):
        client.force_login(user)
        client.get(reverse("feedback:customer", args=[item.customer_id]))
    assert client.get(reverse("audit_log")).status_code == 403  # the manager
    client.force_login(admin_user)
    page = client.get(reverse("audit_log"), {"user": "adam-agent"}).content.decode()
    # The object by its name in the reader's language, never the model label "feedback.customer".
    assert page.count("客户 #") == 1 and "feedback.customer" not in page
    assert "<td>adam-agent</td>" in page
    assert client.get(reverse("audit_log"), {"since": "not-a-date", "customer": "x"}).status_code == 200


def test_an_agent_marks_themselves_away_and_routing_skips_them(client, agent, team):
    from voxloop.automation.routing import pick_agent

    client.force_login(agent)
    page = client.get(reverse("feedback:inbox")).content.decode()
    assert 'id="away-toggle"' in page
    response = client.post(reverse("toggle_away"), HTTP_REFERER="/feedback/")
    assert response.status_code == 302 and response.url == "/feedback/"
    agent.refresh_from_db()
    assert agent.is_away
    assert pick_agent(team, language="zh", topics=[]) is None  # the only member is away
    client.post(reverse("toggle_away"), HTTP_REFERER="https://evil.example/")
    agent.refresh_from_db()
    assert not agent.is_away
