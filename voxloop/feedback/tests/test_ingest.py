from datetime import UTC, datetime
from typing import Any

import pytest

from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Customer, Feedback
from voxloop.feedback.normalize import RowError

pytestmark = pytest.mark.django_db


def test_same_external_id_twice_is_stored_once():
    item = prepare_feedback(
        {"text": "快递太慢了", "external_id": "T-1", "received_at": "2025-03-05 10:00"},
        channel="review",
        source="taobao",
    )
    first = ingest_feedback([item])
    again = ingest_feedback([item, item])
    assert len(first.created) == 1
    assert again.created == []
    assert again.duplicates == [0, 1]
    assert Feedback.objects.count() == 1


def test_record_without_external_id_is_deduplicated_by_content():
    data = {"text": "Great service", "received_at": "2025-03-05T10:00:00+08:00", "email": "A@Example.com"}
    ingest_feedback([prepare_feedback(data, channel="email", source="inbox")])
    result = ingest_feedback([prepare_feedback(data, channel="email", source="inbox")])
    assert result.duplicates == [0]
    assert Feedback.objects.get().contact_email == "a@example.com"


def test_feedback_is_matched_to_customer_by_phone():
    customer = Customer.objects.create(name="张三", phone="13800138000")
    item = prepare_feedback({"text": "质量不错", "phone": "+86 138-0013-8000"}, channel="hotline")
    result = ingest_feedback([item])
    assert Feedback.objects.get(pk=result.created[0]).customer == customer


def test_naive_time_is_read_in_the_source_time_zone():
    item = prepare_feedback(
        {"text": "x", "received_at": "2025年3月5日 14:02"}, channel="chat", default_tz="Asia/Shanghai"
    )
    assert item.received_at.astimezone(UTC) == datetime(2025, 3, 5, 6, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"text": "   "}, "empty_text", "text"),
        ({"text": "x" * 100_001}, "text_too_long", "text"),
        ({"text": "ok", "received_at": "not a date"}, "invalid_date", "received_at"),
        ({"text": "ok", "rating": "very good"}, "invalid_rating", "rating"),
        ({"text": "ok", "email": "no-at-sign"}, "invalid_email", "email"),
        ({"text": "ok", "channel": "pigeon"}, "invalid_channel", "channel"),
    ],
)
def test_bad_values_are_rejected_with_code_and_field(data, code, field):
    with pytest.raises(RowError) as excinfo:
        prepare_feedback(data, channel="api")
    assert excinfo.value.code == code
    assert excinfo.value.field == field


def test_control_characters_are_removed_and_emoji_kept():
    item = prepare_feedback({"text": "好评\x00\x07👍<script>"}, channel="api")
    assert item.text == "好评👍<script>"


def test_same_social_handle_is_one_customer():
    first = prepare_feedback({"text": "一", "handle": "@小明"}, channel="social")
    second = prepare_feedback({"text": "二", "handle": "@小明"}, channel="social")
    ingest_feedback([first])
    ingest_feedback([second])
    assert Customer.objects.count() == 1
    assert Customer.objects.get().feedback_items.count() == 2


def test_nul_characters_never_reach_the_database():
    item = prepare_feedback({"text": "ok", "customer_name": "a\x00b"}, channel="api", raw_payload={"x": "a\x00b"})
    result = ingest_feedback([item])
    stored = Feedback.objects.get(pk=result.created[0])
    assert stored.raw_payload == {"x": "ab"}
    assert stored.contact_name == "ab"


def test_out_of_range_rating_scale_is_rejected():
    with pytest.raises(RowError) as excinfo:
        prepare_feedback({"text": "ok", "rating": "3", "rating_scale": "70000"}, channel="api")
    assert excinfo.value.field == "rating_scale"


def test_customers_are_matched_and_created_once_within_one_batch():
    known = Customer.objects.create(name="李四", email="lisi@example.com")
    items = [
        prepare_feedback({"text": "一", "customer_id": "C-9", "phone": "13900000001", "customer_name": "王五"},
                         channel="hotline"),
        prepare_feedback({"text": "二", "phone": "139 0000 0001"}, channel="hotline"),  # the new customer, by phone
        prepare_feedback({"text": "三", "email": "LiSi@example.com"}, channel="email"),  # a stored one, by email
        prepare_feedback({"text": "四"}, channel="webform"),  # anonymous
    ]  # fmt: skip
    result = ingest_feedback(items)
    stored = {f.text: f for f in Feedback.objects.filter(pk__in=result.created).select_related("customer")}
    new = Customer.objects.get(external_id="C-9")
    assert (new.name, new.phone) == ("王五", "13900000001")
    assert stored["一"].customer == stored["二"].customer == new
    assert stored["三"].customer == known
    assert stored["四"].customer is None
    assert Customer.objects.count() == 2


