"""Cleaning of values as they arrive from any channel: pure functions, no database."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser

# Control characters break CSV exports and terminals; tabs and newlines are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RowError(ValueError):
    """A value we cannot accept; `code` is stable (shown in quarantine), `field` names the column."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


def clean_text(value: object, *, max_chars: int, field: str = "text", required: bool = True) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise RowError("empty_text", "The feedback text is empty.", field)
    if len(text) > max_chars:
        raise RowError("text_too_long", f"The text has {len(text):,} characters; the limit is {max_chars:,}.", field)
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
        raise RowError("invalid_phone", f"'{raw}' is not a phone number.", "phone")
    return digits


def clean_email(value: object) -> str:
    raw = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not raw:
        return ""
    if not _EMAIL.match(raw) or len(raw) > 254:
        raise RowError("invalid_email", f"'{raw}' is not an email address.", "email")
    return raw


def _iso_or_none(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_datetime(value: object, *, default_tz: str, field: str = "received_at", dayfirst: bool = False) -> datetime:
    """Accepts ISO 8601, '2024/3/5 14:02', '2024年3月5日 14:02', Unix seconds or ms, Excel datetimes.
    A time without a zone is read in `default_tz` (the source's zone, e.g. Asia/Shanghai)."""
    tz = ZoneInfo(default_tz)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        raw = _nfkc(value)
        if not raw:
            raise RowError("missing_date", "The date is missing.", field)
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
                raise RowError("invalid_date", f"'{raw}' is not a date we can read.", field) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if not 1990 <= parsed.year <= 2100:
        raise RowError("invalid_date", f"The date {parsed:%Y-%m-%d} is out of range.", field)
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
        raise RowError("invalid_rating", f"'{raw}' is not a rating.", field) from exc
    if not rating.is_finite() or rating < 0 or rating > 100:
        raise RowError("invalid_rating", f"The rating {raw} is out of range (0-100).", field)
    return rating.quantize(Decimal("0.01"))
