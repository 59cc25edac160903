"""`voxloop load_demo`: realistic demo data (idempotent: a second run adds nothing and reprints the logins)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from voxloop.demo.actions import load_demo_actions
from voxloop.demo.generator import load_demo
from voxloop.demo.loop import simulate_loop
from voxloop.demo.reports import load_demo_reports


class Command(BaseCommand):
    help = "Load demo teams, users, customers with orders, and feedback over the last days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=5000)
        parser.add_argument("--days", type=int, default=180)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=options["items"], unit="items", desc="demo feedback", disable=options["verbosity"] == 0) as bar:
            result = load_demo(items=options["items"], days=options["days"], seed=options["seed"], progress=bar.update)
        self.stdout.write(
            f"Demo data: {result.customers:,} customers, {result.orders:,} orders, "
            f"{result.feedback_created:,} feedback items added ({result.feedback_existing:,} were already there)."
        )
        quiet = options["verbosity"] == 0
        with tqdm(total=result.feedback_created, unit="items", desc="demo cases", disable=quiet) as bar:
            loop = simulate_loop(seed=options["seed"], progress=bar.update)
        if loop.analysed:
            self.stdout.write(
                f"Demo loop: {loop.analysed:,} items analysed, {loop.cases:,} cases worked "
                f"({loop.resolved:,} resolved), {loop.responses:,} survey answers."
            )
        actions = load_demo_actions(seed=options["seed"])
        if actions:
            self.stdout.write(
                f"Demo improvement actions: {actions} (one effective, one not effective, one too early, one verifying)."
            )
        report = load_demo_reports()
        if report is not None:
            self.stdout.write(
                f"Demo report: {report.title} ({report.get_state_display()}, "
                f"{report.deliveries.count()} deliveries in its log)."
            )
        self.stdout.write(
            f"\nVoxLoop is at {settings.SITE_URL} — demo logins (password for all: {result.users[0][1]}):"
        )
        for username, _password, role in result.users:
            self.stdout.write(f"  {username:<10} {role}")
