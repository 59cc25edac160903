"""`voxloop partitions`: the monthly partitions of the case timeline, the audit log and feedback on PostgreSQL.

Lists each partitioned log's months; --ensure creates the coming months (as the daily beat task does);
--drop-before DATE drops the months that ended on or before DATE, whole (--dry-run only counts), with what refers to
their rows as the models' on_delete says (a month of feedback takes its analyses, tags and case links with it).
"""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voxloop.core import partitions


class Command(BaseCommand):
    help = (
        "List, create ahead or drop the monthly partitions of the case timeline, audit log and feedback (PostgreSQL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ensure", action="store_true", help="create this month's and the next months' ones")
        parser.add_argument("--drop-before", metavar="YYYY-MM-DD", help="drop the months that ended by this day")
        parser.add_argument("--table", choices=sorted(partitions.LOGS), action="append",
                            help="only this log (repeatable; default: all)")  # fmt: skip
        parser.add_argument("--dry-run", action="store_true", help="with --drop-before: count, drop nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if not partitions.supported():
            self.stdout.write("Monthly partitions are used on PostgreSQL only; this database has plain tables.")
            return
        tables = options["table"] or sorted(partitions.LOGS)
        if options["ensure"]:
            created = partitions.ensure_ahead()
            self.stdout.write(f"created {len(created)} partition(s)" + (f": {', '.join(created)}" if created else ""))
        if options["drop_before"]:
            try:
                cutoff = date.fromisoformat(options["drop_before"])
            except ValueError as exc:
                raise CommandError("--drop-before takes a date as YYYY-MM-DD") from exc
            verb = "would drop" if options["dry_run"] else "dropped"
            for table in tables:
                for part in partitions.drop_before(table, cutoff, dry_run=options["dry_run"]):
                    self.stdout.write(f"{verb} {part.name} ({part.rows} rows)")
            return
        for table in tables:
            months = partitions.partitions(table)
            if not months:
                self.stdout.write(f"{table}: not partitioned (run voxloop migrate)")
                continue
            self.stdout.write(f"{table}: {len(months)} partitions")
            for part in months:
                month = f"{part.start:%Y-%m}" if part.start else "default"
                self.stdout.write(f"  {month:8} {part.name}  ~{part.rows} rows")
