"""Feedback written by staff on a customer's behalf (in person, phone notes, sales reports)."""

from __future__ import annotations

from typing import Any

from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Channel, Feedback

STAFF_CHANNELS = (Channel.IN_PERSON, Channel.HOTLINE, Channel.STAFF, Channel.CHAT, Channel.EMAIL, Channel.SOCIAL)


def record_staff_feedback(data: dict[str, Any], *, user: Any) -> Feedback:
    """Store what a customer told a member of staff. Raises RowError naming the field on bad input."""
    item = prepare_feedback(
        data,
        channel=data.get("channel") or Channel.STAFF,
        source=f"staff:{user.pk}",
        generate_external_id="random",
        raw_payload={**data, "entered_by": user.get_username()},
    )
    result = ingest_feedback([item], created_by_id=user.pk)
    return Feedback.objects.get(pk=result.created[0])
