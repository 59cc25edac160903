"""Celery tasks: thin, id-based, safe to retry (each service claims its rows with conditional updates)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.surveys import invitations, loop


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def send_invitation_task(invitation_id: int) -> str:
    return invitations.send_invitation(invitation_id)


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def sweep_invitations_task() -> dict[str, int]:
    result = invitations.sweep_invitations()
    return {"sent": result.sent, "reminded": result.reminded, "expired": result.expired, "failed": result.failed}


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def close_loop_task(response_id: int, edited: bool = False) -> dict[str, Any]:
    return loop.close_loop(response_id, edited=edited)
