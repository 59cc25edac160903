"""Bearer-token authentication with scopes: `Authorization: Bearer vxl_...`."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from voxloop.accounts.models import User
from voxloop.api.models import ApiToken
from voxloop.api.ratelimit import check_token_rate
from voxloop.api.services import authenticate_token


class TokenRequest(HttpRequest):
    """The request of an endpoint behind ``TokenAuth``: django-ninja puts what ``authenticate`` returned (the token)
    in ``request.auth``. Annotate such an endpoint's request with this to read it typed."""

    auth: ApiToken


class TokenAuth(HttpBearer):
    """Accepts an active token that carries `scope`; a valid token without it gets 403, not 401."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        if not api_token.has_scope(self.scope):
            raise HttpError(403, _("This token lacks the scope “%(scope)s”.") % {"scope": self.scope})
        check_token_rate(api_token.pk)
        return api_token


def acting_user(request: HttpRequest, refusal: str) -> User:
    """The user a token acts for (who created it): routers that work as a person in the product use their
    permissions. A token of no active user is refused with ``refusal``, which names what it cannot do."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    user = token.created_by
    if user is None or not user.is_active:
        raise HttpError(403, refusal)
    return user
