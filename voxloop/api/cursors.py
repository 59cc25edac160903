"""Keyset-paging cursors shared by the list endpoints: an opaque token for (a timestamp, a primary key)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from django.utils.translation import gettext as _
from ninja.errors import HttpError


def encode_cursor(moment: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, pk = base64.urlsafe_b64decode(cursor.encode()).decode().rsplit("|", 1)
        return datetime.fromisoformat(stamp), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, _("The cursor is not valid; use next_cursor from the previous page.")) from exc
