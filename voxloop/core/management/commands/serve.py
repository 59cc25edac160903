"""`voxloop serve`: the production web server, plus (embedded default) a Celery worker with beat.

With the embedded broker (`CELERY_BROKER_URL=filesystem://`, the default) nothing else needs to be
installed or started: imports, analysis and mailbox polling run in the worker started here. With a
Redis/RabbitMQ broker only the web server runs; start workers with `voxloop worker`.
"""

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from voxloop.core.queues import QUEUES
from voxloop.core.security import INSECURE_KEY_MESSAGE, insecure_secret_key
from voxloop.core.workers import consumers, supervise


class Command(BaseCommand):
    help = "Serve VoxLoop (gunicorn) and, with the embedded broker, run background tasks too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("VOXLOOP_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("VOXLOOP_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="do not start the embedded task worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if insecure_secret_key():
            raise CommandError(INSECURE_KEY_MESSAGE)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "voxloop.settings")}
        web = [sys.executable, "-m", "gunicorn", "voxloop.wsgi:application", "--bind",
               f"{options['host']}:{options['port']}", "--workers", str(options["workers"]),
               "--access-logfile", "-", "--timeout", "120", "--graceful-timeout", "10",
               # Tracking and survey links are bearer tokens: masked in the access log.
               "--logger-class", "voxloop.core.logmask.AccessLogMasker"]  # fmt: skip
        children = [subprocess.Popen(web, env=env)]
        if settings.EMBEDDED_BROKER and not options["no_worker"]:
            # One small consumer per queue (urgent with the scheduler, default, bulk, refine), each running one task at a
            # time in its own process: a long import never holds the SLA sweep. Warnings only: the web server's
            # access log is what a person running `serve` watches.
            for worker in consumers(QUEUES, beat=True, concurrency=1, loglevel="WARNING", solo=True):
                children.append(subprocess.Popen(worker, env=env))
            self.stdout.write(
                "Background tasks: embedded workers (urgent, default, bulk, refine) and scheduler started"
                " (no broker to install)."
            )
        elif not settings.EMBEDDED_BROKER:
            self.stdout.write("Background tasks: run `voxloop worker --beat` next to this server (broker configured).")
        self.stdout.write(f"VoxLoop is serving at http://{options['host']}:{options['port']}/ (Ctrl-C to stop)")

        failed = supervise(children)
        if failed:
            raise SystemExit(f"stopped because a child process exited: {failed}")
