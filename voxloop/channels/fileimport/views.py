import csv
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from voxloop.accounts import privacy
from voxloop.accounts.audit import record_access
from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.models import AuditAction, User
from voxloop.accounts.permissions import Capability, require
from voxloop.accounts.privacy import mask_payload, mask_text
from voxloop.channels.fileimport import services
from voxloop.channels.fileimport.mapping import PRESETS, REQUIRED_FIELDS, TARGET_FIELDS
from voxloop.channels.fileimport.readers import FileFormatError
from voxloop.channels.fileimport.tasks import run_import_task
from voxloop.core.exports import safe_row
from voxloop.feedback import history
from voxloop.feedback.models import Channel, ColumnMapping, ImportBatch, ImportKind, QuarantinedRow

ENCODINGS = [("", "auto"), ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 BOM"), ("gb18030", "GBK / GB18030"),
             ("utf-16", "UTF-16"), ("big5hkscs", "Big5")]  # fmt: skip


def _require_importer(request: AuthenticatedRequest) -> None:
    require(request.user, Capability.IMPORT_FILES)


def _upload_dir(token: str) -> Path:
    if not token.isalnum():
        raise Http404
    return Path(settings.MEDIA_ROOT) / "uploads" / token


@login_required
def batch_list(request: AuthenticatedRequest) -> HttpResponse:
    batches = ImportBatch.objects.select_related("created_by")[:200]
    return render(request, "fileimport/batch_list.html", {"batches": batches, "active_nav": "imports"})


@login_required
def upload(request: AuthenticatedRequest) -> HttpResponse:
    _require_importer(request)
    context = {
        "active_nav": "imports",
        "kinds": ImportKind.choices,
        "channels": Channel.choices,
        "presets": [(code, p.label) for code, p in PRESETS.items()],
        "saved_mappings": ColumnMapping.objects.all(),
        "encodings": ENCODINGS,
        "max_mb": settings.IMPORT_MAX_UPLOAD_MB,
    }
    if request.method != "POST":
        return render(request, "fileimport/upload.html", context)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        context["error"] = _("Choose a file to import.")
        return render(request, "fileimport/upload.html", context, status=400)
    if (uploaded.size or 0) > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        context["error"] = _("The file is larger than %(mb)s MB.") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}
        return render(request, "fileimport/upload.html", context, status=400)
    token = secrets.token_hex(16)
    path = services.copy_upload_to_temp(uploaded, _upload_dir(token))
    kind = request.POST.get("kind") or ImportKind.FEEDBACK
    preset = request.POST.get("preset", "")
    if kind not in ImportKind.values or (preset and preset not in PRESETS):
        services.remove_temp(path)
        context["error"] = _("Unknown kind of import or preset.")
        return render(request, "fileimport/upload.html", context, status=400)
    mapping_name = request.POST.get("mapping_name", "")
    try:
        preview = services.preview_file(path, kind=kind, encoding=request.POST.get("encoding", ""), preset=preset)
    except FileFormatError as exc:
        services.remove_temp(path)
        context["error"] = exc.localized()
        return render(request, "fileimport/upload.html", context, status=400)
    suggested = preview.suggested
    saved = ColumnMapping.objects.filter(name=mapping_name).first() if mapping_name else None
    if saved:
        suggested = {k: v for k, v in saved.columns.items() if v in preview.headers}
    channel = (
        request.POST.get("channel")
        or (saved.channel if saved else "")
        or (PRESETS[preset].channel if preset in PRESETS else "")
    )
    source = (
        request.POST.get("source")
        or (saved.source if saved else "")
        or (PRESETS[preset].source if preset in PRESETS else "")
    )
    fields = [(f, f in REQUIRED_FIELDS[kind], suggested.get(f, "")) for f in TARGET_FIELDS[kind]]
    context.update({
        "token": token, "file_name": path.name, "preview": preview, "fields": fields, "kind": kind,
        "channel": channel, "source": source, "encoding": preview.encoding, "history_choices": history.choices(),
    })  # fmt: skip
    return render(request, "fileimport/mapping.html", context)


