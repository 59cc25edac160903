"""voxloop assign_segments [--no-progress]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from voxloop.insights import segmentation


class Command(BaseCommand):
    help = (
        "Place every customer in a segment (loyal advocate, growth potential, high-risk recovery, at risk, others) "
        "from their value, complaints and recent unhappiness, and store the segments that changed (idempotent: "
        "safe to run again or while VoxLoop runs). The same as the daily task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        show = not options["no_progress"] and options["verbosity"] > 0

        def progress(jobs: Any) -> Any:
            return tqdm(jobs, desc="segments", unit="step", disable=not show, file=self.stderr._out)

        result = segmentation.assign_segments(progress=progress)
        if result.skipped:
            raise CommandError("Another segmentation run is in progress; try again when it has finished.")
        if options["verbosity"] > 0:
            counts = ", ".join(f"{code} {n}" for code, n in result.counts.items())
            self.stdout.write(f"Placed {result.customers} customers ({counts}); {result.changed} changed segment.")
