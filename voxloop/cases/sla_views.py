"""SLA settings for administrators: policies, business calendars with holidays, and the escalation chain."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, require
from voxloop.cases.calendar import WEEKDAYS, CalendarError
from voxloop.cases.holidays import (
    coming_years,
    import_holidays,
    library_version,
    load_library_holidays,
    years_without_holidays,
)
from voxloop.cases.models import BusinessCalendar, EscalationLevel, SLAPolicy
from voxloop.cases.sla import ChainGap, chain_gaps, escalation_recipients
from voxloop.cases.sla_forms import (
    WEEKDAY_LABELS,
    CalendarForm,
    EscalationLevelForm,
    HolidayUploadForm,
    SLAPolicyForm,
    duration_text,
    hours_text,
    working_day_minutes,
)


def _require_admin(request: HttpRequest) -> None:
    require(request.user, Capability.ADMINISTER)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    calendars = list(BusinessCalendar.objects.all())
    for calendar in calendars:
        calendar.hours_rows = [(WEEKDAY_LABELS[d], hours_text(calendar.working_hours.get(d, []))) for d in WEEKDAYS]  # type: ignore[attr-defined]
    policies = list(SLAPolicy.objects.select_related("team", "calendar"))
    for policy in policies:
        day = working_day_minutes(policy.calendar)
        policy.first_response_text = duration_text(policy.first_response_minutes, day)  # type: ignore[attr-defined]
        policy.resolution_text = duration_text(policy.resolution_minutes, day)  # type: ignore[attr-defined]
    levels = list(EscalationLevel.objects.select_related("user"))
    default_day = working_day_minutes(next((c for c in calendars if c.is_default), None))
    names = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(is_active=True)}
    for level in levels:
        level.after_text = duration_text(level.after_breach_minutes, default_day)  # type: ignore[attr-defined]
        # Who the level reaches for a case without a team (the shared queue), so the admin sees a person.
        reached, fell_back = escalation_recipients(None, level)
        level.unteamed_names = [names[pk] for pk in reached if pk in names]  # type: ignore[attr-defined]
        level.unteamed_fallback = fell_back  # type: ignore[attr-defined]
    context = {
        "policies": policies,
        "calendars": calendars,
        "levels": levels,
        # Levels that name nobody for some team: their escalations fall back to the administrators.
        "chain_gaps": _visible_gaps(chain_gaps()),
        "active_nav": "sla",
    }
    return render(request, "cases/sla.html", context)


def _visible_gaps(gaps: list[ChainGap]) -> list[ChainGap]:
    """A named-person level that names nobody is one line for every case, not one per team."""
    named = {g.level for g in gaps if g.target == EscalationLevel.Target.NAMED_USER}
    return [g for g in gaps if g.level not in named or g.team is None]


@login_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    policy = get_object_or_404(SLAPolicy, pk=pk) if pk else None
    form = SLAPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("SLA policy saved. It applies to cases opened from now on."))
        return redirect("sla:overview")
    title = policy.name if policy else _("New SLA policy")
    return render(request, "cases/sla_form.html", {"form": form, "title": title, "active_nav": "sla"})


@login_required
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    form = CalendarForm(request.POST or None, instance=calendar)
    upload = HolidayUploadForm()
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            calendar = form.save()
            if form.cleaned_data["make_default"] and not calendar.is_default:
                BusinessCalendar.objects.exclude(pk=calendar.pk).update(is_default=False)
                BusinessCalendar.objects.filter(pk=calendar.pk).update(is_default=True)
        messages.success(request, _("Calendar saved."))
        return redirect("sla:calendar_edit", pk=calendar.pk)
    context = {
        "form": form,
        "calendar": calendar,
        "upload": upload,
        "holidays": _holidays(calendar),
        "active_nav": "sla",
        **_library_context(calendar),
    }
    return render(request, "cases/calendar.html", context)


def _library_context(calendar: BusinessCalendar | None) -> dict[str, Any]:
    return {
        "library_years": coming_years(),
        "library_version": library_version(),
        "years_missing": years_without_holidays(calendar) if calendar else [],
    }


@require_POST
@login_required
def holidays_from_library(request: HttpRequest, pk: int) -> HttpResponse:
    """Add this year's and next year's days from the holidays library; days the calendar has are kept."""
    _require_admin(request)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    try:
        count = load_library_holidays(calendar, coming_years())
    except CalendarError as exc:
        messages.error(request, exc.message)
    else:
        first, second = coming_years()
        messages.success(
            request,
            _(
                "%(count)s days for %(first)s and %(second)s added from the holidays library; days already listed were kept."
            )
            % {"count": count, "first": first, "second": second},
        )
    return redirect(f"{reverse('sla:calendar_edit', args=[calendar.pk])}#holidays")


def _holidays(calendar: BusinessCalendar | None) -> list[Any]:
    if calendar is None:
        return []
    return list(calendar.holidays.filter(date__year__gte=timezone.localdate().year - 1).order_by("date"))


@require_POST
@login_required
def holidays_upload(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    upload = HolidayUploadForm(request.POST, request.FILES)
    errors: list[str] = []
    if upload.is_valid():
        try:
            count = import_holidays(
                calendar,
                upload.content(),
                upload.cleaned_data["fmt"],
                replace_years=upload.cleaned_data["replace_years"],
            )
        except forms.ValidationError as exc:
            errors = list(exc.messages)
        except CalendarError as exc:
            # All or nothing: a list with one bad line changes nothing; every bad line is named.
            errors = [
                str(_("line %(line)s: %(error)s") % {"line": n, "error": e}) for n, e in getattr(exc, "errors", [])
            ]
            errors = errors or [exc.message]
        else:
            messages.success(
                request, _("%(count)s days loaded into %(calendar)s.") % {"count": count, "calendar": calendar}
            )
            return redirect("sla:calendar_edit", pk=calendar.pk)
    context = {
        "form": CalendarForm(instance=calendar),
        "calendar": calendar,
        "upload": upload,
        "upload_errors": errors,
        "holidays": _holidays(calendar),
        "active_nav": "sla",
        **_library_context(calendar),
    }
    # 200, like any form shown again with its errors (a 4xx page would be reported as a failed load).
    return render(request, "cases/calendar.html", context)


@login_required
def level_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    level = get_object_or_404(EscalationLevel, pk=pk) if pk else None
    form = EscalationLevelForm(request.POST or None, instance=level)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Escalation level saved."))
        return redirect("sla:overview")
    title = str(level) if level else _("New escalation level")
    return render(request, "cases/sla_form.html", {"form": form, "title": title, "active_nav": "sla"})


@require_POST
@login_required
def delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_admin(request)
    model = {"policy": SLAPolicy, "level": EscalationLevel, "calendar": BusinessCalendar}.get(kind)
    if model is None:
        return redirect("sla:overview")
    obj = get_object_or_404(model, pk=pk)
    try:
        obj.delete()
    except ProtectedError:
        messages.error(
            request, _("%(name)s is used by cases or policies; deactivate it instead of deleting it.") % {"name": obj}
        )
    else:
        messages.success(request, _("%(name)s deleted.") % {"name": obj})
    return redirect("sla:overview")
