"""`voxloop reanalyze`: recompute stored analysis, e.g. after `voxloop retrain` switched models."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from voxloop.analysis import jobs
from voxloop.analysis.dispatch import queue_analysis


class Command(BaseCommand):
    help = "Re-analyse feedback whose stored analysis comes from another model version (or all with --all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="re-analyse every item, whatever its version")
        parser.add_argument(
            "--background", action="store_true", help="queue Celery tasks instead of working in this process"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["background"]:
            ids, _version = jobs.reanalyze_ids(all_items=options["all"])
            jobs.mark_pending(ids)
            queue_analysis(ids)
            self.stdout.write(f"Queued {len(ids):,} items for re-analysis.")
            return
        with tqdm(unit="items", desc="reanalyze") as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = jobs.run_reanalyze(all_items=options["all"], progress=progress)
        self.stdout.write(f"Re-analysed {result['count']:,} items with model {result['version']}.")
