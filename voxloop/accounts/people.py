"""Users, teams and departments as administrators edit them in the product: the choice lists the forms offer
(languages, skills) and one service function per change, so the guards (the last administrator stays) hold
whichever page saves. Every save is recorded by the configuration audit (voxloop.accounts.config_audit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Department, Role, Team, User

# The languages an agent may list (routing matches the customer's primary language: "zh-hans" -> "zh").
LANGUAGE_CHOICES: list[tuple[str, Any]] = [
    ("zh", _("Chinese")),
    ("en", _("English")),
    ("ja", _("Japanese")),
    ("ko", _("Korean")),
    ("fr", _("French")),
    ("de", _("German")),
    ("es", _("Spanish")),
    ("ru", _("Russian")),
]

# Skills are topic codes (a skill "logistics" covers "logistics.delay"). The topics live in analysis, above
# accounts: analysis registers the provider in its AppConfig.ready (docs/architecture/layers.md, L2).
SkillProvider = Callable[[], list[tuple[str, str]]]
_skill_providers: list[SkillProvider] = []


def register_skill_choices(provider: SkillProvider) -> SkillProvider:
    if provider not in _skill_providers:
        _skill_providers.append(provider)
    return provider


def skill_choices() -> list[tuple[str, str]]:
    return [choice for provider in _skill_providers for choice in provider()]


def with_current(choices: Iterable[tuple[str, Any]], current: Iterable[str]) -> list[tuple[str, Any]]:
    """The choices plus any value already stored that the list no longer offers, so saving keeps it."""
    choices = list(choices)
    known = {code for code, _label in choices}
    return choices + [(str(v), str(v)) for v in current or [] if str(v) not in known]


class PeopleError(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


def _other_active_admins(user: User) -> bool:
    return User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True).exclude(pk=user.pk).exists()


def save_user(user: User, teams: Iterable[Team], *, password: str = "") -> User:
    """Create or change a user (the form has set the fields). The last active administrator cannot lose the
    role or be deactivated: nobody could configure VoxLoop afterwards."""
    if user.pk:
        before = User.objects.get(pk=user.pk)
        was_admin = before.is_active and (before.role == Role.ADMIN or before.is_superuser)
        stays_admin = user.is_active and (user.role == Role.ADMIN or user.is_superuser)
        if was_admin and not stays_admin and not _other_active_admins(user):
            raise PeopleError(_("%(name)s is the last active administrator; make someone else one first.")
                              % {"name": user.username})  # fmt: skip
    with transaction.atomic():
        if password:
            user.set_password(password)
        elif not user.pk:
            user.set_unusable_password()
        user.save()
        user.teams.set(list(teams))
    return user


def save_team(team: Team, members: Iterable[User]) -> Team:
    with transaction.atomic():
        team.save()
        team.members.set(list(members))
    return team


def save_department(department: Department) -> Department:
    department.save()
    return department
