"""Every page, export and API endpoint that can show a customer's contact, as every role, with planted personal
data: roles without the right (analysts, viewers) never get an unmasked value, and every unmasked view or export
by a role with it leaves an audit entry (issue 15.9; one masking rule: voxloop.accounts.privacy)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from voxloop.accounts.models import AuditLog, Role, User
from voxloop.api.services import create_api_token
from voxloop.cases import services as case_services
from voxloop.cases.tests import conftest as case_fixtures
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Customer, Feedback, ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db
sla_defaults = case_fixtures.sla_defaults

NAME, PHONE, EMAIL, HANDLE = "欧阳娜娜", "13912345678", "nana.ouyang@example.com", "nana_wx_2024"
STREET = "建国路88号"
ANON_NAME, ANON_PHONE = "司马光明", "13700001111"
ROW_NAME, ROW_PHONE = "诸葛亮亮", "13698765432"
# Every value above must stay out of what a role without the right is shown.
SECRETS = (NAME, PHONE, EMAIL, HANDLE, STREET, ANON_NAME, ANON_PHONE, ROW_NAME, ROW_PHONE)
ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT, Role.ANALYST, Role.VIEWER)
SEES_PERSONAL_DATA = {Role.ADMIN, Role.MANAGER, Role.AGENT}


def _ingest(data: dict) -> Feedback:
    result = ingest_feedback([prepare_feedback(data, channel="review", source="t")])
    return Feedback.objects.get(pk=result.created[0])


@pytest.fixture
def planted(sla_defaults) -> dict:
    item = _ingest(
        {
            "text": f"我是{NAME}，电话{PHONE}，邮箱{EMAIL}，请寄到北京市朝阳区{STREET}，空调坏了",
            "title": f"{NAME}的投诉",
            "received_at": "2026-03-05 10:00",
            "phone": PHONE,
            "email": EMAIL,
            "customer_name": NAME,
            "customer_id": "C-900",
            "address": f"北京市朝阳区{STREET}",
            "wechat": HANDLE,
        }
    )
    assert item.customer_id is not None
    Customer.objects.filter(pk=item.customer_id).update(handles={"wechat": HANDLE})
    anonymous = _ingest(
        {
            "text": f"我叫{ANON_NAME}，手机{ANON_PHONE}，快递太慢",
            "received_at": "2026-03-05 11:00",
            "customer_name": ANON_NAME,
            "phone": ANON_PHONE,
        }
    )
    case = case_services.open_case([item.pk])  # the shared queue: every agent sees it
    batch = ImportBatch.objects.create(file_name="reviews.csv")
    QuarantinedRow.objects.create(
        batch=batch,
        row_number=2,
        raw={"姓名": ROW_NAME, "手机": ROW_PHONE, "评价": ""},
        reason_code="empty_text",
        reason="empty",
    )
    return {"item": item, "anonymous": anonymous, "case": case, "batch": batch, "customer": item.customer_id}


def _pages(p: dict) -> dict[str, str]:
    return {
        "feedback page": reverse("feedback:detail", args=[p["item"].pk]),
        "feedback page, anonymous": reverse("feedback:detail", args=[p["anonymous"].pk]),
        "inbox": reverse("feedback:inbox"),
        "customers list": reverse("feedback:customers"),
        "customer page": reverse("feedback:customer", args=[p["customer"]]),
        "case page": reverse("cases:detail", args=[p["case"].pk]),
        "cases inbox": reverse("cases:inbox") + "?tab=all",
        "import batch page": reverse("fileimport:batch", args=[p["batch"].pk]),
        "rejected rows export": reverse("fileimport:rejected_csv", args=[p["batch"].pk]),
    }


def _api(p: dict) -> dict[str, str]:
    return {
        "API feedback list": "/api/feedback",
        "API feedback item": f"/api/feedback/{p['item'].pk}",
        "API anonymous feedback item": f"/api/feedback/{p['anonymous'].pk}",
        "API case": f"/api/cases/{p['case'].pk}",
        "API cases list": "/api/cases",
    }


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _json_text(response) -> str:
    # JSON escapes non-ASCII characters; compare against the decoded document.
    return json.dumps(response.json(), ensure_ascii=False) if response.status_code == 200 else _body(response)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_endpoint_masks_or_audits_personal_data(client, planted, role):
    user = User.objects.create_user(f"u-{role}", password="x", role=role)
    client.force_login(user)
    token = create_api_token(f"t-{role}", ["feedback:read", "cases:read"], created_by_id=user.pk)[1]
    headers = {"Authorization": f"Bearer {token}"}
    sees = role in SEES_PERSONAL_DATA
    shown: dict[str, str] = {}
    for label, url in _pages(planted).items():
        before = AuditLog.objects.filter(user=user).count()
        response = client.get(url)
        shown[label] = _body(response)
        if sees and response.status_code == 200:
            assert AuditLog.objects.filter(user=user).count() > before, f"{label}: unmasked view not audited"
    for label, url in _api(planted).items():
        before = AuditLog.objects.filter(user=user).count()
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (label, response.content[:300])
        shown[label] = _json_text(response)
        if sees and label != "API cases list":  # the list holds no contact: only ids of customers
            assert AuditLog.objects.filter(user=user).count() > before, f"{label}: unmasked view not audited"
    if sees:
        # The planted data is there to be shown: the masking checks below see real pages, not empty ones.
        assert (
            PHONE in shown["feedback page"]
            and NAME in shown["customer page"]
            and ROW_PHONE in shown["import batch page"]
        )
        assert PHONE in shown["API feedback item"] and ANON_NAME in shown["API anonymous feedback item"]
        return
    leaks = {label: [s for s in SECRETS if s in body] for label, body in shown.items()}
    assert {label: found for label, found in leaks.items() if found} == {}
    assert not AuditLog.objects.filter(user=user, action="view_personal_data").exists()
    # Masked, not blanked: the pages still say there is a phone and whose name starts how.
    assert "139****78" in shown["feedback page"] and "欧**" in shown["customers list"]
