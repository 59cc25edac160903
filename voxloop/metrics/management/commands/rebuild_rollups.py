"""voxloop rebuild_rollups [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--source cases|responses|feedback]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from voxloop.metrics import services
from voxloop.metrics.models import Source


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Recompute the daily roll-ups the KPI panel reads, day by day (idempotent: safe to run again or while "
        "VoxLoop runs). Without --since, every day that has data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_date, help="first day (YYYY-MM-DD, in TIME_ZONE)")
        parser.add_argument("--until", type=_date, help="last day (default: today)")
        parser.add_argument("--source", choices=Source.values, action="append", help="only this source (repeatable)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = options["since"], options["until"]
        if since and until and until < since:
            raise CommandError(f"--until {until} is before --since {since}")
        sources = options["source"] or list(Source.values)
        show = not options["no_progress"] and options["verbosity"] > 0

        def progress(jobs: Any) -> Any:
            return tqdm(jobs, desc="roll-ups", unit="chunk", disable=not show, file=self.stderr._out)

        days = services.rebuild(sources, since=since, until=until, progress=progress)
        if options["verbosity"] > 0:
            self.stdout.write(f"Recomputed {days} source-days of roll-ups ({', '.join(sources)}).")
