"""Keyset-paging cursors shared by the list endpoints: an opaque token for (a timestamp, a primary key)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext as _
from ninja.errors import HttpError


def encode_cursor(moment: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, pk = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit("|", 1)
        moment = datetime.fromisoformat(stamp)
        offset = moment.utcoffset()
        # A hand-made cursor must not reach the database with what it cannot store (PostgreSQL: ±15:59).
        if offset is None or abs(offset) >= timedelta(hours=16):
            raise ValueError(stamp)
        moment.astimezone(UTC)
        return moment, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise HttpError(400, _("The cursor is not valid; use next_cursor from the previous page.")) from exc
