"""voxloop detect_alerts [--date YYYY-MM-DD] [--backfill]"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voxloop.alerts import services


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Early warning: score the last 365 days of roll-ups for unusual rises, store and announce the alerts that "
        "touch the last few days (idempotent: safe to run again or while VoxLoop runs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=_date, help="score as of this day (default: today, in TIME_ZONE)")
        parser.add_argument(
            "--backfill", action="store_true", help="also store the year's older runs (closed, not announced)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        verbose = options["verbosity"] > 0

        def progress(message: str) -> None:
            if verbose:
                self.stderr.write(f"[{time.monotonic() - started:5.1f}s] detect_alerts: {message}")

        run = services.detect(options["date"], backfill=options["backfill"], progress=progress)
        if verbose:
            self.stdout.write(
                f"Scored {run.series} series up to {run.today}: {run.found} anomalous runs in the year; "
                f"{run.created} alerts created, {run.updated} updated, {run.closed} closed, {run.announced} "
                f"announced ({run.emails} emails, {run.webhooks} webhook deliveries) in {run.seconds:.1f}s."
            )
