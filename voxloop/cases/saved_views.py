"""A user's own saved filters of the case inbox: the one place that writes SavedView rows."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext

from voxloop.accounts.models import User
from voxloop.cases.models import SavedView
from voxloop.cases.queries import CaseInboxFilters

MAX_VIEWS_PER_USER = 20
MAX_NAME_LENGTH = 60


class SavedViewError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def filters_of(view: SavedView) -> CaseInboxFilters:
    return CaseInboxFilters.from_params(QueryDict(view.query))


def views_of(user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user, list_name=SavedView.ListName.CASES).order_by("name", "id"))


def save_view(user: User, name: str, filters: CaseInboxFilters) -> SavedView:
    """Save (or overwrite, by name) the user's view of the inbox with these filters."""
    name = " ".join(name.split())
    if not name:
        raise SavedViewError(gettext("Give the view a name."))
    if len(name) > MAX_NAME_LENGTH:
        raise SavedViewError(gettext("A view name may have at most %(n)s characters.") % {"n": MAX_NAME_LENGTH})
    if filters.errors:
        raise SavedViewError(gettext("Correct the filter before saving it: %(error)s") % {"error": filters.errors[0]})
    existing = SavedView.objects.filter(user=user, list_name=SavedView.ListName.CASES, name=name).first()
    if existing is None and SavedView.objects.filter(user=user).count() >= MAX_VIEWS_PER_USER:
        raise SavedViewError(
            gettext("You already have %(n)s saved views; delete one first.") % {"n": MAX_VIEWS_PER_USER}
        )
    query = filters.query_string()
    if existing is not None:
        existing.query = query
        existing.save(update_fields=["query"])
        return existing
    return SavedView.objects.create(user=user, list_name=SavedView.ListName.CASES, name=name, query=query)


def delete_view(user: User, pk: int) -> bool:
    """Delete one of the user's own views; another user's view is never touched."""
    deleted, _ = SavedView.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)
