"""`voxloop find_emerging_topics`: cluster the feedback the taxonomy covers poorly (see analysis/emerging.py)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from voxloop.analysis import emerging

STEPS = {"load": "loading uncovered feedback", "cluster": "clustering", "save": "saving clusters", "done": "done"}


class Command(BaseCommand):
    help = (
        "Cluster recent feedback with no topic (or only low-confidence ones) into candidate new topics; "
        "the result shows on /insights/emerging/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=emerging.DEFAULT_DAYS, help="window in days (default 90)")
        parser.add_argument(
            "--threshold", type=float, default=emerging.DEFAULT_THRESHOLD,
            help="an item counts as uncovered when its best topic confidence is below this (default 0.6)",
        )  # fmt: skip
        parser.add_argument(
            "--max-items", type=int, default=emerging.DEFAULT_MAX_ITEMS, help="newest items at most (default 50000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=3, unit="step", desc="emerging topics") as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.set_postfix_str(STEPS.get(step, step))
                bar.update(done - bar.n)

            try:
                run = emerging.find_emerging_topics(
                    days=options["days"], threshold=options["threshold"], max_items=options["max_items"],
                    progress=progress,
                )  # fmt: skip
            except emerging.EmergingError as exc:
                raise CommandError(str(exc)) from None
        if run.status == run.Status.FAILED:
            raise CommandError(f"Run #{run.pk} failed: {run.error}")
        clusters = list(run.clusters.all())
        self.stdout.write(
            f"Run #{run.pk}: {run.item_count:,} uncovered items in the last {run.days} days, {len(clusters)} clusters."
        )
        for c in clusters:
            growth = "new" if c.growth is None else f"x{c.growth:.2f}"
            self.stdout.write(f"  {c.label + 1:>2}. {c.size:>6,} items  growth {growth:>6}  {' '.join(c.keywords[:6])}")
