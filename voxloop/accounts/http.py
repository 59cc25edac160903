"""The request type of a view behind ``login_required``."""

from __future__ import annotations

from voxloop.accounts.models import User
from voxloop.core.http import HtmxHttpRequest


class AuthenticatedRequest(HtmxHttpRequest):
    """``request.user`` is a User, never the anonymous one: annotate a ``login_required`` view's request with this
    (django-stubs' recommended form) instead of casting the user in every view."""

    user: User
