"""`voxloop worker`: a Celery worker for a Redis/RabbitMQ broker (scale out over machines)."""

import os
import sys

from django.core.management.base import BaseCommand

from voxloop.core.management.commands.serve import celery_worker_args


class Command(BaseCommand):
    help = "Run a background task worker (add --beat on exactly one of them for timers)."

    def add_arguments(self, parser):
        parser.add_argument("--beat", action="store_true", help="also run the periodic-task scheduler")
        parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)

    def handle(self, *args, **options):
        args = celery_worker_args(beat=options["beat"], concurrency=options["concurrency"])
        os.execv(sys.executable, args)  # noqa: S606 - replace this process: signals go straight to Celery
