"""The Mailboxes page: IMAP mailboxes with their status, a form to add one, and .eml/.mbox upload."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.permissions import Capability, require
from voxloop.channels.email import files, tasks
from voxloop.channels.email.forms import MailboxForm, MailUploadForm
from voxloop.channels.email.models import Mailbox


def _require_manager(request: HttpRequest) -> None:
    require(request.user, Capability.MANAGE_MAILBOXES)


@login_required
def mailboxes(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = MailboxForm()
    upload_form = MailUploadForm()
    if request.method == "POST":
        form = MailboxForm(request.POST)
        if form.is_valid():
            box = form.save()
            messages.success(
                request, _("Mailbox “%(name)s” added; it is polled every few minutes.") % {"name": box.name}
            )
            return redirect("email:mailboxes")
    return render(
        request,
        "email/mailboxes.html",
        {
            "mailboxes": Mailbox.objects.all(),
            "form": form,
            "upload_form": upload_form,
            "active_nav": "mailboxes",
        },
    )


@login_required
@require_POST
def poll_now(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    box = get_object_or_404(Mailbox, pk=pk)
    tasks.poll_mailbox_task.delay(box.pk)
    messages.info(request, _("Checking “%(name)s” for new mail.") % {"name": box.name})
    return redirect("email:mailboxes")


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = MailUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("file", []):
            messages.error(request, str(error))  # ErrorList yields the message text
        return redirect("email:mailboxes")
    upload = form.cleaned_data["file"]
    # Kept under MEDIA_ROOT until the background import has read it: a big .mbox must not hold the request.
    folder = Path(settings.MEDIA_ROOT) / "imports" / "email"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=Path(upload.name).suffix.lower(), delete=False) as fh:
        for block in upload.chunks():
            fh.write(block)
        path = Path(fh.name)
    try:
        batch = files.create_mail_batch(
            path,
            created_by=request.user,
            file_name=Path(upload.name).name,
            keep_file=str(path.relative_to(settings.MEDIA_ROOT)),
        )
    except files.MailImportError as exc:
        path.unlink(missing_ok=True)
        messages.error(request, exc.message)
        return redirect("email:mailboxes")
    tasks.import_mail_file_task.delay(batch.pk)
    messages.success(request, _("%(name)s is being imported.") % {"name": batch.file_name})
    return redirect("fileimport:batch", pk=batch.pk)
