"""Keep bearer links out of the logs.

A tracking link (/t/<token>/) or a survey invitation (/s/<token>/) is all a customer needs to read their case or
answer as them: whoever reads the access log must not be able to use it. Every log line that can carry a request
path goes through ``mask_tokens``: gunicorn's access log (``AccessLogMasker``, set by ``voxloop serve``; pass
``--logger-class voxloop.core.logmask.AccessLogMasker`` when running gunicorn yourself) and Django's own loggers
("Not Found: /t/…", the development server) through ``MaskTokensFilter`` on the console handler.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

MASK = "***"
# /t/<token>, /s/<token>, and the public survey links /s/o/<token>, /s/e/<token>; anywhere in a line (a
# request line, a referrer, a full URL).
_TOKEN_PATH = re.compile(r"(/(?:t|s/[oe]|s)/)(?!\*\*\*)[^/?#\s\"']+")


def mask_tokens(text: str) -> str:
    if "/t/" not in text and "/s/" not in text:
        return text
    return _TOKEN_PATH.sub(lambda m: m.group(1) + MASK, text)


class MaskTokensFilter(logging.Filter):
    """A handler filter: rewrites the record's message with the tokens masked (the record is shared, so every
    handler after this one sees the masked text too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is logging's to report, not ours
            return True
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class AccessLogMasker(GunicornLogger):  # type: ignore[misc]  # gunicorn ships no types: its Logger is Any
    """gunicorn's logger with the tokens masked in every access-log atom (request line, path, referrer...)."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        values = super().atoms(resp, req, environ, request_time)
        return {key: mask_tokens(value) if isinstance(value, str) else value for key, value in values.items()}
