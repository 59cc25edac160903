"""Data-subject requests end to end through the services: find, export, erase with four eyes, tombstones on
re-import, audit. Runs on SQLite and PostgreSQL (VOXLOOP_TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import pytest
from django.db import connection
from django.db.models import Q

from voxloop.accounts.models import AuditAction, AuditLog, Role, User
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.analysis.services import analyze_feedback
from voxloop.feedback.ingest import ingest_feedback, preformat, prepare_feedback
from voxloop.feedback.models import Customer, Feedback, ImportBatch, QuarantinedRow
from voxloop.feedback.records import prepare_customer, prepare_order, upsert_customers, upsert_orders
from voxloop.privacy import services
from voxloop.privacy.export import build_zip
from voxloop.privacy.models import DataSubjectRequest, ErasureTombstone, RequestKind, RequestState
from voxloop.privacy.queries import find_subject
from voxloop.privacy.tombstones import is_buried
from voxloop.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
EMAIL = "li.lei@example.com"


@pytest.fixture
def second_admin(db) -> User:
    return User.objects.create_user(username="bob-admin", password="pw-for-tests", role=Role.ADMIN)


def _add(text: str, *, source: str = "shop", **extra) -> int:
    item = prepare_feedback({"text": text, "received_at": "2025-03-05 10:00", **extra}, channel="review", source=source)
    return ingest_feedback([item]).created[0]


@pytest.fixture
def person(db) -> dict:
    first = _add(f"快递太慢了，请打{PHONE}联系我，李雷", phone=PHONE, customer_name="李雷", external_id="r1",
                 customer_id="C-1001", attachments=[{"name": "photo.jpg", "url": "https://files.example/1.jpg"}])  # fmt: skip
    second = _add("Refund still missing", email=EMAIL, customer_id="C-1001", external_id="r2", order_ref="SO-778899")
    other = _add("别人的反馈 13800000000", phone="13800000000", external_id="r3")
    analyze_feedback([first, second, other])
    batch = ImportBatch.objects.create(file_name="x.csv")
    QuarantinedRow.objects.create(
        batch=batch, row_number=7, raw={"phone": PHONE, "text": "x"}, raw_text=f"{PHONE},bad date",
        reason_code="invalid_date", reason="bad date",
    )  # fmt: skip
    QuarantinedRow.objects.create(batch=batch, row_number=8, raw={"phone": "13800000000"}, reason_code="x", reason="x")
    return {"ids": [first, second], "other": other, "customer": Customer.objects.get(external_id="C-1001")}


def test_finder_matches_any_identifier_and_counts_every_place(person, admin_user):
    for given in ({"phone": "+86 139-1234-5678"}, {"email": EMAIL.upper()}, {"customer_id": "C-1001"}):
        subject = find_subject(given)
        assert subject.customer_ids == [person["customer"].pk], given
        counts = subject.counts()
        assert counts["feedback"] == 2
        assert counts["raw_payloads"] == 2
        assert counts["attachments"] == 1
        assert counts["quarantined_rows"] == 1  # the other person's rejected row is not theirs
        assert counts["customers"] == 1
    assert find_subject({"phone": "13700000000"}).counts()["feedback"] == 0


def _verified(actor: User, kind: str = RequestKind.DELETION, **identifiers):
    request = services.open_request(kind=kind, identifiers=identifiers or {"phone": PHONE}, actor=actor)
    return services.verify_identity(request, actor=actor, method="SMS code to the number on file")


def test_request_clock_refusal_needs_a_reason_and_every_step_is_audited(person, admin_user, settings):
    settings.PRIVACY_REQUEST_DUE_DAYS = 15
    request = services.open_request(kind=RequestKind.ACCESS, identifiers={"email": EMAIL}, actor=admin_user)
    assert (request.due_at - request.received_at).days == 15
    with pytest.raises(services.PrivacyError) as refused:
        services.refuse_request(request, actor=admin_user, reason="  ")
    assert refused.value.code == services.PrivacyErrorCode.REASON_REQUIRED
    with pytest.raises(services.PrivacyError):
        services.record_export(request, actor=admin_user)  # identity first
    services.verify_identity(request, actor=admin_user, method="ID card seen")
    services.record_export(request, actor=admin_user)
    services.refuse_request(request, actor=admin_user, reason="Manifestly unfounded: third request this week.")
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        AuditAction.PRIVACY_REQUEST_OPENED,
        AuditAction.PRIVACY_IDENTITY_CHECKED,
        AuditAction.EXPORT_PERSONAL_DATA,
        AuditAction.PRIVACY_REQUEST_REFUSED,
    ]
    assert AuditLog.objects.filter(customer_id=person["customer"].pk).count() == 4
    assert request.events.count() == 4


def test_export_zip_has_json_and_csv_per_place_and_a_bilingual_readme(person, admin_user):
    archive = zipfile.ZipFile(io.BytesIO(build_zip(find_subject({"phone": PHONE}), request_id=9)))
    names = set(archive.namelist())
    assert {"feedback.json", "feedback.csv", "quarantined_rows.csv", "audit_log.json", "README.txt"} <= names
    feedback = json.loads(archive.read("feedback.json"))
    assert sorted(f["external_id"] for f in feedback) == ["r1", "r2"]
    assert "快递太慢了" in archive.read("feedback.csv").decode("utf-8-sig")
    readme = archive.read("README.txt").decode()
    assert "说明" in readme and "README" in readme
    assert "个人信息" in readme and "personal data VoxLoop keeps about you" in readme


def test_erasure_needs_a_second_admin_then_anonymises_everywhere(person, admin_user, second_admin):
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example/x", event_kinds=["subject.erased"])
    request = _verified(admin_user, phone=PHONE)
    services.ask_erasure(request, actor=admin_user, keep_feedback=True)
    with pytest.raises(services.PrivacyError) as same:
        services.approve_erasure(request, actor=admin_user)
    assert same.value.code == services.PrivacyErrorCode.SAME_ADMINISTRATOR
    assert Customer.objects.get(pk=person["customer"].pk).phone == PHONE  # nothing happened yet

    done = services.approve_erasure(request, actor=second_admin)
    assert done.state == RequestState.COMPLETED and done.approved_by == second_admin
    customer = Customer.objects.get(pk=person["customer"].pk)
    assert (customer.name, customer.phone, customer.email, customer.external_id) == ("", "", "", "")
    for item in Feedback.objects.filter(pk__in=person["ids"]):
        assert item.customer_id is None and item.raw_payload == {} and item.attachments == []
        assert (item.contact_phone, item.contact_email, item.contact_name, item.order_ref) == ("", "", "", "")
        assert PHONE not in item.text and "李雷" not in item.text
    assert "快递太慢了" in Feedback.objects.get(pk=person["ids"][0]).text  # kept, de-identified, for statistics
    analyses = FeedbackAnalysis.objects.filter(feedback_id__in=person["ids"])
    assert analyses.count() == 2
    for analysis in analyses:
        kept = [analysis.normalized_text, analysis.masked_text, analysis.topics, analysis.needs, analysis.keywords]
        assert PHONE not in json.dumps(kept, ensure_ascii=False) and "李雷" not in json.dumps(kept, ensure_ascii=False)
    assert Feedback.objects.get(pk=person["other"]).contact_phone == "13800000000"  # someone else: untouched
    assert QuarantinedRow.objects.count() == 1
    assert PHONE not in json.dumps(done.identifiers)
    for kind, value in (("phone", PHONE), ("email", EMAIL), ("customer_id", "C-1001"), ("order", "SO-778899")):
        assert is_buried(kind, value), kind
    assert not ErasureTombstone.objects.filter(digest__contains=PHONE).exists()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    body = json.loads(delivery.body)
    assert body["kind"] == "subject.erased" and body["request_id"] == request.pk and PHONE not in delivery.body
    assert AuditLog.objects.filter(action=AuditAction.PRIVACY_ERASURE_APPROVED, user=second_admin).exists()
    assert AuditLog.objects.filter(action=AuditAction.PRIVACY_ERASURE_REQUESTED, user=admin_user).exists()


def test_a_reimport_or_retried_call_cannot_bring_an_erased_person_back(person, admin_user, second_admin):
    request = _verified(admin_user, customer_id="C-1001")
    services.ask_erasure(request, actor=admin_user, keep_feedback=False)
    services.approve_erasure(request, actor=second_admin)
    assert not Feedback.objects.filter(pk__in=person["ids"]).exists()
    customers_before = Customer.objects.count()

    # The same file again, and an API retry with a new external id: stored, but de-identified.
    again = _add(f"快递太慢了，请打{PHONE}联系我，李雷", phone=PHONE, customer_name="李雷", external_id="r1",
                 customer_id="C-1001", attachments=[{"url": "https://files.example/1.jpg"}])  # fmt: skip
    retried = _add("Refund still missing, see SO-778899", email=EMAIL, external_id="api-retry-2", order_ref="SO-778899")
    assert Customer.objects.count() == customers_before
    for pk in (again, retried):
        item = Feedback.objects.get(pk=pk)
        assert item.customer_id is None and item.raw_payload == {} and item.attachments == []
        assert PHONE not in item.text and EMAIL not in item.text and "SO-778899" not in item.text
        assert (item.contact_phone, item.contact_email, item.order_ref) == ("", "", "")
    assert find_subject({"phone": PHONE}).counts()["feedback"] == 0
    # Someone else arriving in the same chunk keeps their contact.
    other = _add("新客户 13600000000", phone="13600000000", external_id="r9")
    assert Feedback.objects.get(pk=other).customer is not None


def test_an_item_formatted_ahead_of_time_is_screened_too(person, admin_user, second_admin):
    # File imports on PostgreSQL format rows in a reader process; only the COPY fragment crosses over.
    services.ask_erasure(_verified(admin_user, phone=PHONE), actor=admin_user, keep_feedback=False)
    services.approve_erasure(DataSubjectRequest.objects.get(), actor=second_admin)
    item = prepare_feedback(
        {"text": f"又是我 {PHONE}", "phone": PHONE, "received_at": "2025-03-06 10:00", "rating": "2"},
        channel="review", source="file",
    )  # fmt: skip
    preformat(item, "postgresql")
    shipped = pickle.loads(pickle.dumps(item))  # noqa: S301 - our own object, as the import pipeline ships it
    assert shipped.text == ""  # the fragment holds it
    pk = ingest_feedback([shipped]).created[0]
    stored = Feedback.objects.get(pk=pk)
    assert stored.customer_id is None and stored.contact_phone == "" and stored.raw_payload == {}
    assert stored.text.startswith("又是我") and PHONE not in stored.text
    assert stored.rating == 2
    assert connection.vendor in ("sqlite", "postgresql")


def test_restriction_and_consent_withdrawal_complete_with_ledger_entries(person, admin_user):
    request = _verified(admin_user, RequestKind.CONSENT_WITHDRAWAL, email=EMAIL)
    with pytest.raises(services.PrivacyError):
        services.complete_request(request, actor=admin_user, outcome="", purposes=["surveys"])
    with pytest.raises(services.PrivacyError):
        services.complete_request(request, actor=admin_user, outcome="Withdrawn by phone", purposes=[])
    services.complete_request(request, actor=admin_user, outcome="Withdrawn by phone", purposes=["surveys"])
    customer = person["customer"]
    assert services.withdrawn_customer_ids([customer.pk], "surveys") == {customer.pk}
    assert services.withdrawn_customer_ids([customer.pk], "notices") == set()
    restriction = _verified(admin_user, RequestKind.RESTRICTION, phone=PHONE)
    services.complete_request(restriction, actor=admin_user, outcome="Processing restricted")
    customer.refresh_from_db()
    assert customer.opted_out
    assert services.withdrawn_customer_ids([customer.pk], "notices") == {customer.pk}


def test_a_customer_or_order_import_cannot_recreate_an_erased_customer(person, admin_user, second_admin):
    services.ask_erasure(_verified(admin_user, phone=PHONE), actor=admin_user, keep_feedback=False)
    services.approve_erasure(DataSubjectRequest.objects.get(), actor=second_admin)
    result = upsert_customers(
        [prepare_customer({"customer_id": "C-1001", "name": "李雷", "phone": PHONE, "tags": "vip"}),
         prepare_customer({"customer_id": "C-2002", "name": "王芳", "phone": "13700000000"})]
    )  # fmt: skip
    assert result.created == 2
    assert not Customer.objects.filter(Q(phone=PHONE) | Q(external_id="C-1001") | Q(name="李雷")).exists()
    shell = Customer.objects.get(pk=result.ids[0])
    assert (shell.name, shell.phone, shell.tags, shell.opted_out) == ("", "", [], True)
    assert Customer.objects.get(pk=result.ids[1]).phone == "13700000000"  # someone else: as usual
    upsert_orders([prepare_order({"order_id": "SO-1", "ordered_at": "2025-03-01", "amount": "9", "phone": PHONE})])
    assert not Customer.objects.filter(phone=PHONE).exists()


def test_an_erased_person_cannot_be_found_through_search(
    person, admin_user, second_admin, django_capture_on_commit_callbacks
):
    from voxloop.search.models import DocKind, SearchDocument

    def found(word: str) -> set[str]:
        return {d.kind for d in SearchDocument.objects.all() if word in d.body}

    # Stored feedback is indexed with its customer (in the storing transaction, for small batches).
    assert DocKind.FEEDBACK in found(PHONE) and DocKind.CUSTOMER in found(PHONE)
    request = _verified(admin_user, phone=PHONE)
    services.ask_erasure(request, actor=admin_user, keep_feedback=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_erasure(request, actor=second_admin)
    assert not found(PHONE)
    assert DocKind.FEEDBACK in found("快递")  # the de-identified text is still searchable
