"""voxloop load_holidays FILE [--calendar NAME]: load public holidays and make-up working days (CSV or JSON)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from voxloop.cases.calendar import CalendarError
from voxloop.cases.holidays import import_holidays
from voxloop.cases.models import BusinessCalendar


class Command(BaseCommand):
    help = "Load holidays and make-up working days (date,kind,name) into a business calendar."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--calendar", help="calendar name (default: the default calendar)")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        query = (
            BusinessCalendar.objects.filter(name=options["calendar"])
            if options["calendar"]
            else (BusinessCalendar.objects.filter(is_default=True))
        )
        calendar = query.first()
        if calendar is None:
            raise CommandError("no such calendar")
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        try:
            count = import_holidays(calendar, path.read_text(encoding="utf-8-sig"), fmt)
        except CalendarError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        self.stdout.write(f"{count} days loaded into {calendar.name}")
