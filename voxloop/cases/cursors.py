"""Keyset-paging cursors: an opaque, URL-safe token for (a timestamp, a primary key).

The one codec for every keyset-paged list (the API's feedback and case lists, the case inbox). It lives in
cases, the lowest layer that pages with it; a bad token raises CursorError, which the caller turns into its
own answer (the API: a 400; the inbox page: the first page).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta


class CursorError(ValueError):
    """A cursor this codec did not make (edited by hand, cut short, or from another list)."""


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
        raise CursorError(cursor) from exc
