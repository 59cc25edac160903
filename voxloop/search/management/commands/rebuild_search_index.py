from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from voxloop.search import services
from voxloop.search.models import DocKind


class Command(BaseCommand):
    help = "Build the search index again from the stored feedback, customers, cases and case messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind", action="append", choices=DocKind.values, help="only this kind (repeatable); default: all"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = options["kind"] or DocKind.values
        bars: dict[str, tqdm] = {}
        quiet = options["verbosity"] == 0

        def progress(kind: str, done: int, total: int) -> None:
            if quiet:
                return
            bar = bars.get(kind)
            if bar is None:
                bar = bars[kind] = tqdm(total=total, desc=kind, unit="rows", file=self.stderr._out)
            bar.update(done - bar.n)

        counts = services.rebuild(kinds, progress)
        for bar in bars.values():
            bar.close()
        summary = ", ".join(f"{kind}: {count}" for kind, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt ({summary})."))
