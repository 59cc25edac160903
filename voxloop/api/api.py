"""The REST API (django-ninja). OpenAPI docs at /api/docs. Routers live in voxloop/api/<domain>.py."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import ValidationError

from voxloop.accounts.permissions import PolicyDenied
from voxloop.api import cases, customers, feedback
from voxloop.api.ratelimit import RateLimited
from voxloop.metrics import api as metrics_api

api = NinjaAPI(
    title="VoxLoop API",
    version="1",
    urls_namespace="api",
    description=(
        "Send feedback, customers and orders to VoxLoop, and work on cases. "
        "Authenticate with `Authorization: Bearer <token>`; "
        "tokens are created by an administrator (admin site or `voxloop create_api_token`) with scopes."
    ),
)


def _location(loc: list | tuple) -> str:
    # ["body", "payload", "items", 3, "rating"] -> "items[3].rating": the field as the client named it.
    parts = [p for p in loc if p not in ("body", "payload", "query", "filters", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    message = _("This token sent more than %(limit)s requests in a minute; retry after %(seconds)s seconds.") % {
        "limit": exc.limit,
        "seconds": exc.retry_after,
    }
    response = api.create_response(request, {"detail": message, "retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """422 with pydantic's details plus one readable line per problem, naming the field."""
    errors = []
    for error in exc.errors:
        field = _location(error.get("loc", ()))
        errors.append({**error, "field": field, "message": f"{field or 'body'}: {error.get('msg', '')}"})
    for error in errors:  # values can be anything the client sent; keep the response JSON-safe
        error.pop("ctx", None)
        error.pop("url", None)
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(PolicyDenied)
def policy_denied(request: HttpRequest, exc: PolicyDenied) -> HttpResponse:
    """A service refused the acting user by the permission policy: the same 403 and reason as on the page."""
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=403)


@api.exception_handler(RequestDataTooBig)
def request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    message = f"The request body is larger than {limit_mb} MB (MAX_REQUEST_MB). Send fewer or smaller items."
    return api.create_response(request, {"detail": message, "code": "request_too_large"}, status=413)


api.add_router("", feedback.router)
api.add_router("", customers.router)
api.add_router("", metrics_api.router)
api.add_router("", cases.router)
