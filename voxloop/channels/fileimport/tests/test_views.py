import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from voxloop.channels.fileimport import services
from voxloop.feedback.models import ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fields", [{"kind": "invoices"}, {"preset": "amazon"}])
def test_tampered_upload_form_gets_a_clear_error_not_a_crash(agent_client, fields):
    upload = SimpleUploadedFile("a.csv", "内容\n好评\n".encode())
    response = agent_client.post(reverse("fileimport:upload"), {"file": upload, **fields})
    assert response.status_code == 400
    assert ImportBatch.objects.count() == 0


def test_upload_then_start_imports_the_file(agent_client):
    upload = SimpleUploadedFile("a.csv", "内容,时间\n好评,2025-03-05\n".encode())
    page = agent_client.post(reverse("fileimport:upload"), {"file": upload, "channel": "review"})
    token = page.context["token"]
    response = agent_client.post(
        reverse("fileimport:start"),
        {"token": token, "kind": "feedback", "channel": "review", "map_text": "内容", "map_received_at": "时间"},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert (batch.status, batch.accepted_count) == ("completed", 1)


def _import_with_bad_rows(tmp_path) -> ImportBatch:
    path = tmp_path / "reviews.csv"
    rows = ["R1,质量很好,2025-03-05,5", "R2,一般般,昨天下午,3", "R3,太多列,2025-03-06,5,多余"]
    path.write_text("评价ID,评价内容,评价时间,评分\n" + "\n".join(rows) + "\n", encoding="utf-8")
    batch = services.create_batch(path, channel="review", source="shop")
    return services.run_batch(batch.pk)


def test_rejected_rows_give_their_reason_in_the_readers_language(agent_client, tmp_path):
    """The worker that rejected the rows had no reader; each person sees the reasons in their own language."""
    batch = _import_with_bad_rows(tmp_path)
    assert batch.rejected_count == 2
    url = reverse("fileimport:batch", args=[batch.pk])
    chinese = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "列“评价时间”：无法识别日期“昨天下午”。" in chinese
    assert "第 3 行有 5 个字段，而表头有 4 个（是否有多余的分隔符或未闭合的引号？）。" in chinese
    assert "is not a date" not in chinese
    english = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Column “评价时间”: &#x27;昨天下午&#x27; is not a date we can read." in english
    # The file to fix and re-import carries the reason in the downloader's language too.
    csv_text = b"".join(
        agent_client.get(reverse("fileimport:rejected_csv", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    ).decode("utf-8-sig")
    assert "列“评价时间”：无法识别日期“昨天下午”。" in csv_text
    # The API and logs keep the English text.
    assert (
        QuarantinedRow.objects.get(row_number=2).reason
        == "Row 2, column '评价时间': '昨天下午' is not a date we can read."
    )


def test_rows_stored_before_templates_were_kept_show_their_english(agent_client, tmp_path):
    batch = _import_with_bad_rows(tmp_path)
    QuarantinedRow.objects.filter(batch=batch).update(reason_i18n={})
    page = agent_client.get(reverse("fileimport:batch", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert (
        "Row 2, column &#x27;评价时间&#x27;: &#x27;昨天下午&#x27; is not a date we can read." in page.content.decode()
    )


def test_a_refused_file_is_explained_in_the_uploaders_language(agent_client):
    upload = SimpleUploadedFile("a.json", b'{"items": 5}')
    response = agent_client.post(reverse("fileimport:upload"), {"file": upload}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "JSON 文件必须是对象列表（或 JSON Lines：每行一个对象）。" in response.content.decode()
