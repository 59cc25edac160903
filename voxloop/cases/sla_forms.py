"""Forms of the SLA settings pages: policies, business calendars (working hours as "09:00-12:00, 13:00-18:00"
per weekday), holiday lists and the escalation chain."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.cases.calendar import WEEKDAYS, CalendarError
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.models import BusinessCalendar, EscalationLevel, SLAPolicy

WEEKDAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
    "makeup": _("Make-up working days (调休)"),
}
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–~至到]\s*(\d{1,2}:\d{2})\s*$")


def hours_text(intervals: list[list[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in intervals or [])


def parse_hours_text(text: str, label: Any) -> list[list[str]]:
    """ "09:00-12:00, 13:00-18:00" -> [["09:00", "12:00"], ["13:00", "18:00"]]; empty: a day off."""
    intervals = []
    for part in re.split(r"[,，;；]", text or ""):
        if not part.strip():
            continue
        match = _RANGE.match(part)
        if not match:
            raise forms.ValidationError(
                _("%(day)s: %(part)r is not a time range like 09:00-18:00."),
                params={"day": label, "part": part.strip()},
            )
        intervals.append([match.group(1).zfill(5), match.group(2).zfill(5)])
    return intervals


class SLAPolicyForm(forms.ModelForm):
    class Meta:
        model = SLAPolicy
        fields = [
            "name", "severity", "team", "customer_segment", "calendar", "first_response_minutes",
            "resolution_minutes", "warn_share", "is_active",
        ]  # fmt: skip
        help_texts = {
            "first_response_minutes": _("Business minutes: 480 is one working day of 8 hours."),
            "warn_share": _("A warning is raised when this share of the target has passed, e.g. 0.8."),
            "customer_segment": _("Empty: every segment. The most specific active policy wins."),
        }

    def clean_warn_share(self) -> float:
        value = self.cleaned_data["warn_share"]
        if not 0 < value < 1:
            raise forms.ValidationError(_("Give a share between 0 and 1, e.g. 0.8 for 80%."))
        return value

    def clean(self) -> dict:
        data = super().clean()
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        for name in ("first_response_minutes", "resolution_minutes"):
            if data.get(name) == 0:
                self.add_error(name, _("A target must be at least one minute."))
        if first and resolution and first > resolution:
            self.add_error("resolution_minutes", _("The resolution target cannot be shorter than the first response."))
        return data


class CalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone"]

    # Not a model field here: only one calendar is the default, so the view moves the flag in one transaction.
    make_default = forms.BooleanField(label=_("default calendar"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["make_default"].initial = bool(self.instance.pk and self.instance.is_default)
        hours = (self.instance.working_hours if self.instance.pk else None) or {}
        for day in [*WEEKDAYS, "makeup"]:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=WEEKDAY_LABELS[day], required=False, max_length=200, initial=hours_text(hours.get(day, []))
            )
        self.fields["hours_makeup"].help_text = _("Empty: the hours of the first working weekday.")

    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in [*WEEKDAYS, "makeup"]]

    def clean(self) -> dict:
        data = super().clean()
        spec: dict[str, list[list[str]]] = {}
        for day in [*WEEKDAYS, "makeup"]:
            try:
                intervals = parse_hours_text(data.get(f"hours_{day}", ""), WEEKDAY_LABELS[day])
            except forms.ValidationError as exc:
                self.add_error(f"hours_{day}", exc)
                continue
            if intervals:
                spec[day] = intervals
        if self.errors:
            return data
        try:
            PureCalendar.from_spec(data.get("time_zone", ""), spec)
        except CalendarError as exc:
            field = "time_zone" if exc.code == "bad_time_zone" else None
            self.add_error(field, exc.message)
            return data
        self.instance.working_hours = spec  # only a usable spec reaches the model's own check
        return data


class HolidayUploadForm(forms.Form):
    FORMATS = [("csv", "CSV"), ("json", "JSON")]
    file = forms.FileField(label=_("File"), required=False)
    text = forms.CharField(
        label=_("Or paste the lines"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "2027-01-01,holiday,元旦"}),
    )
    fmt = forms.ChoiceField(label=_("Format"), choices=FORMATS, initial="csv")
    replace_years = forms.BooleanField(
        label=_("Replace the years in the list"),
        required=False,
        initial=True,
        help_text=_("Days of those years that are not in the list stop being holidays."),
    )

    def content(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > 1_000_000:
                raise forms.ValidationError(_("A holiday list is at most 1 MB."))
            raw = upload.read()
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    return raw.decode(encoding)
                except UnicodeDecodeError:
                    continue
            raise forms.ValidationError(_("The file is neither UTF-8 nor GBK text."))
        text = self.cleaned_data.get("text", "")
        if not text.strip():
            raise forms.ValidationError(_("Choose a file or paste the lines."))
        return text


class EscalationLevelForm(forms.ModelForm):
    class Meta:
        model = EscalationLevel
        fields = ["level", "target", "user", "after_breach_minutes"]
