"""Recording who looked at or exported customers' personal data. Called by every page, export and API
endpoint that shows contact details unmasked; roles that only see masked data leave no entry."""

from __future__ import annotations

from django.db import models
from django.http import HttpRequest

from voxloop.accounts.models import AuditAction, AuditLog, User
from voxloop.core.clientip import client_ip


def _client_ip(request: HttpRequest | None) -> str | None:
    # X-Forwarded-For only from the trusted proxies (TRUSTED_PROXIES): anybody else could write any address there.
    if request is None:
        return None
    return client_ip(request) or None


def record_access(
    user: User,
    obj: models.Model,
    *,
    customer_id: int | None,
    action: str = AuditAction.VIEW_PERSONAL_DATA,
    request: HttpRequest | None = None,
) -> AuditLog | None:
    """Log one access to ``obj``; a view by a role that is shown masked data leaves no entry (returns None).
    Exports are always logged: files carry what the source had, whoever downloads them."""
    if action == AuditAction.VIEW_PERSONAL_DATA and not getattr(user, "may_see_personal_data", False):
        return None
    return AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        customer_id=customer_id,
        path=(request.get_full_path()[:500] if request is not None else ""),
        ip_address=_client_ip(request),
    )