@login_required
def start(request: AuthenticatedRequest) -> HttpResponse:
    _require_importer(request)
    if request.method != "POST":
        return redirect("fileimport:upload")
    token = request.POST.get("token", "")
    directory = _upload_dir(token)
    files = list(directory.glob("*")) if directory.exists() else []
    if not files:
        messages.error(request, _("The uploaded file has expired; upload it again."))
        return redirect("fileimport:upload")
    path = files[0]
    kind = request.POST.get("kind") or ImportKind.FEEDBACK
    if kind not in ImportKind.values:
        messages.error(request, _("Unknown kind of import or preset."))
        return redirect("fileimport:upload")
    mapping = {f: request.POST[f"map_{f}"] for f in TARGET_FIELDS[kind] if request.POST.get(f"map_{f}")}
    try:
        batch = services.create_batch(
            path,
            kind=kind,
            channel=request.POST.get("channel", ""),
            source=request.POST.get("source", ""),
            mapping=mapping,
            encoding=request.POST.get("encoding", ""),
            timezone_name=request.POST.get("timezone", ""),
            created_by=request.user,
            history=request.POST.get("history", ""),
        )
    except services.ImportRefused as exc:
        messages.error(request, exc.localized())
        return redirect("fileimport:upload")
    finally:
        services.remove_temp(path)
    if request.POST.get("save_as"):
        services.save_mapping(request.POST["save_as"][:100], kind=batch.kind, columns=batch.mapping,
                              channel=batch.channel, source=batch.source, created_by=request.user)  # fmt: skip
    run_import_task.delay(batch.pk)
    return redirect("fileimport:batch", pk=batch.pk)


def _batch_context(batch: ImportBatch) -> dict:
    return {
        "batch": batch,
        "running": batch.status in ("pending", "running"),
        "quarantined": batch.quarantined_rows.all()[:200],
        "active_nav": "imports",
    }


@login_required
def batch_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
    if request.htmx:
        return render(request, "fileimport/_progress.html", _batch_context(batch))
    context = _batch_context(batch)
    unmasked = _sees_rows_unmasked(request.user, batch)
    context["quarantined"] = list(context["quarantined"])
    for row in context["quarantined"]:
        row.shown_raw = row.raw if unmasked else privacy.mask_payload(row.raw)
        row.shown_text = row.raw_text if unmasked else privacy.mask_text(row.raw_text)
    if unmasked and context["quarantined"]:
        # The rejected rows are shown as the file had them: an unmasked view is personal-data access.
        privacy.record_shown(request.user, ImportBatch, [(batch.pk, None)], request=request, unmasked=True)
    return render(request, "fileimport/batch_detail.html", context)


def _sees_rows_unmasked(user: User, batch: ImportBatch) -> bool:
    """Rows of a file are personal data: unmasked for roles with the right, and for whoever uploaded the file
    (it is their own file, and they fix and import the rejected rows again)."""
    return privacy.may_see(user) or (batch.created_by_id is not None and batch.created_by_id == user.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def quarantine_csv(request: AuthenticatedRequest, pk: int) -> StreamingHttpResponse:
    """The rejected rows with their original columns plus the reason, to fix and import again."""
    _require_importer(request)
    batch = get_object_or_404(ImportBatch, pk=pk)
    # The original rows carry whatever contact details the file had: an export of personal data.
    record_access(request.user, batch, customer_id=None, action=AuditAction.EXPORT_PERSONAL_DATA, request=request)
    unmasked = _sees_rows_unmasked(request.user, batch)  # masked as on the batch page for everyone else
    rows = QuarantinedRow.objects.filter(batch=batch).order_by("row_number")
    columns: list[str] = []
    for raw in rows.values_list("raw", flat=True)[:1000]:
        for key in raw:
            if key not in columns:
                columns.append(key)
    writer = csv.writer(_Echo())

    def generate():
        yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a BOM
        yield writer.writerow(safe_row([*columns, "voxloop_row", "voxloop_reason", "voxloop_raw_line"]))
        for row in rows.iterator(chunk_size=2000):
            raw, text = (row.raw, row.raw_text) if unmasked else (mask_payload(row.raw), mask_text(row.raw_text))
            # The rows are what outsiders sent: a "=HYPERLINK(...)" in them must not run when the file is opened.
            yield writer.writerow(
                safe_row(
                    [raw.get(c, "") for c in columns] + [row.row_number, row.reason_display, "" if row.raw else text]
                )
            )

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-batch-{batch.pk}.csv"'
    return response


@login_required
def row_lines(request: AuthenticatedRequest, pk: int, row: int) -> StreamingHttpResponse:
    """A rejected row's lines exactly as they are in the file (with its header line), to fix and import again:
    for a row that swallowed many lines (an unclosed quote), the whole stretch it swallowed."""
    _require_importer(request)
    batch = get_object_or_404(ImportBatch, pk=pk)
    quarantined = get_object_or_404(QuarantinedRow, batch=batch, row_number=row, line__gt=0)
    record_access(request.user, batch, customer_id=None, action=AuditAction.EXPORT_PERSONAL_DATA, request=request)
    chunks = services.file_lines(batch, quarantined.line, quarantined.last_line)
    response = StreamingHttpResponse(chunks, content_type=f"text/csv; charset={batch.encoding or 'utf-8'}")
    name = f"batch-{batch.pk}-row-{row}-lines-{quarantined.line}-{quarantined.last_line}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
