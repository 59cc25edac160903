"""Forms of the SLA settings pages: policies, business calendars (working hours as "09:00-12:00, 13:00-18:00"
per weekday), holiday lists and the escalation chain."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

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


DEFAULT_DAY_MINUTES = 8 * 60
UNIT_MINUTES = {"minutes": 1, "hours": 60}  # "days": one working day of the calendar, see working_day_minutes
UNIT_CHOICES = [
    ("hours", pgettext_lazy("duration unit", "working hours")),
    ("days", pgettext_lazy("duration unit", "working days")),
    ("minutes", pgettext_lazy("duration unit", "working minutes")),
]


def working_day_minutes(calendar: BusinessCalendar | None) -> int:
    """The length of one working day of a calendar: its first weekday with hours (8 hours when unknown)."""
    hours = (calendar.working_hours if calendar else None) or {}
    for day in WEEKDAYS:
        intervals = hours.get(day) or []
        if intervals:
            total = 0
            for start, end in intervals:
                (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
                total += (h2 * 60 + m2) - (h1 * 60 + m1)
            if total > 0:
                return total
    return DEFAULT_DAY_MINUTES


def split_duration(minutes: int, day_minutes: int) -> tuple[Decimal, str]:
    """Minutes -> (amount, unit) in the largest unit that holds them exactly: 2400 -> (5, "days") at 8 h a day."""
    if minutes and minutes % day_minutes == 0:
        return Decimal(minutes // day_minutes), "days"
    if minutes % 60 == 0:
        return Decimal(minutes // 60), "hours"
    return Decimal(minutes), "minutes"


def duration_text(minutes: int, day_minutes: int) -> str:
    """How a target reads on the SLA page: "8 working hours", "5 working days (8 h each)", "90 working minutes"."""
    amount, unit = split_duration(minutes, day_minutes)
    n = int(amount)
    if unit == "days":
        return ngettext("%(n)s working day (%(h)s h each)", "%(n)s working days (%(h)s h each)", n) % {
            "n": n, "h": format(Decimal(day_minutes) / 60, "f").rstrip("0").rstrip("."),
        }  # fmt: skip
    if unit == "hours":
        return ngettext("%(n)s working hour", "%(n)s working hours", n) % {"n": n}
    return ngettext("%(n)s working minute", "%(n)s working minutes", n) % {"n": n}


class DurationWidget(forms.MultiWidget):
    def __init__(self) -> None:
        super().__init__([forms.NumberInput(attrs={"min": "0", "step": "any", "style": "max-width:8rem"}),
                          forms.Select(choices=UNIT_CHOICES)])  # fmt: skip

    def decompress(self, value: Any) -> list[Any]:
        return list(value) if value else [None, "hours"]


class DurationField(forms.MultiValueField):
    """An amount and a unit (working minutes, hours or days), e.g. (Decimal("1.5"), "hours")."""

    widget = DurationWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = (
            forms.DecimalField(min_value=0, max_digits=9, decimal_places=2),
            forms.ChoiceField(choices=UNIT_CHOICES),
        )
        super().__init__(fields=fields, require_all_fields=True, **kwargs)

    def compress(self, data_list: list[Any]) -> tuple[Decimal, str] | None:
        return (data_list[0], data_list[1]) if data_list else None


def to_minutes(value: tuple[Decimal, str], day_minutes: int) -> int:
    amount, unit = value
    factor = day_minutes if unit == "days" else UNIT_MINUTES[unit]
    return int((amount * factor).to_integral_value())


DURATION_HELP = _(
    "Counted in the calendar's working hours: nights, weekends and holidays do not count (a calendar open round "
    "the clock counts every hour). A working day is one day of the calendar's hours."
)


class SLAPolicyForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
    first_response = DurationField(label=_("First response target"), help_text=DURATION_HELP)
    resolution = DurationField(label=_("Resolution target"), help_text=DURATION_HELP)

    class Meta:
        model = SLAPolicy
        fields = ["name", "severity", "team", "customer_segment", "calendar", "warn_share", "is_active"]
        help_texts = {
            "warn_share": _("A warning is raised when this share of the target has passed, e.g. 0.8."),
            "customer_segment": _("Empty: every segment. The most specific active policy wins."),
        }

    field_order = ["name", "severity", "team", "customer_segment", "calendar", "first_response", "resolution"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            day = working_day_minutes(self.instance.calendar)
            self.initial.setdefault("first_response", split_duration(self.instance.first_response_minutes, day))
            self.initial.setdefault("resolution", split_duration(self.instance.resolution_minutes, day))

    def clean_warn_share(self) -> float:
        value: float = self.cleaned_data["warn_share"]
        if not 0 < value < 1:
            raise forms.ValidationError(_("Give a share between 0 and 1, e.g. 0.8 for 80%."))
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # the dict ModelForm.clean returns (its stub says it may be None)
        day = working_day_minutes(data.get("calendar"))
        minutes = {name: to_minutes(data[name], day) for name in ("first_response", "resolution") if data.get(name)}
        for name, value in minutes.items():
            if value < 1:
                self.add_error(name, _("A target must be at least one minute."))
        first, resolution = minutes.get("first_response"), minutes.get("resolution")
        if first and resolution and first > resolution:
            self.add_error("resolution", _("The resolution target cannot be shorter than the first response."))
        if not self.errors:
            self.instance.first_response_minutes, self.instance.resolution_minutes = first, resolution
        return data


class CalendarForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
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

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # the dict ModelForm.clean returns (its stub says it may be None)
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
            raw: bytes = upload.read()
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    return raw.decode(encoding)
                except UnicodeDecodeError:
                    continue
            raise forms.ValidationError(_("The file is neither UTF-8 nor GBK text."))
        text: str = self.cleaned_data.get("text", "")
        if not text.strip():
            raise forms.ValidationError(_("Choose a file or paste the lines."))
        return text


class EscalationLevelForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
    after_breach = DurationField(
        label=_("After the breach"),
        help_text=_("Working time after the case's first breach, in the default calendar's working hours; 0: at once."),
    )

    class Meta:
        model = EscalationLevel
        fields = ["level", "target", "user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.day_minutes = working_day_minutes(BusinessCalendar.objects.filter(is_default=True).first())
        if self.instance.pk:
            self.initial.setdefault(
                "after_breach", split_duration(self.instance.after_breach_minutes, self.day_minutes)
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # the dict ModelForm.clean returns (its stub says it may be None)
        if data.get("after_breach"):
            self.instance.after_breach_minutes = to_minutes(data["after_breach"], self.day_minutes)
        return data
