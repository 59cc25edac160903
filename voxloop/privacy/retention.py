"""Retention policies: how long each class of data is kept, applied nightly (tasks.apply_retention_task) or on
demand, with a dry run that only counts. A legal hold on a class stops its removal entirely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from voxloop.accounts.models import AuditAction, AuditLog, User
from voxloop.cases.models import Case, CaseStatus
from voxloop.core import partitions
from voxloop.feedback.models import Feedback, QuarantinedRow
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.privacy.models import DataClass, RetentionPolicy, RetentionRun

# Suggested ages for a new installation (days); nothing is applied until an administrator saves a policy.
DEFAULT_AGES: dict[str, int] = {
    DataClass.RAW_PAYLOADS: 365,
    DataClass.QUARANTINED_ROWS: 90,
    DataClass.CLOSED_CASES: 3 * 365,
    DataClass.OUTGOING_MESSAGES: 365,
    DataClass.AUDIT_LOG: 3 * 365,
}


def _targets(data_class: str, cutoff: datetime) -> QuerySet[Any]:
    """What a policy removes: raw payloads are emptied (the feedback stays), the rest is deleted."""
    if data_class == DataClass.RAW_PAYLOADS:
        return Feedback.objects.filter(received_at__lt=cutoff).exclude(raw_payload={})
    if data_class == DataClass.QUARANTINED_ROWS:
        return QuarantinedRow.objects.filter(created_at__lt=cutoff)
    if data_class == DataClass.CLOSED_CASES:
        return Case.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=cutoff)
    if data_class == DataClass.OUTGOING_MESSAGES:
        return OutgoingMessage.objects.filter(created_at__lt=cutoff).exclude(status=MessageStatus.PENDING)
    if data_class == DataClass.AUDIT_LOG:
        return AuditLog.objects.filter(at__lt=cutoff)
    raise ValueError(f"Unknown data class {data_class!r}.")


def _remove(data_class: str, targets: QuerySet[Any], cutoff: datetime) -> int:
    if data_class == DataClass.RAW_PAYLOADS:
        return targets.update(raw_payload={})
    dropped = 0
    table = targets.model._meta.db_table
    if table in partitions.LOGS and partitions.is_partitioned(table):
        # On PostgreSQL the months that ended before the cutoff go whole (docs/operations.md, "Monthly
        # partitions"); only the rows of the cutoff's own month are deleted one by one.
        dropped = sum(part.rows for part in partitions.drop_before(table, cutoff.astimezone(UTC).date()))
    return dropped + targets.delete()[1].get(targets.model._meta.label, 0)


def apply_policies(*, dry_run: bool, actor: User | None = None, now: datetime | None = None) -> RetentionRun:
    """Apply every active policy (or only count, for a dry run) and keep the report as a RetentionRun."""
    now = now or timezone.now()
    results: dict[str, dict[str, Any]] = {}
    for policy in RetentionPolicy.objects.filter(is_active=True):
        cutoff = now - timedelta(days=policy.age_days)
        targets = _targets(policy.data_class, cutoff)
        entry: dict[str, Any] = {"cutoff": cutoff.isoformat(), "held": policy.legal_hold, "age_days": policy.age_days}
        if policy.legal_hold:
            entry["count"] = 0
            entry["would_remove"] = targets.count()
        elif dry_run:
            entry["count"] = targets.count()
        else:
            with transaction.atomic():
                entry["count"] = _remove(policy.data_class, targets, cutoff)
        results[policy.data_class] = entry
    with transaction.atomic():
        run = RetentionRun.objects.create(at=now, dry_run=dry_run, results=results, started_by=actor)
        removed = sum(r["count"] for r in results.values())
        if not dry_run and removed:
            # The nightly job has no user: its entry names the job. Written after the purge, so a purge of the
            # audit log itself still leaves this trace.
            AuditLog.objects.create(
                user=actor,
                username=actor.get_username() if actor else "retention-job",
                action=AuditAction.PRIVACY_RETENTION_APPLIED,
                object_type=RetentionRun._meta.label_lower,
                object_id=str(run.pk),
            )
    return run


def save_policy(
    data_class: str, *, age_days: int, legal_hold: bool, is_active: bool, actor: User | None
) -> RetentionPolicy:
    if data_class not in DataClass.values:
        raise ValueError(f"Unknown data class {data_class!r}.")
    if age_days < 1:
        raise ValueError("A retention age is at least one day.")
    policy, _created = RetentionPolicy.objects.update_or_create(
        data_class=data_class,
        defaults={"age_days": age_days, "legal_hold": legal_hold, "is_active": is_active, "updated_by": actor},
    )
    return policy


def policy_rows() -> list[dict[str, Any]]:
    """One row per data class for the page: the saved policy, or the suggested age when there is none."""
    saved = {p.data_class: p for p in RetentionPolicy.objects.all()}
    return [
        {"data_class": value, "label": label, "policy": saved.get(value), "default_age": DEFAULT_AGES[value]}
        for value, label in DataClass.choices
    ]
