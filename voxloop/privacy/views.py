"""Privacy pages for administrators: the data-subject request inbox and each request's steps, the subject
finder, retention policies and the consent ledger. Views translate between HTTP and the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from voxloop.accounts.audit import record_access
from voxloop.accounts.http import AuthenticatedRequest
from voxloop.feedback.models import Customer
from voxloop.privacy import export, queries, retention, services
from voxloop.privacy.forms import (
    CompleteForm,
    ConsentForm,
    CorrectionForm,
    ErasureForm,
    IdentifiersForm,
    IdentityForm,
    PolicyForm,
    RefuseForm,
    RequestForm,
)
from voxloop.privacy.models import DataClass, DataSubjectRequest, RequestKind, RequestState, RetentionRun


def _require(request: AuthenticatedRequest) -> None:
    if not queries.may_handle_requests(request.user):
        raise PermissionDenied


def _places(counts: dict[str, int]) -> list[tuple[str, Any, int]]:
    return [(key, label, counts.get(key, 0)) for key, label in queries.PLACES.items()]


@never_cache
@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    _require(request)
    state = request.GET.get("state", "open")
    state = state if state in ("open", "closed", "all") else "open"
    context = {
        "requests": queries.inbox(state)[:200],
        "state": state,
        "now": timezone.now(),
        "due_days": services.due_days(),
        "active_nav": "privacy",
    }
    return render(request, "privacy/inbox.html", context)


@never_cache
@login_required
def new_request(request: AuthenticatedRequest) -> HttpResponse:
    _require(request)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dsr = services.open_request(
                kind=data["kind"],
                identifiers=data,
                actor=request.user,
                subject_name=data["subject_name"],
                received_via=data["received_via"],
                details=data["details"],
                received_at=data["received_at"],
                http=request,
            )
        except services.PrivacyError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("privacy:detail", pk=dsr.pk)
    return render(request, "privacy/new.html", {"form": form, "active_nav": "privacy"})


@never_cache
@login_required
def detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require(request)
    dsr = get_object_or_404(DataSubjectRequest, pk=pk)
    verified = dsr.state in (RequestState.VERIFIED, RequestState.AWAITING_APPROVAL)
    subject = queries.find_subject(dsr.identifiers) if verified else None
    if subject is not None:
        for customer_id in subject.customer_ids:
            record_access(request.user, dsr, customer_id=customer_id, request=request)
    context = {
        "dsr": dsr,
        "events": dsr.events.select_related("actor"),
        "places": _places(subject.counts()) if subject is not None else None,
        "erased": _places(dsr.counts.get("erased", {})) if dsr.counts.get("erased") else None,
        "customers": list(subject.customers()) if subject is not None else [],
        "identity_form": IdentityForm(),
        "refuse_form": RefuseForm(),
        "complete_form": CompleteForm(),
        "correction_form": CorrectionForm(),
        "erasure_form": ErasureForm(),
        "is_deletion": dsr.kind == RequestKind.DELETION,
        "is_correction": dsr.kind == RequestKind.CORRECTION,
        "is_consent": dsr.kind == RequestKind.CONSENT_WITHDRAWAL,
        "may_approve": dsr.state == RequestState.AWAITING_APPROVAL and dsr.erasure_requested_by_id != request.user.pk,
        "days_left": (dsr.due_at - timezone.now()).days,
        "active_nav": "privacy",
    }
    return render(request, "privacy/detail.html", context)


def _step(
    request: AuthenticatedRequest, pk: int, action: Callable[[DataSubjectRequest], Any], done: str
) -> HttpResponse:
    _require(request)
    dsr = get_object_or_404(DataSubjectRequest, pk=pk)
    try:
        action(dsr)
    except services.PrivacyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("privacy:detail", pk=pk)


def _form_step(
    request: AuthenticatedRequest,
    pk: int,
    form_class: type[Any],
    action: Callable[[DataSubjectRequest, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    """A step that needs a filled form (a reason, a method, an outcome): its errors are shown on the request."""
    _require(request)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))  # ErrorList yields the message text
        return redirect("privacy:detail", pk=pk)
    return _step(request, pk, lambda dsr: action(dsr, form.cleaned_data), done)


@require_POST
@login_required
def verify(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _form_step(
        request,
        pk,
        IdentityForm,
        lambda dsr, data: services.verify_identity(dsr, actor=request.user, method=data["method"], http=request),
        _("Identity check recorded."),
    )


@require_POST
@login_required
def refuse(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _form_step(
        request,
        pk,
        RefuseForm,
        lambda dsr, data: services.refuse_request(dsr, actor=request.user, reason=data["reason"], http=request),
        _("The request was refused."),
    )


@require_POST
@login_required
def complete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _form_step(
        request,
        pk,
        CompleteForm,
        lambda dsr, data: services.complete_request(
            dsr, actor=request.user, outcome=data["outcome"], purposes=data["purposes"], http=request
        ),
        _("The request is completed."),
    )


@require_POST
@login_required
def correct(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    form = CorrectionForm(request.POST)
    form.is_valid()
    changes = form.cleaned_data
    return _step(
        request,
        pk,
        lambda dsr: services.correct_customer(dsr, actor=request.user, changes=changes, http=request),
        _("The customer record was corrected."),
    )


@require_POST
@login_required
def ask_erasure(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    form = ErasureForm(request.POST)
    form.is_valid()
    keep = bool(form.cleaned_data.get("keep_feedback"))
    return _step(
        request,
        pk,
        lambda dsr: services.ask_erasure(dsr, actor=request.user, keep_feedback=keep, http=request),
        _("Erasure asked for: another administrator must approve it."),
    )


@require_POST
@login_required
def approve_erasure(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda dsr: services.approve_erasure(dsr, actor=request.user, http=request),
        _("The person's data was erased."),
    )


@never_cache
@login_required
def export_zip(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require(request)
    dsr = get_object_or_404(DataSubjectRequest, pk=pk)
    try:
        subject = services.record_export(dsr, actor=request.user, http=request)
    except services.PrivacyError as exc:
        messages.error(request, exc.message)
        return redirect("privacy:detail", pk=pk)
    response = HttpResponse(export.build_zip(subject, request_id=dsr.pk), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="voxloop-request-{dsr.pk}.zip"'
    return response


@never_cache
@login_required
def finder(request: AuthenticatedRequest) -> HttpResponse:
    """Who is this person and where is their data: counts per place (no contents: those go in the export)."""
    _require(request)
    form = IdentifiersForm(request.GET or None)
    subject = None
    if request.GET and form.is_valid():
        subject = queries.find_subject(form.cleaned_data)
        for customer in subject.customers():
            record_access(request.user, customer, customer_id=customer.pk, request=request)
    context = {
        "form": form,
        "subject": subject,
        "places": _places(subject.counts()) if subject is not None else None,
        "customers": list(subject.customers()) if subject is not None else [],
        "active_nav": "privacy",
    }
    return render(request, "privacy/finder.html", context)


@never_cache
@login_required
def consent(request: AuthenticatedRequest, customer_pk: int) -> HttpResponse:
    _require(request)
    customer = get_object_or_404(Customer, pk=customer_pk)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "withdraw":
                services.withdraw_consent(customer, data["purpose"], source=data["source"], actor=request.user)
            else:
                services.record_consent(
                    customer, data["purpose"], source=data["source"], actor=request.user, basis=data["basis"]
                )
        except services.PrivacyError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Recorded in the consent ledger."))
            return redirect("privacy:consent", customer_pk=customer.pk)
    record_access(request.user, customer, customer_id=customer.pk, request=request)
    context = {
        "customer": customer,
        "form": form,
        "state": queries.consent_state(customer),
        "ledger": customer.consent_records.select_related("recorded_by")[:200],
        "active_nav": "privacy",
    }
    return render(request, "privacy/consent.html", context)


@never_cache
@login_required
def retention_page(request: AuthenticatedRequest) -> HttpResponse:
    _require(request)
    if request.method == "POST":
        data_class = request.POST.get("data_class", "")
        form = PolicyForm(request.POST)
        if data_class in DataClass.values and form.is_valid():
            retention.save_policy(data_class, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Retention policy saved."))
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))  # ErrorList yields the message text
        return redirect("privacy:retention")
    context = {
        "rows": retention.policy_rows(),
        "runs": RetentionRun.objects.select_related("started_by")[:10],
        "labels": dict(DataClass.choices),
        "active_nav": "privacy",
    }
    return render(request, "privacy/retention.html", context)


@require_POST
@login_required
def retention_run(request: AuthenticatedRequest) -> HttpResponse:
    _require(request)
    dry_run = request.POST.get("dry_run") == "1"
    run = retention.apply_policies(dry_run=dry_run, actor=request.user)
    total = sum(r["count"] for r in run.results.values())
    if dry_run:
        messages.info(
            request, _("Dry run: %(count)s records would be removed. Nothing was changed.") % {"count": total}
        )
    else:
        messages.success(request, _("%(count)s records removed.") % {"count": total})
    return redirect("privacy:retention")
