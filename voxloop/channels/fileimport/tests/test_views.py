import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from voxloop.feedback.models import ImportBatch

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
