"""`voxloop import FILE`: import feedback, customers or orders from CSV, Excel, JSON/JSONL (or .eml/.mbox)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.translation import gettext
from tqdm import tqdm

from voxloop.channels.email.files import import_mail_file
from voxloop.channels.fileimport import services
from voxloop.channels.fileimport.mapping import PRESETS
from voxloop.channels.fileimport.tasks import run_import_task
from voxloop.feedback.history import OPTION as HISTORY
from voxloop.feedback.history import HistoryMode, mode_label
from voxloop.feedback.models import Channel, ImportBatch, ImportKind


def _history_line(mode: str) -> str:
    return gettext(
        "%(choice)s. History is analysed and counted, but opens no case and notifies nobody (--history)."
    ) % {"choice": mode_label(mode)}


class Command(BaseCommand):
    help = "Import a file of feedback, customers or orders; rejected rows are kept with their reason."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV, .xlsx, .json, .jsonl, .eml or .mbox file")
        parser.add_argument("--kind", choices=ImportKind.values, default=ImportKind.FEEDBACK)
        parser.add_argument("--channel", choices=Channel.values, help="the channel the feedback came from")
        parser.add_argument("--source", default="", help="source name; (source, external id) must be unique")
        parser.add_argument("--mapping", default="", help="name of a saved column mapping")
        parser.add_argument("--preset", choices=sorted(PRESETS), help="a preset mapping for a known export")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="map one column explicitly (repeatable)")  # fmt: skip
        parser.add_argument("--encoding", default="", help="force the file's encoding, e.g. gbk, utf-16")
        parser.add_argument("--format", dest="file_format", default="", choices=["", "csv", "xlsx", "json", "jsonl"])
        parser.add_argument("--timezone", default="", help="time zone of times without one (default TIME_ZONE)")
        parser.add_argument("--history", choices=HistoryMode.values, default=HistoryMode.AUTO,
                            help="which rows are history (analysed and counted, but they open no case and notify "
                                 "nobody): auto = received more than HISTORICAL_AFTER_DAYS days before the import "
                                 "(default), all, or none")  # fmt: skip
        parser.add_argument("--save-mapping", default="", help="save the mapping used under this name")
        parser.add_argument("--resume", type=int, help="resume an interrupted import batch by id")
        parser.add_argument("--background", action="store_true", help="queue the import for a worker")

    def handle(self, *args, **options):
        if options["resume"]:
            batch = ImportBatch.objects.filter(pk=options["resume"]).first()
            if batch is None:
                raise CommandError(f"There is no import batch {options['resume']}.")
            return self._run(batch, options)
        if not options["file"]:
            raise CommandError("Give a FILE to import (or --resume BATCH_ID).")
        path = Path(options["file"])
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        if path.suffix.lower() in {".eml", ".mbox"}:
            batch = import_mail_file(path)
            self.stdout.write(self._summary(batch))
            return None
        mapping = {}
        for pair in options["map"]:
            if "=" not in pair:
                raise CommandError(f"--map takes FIELD=COLUMN, not '{pair}'.")
            target, column = pair.split("=", 1)
            mapping[target.strip()] = column.strip()
        try:
            batch = services.create_batch(
                path,
                kind=options["kind"],
                channel=options["channel"] or "",
                source=options["source"],
                mapping=mapping or None,
                mapping_name=options["mapping"],
                preset=options["preset"] or "",
                encoding=options["encoding"],
                file_format=options["file_format"],
                timezone_name=options["timezone"],
                history=options["history"],
            )
        except services.ImportRefused as exc:
            raise CommandError(exc.message) from exc
        if options["save_mapping"]:
            services.save_mapping(options["save_mapping"], kind=batch.kind, columns=batch.mapping,
                                  channel=batch.channel, source=batch.source)  # fmt: skip
        self.stdout.write(f"Batch {batch.pk}: {batch.file_name} ({batch.file_format}, {batch.encoding or '-'})")
        self.stdout.write("Mapping: " + ", ".join(f"{k} <- {v}" for k, v in batch.mapping.items()))
        if batch.kind == ImportKind.FEEDBACK:
            self.stdout.write("History: " + _history_line(batch.options.get(HISTORY, HistoryMode.AUTO)))
        if batch.options.get("unmapped_columns"):
            self.stdout.write("Kept in the raw payload only: " + ", ".join(batch.options["unmapped_columns"]))
        return self._run(batch, options)

    def _run(self, batch, options):
        if options.get("background"):
            run_import_task.delay(batch.pk)
            self.stdout.write(f"Queued. Follow it at {self._url(batch)}")
            return
        bar = tqdm(total=batch.total_rows, initial=batch.rows_processed, unit="rows", desc="import",
                   disable=options.get("verbosity", 1) == 0)  # fmt: skip

        def progress(b):
            bar.update(b.rows_processed - bar.n)

        try:
            batch = services.run_batch(batch.pk, progress=progress)
        except services.BatchBusy as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        self.stdout.write(self._summary(batch))
        if batch.status == "failed":
            raise CommandError(batch.error_message)

    def _url(self, batch):
        return settings.SITE_URL.rstrip("/") + reverse("fileimport:batch", args=[batch.pk])

    def _summary(self, batch):
        return (
            f"{batch.get_status_display()}: {batch.accepted_count:,} accepted, {batch.duplicate_count:,} duplicates "
            f"skipped, {batch.rejected_count:,} rejected (kept with their reasons). Batch {batch.pk}: {self._url(batch)}"
        )
