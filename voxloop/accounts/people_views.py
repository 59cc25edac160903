"""Users, teams and departments for administrators, in the product (not Django's admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from voxloop.accounts import people
from voxloop.accounts.models import Department, Team, User
from voxloop.accounts.people_forms import DepartmentForm, TeamForm, UserForm
from voxloop.accounts.permissions import Capability, require


def _labels(choices: list[tuple[str, Any]], values: list[str]) -> list[str]:
    names = {code: str(label) for code, label in choices}
    return [names.get(str(v), str(v)) for v in values or []]


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    skills = people.skill_choices()
    users = list(User.objects.prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name"))))
    for user in users:
        user.language_labels = _labels(people.LANGUAGE_CHOICES, user.languages_spoken)  # type: ignore[attr-defined]
        user.skill_labels = _labels(skills, user.skills)  # type: ignore[attr-defined]
    context = {
        "users": users,
        "teams": Team.objects.select_related("department", "lead").prefetch_related("members"),
        "departments": Department.objects.select_related("manager").prefetch_related("teams"),
        "active_nav": "people",
    }
    return render(request, "accounts/people.html", context)


def _edit(request: HttpRequest, form: Any, title: str, kind: str, save: Any) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form)
        except people.PeopleError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("“%(name)s” saved.") % {"name": saved})
            return redirect("people:overview")
    return render(
        request, "accounts/people_form.html", {"form": form, "title": title, "kind": kind, "active_nav": "people"}
    )


@login_required
def user_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    user = get_object_or_404(User, pk=pk) if pk else User()
    form = UserForm(request.POST or None, instance=user)

    def save(form: UserForm) -> User:
        return people.save_user(form.apply(), form.cleaned_data["teams"], password=form.cleaned_data["password"])

    title = user.get_full_name() or user.username if pk else _("New user")
    return _edit(request, form, title, "user", save)


@login_required
def team_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    team = get_object_or_404(Team, pk=pk) if pk else Team()
    form = TeamForm(request.POST or None, instance=team)

    def save(form: TeamForm) -> Team:
        return people.save_team(form.instance, form.cleaned_data["members"])

    return _edit(request, form, team.name if pk else _("New team"), "team", save)


@login_required
def department_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    department = get_object_or_404(Department, pk=pk) if pk else Department()
    form = DepartmentForm(request.POST or None, instance=department)

    def save(form: DepartmentForm) -> Department:
        return people.save_department(form.instance)

    return _edit(request, form, department.name if pk else _("New department"), "department", save)