def test_rows_stored_meanwhile_by_another_writer_count_as_duplicates(monkeypatch):
    """Between the duplicate check and the insert another import may store the same key: the row is then
    a duplicate, the others are still stored, and nothing fails."""
    from voxloop.feedback import ingest

    first = prepare_feedback({"text": "先到", "external_id": "X-1"}, channel="api", source="race")
    ingest_feedback([first])
    monkeypatch.setattr(ingest, "existing_feedback", lambda keys: {})  # the check misses the stored row
    again = prepare_feedback({"text": "先到", "external_id": "X-1"}, channel="api", source="race")
    other = prepare_feedback({"text": "后到", "external_id": "X-2"}, channel="api", source="race")
    result = ingest_feedback([again, other])
    assert result.duplicates == [0]
    assert len(result.created) == 1
    assert sorted(Feedback.objects.values_list("external_id", flat=True)) == ["X-1", "X-2"]
    assert Feedback.objects.get(external_id="X-2").pk == result.created[0]


def test_text_with_tabs_newlines_and_backslashes_is_stored_as_sent():
    text = "第一行\t制表\\反斜杠\r\n第二行 \\N"
    item = prepare_feedback({"text": text, "title": "a\\tb", "customer_name": "x\ty"}, channel="api",
                            raw_payload={"内容": text, "n": 1})  # fmt: skip
    result = ingest_feedback([item])
    stored = Feedback.objects.get(pk=result.created[0])
    assert stored.text == "第一行\t制表\\反斜杠\n第二行 \\N"
    assert (stored.title, stored.contact_name) == ("a\\tb", "x\ty")
    assert stored.raw_payload == {"内容": text, "n": 1}


@pytest.mark.parametrize("preformatted", ["all", "some", "sent from another process"])
def test_preformatted_records_are_stored_exactly_as_the_others(preformatted):
    """File imports format rows for storage ahead of time (`preformat`, in their read-ahead thread or reader
    process, which sends them pickled); what is stored must not differ by a character from the same records
    sent through the API."""
    import pickle

    from django.db import connection

    from voxloop.feedback.ingest import preformat

    def records(source):
        rows: list[dict[str, Any]] = [
            {"text": "第一行\t制表\\反斜杠\r\n第二行 \\N 😀", "title": "a\\tb", "customer_name": "x\ty",
             "external_id": "A", "rating": "4.5", "phone": "13800138000", "received_at": "2025-03-05 10:00",
             "order_ref": "O-1", "thread_key": "t1", "attachments": ["https://x.example/1.png"]},
            {"text": "<script>alert(1)</script>", "external_id": "B", "email": "A@Example.com", "rating": "",
             "received_at": "2025-03-06T08:00:00+08:00"},
        ]  # fmt: skip
        return [prepare_feedback(r, channel="review", source=source, raw_payload={**r, "多余": None}) for r in rows]

    plain = ingest_feedback(records("plain"))
    fast = records("fast")
    for item in fast if preformatted != "some" else fast[:1]:
        preformat(item, connection.vendor)
    if preformatted == "sent from another process":
        fast = pickle.loads(pickle.dumps(fast))  # noqa: S301 - our own bytes
    pre = ingest_feedback(fast)
    fields = ["channel", "external_id", "contact_name", "contact_email", "contact_phone", "received_at", "title",
              "text", "rating", "rating_scale", "order_ref", "raw_payload", "attachments", "thread_key"]  # fmt: skip
    for a, b in zip(plain.created, pre.created, strict=True):
        stored_a = Feedback.objects.filter(pk=a).values(*fields).get()
        stored_b = Feedback.objects.filter(pk=b).values(*fields).get()
        assert stored_a == stored_b
    customer = Feedback.objects.get(source="fast", external_id="A").customer
    assert customer is not None and customer.phone == "13800138000"


def test_items_expected_to_be_new_that_are_stored_already_are_still_duplicates():
    """A file import expects new rows and skips the lookup (expect_new); a stored one among them must still be
    reported as a duplicate, and the attempt must leave nothing behind (no customer created twice)."""
    first = prepare_feedback({"text": "旧的", "external_id": "E-1", "phone": "13800000001"}, channel="api",
                             source="expect")  # fmt: skip
    stored = ingest_feedback([first])
    again = prepare_feedback({"text": "旧的", "external_id": "E-1", "phone": "13800000001"}, channel="api",
                             source="expect")  # fmt: skip
    new = prepare_feedback({"text": "新的", "external_id": "E-2", "phone": "13800000002"}, channel="api",
                           source="expect")  # fmt: skip
    result = ingest_feedback([again, new], expect_new=True)
    assert result.duplicates == [0]
    assert result.existing_ids == {0: stored.created[0]}
    assert len(result.created) == 1
    assert Feedback.objects.filter(source="expect").count() == 2
    assert sorted(Customer.objects.values_list("phone", flat=True)) == ["13800000001", "13800000002"]
    fresh = [prepare_feedback({"text": f"第{n}条", "external_id": f"N-{n}"}, channel="api", source="expect")
             for n in range(3)]  # fmt: skip
    result = ingest_feedback(fresh, expect_new=True)
    assert result.duplicates == []
    assert list(Feedback.objects.filter(pk__in=result.created).order_by("pk").values_list("external_id", flat=True)) == [
        "N-0", "N-1", "N-2"
    ]  # fmt: skip
