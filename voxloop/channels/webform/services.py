"""The public feedback form: anyone may write to us, without an account."""

from __future__ import annotations

import logging
from typing import Any

from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Channel

logger = logging.getLogger(__name__)

FORM_FIELDS = ("text", "rating", "customer_name", "email", "phone", "product_name", "order_ref")


def submit_webform(data: dict[str, Any], *, submission_id: str, ip: str, language: str, embedded: bool) -> int | None:
    """Store one submission; a repeated submission id (double click, retry) stores nothing new.
    Returns the feedback id. Raises RowError naming the field when something is wrong."""
    fields = {k: str(data.get(k, "")).strip() for k in FORM_FIELDS}
    fields["external_id"] = f"form:{submission_id}" if submission_id else ""
    raw = {**fields, "ip": ip, "language": language, "embedded": embedded}
    item = prepare_feedback(
        fields, channel=Channel.WEBFORM, source="webform", generate_external_id="random", raw_payload=raw
    )
    result = ingest_feedback([item])
    return result.created[0] if result.created else result.existing_ids.get(0)


def record_bot_submission(ip: str) -> None:
    # Honeypot hits are bots: nothing is stored, but they are logged so an admin can see the volume.
    logger.info("webform honeypot filled; submission from %s discarded", ip)
