"""Thin tasks: they take ids, call a service and are safe to run twice (states and deliveries are claimed)."""

from __future__ import annotations

from celery import shared_task

from voxloop.metrics import services as metrics_services
from voxloop.reports import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def generate_report_task(report_id: int) -> str:
    return services.generate_report(report_id).state


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def generate_due_reports_task() -> int:
    """Daily: fold the latest changes into the roll-ups first (the metrics refresh), so a report written just after
    midnight counts the last day of its period in full, then write the reports whose period has ended."""
    metrics_services.catch_up()
    metrics_services.refresh_dirty()
    return len(services.generate_due_reports())


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def deliver_report_task(report_id: int) -> int:
    return services.deliver_report(report_id)
