"""`Idempotency-Key` on the write endpoints, as Stripe and Zendesk have it.

The first request with a key runs and its answer is kept for 24 hours; the same token sending the same key with
the same request again gets that answer replayed (`Idempotent-Replayed: true`) and nothing runs twice. The same
key with another request is a 422; a repeat while the first is still running is a 409. Answers that depend on
the moment rather than on the request (401, 403, 409, 429, 5xx) are not kept, so a retry runs again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from voxloop.api.language import api_language
from voxloop.api.models import ApiToken, IdempotentRequest
from voxloop.api.services import authenticate_token

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
# A first request still "running" after this long died with its process: a retry may take its key over.
ABANDONED_AFTER = timedelta(minutes=10)
NOT_KEPT = frozenset({401, 403, 409, 429})
MAX_KEY_LENGTH = 255

OPENAPI_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        "Any unique string (e.g. a UUID) for this write. Sent again with the same request within 24 hours, the "
        "first answer is replayed and nothing is stored twice; with a different request it is a 422."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
}


# For the operations' `openapi_extra`.
IDEMPOTENCY = {"parameters": [OPENAPI_PARAMETER]}


def _problem(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code, "field": HEADER}, status=status)


def _token(request: HttpRequest) -> ApiToken | None:
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    return authenticate_token(raw.strip()) if scheme.lower() == "bearer" else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _claim(token: ApiToken, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """The record of this key, and whether this request is the one to run (a new key, or an abandoned one)."""
    now = timezone.now()
    # Expired keys go first, the token's own and everyone's: the table holds one day of keyed writes.
    IdempotentRequest.objects.filter(created_at__lt=now - KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(token=token, key=key, fingerprint=fingerprint, created_at=now), True
    except IntegrityError:
        pass  # the key is known: the first request's record decides
    record = IdempotentRequest.objects.get(token=token, key=key)
    if record.status_code is None and record.created_at < now - ABANDONED_AFTER and record.fingerprint == fingerprint:
        taken = IdempotentRequest.objects.filter(pk=record.pk, created_at=record.created_at).update(created_at=now)
        return record, bool(taken)
    return record, False


def idempotent(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an operation (ninja's `decorate_view`): honour an Idempotency-Key header when one is sent."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return run(request, *args, **kwargs)
        token = _token(request)
        if token is None:
            return run(request, *args, **kwargs)  # answers 401 as usual; nothing to key on
        with translation.override(api_language(request)):
            if not 1 <= len(key) <= MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in key):
                return _problem(
                    422,
                    "invalid_idempotency_key",
                    _("The Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID."),
                )
            fingerprint = _fingerprint(request)
            record, mine = _claim(token, key, fingerprint)
            if not mine:
                if record.fingerprint != fingerprint:
                    return _problem(
                        422,
                        "idempotency_key_reused",
                        _(
                            "This Idempotency-Key was used in the last 24 hours for a different request. "
                            "Use a new key for a new request."
                        ),
                    )
                if record.status_code is None:
                    response: HttpResponse = _problem(
                        409,
                        "idempotency_key_in_use",
                        _("A request with this Idempotency-Key is still running; retry in a moment."),
                    )
                    response["Retry-After"] = "1"
                    return response
                replay = HttpResponse(
                    bytes(record.response_body), status=record.status_code, content_type=record.content_type
                )
                replay["Idempotent-Replayed"] = "true"
                return replay
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            IdempotentRequest.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            IdempotentRequest.objects.filter(pk=record.pk).delete()
        else:
            IdempotentRequest.objects.filter(pk=record.pk).update(
                status_code=response.status_code,
                response_body=response.content,
                content_type=response.get("Content-Type", "application/json"),
            )
        return response

    return wrapper
