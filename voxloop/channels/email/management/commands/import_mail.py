"""`voxloop import_mail FILE...`: import .eml and .mbox files, with progress."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from voxloop.channels.email.files import MailImportError, import_mail_file


class Command(BaseCommand):
    help = "Import email files (.eml, .mbox) as feedback (channel 'email')."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help=".eml or .mbox files")
        parser.add_argument("--source", default="", help="source name (default: email:<file name>)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            bar = None if options["no_progress"] else tqdm(desc=path.name, unit="msg", file=self.stderr._out)

            def progress(batch, bar=bar):
                if bar is not None:
                    bar.total = batch.total_rows
                    bar.n = batch.rows_processed
                    bar.refresh()

            try:
                batch = import_mail_file(path, source=options["source"], progress=progress)
            except MailImportError as exc:
                raise CommandError(exc.message) from exc
            finally:
                if bar is not None:
                    bar.close()
            self.stdout.write(
                f"{path.name}: batch #{batch.pk}: {batch.accepted_count} stored, "
                f"{batch.duplicate_count} duplicates skipped, {batch.rejected_count} rejected "
                "(kept with their reasons on the batch page)."
            )
