"""The privacy pages: administrators only, both languages, each step through HTTP, and the consent ledger
stopping messages at once."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from voxloop.accounts.models import Role, User
from voxloop.feedback.hooks import ContactPurpose, may_contact
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Customer, Feedback, ImportBatch, QuarantinedRow
from voxloop.privacy import retention, services
from voxloop.privacy.models import DataClass, DataSubjectRequest, RequestState, RetentionRun
from voxloop.privacy.tasks import apply_retention_task
from voxloop.surveys.common import SurveyError
from voxloop.surveys.invitations import invite_batch, invite_by_email
from voxloop.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


@pytest.fixture
def customer(db) -> Customer:
    item = prepare_feedback(
        {"text": f"投诉：电话{PHONE}", "phone": PHONE, "customer_name": "韩梅梅", "received_at": "2025-03-05 10:00"},
        channel="hotline",
        source="calls",
    )
    ingest_feedback([item])
    return Customer.objects.get(phone=PHONE)


@pytest.mark.parametrize("url", ["/privacy/", "/privacy/new/", "/privacy/find/?phone=1", "/privacy/retention/"])
def test_only_administrators_see_the_privacy_pages(client, agent, manager, analyst, admin_user, url):
    for user in (agent, manager, analyst):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def test_the_pages_speak_chinese_and_english(client, admin_user, customer):
    client.force_login(admin_user)
    page = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "隐私请求" in page and "新建请求" in page
    page = client.get(f"/privacy/find/?phone={PHONE}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Where this person's data lives" in page and "Feedback texts" in page
    page = client.get(f"/privacy/find/?phone={PHONE}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "此人的数据存放位置" in page and "反馈内容" in page


def test_a_deletion_through_the_pages_with_two_administrators(client, admin_user, customer):
    client.force_login(admin_user)
    response = client.post("/privacy/new/", {"kind": "deletion", "phone": f"+86 {PHONE}", "received_via": "email"})
    request = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/privacy/{request.pk}/"
    assert "1. Check the person" in client.get(f"/privacy/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.get(f"/privacy/{request.pk}/export.zip").status_code == 302  # identity first
    client.post(f"/privacy/{request.pk}/refuse/", {"reason": ""})
    request.refresh_from_db()
    assert request.state == RequestState.RECEIVED  # a refusal without a reason is refused
    client.post(f"/privacy/{request.pk}/verify/", {"method": "短信验证码"})
    export = client.get(f"/privacy/{request.pk}/export.zip")
    assert export["Content-Type"] == "application/zip"
    assert "feedback.csv" in zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    client.post(f"/privacy/{request.pk}/erase/", {"keep_feedback": "on"})
    page = client.get(f"/privacy/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Another administrator must approve" in page
    client.post(f"/privacy/{request.pk}/approve/")
    request.refresh_from_db()
    assert request.state == RequestState.AWAITING_APPROVAL
    second = User.objects.create_user(username="bob-admin", password="pw", role=Role.ADMIN)
    client.force_login(second)
    client.post(f"/privacy/{request.pk}/approve/")
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert PHONE not in Feedback.objects.get().text


def test_withdrawing_survey_consent_stops_waiting_invitations_and_batches(admin_user, customer):
    Customer.objects.filter(pk=customer.pk).update(email="mei@example.com", segment="at_risk")
    survey = Survey.objects.create(name="NPS", languages=["zh-hans"])
    waiting = Invitation.objects.create(
        survey=survey, customer=customer, channel=InvitationChannel.EMAIL, email="mei@example.com"
    )
    assert may_contact(customer, ContactPurpose.SURVEYS)
    services.withdraw_consent(customer, "surveys", source="hotline call", actor=admin_user)
    waiting.refresh_from_db()
    assert waiting.status == InvitationStatus.FAILED
    customer.refresh_from_db()
    assert not may_contact(customer, ContactPurpose.SURVEYS)
    assert may_contact(customer, ContactPurpose.NOTICES)
    result = invite_batch(survey, segment="at_risk")
    assert (result.invited, result.skipped_opted_out) == (0, 1)
    services.record_consent(customer, "surveys", source="web form tick box", actor=admin_user)
    assert invite_batch(survey, segment="at_risk").invited == 1


def test_consent_page_records_and_shows_the_ledger(client, admin_user, customer):
    client.force_login(admin_user)
    client.post(
        f"/privacy/consent/{customer.pk}/",
        {"purpose": "notices", "action": "withdraw", "basis": "consent", "source": "letter"},
    )
    page = client.get(f"/privacy/consent/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已撤回" in page and "letter" in page
    assert services.withdrawn_customer_ids([customer.pk], "notices") == {customer.pk}


def test_retention_dry_run_counts_legal_hold_keeps_and_the_nightly_task_removes(client, admin_user, customer):
    old = timezone.now() - timedelta(days=400)
    batch = ImportBatch.objects.create(file_name="old.csv")
    row = QuarantinedRow.objects.create(batch=batch, row_number=1, reason_code="x", reason="x", raw={"a": 1})
    QuarantinedRow.objects.filter(pk=row.pk).update(created_at=old)
    Feedback.objects.update(received_at=old)
    client.force_login(admin_user)
    client.post("/privacy/retention/", {"data_class": DataClass.QUARANTINED_ROWS, "age_days": 90, "is_active": "on"})
    retention.save_policy(DataClass.RAW_PAYLOADS, age_days=365, legal_hold=True, is_active=True, actor=admin_user)
    client.post("/privacy/retention/run/", {"dry_run": "1"})
    run = RetentionRun.objects.get()
    assert run.dry_run and run.results[DataClass.QUARANTINED_ROWS]["count"] == 1
    assert run.results[DataClass.RAW_PAYLOADS] | {"cutoff": ""} == {
        "cutoff": "", "held": True, "age_days": 365, "count": 0, "would_remove": 1,
    }  # fmt: skip
    assert QuarantinedRow.objects.exists()  # a dry run changes nothing
    report = apply_retention_task()
    assert report["results"][DataClass.QUARANTINED_ROWS]["count"] == 1
    assert not QuarantinedRow.objects.exists()
    assert Feedback.objects.get().raw_payload != {}  # held
    page = client.get("/privacy/retention/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已删除 1 条" in page and "夜间任务" in page


def test_notes_are_shown_escaped_and_system_notes_in_the_readers_language(client, admin_user, customer):
    request = services.open_request(kind="access", identifiers={"phone": PHONE}, actor=admin_user)
    services.verify_identity(request, actor=admin_user, method="<script>alert(1)</script>")
    services.record_export(request, actor=admin_user)
    client.force_login(admin_user)
    page = client.get(f"/privacy/{request.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "数据已导出为 zip 文件。" in page
    page = client.get(f"/privacy/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Data exported as a zip file." in page


def test_an_email_invitation_to_a_withdrawn_customer_is_refused_with_a_reason(admin_user, customer):
    survey = Survey.objects.create(name="CSAT", languages=["zh-hans"])
    services.withdraw_consent(customer, "surveys", source="email")
    with translation.override("zh-hans"), pytest.raises(SurveyError) as refused:
        invite_by_email(survey, email="mei@example.com", customer=customer)
    assert refused.value.message == "该客户已撤回参与调查的同意（见同意台账）。"
    assert not Invitation.objects.exists()
