"""voxloop load_holidays [FILE] [--library [--year Y ...]] [--calendar NAME]: load public holidays and make-up
working days into a business calendar, from a CSV/JSON list or from the holidays library."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voxloop.cases.calendar import CalendarError
from voxloop.cases.holidays import coming_years, import_holidays, library_version, load_library_holidays
from voxloop.cases.models import BusinessCalendar


class Command(BaseCommand):
    help = "Load holidays and make-up working days (date,kind,name, or --library) into a business calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?")
        parser.add_argument("--calendar", help="calendar name (default: the default calendar)")
        parser.add_argument(
            "--library", action="store_true", help="from the holidays library (days already there are kept)"
        )
        parser.add_argument("--year", type=int, action="append", help="with --library (default: this and next)")

    def handle(self, *args: Any, **options: Any) -> None:
        query = (
            BusinessCalendar.objects.filter(name=options["calendar"])
            if options["calendar"]
            else (BusinessCalendar.objects.filter(is_default=True))
        )
        calendar = query.first()
        if calendar is None:
            raise CommandError("no such calendar")
        if options["library"]:
            if options["file"]:
                raise CommandError("give a FILE or --library, not both")
            years = options["year"] or coming_years()
            if any(not 1900 < y < 2200 for y in years):
                raise CommandError("a year is between 1901 and 2199")
            try:
                count = load_library_holidays(calendar, years)
            except CalendarError as exc:
                raise CommandError(exc.message) from None
            years_text = ", ".join(str(y) for y in years)
            self.stdout.write(
                f"{count} days for {years_text} added to {calendar.name} (holidays library {library_version()})"
            )
            return
        if not options["file"]:
            raise CommandError("give a FILE or --library")
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        try:
            count = import_holidays(calendar, path.read_text(encoding="utf-8-sig"), fmt)
        except CalendarError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        self.stdout.write(f"{count} days loaded into {calendar.name}")
