"""The public feedback form: anyone may write to us, without an account."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_noop

from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Channel
from voxloop.feedback.normalize import RowError, nul_fields, without_nul

logger = logging.getLogger(__name__)

FORM_FIELDS = ("text", "rating", "customer_name", "email", "phone", "product_name", "order_ref")
STARS = ("1", "2", "3", "4", "5")  # what the form offers; anything else was not typed into it


def submit_webform(data: dict[str, Any], *, submission_id: str, ip: str, language: str, embedded: bool) -> int | None:
    """Store one submission; a repeated submission id (double click, retry) stores nothing new.
    Returns the feedback id. Raises RowError naming the field when something is wrong."""
    fields = {k: str(data.get(k, "")).strip() for k in FORM_FIELDS}
    if fields["rating"] and fields["rating"] not in STARS:
        raise RowError("invalid_rating", gettext_noop("Choose from 1 to 5 stars."), "rating")
    fields["rating_scale"] = "5" if fields["rating"] else ""
    fields["external_id"] = f"form:{submission_id}" if submission_id else ""
    raw = {**fields, "ip": ip, "language": language, "embedded": embedded}
    # PostgreSQL cannot store NUL characters: they go, and the raw payload says where they were.
    removed = nul_fields(fields)
    if removed:
        fields, raw = without_nul(fields), without_nul(raw)
        raw["_voxloop"] = {"nul_removed_from": removed}
    item = prepare_feedback(
        fields, channel=Channel.WEBFORM, source="webform", generate_external_id="random", raw_payload=raw
    )
    result = ingest_feedback([item])
    return result.created[0] if result.created else result.existing_ids.get(0)


def record_bot_submission(ip: str) -> None:
    # Honeypot hits are bots: nothing is stored, but they are logged so an admin can see the volume.
    logger.info("webform honeypot filled; submission from %s discarded", ip)
