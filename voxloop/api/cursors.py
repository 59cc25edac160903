"""The list endpoints' keyset cursors: the codec in voxloop.cases.cursors, a bad cursor answered with a 400."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from ninja.errors import HttpError

from voxloop.cases.cursors import CursorError, encode_cursor
from voxloop.cases.cursors import decode_cursor as decode_token

__all__ = ["decode_cursor", "encode_cursor"]


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The API's lists order on timestamps that are never empty, so a cursor without one is not theirs."""
    try:
        moment, pk = decode_token(cursor)
        if moment is None:
            raise CursorError(cursor)
    except CursorError as exc:
        raise HttpError(400, _("The cursor is not valid; use next_cursor from the previous page.")) from exc
    return moment, pk
