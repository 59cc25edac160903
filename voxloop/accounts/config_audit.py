"""The configuration audit: who created, changed or deleted a rule, an SLA policy, a business calendar, an escalation
level, a webhook, a user (role and teams included), a team or a department, when, and what changed (before/after).

Recorded in one place, from model signals, so every way of saving — the settings pages, Django's admin, services,
management commands — leaves an entry in the same transaction as the change. The acting user comes from the
request being served (voxloop.core.middleware.CurrentRequestMiddleware); outside a request (a task, a command)
the entry says "system". Models are named by label, not imported: accounts sits below the apps that own them.
Changes made with QuerySet.update() bypass signals; code that does so calls ``record_config_change`` itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest
from django.utils.translation import gettext

from voxloop.accounts.models import ConfigAction, ConfigChange
from voxloop.core.clientip import client_ip
from voxloop.core.middleware import current_request

# Shown instead of a secret's value: that it changed is evidence, the value itself is not for the log.
SECRET_MARK = "••••••"  # noqa: S105 - a placeholder, not a password
# Never compared: timestamps every save moves, and values the system updates on its own (the last login).
_ALWAYS_IGNORED = frozenset({"created_at", "updated_at"})


_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class Tracked:
    ignored: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()


# Model name -> what to leave out: rules, SLA policies, calendars, escalation chains, webhooks, users (and their
# roles), teams. By model name, not app label, so a model moved to another app stays audited (a test checks that
# every name is found).
TRACKED: dict[str, Tracked] = {
    "automationrule": Tracked(),
    "routingrule": Tracked(),
    "slapolicy": Tracked(),
    "businesscalendar": Tracked(),
    "holiday": Tracked(),
    "escalationlevel": Tracked(),
    # disabled_reason_i18n repeats disabled_reason; created_by is the creation entry's own user.
    "webhookendpoint": Tracked(ignored=frozenset({"disabled_reason_i18n", "created_by"}), secret=frozenset({"secret"})),
    "user": Tracked(ignored=frozenset({"last_login"}), secret=frozenset({"password"})),
    "team": Tracked(),
    "department": Tracked(),
}


def tracked_models() -> list[type[models.Model]]:
    """The installed models named in TRACKED (VoxLoop's own apps only: django.contrib has none of these names)."""
    return [
        model
        for model in apps.get_models()
        if model._meta.model_name in TRACKED and model.__module__.startswith("voxloop.")
    ]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The tracked fields' values as JSON (foreign keys as ids)."""
    spec = TRACKED.get(instance._meta.model_name or "", Tracked())
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.name in _ALWAYS_IGNORED or field.name in spec.ignored:
            continue
        values[field.name] = _jsonable(field.value_from_object(instance))
    return values


def diff(
    before: dict[str, Any] | None, after: dict[str, Any] | None, secret: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """{field: [before, after]} for the fields that differ; a secret's values are replaced by a mark."""
    # A creation or a deletion: its empty fields say nothing.
    creating, deleting = before is None, after is None
    before, after = before or {}, after or {}
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new or ((creating or deleting) and (new if creating else old) in _EMPTY):
            continue
        if name in secret:
            old, new = (SECRET_MARK if old else None), (SECRET_MARK if new else None)
        changes[name] = [old, new]
    return changes


def _describe(instance: models.Model) -> str:
    try:
        return str(instance)[:200]
    except Exception:  # noqa: BLE001 - a __str__ that needs a deleted relation must not stop the save
        return f"#{instance.pk}"


def record_config_change(
    instance: models.Model,
    action: str,
    changes: dict[str, list[Any]],
    *,
    request: HttpRequest | None = None,
) -> ConfigChange | None:
    """Write one configuration audit entry (nothing when nothing changed). The actor is the request's user, or
    "system" outside a request."""
    if not changes and action == ConfigAction.CHANGED:
        return None
    request = request if request is not None else current_request()
    user = getattr(request, "user", None) if request is not None else None
    actor = user if user is not None and user.is_authenticated else None
    return ConfigChange.objects.create(
        user=actor,
        username=actor.get_username() if actor else "",
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=_describe(instance),
        changes=changes,
        path=(request.get_full_path()[:500] if request is not None else ""),
        ip_address=(client_ip(request) or None) if request is not None else None,
    )


# --- signals ---------------------------------------------------------------------------------------------------

_BEFORE = "_config_audit_before"


def _spec(sender: type[models.Model]) -> Tracked | None:
    return TRACKED.get(sender._meta.model_name or "")


def _before_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    if raw or _spec(sender) is None or instance.pk is None:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    setattr(instance, _BEFORE, snapshot(old) if old is not None else None)


def _after_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    spec = _spec(sender)
    if raw or spec is None:
        return
    before = None if created else getattr(instance, _BEFORE, None)
    action = ConfigAction.CREATED if created or before is None else ConfigAction.CHANGED
    record_config_change(instance, action, diff(before, snapshot(instance), spec.secret))
    setattr(instance, _BEFORE, snapshot(instance))  # a second save of the same object diffs from here


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    spec = _spec(sender)
    if spec is None:
        return
    record_config_change(instance, ConfigAction.DELETED, diff(snapshot(instance), None, spec.secret))


def _teams_changed(
    sender: Any, instance: models.Model, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's teams (User.teams, changed from either side): recorded on the user, as lists of team ids."""
    if not action.startswith(("pre_", "post_")):
        return
    store: dict[int, list[int]] = instance.__dict__.setdefault("_config_audit_teams", {})

    def teams_of(user_id: int) -> list[int]:
        return sorted(sender.objects.filter(user_id=user_id).values_list("team_id", flat=True))

    if action.startswith("pre_"):
        if not reverse:
            user_ids = [instance.pk]
        elif action == "pre_clear":
            user_ids = list(sender.objects.filter(team_id=instance.pk).values_list("user_id", flat=True))
        else:
            user_ids = list(pk_set or [])
        for user_id in user_ids:
            store[user_id] = teams_of(user_id)
        return
    user_model = apps.get_model("accounts", "User")
    for user_id, before in list(store.items()):
        after = teams_of(user_id)
        if before != after:
            user = instance if not reverse else user_model.objects.get(pk=user_id)
            record_config_change(user, ConfigAction.CHANGED, {"teams": [before, after]})
    store.clear()


def connect() -> None:
    """Called once from AccountsConfig.ready(): every app's models are loaded by then."""
    for model in tracked_models():
        uid = f"config-audit-{model._meta.label_lower}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
        post_save.connect(_after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)
    user_model = apps.get_model("accounts", "User")
    m2m_changed.connect(_teams_changed, sender=user_model.teams.through, dispatch_uid="config-audit-user-teams")


# --- reading -----------------------------------------------------------------------------------------------------


def tracked_types() -> list[tuple[str, str]]:
    """(label, verbose name) of every tracked model, for the audit page's filter."""
    return [(model._meta.label_lower, str(model._meta.verbose_name)) for model in tracked_models()]


def type_label(label: str) -> str:
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def diff_rows(entry: ConfigChange) -> list[tuple[str, str, str]]:
    """(field's verbose name, before, after) for the page."""
    try:
        meta = apps.get_model(entry.object_type)._meta
    except (LookupError, ValueError):
        meta = None
    rows = []
    for name, pair in (entry.changes or {}).items():
        before, after = (list(pair) + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        label = name
        if meta is not None:
            try:
                label = str(meta.get_field(name).verbose_name)
            except Exception:  # noqa: BLE001 - a field since removed keeps its stored name
                label = name
        rows.append((label, _shown(before), _shown(after)))
    return rows
