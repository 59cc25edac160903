"""The list endpoints' keyset cursors: the codec in voxloop.cases.cursors, a bad cursor answered with a 400."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from voxloop.cases.cursors import CursorError, encode_cursor
from voxloop.cases.cursors import decode_cursor as decode_token

__all__ = ["decode_cursor", "encode_cursor", "keyset_page"]


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The API's lists order on timestamps that are never empty, so a cursor without one is not theirs."""
    try:
        moment, pk = decode_token(cursor)
        if moment is None:
            raise CursorError(cursor)
    except CursorError as exc:
        raise HttpError(400, _("The cursor is not valid; use next_cursor from the previous page.")) from exc
    return moment, pk


def keyset_page(qs: QuerySet[Any], cursor: str | None, limit: int, field: str) -> tuple[list[Any], str | None]:
    """One page of model rows, newest first on (``field``, id), and the cursor of the next page (None at the end).

    Keyset pagination rather than offsets: no page skips or repeats a row while others are being added."""
    if cursor:
        stamp, pk = decode_cursor(cursor)
        qs = qs.filter(Q(**{f"{field}__lt": stamp}) | Q(**{field: stamp, "id__lt": pk}))
    rows = list(qs.order_by(f"-{field}", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(getattr(rows[-1], field), rows[-1].pk) if more else None)
