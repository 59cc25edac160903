"""The REST API (django-ninja). OpenAPI docs at /api/docs. Routers live in voxloop/api/<domain>.py."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.params.models import QueryModel

from voxloop.accounts.permissions import PolicyDenied
from voxloop.api import actions, cases, compensations, customers, feedback, metrics, reports
from voxloop.api.language import in_api_language, refuse_nul_in_query
from voxloop.api.ratelimit import RateLimited

ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
# Answers any operation may give besides its own, declared on each so that clients (and schemathesis) know them.
COMMON_ERRORS = {
    400: "The body is not JSON, or a parameter's value is refused (the message says which).",
    401: "No token, or an unknown or revoked one.",
    403: "The token lacks the operation's scope (or its user may not do this).",
    413: "The body is larger than MAX_REQUEST_MB.",
    422: "A field of the wrong type or out of range; `detail` names each one.",
    429: "Over the token's requests per minute; retry after `retry_after` seconds (also the Retry-After header).",
}


def _without_null(parameter: dict[str, Any]) -> None:
    """A query parameter is absent or a string, never null: `anyOf [T, null]` becomes T, so that clients and
    schemathesis do not take an empty value for a null one."""
    schema = parameter.get("schema", {})
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if parameter.get("in") == "query" and len(branches) == 1 and len(schema["anyOf"]) == 2:
        del schema["anyOf"]
        schema.update(branches[0])


class VoxLoopAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(*args, **kwargs)
        for methods in schema["paths"].values():
            for operation in methods.values():
                for parameter in operation.get("parameters", []):
                    _without_null(parameter)
                responses = operation.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    if status == 413 and "requestBody" not in operation:
                        continue
                    if status not in responses and str(status) not in responses:  # ninja's keys are ints
                        responses[status] = {"description": description, "content": ERROR_REF}
        return schema


api = VoxLoopAPI(
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


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's answer, plus a code on a 400 (a parameter refused by a rule the schema cannot state), so that
    clients can tell it from other refusals without reading the message."""
    body: dict[str, Any] = {"detail": exc.message}
    if exc.status_code == 400:
        body["code"] = "invalid_parameter"
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """422 with pydantic's details plus one readable line per problem, naming the field."""
    errors = []
    for error in exc.errors:
        field = _location(error.get("loc", ()))
        inner = (error.get("ctx") or {}).get("field")  # a problem found inside an item names its field itself
        if inner:
            field = f"{field}.{inner}" if field else str(inner)
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


def _query_names(run: Callable[..., HttpResponse]) -> frozenset[str]:
    """The query parameters an operation declares. `run` is the operation's bound `run` method, perhaps
    wrapped by the decorators added before this one (functools.wraps keeps the chain)."""
    operation = getattr(inspect.unwrap(run), "__self__", None)
    if operation is None:  # ninja no longer hands over the bound method: fail loudly rather than refuse all
        raise TypeError("refuse_unknown_query must be the first view decorator added to the API")
    names: set[str] = set()
    for model in getattr(operation, "models", []):
        if issubclass(model, QueryModel):
            flatten = getattr(model, "__ninja_flatten_map__", None)
            names.update(flatten or (field.alias or name for name, field in model.model_fields.items()))
    return frozenset(names)


def refuse_unknown_query(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A query parameter the operation does not declare is a 422 naming it, like an unknown body field: a
    misspelt filter (`?sinse=`) silently ignored would answer with every item instead of the few asked for."""
    known = _query_names(run)

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        unknown = sorted(name for name in request.GET if name not in known)
        if not unknown:
            return run(request, *args, **kwargs)
        if known:
            msg = _("Unknown query parameter; this operation accepts: %(names)s.") % {"names": ", ".join(sorted(known))}
        else:
            msg = _("Unknown query parameter; this operation takes no query parameters.")
        errors = [
            {
                "type": "extra_forbidden",
                "loc": ["query", name],
                "msg": msg,
                "input": request.GET.get(name),
            }
            for name in unknown
        ]
        return validation_error(request, ValidationError(errors))

    return wrapper


# Before validation, so that validation errors are in the answer's language too. The first added wraps the
# operation itself (it reads the operation's parameters) and runs last, inside the answer's language.
api.add_decorator(refuse_unknown_query, mode="view")
api.add_decorator(in_api_language, mode="view")
api.add_decorator(refuse_nul_in_query, mode="view")
api.add_router("", feedback.router)
api.add_router("", customers.router)
api.add_router("", metrics.router)
api.add_router("", cases.router)
api.add_router("", compensations.router)
api.add_router("", actions.router)
api.add_router("", reports.router)
