"""`voxloop worker`: Celery consumers for a Redis/RabbitMQ broker (scale out over machines).

Without --queues it starts one consumer per queue (urgent, default, bulk, refine) and watches them; with one queue
it becomes that consumer (the process is replaced, so signals go straight to Celery).
"""

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voxloop.core.queues import QUEUES
from voxloop.core.workers import QueueNameError, consumers, parse_queues, supervise


class Command(BaseCommand):
    help = "Run background task workers, one per queue (add --beat on exactly one machine for timers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--beat", action="store_true", help="also run the periodic-task scheduler")
        parser.add_argument(
            "--queues",
            default=",".join(QUEUES),
            help=f"comma-separated queues to consume, one consumer each (default: {','.join(QUEUES)})",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="processes per queue (default: urgent 2, default = CPU count, bulk = half the CPUs)",
        )
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            queues = parse_queues(options["queues"])
        except QueueNameError as exc:
            raise CommandError(str(exc)) from exc
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        commands = consumers(
            queues, beat=options["beat"], concurrency=options["concurrency"], loglevel=options["loglevel"]
        )
        if len(commands) == 1:
            os.execv(sys.executable, commands[0])  # noqa: S606 - replace this process: signals go straight to Celery
        self.stdout.write(
            f"Starting one worker per queue: {', '.join(queues)}" + (" (with the scheduler)" if options["beat"] else "")
        )
        failed = supervise([subprocess.Popen(command) for command in commands])
        if failed:
            raise SystemExit(f"stopped because a worker exited: {failed}")
