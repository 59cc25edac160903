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


NULL = "null"  # the key of a row whose timestamp is empty (the inbox sorts cases with no due time last)


def encode_cursor(moment: datetime | None, pk: int) -> str:
    stamp = moment.isoformat() if moment is not None else NULL
    return base64.urlsafe_b64encode(f"{stamp}|{pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    """(timestamp or None, pk); raises CursorError for anything encode_cursor did not make."""
    try:
        stamp, pk = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit("|", 1)
        if not pk.isdigit():
            raise ValueError(pk)
        if stamp == NULL:
            return None, int(pk)
        moment = datetime.fromisoformat(stamp)
        offset = moment.utcoffset()
        # A hand-made cursor must not reach the database with what it cannot store (PostgreSQL: ±15:59).
        if offset is None or abs(offset) >= timedelta(hours=16):
            raise ValueError(stamp)
        moment.astimezone(UTC)
        return moment, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise CursorError(cursor) from exc
