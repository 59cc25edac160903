"""Email import from real .eml/.mbox files and IMAP polling against a real IMAP server on localhost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxloop.channels.email import files, imap, tasks
from voxloop.channels.email.models import Mailbox
from voxloop.channels.email.parsing import html_to_text, strip_quoted
from voxloop.channels.email.tests import messages as m
from voxloop.channels.email.tests.imap_server import FakeMailStore, ImapTestServer
from voxloop.feedback.models import Customer, Feedback, ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_eml_with_gbk_headers_and_body(tmp_path):
    batch = files.import_mail_file(write(tmp_path, "complaint.eml", m.gbk_complaint()))
    assert (batch.origin, batch.status, batch.accepted_count, batch.rejected_count) == ("email", "completed", 1, 0)
    item = Feedback.objects.get()
    assert item.channel == "email"
    assert item.source == "email:complaint.eml"
    assert item.external_id == "gbk-001@example.cn"
    assert item.title == "投诉：洗衣机漏水，堃"
    assert "洗衣机一直漏水" in item.text
    assert "\r" not in item.text
    assert item.customer.email == "zhangwei@example.cn"
    assert item.customer.name == "张伟"
    assert item.received_at.isoformat() == "2026-11-02T01:15:00+00:00"
    assert item.thread_key == "gbk-001@example.cn"


def test_mbox_threads_replies_strips_quotes_and_keeps_attachments(tmp_path):
    data = m.mbox(m.gbk_complaint(), m.reply_with_quote(), m.html_only(), m.same_subject_followup())
    batch = files.import_mail_file(write(tmp_path, "support.mbox", data))
    assert (batch.total_rows, batch.accepted_count, batch.rejected_count) == (4, 4, 0)
    first = Feedback.objects.get(external_id="gbk-001@example.cn")
    reply = Feedback.objects.get(external_id="reply-002@example.cn")
    assert reply.thread_key == first.thread_key == "gbk-001@example.cn"
    assert reply.customer_id == first.customer_id  # the same From address, whatever its case
    assert reply.text == "照片附上了，还是漏水。"  # the quoted answer is not part of the new text
    assert "请提供漏水位置的照片" in reply.raw_payload["body_text"]  # ...but the full body is kept
    [attachment] = reply.attachments
    assert attachment["name"] == "漏水.png"
    assert attachment["content_type"] == "image/png"
    stored = Path(django_settings.MEDIA_ROOT) / attachment["path"]
    assert stored.read_bytes().startswith(b"\x89PNG")
    assert attachment["size"] == stored.stat().st_size
    html_item = Feedback.objects.get(external_id="html-003@example.com")
    assert html_item.text == "My order is late & nobody answers.\n\nCafé owner"
    followup = Feedback.objects.get(external_id="followup-004@example.com")
    assert followup.thread_key == html_item.thread_key == "html-003@example.com"
    assert followup.text == "Still waiting."
    assert Customer.objects.count() == 2


def test_reimport_creates_nothing_and_unreadable_messages_are_quarantined(tmp_path):
    path = write(tmp_path, "mix.mbox", m.mbox(m.raw_8bit_gbk_header(), m.empty_message(), m.html_only()))
    first = files.import_mail_file(path)
    assert (first.accepted_count, first.rejected_count) == (2, 1)
    row = QuarantinedRow.objects.get(batch=first)
    assert row.row_number == 2
    assert row.reason_code == "unreadable_message"
    assert "X-Nothing" in row.raw_text
    raw8 = Feedback.objects.get(external_id="raw8-005@example.cn")
    assert raw8.title == "物流太慢"
    assert raw8.contact_name == "李娜"
    assert raw8.text == "快递一周还没到。"
    again = files.import_mail_file(path)
    assert (again.accepted_count, again.duplicate_count, again.rejected_count) == (0, 2, 1)
    assert Feedback.objects.count() == 2


def test_nul_and_control_characters_in_mail(tmp_path):
    raw = m.html_only().replace(b"nobody answers", b"nobody\x00 answers").replace(b"Jane Doe", b"Jane\x00 Doe")
    files.import_mail_file(write(tmp_path, "nul.eml", raw))
    item = Feedback.objects.get()
    assert item.text.startswith("My order is late & nobody answers.")
    assert "\x00" not in item.raw_payload["body_html"]
    assert item.contact_name == "Jane Doe"


def test_message_without_message_id_or_date_is_not_doubled(tmp_path):
    raw = b"From: a@example.com\r\nSubject: hello\r\n\r\nNo id, no date.\r\n"
    path = write(tmp_path, "bare.eml", raw)
    files.import_mail_file(path)
    again = files.import_mail_file(path)
    assert (again.accepted_count, again.duplicate_count) == (0, 1)
    assert Feedback.objects.get().external_id.startswith("sha256:")


def test_thread_found_across_imports(tmp_path):
    files.import_mail_file(write(tmp_path, "a.eml", m.gbk_complaint()))
    files.import_mail_file(write(tmp_path, "b.eml", m.reply_with_quote()))
    assert set(Feedback.objects.values_list("thread_key", flat=True)) == {"gbk-001@example.cn"}


def test_html_and_quote_helpers():
    assert html_to_text("<div>a<br>b</div><script>x()</script><p>&lt;c&gt;</p>") == "a\nb\n\n<c>"
    assert strip_quoted("> only a quote") == "> only a quote"  # never strip everything
    assert strip_quoted("Thanks\nOn Mon, 2 Nov 2026, Bob wrote:\n> hi") == "Thanks"


def test_imap_folder_names_in_modified_utf7():
    assert imap.imap_utf7("INBOX") == "INBOX"
    assert imap.imap_utf7("&Ti1lhw-") == "&Ti1lhw-"  # already encoded: left alone
    assert imap.imap_utf7("收件箱") == "&ZTZO9nux-"
    assert imap.imap_utf7("客户/投诉 & 建议") == "&W6JiNw-/&YpWLyQ- &- &XvqLrg-"


def test_import_mail_command(tmp_path, capsys):
    path = write(tmp_path, "in.mbox", m.mbox(m.gbk_complaint(), m.html_only()))
    call_command("import_mail", str(path), "--no-progress")
    assert "2 stored, 0 duplicates skipped, 0 rejected" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No such file"):
        call_command("import_mail", str(tmp_path / "missing.eml"))


def test_voxloop_import_hands_eml_to_email(tmp_path, capsys):
    path = write(tmp_path, "one.eml", m.html_only())
    call_command("import", str(path))
    assert Feedback.objects.get().channel == "email"


def _mailbox(port: int, store: FakeMailStore, **extra) -> Mailbox:
    values = {"name": "service", "host": "127.0.0.1", "port": port, "use_ssl": False, "username": store.username,
              "password": store.password}  # fmt: skip
    return Mailbox.objects.create(**{**values, **extra})


def test_imap_poll_fetches_only_new_messages():
    store = FakeMailStore()
    store.add(m.gbk_complaint())
    store.add(m.html_only())
    with ImapTestServer(store) as server:
        box = _mailbox(server.port, store)
        batch = imap.poll_mailbox(box.pk)
        assert (batch.origin, batch.accepted_count, batch.source) == ("imap", 2, "email:service")
        box.refresh_from_db()
        assert (box.last_uid, box.uidvalidity, box.last_error) == (2, 1001, "")
        assert box.last_polled_at is not None
        assert box.polling_since is None
        # Nothing new: no fetch, no batch.
        store.commands.clear()
        assert imap.poll_mailbox(box.pk) is None
        assert not any("FETCH" in c for c in store.commands)
        assert any("UID SEARCH UID 3:*" in c for c in store.commands)
        store.add(m.reply_with_quote())
        store.add(m.same_subject_followup())
        store.commands.clear()
        batch = imap.poll_mailbox(box.pk)
        assert batch.accepted_count == 2
        fetches = [c for c in store.commands if "FETCH" in c]
        assert fetches
        assert all("3,4" in c for c in fetches)
    assert Feedback.objects.count() == 4
    reply = Feedback.objects.get(external_id="reply-002@example.cn")
    assert reply.thread_key == "gbk-001@example.cn"
    assert reply.raw_payload["imap_uid"] == 3
    box.refresh_from_db()
    assert box.last_uid == 4


def test_imap_uidvalidity_change_rereads_without_duplicates():
    store = FakeMailStore()
    store.add(m.gbk_complaint())
    with ImapTestServer(store) as server:
        box = _mailbox(server.port, store)
        imap.poll_mailbox(box.pk)
        store.uidvalidity = 2002
        store.add(m.html_only())
        batch = imap.poll_mailbox(box.pk)
    assert (batch.accepted_count, batch.duplicate_count) == (1, 1)
    box.refresh_from_db()
    assert (box.uidvalidity, box.last_uid) == (2002, 2)


def test_imap_errors_are_recorded_on_the_mailbox():
    store = FakeMailStore()
    with ImapTestServer(store) as server:
        box = _mailbox(server.port, store, password="wrong")
        assert imap.poll_mailbox(box.pk) is None
        box.refresh_from_db()
        assert "Invalid credentials" in box.last_error
        assert box.polling_since is None
        Mailbox.objects.filter(pk=box.pk).update(password="", password_env="VOXLOOP_TEST_IMAP_PW", folder="Nope")
        import os

        os.environ["VOXLOOP_TEST_IMAP_PW"] = store.password
        try:
            imap.poll_mailbox(box.pk)
        finally:
            del os.environ["VOXLOOP_TEST_IMAP_PW"]
        box.refresh_from_db()
        assert "Nope" in box.last_error
    # Nobody listening: a connection error, recorded, not raised.
    imap.poll_mailbox(box.pk)
    box.refresh_from_db()
    assert "Error" in box.last_error or "refused" in box.last_error.lower()


@pytest.mark.django_db(transaction=True)
def test_two_polls_at_once_store_each_message_once():
    store = FakeMailStore(fetch_delay_s=0.3)
    for n in range(5):
        store.add(m.html_only(message_id=f"<m{n}@example.com>", subject=f"s{n}"))
    with ImapTestServer(store) as server:
        box = _mailbox(server.port, store)
        results = []

        def run():
            results.append(imap.poll_mailbox(box.pk))
            connection.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r is None for r in results) == [False, True]  # one ran, the other found it busy
    assert Feedback.objects.count() == 5
    box.refresh_from_db()
    assert box.last_uid == 5
    assert box.polling_since is None


def test_poll_all_task_polls_enabled_mailboxes():
    assert tasks.poll_all_mailboxes_task.name == django_settings.CELERY_BEAT_SCHEDULE["poll-mailboxes"]["task"]
    store = FakeMailStore()
    store.add(m.html_only())
    with ImapTestServer(store) as server:
        _mailbox(server.port, store)
        Mailbox.objects.create(name="off", host="127.0.0.1", port=1, username="x", password="y", enabled=False)
        assert tasks.poll_all_mailboxes_task.delay().get() == 1
    assert Feedback.objects.get().source == "email:service"


def test_mailboxes_page_permissions_add_and_upload(client, manager, agent, tmp_path):
    client.force_login(agent)
    assert client.get("/email/mailboxes/").status_code == 403
    client.force_login(manager)
    page = client.get("/email/mailboxes/", headers={"Accept-Language": "zh-hans"})
    assert page.status_code == 200
    assert "添加邮箱" in page.content.decode()  # zh_Hans from this app's own catalogue
    assert "Add a mailbox" in client.get("/email/mailboxes/", headers={"Accept-Language": "en"}).content.decode()
    bad = client.post("/email/mailboxes/", {"name": "x", "host": "h", "port": 993, "username": "u", "folder": "INBOX"})
    assert "存放密码的环境变量名" in bad.content.decode()
    assert not Mailbox.objects.exists()
    ok = client.post(
        "/email/mailboxes/",
        {"name": "<b>sales</b>", "host": "imap.example.com", "port": 993, "use_ssl": "on", "username": "u",
         "password_env": "SALES_IMAP_PW", "folder": "INBOX", "enabled": "on"},
    )  # fmt: skip
    assert ok.status_code == 302
    listing = client.get("/email/mailboxes/").content.decode()
    assert "&lt;b&gt;sales&lt;/b&gt;" in listing
    assert "<b>sales</b>" not in listing
    upload_path = write(tmp_path, "export.mbox", m.mbox(m.gbk_complaint(), m.empty_message()))
    with upload_path.open("rb") as fh:
        response = client.post("/email/upload/", {"file": fh})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response.url == f"/imports/{batch.pk}/"
    assert (batch.accepted_count, batch.rejected_count, batch.created_by) == (1, 1, manager)
    wrong = write(tmp_path, "notes.txt", b"hello")
    with wrong.open("rb") as fh:
        client.post("/email/upload/", {"file": fh})
    assert ImportBatch.objects.count() == 1


@pytest.mark.browser
def test_mailboxes_page_upload_in_browser(login_page, manager, live_server, tmp_path):
    path = write(tmp_path, "客服邮件.mbox", m.mbox(m.gbk_complaint(), m.reply_with_quote()))
    page = login_page(manager)
    page.goto(f"{live_server.url}/email/mailboxes/")
    page.set_input_files("#upload-mail input[type=file]", str(path))
    page.click("#upload-mail button[type=submit]")
    page.wait_for_load_state("networkidle")
    batch = ImportBatch.objects.get()
    assert page.url.endswith(f"/imports/{batch.pk}/")
    assert (batch.file_name, batch.accepted_count) == ("客服邮件.mbox", 2)
    page.goto(f"{live_server.url}/email/mailboxes/")
    page.fill("#add-mailbox input[name=name]", "售后")
    page.fill("#add-mailbox input[name=host]", "imap.example.com")
    page.fill("#add-mailbox input[name=username]", "service")
    page.fill("#add-mailbox input[name=password]", "pw")
    page.click("#add-mailbox button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "售后" in page.locator("#mailboxes").inner_text()
    assert "尚未收取" in page.locator("#mailboxes").inner_text()


header_junk = st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b" "))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    subject=header_junk,
    sender=header_junk,
    date=header_junk,
    body=st.binary(max_size=400),
    charset=st.sampled_from([b"utf-8", b"gb2312", b"x-unknown", b"big5", b"\xff\xfe"]),
)
def test_any_message_is_stored_or_quarantined(tmp_path, subject, sender, date, body, charset):
    raw = (
        b"From: " + sender + b"\r\nSubject: " + subject + b"\r\nDate: " + date
        + b"\r\nContent-Type: text/plain; charset=" + charset + b"\r\n\r\n" + body
    )  # fmt: skip
    batch = files.import_mail_file(write(tmp_path, "junk.eml", raw))
    assert batch.status == "completed"
    assert batch.accepted_count + batch.duplicate_count + batch.rejected_count == 1


def test_an_uploaded_mbox_is_imported_in_the_background_and_resumes_after_a_crash(client, manager, tmp_path, settings):
    from voxloop.feedback.models import BatchStatus

    settings.MEDIA_ROOT = str(tmp_path / "media")
    client.force_login(manager)
    upload_path = write(tmp_path, "export.mbox", m.mbox(m.gbk_complaint(), m.reply_with_quote()))
    real_run = files.ingest_messages
    calls = []

    def crash_after_first_chunk(batch, messages, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the worker "dies" after committing the first message
            first = [next(iter(messages))]
            real_run(batch, first, **kwargs)
            raise RuntimeError("worker killed")
        return real_run(batch, messages, **kwargs)

    files.ingest_messages = crash_after_first_chunk
    try:
        with upload_path.open("rb") as fh, pytest.raises(RuntimeError):
            client.post("/email/upload/", {"file": fh})
        batch = ImportBatch.objects.get()
        assert (batch.status, batch.rows_processed, batch.total_rows) == (BatchStatus.FAILED, 1, 2)
        kept = tmp_path / "media" / batch.file.name
        assert kept.is_file()  # the upload survives the crash
        ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
        files.run_stored_mail_batch(batch.pk)
    finally:
        files.ingest_messages = real_run
    batch.refresh_from_db()
    assert (batch.status, batch.accepted_count, batch.duplicate_count) == (BatchStatus.COMPLETED, 2, 0)
    assert Feedback.objects.count() == 2
    assert not kept.exists()  # removed once imported
