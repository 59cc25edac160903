"""Cleaning of values as they arrive from any channel: pure functions, no database."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser
from django.utils.translation import gettext_noop

from voxloop.core.messages import LocalizedError

# Control characters break CSV exports and terminals; tabs and newlines are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RowError(LocalizedError):
    """A value we cannot accept; `code` is stable (shown in quarantine), `field` names the column."""

    def __init__(self, code: str, template: str, field: str = "", **params: object):
        super().__init__(code, template, **params)
        self.field = field


def clean_text(value: object, *, max_chars: int, field: str = "text", required: bool = True) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise RowError("empty_text", gettext_noop("The feedback text is empty."), field)
    if len(text) > max_chars:
        raise RowError(
            "text_too_long",
            gettext_noop("The text has %(chars)s characters; the limit is %(limit)s."),
            field,
            chars=f"{len(text):,}",
            limit=f"{max_chars:,}",
        )
    return text


def _nfkc(value: object) -> str:
    text = "" if value is None else str(value)
    # NFKC leaves ASCII as it is; skipping it there matters on million-row imports.
    return (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()


def clean_phone(value: object) -> str:
    raw = _nfkc(value)
    if not raw:
        return ""
    digits = raw if raw.isdigit() else re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        digits = "+" + digits
    elif digits.startswith("0086"):
        digits = "+86" + digits[4:]
    if digits.startswith("+86"):
        digits = digits[3:]  # a mainland number is stored without the country code
    if not 5 <= len(digits.lstrip("+")) <= 20:
        raise RowError("invalid_phone", gettext_noop("'%(value)s' is not a phone number."), "phone", value=raw)
    return digits


def clean_email(value: object) -> str:
    raw = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not raw:
        return ""
    if not _EMAIL.match(raw) or len(raw) > 254:
        raise RowError("invalid_email", gettext_noop("'%(value)s' is not an email address."), "email", value=raw)
    return raw


def _iso_or_none(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


# PostgreSQL keeps UTC offsets up to ±15:59 (and refuses the whole statement beyond); Python accepts up to
# ±23:59. Real zones use -12:00 to +14:00, so anything beyond PostgreSQL's range is a mistake in the data.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59, seconds=59)


def check_utc_offset(value: datetime, field: str = "received_at") -> datetime:
    """Refuse a time whose UTC offset no database keeps (e.g. "+16:00"): RowError, checked before storing.
    Shared by every way a time arrives (file rows here, the API's parameters and bodies)."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        sign = "-" if offset < timedelta(0) else "+"
        minutes = int(abs(offset).total_seconds()) // 60
        raise RowError(
            "invalid_utc_offset",
            gettext_noop("The UTC offset %(offset)s is out of range: it must be between -15:59 and +15:59."),
            field,
            offset=f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        )
    return value


def parse_datetime(value: object, *, default_tz: str, field: str = "received_at", dayfirst: bool = False) -> datetime:
    """Accepts ISO 8601, '2024/3/5 14:02', '2024年3月5日 14:02', Unix seconds or ms, Excel datetimes.
    A time without a zone is read in `default_tz` (the source's zone, e.g. Asia/Shanghai)."""
    tz = ZoneInfo(default_tz)
    parsed: datetime | None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        raw = _nfkc(value)
        if not raw:
            raise RowError("missing_date", gettext_noop("The date is missing."), field)
        parsed = _iso_or_none(raw)
        if parsed is not None:
            pass  # the common ISO case, many times faster than dateutil
        elif re.fullmatch(r"\d{9,13}(\.\d+)?", raw):
            number = float(raw)
            parsed = datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=ZoneInfo("UTC"))
        else:
            text = re.sub(r"(\d+)\s*年\s*(\d+)\s*月\s*(\d+)\s*[日号]?", r"\1-\2-\3 ", raw)
            text = text.replace("时", ":").replace("点", ":").replace("分", "").replace("秒", "")
            text = text.replace("上午", "AM ").replace("下午", "PM ")
            try:
                parsed = date_parser.parse(text, dayfirst=dayfirst)
            except (ValueError, OverflowError) as exc:
                raise RowError(
                    "invalid_date", gettext_noop("'%(value)s' is not a date we can read."), field, value=raw
                ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    check_utc_offset(parsed, field)
    if not 1990 <= parsed.year <= 2100:
        raise RowError(
            "invalid_date", gettext_noop("The date %(date)s is out of range."), field, date=f"{parsed:%Y-%m-%d}"
        )
    return parsed


def parse_rating(value: object, field: str = "rating") -> Decimal | None:
    if value.__class__ is str and field == "rating":
        return _parse_rating_text(value)  # a file brings the same few ratings a million times
    return _parse_rating(value, field)


@functools.lru_cache(maxsize=1024)
def _parse_rating_text(value: str) -> Decimal | None:
    return _parse_rating(value, "rating")


def _parse_rating(value: object, field: str) -> Decimal | None:
    raw = _nfkc(value)
    if not raw:
        return None
    raw = raw.replace("星", "").replace("分", "").replace("stars", "").replace("star", "").strip()
    if raw.count("★") and not raw.strip("★☆"):
        return Decimal(raw.count("★"))
    try:
        rating = Decimal(raw)
    except InvalidOperation as exc:
        raise RowError("invalid_rating", gettext_noop("'%(value)s' is not a rating."), field, value=raw) from exc
    if not rating.is_finite() or rating < 0 or rating > 100:
        raise RowError(
            "invalid_rating", gettext_noop("The rating %(value)s is out of range (0-100)."), field, value=raw
        )
    return rating.quantize(Decimal("0.01"))


def without_nul(value: Any) -> Any:
    """NUL characters removed from every string: PostgreSQL can store them neither in text nor in jsonb."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def nul_fields(value: Any, path: str = "") -> list[str]:
    """The fields (keys or values) of an item that hold NUL characters."""
    if isinstance(value, str):
        return [path or "item"] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found += [name.replace("\x00", "")] if "\x00" in str(key) else nul_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_fields(item, f"{path}[{index}]")
    return found
