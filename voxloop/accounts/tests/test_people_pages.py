"""Users, teams and departments edited in the product by administrators: languages and skills chosen from
lists, every change in the configuration audit, the last administrator kept."""

from __future__ import annotations

import pytest
from django.urls import reverse

from voxloop.accounts.models import ConfigAction, ConfigChange, Department, Role, Team, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def user_form(**fields) -> dict:
    data = {"username": "zhao-lei", "first_name": "赵磊", "last_name": "", "email": "zhao@example.com",
            "role": Role.AGENT, "is_active": "on", "working_status": "available", "password": ""}  # fmt: skip
    return {**data, **fields}


def test_an_admin_adds_an_agent_with_languages_skills_and_teams(admin_client, team):
    logistics = Team.objects.create(name="物流组")
    page = admin_client.get(reverse("people:user_new")).content.decode()
    assert 'value="en"' in page and "English" in page  # languages are a list to tick
    assert 'value="logistics"' in page and "Logistics and delivery" in page  # skills are the taxonomy's topics
    response = admin_client.post(
        reverse("people:user_new"),
        user_form(languages_spoken=["zh", "en"], skills=["logistics", "refund"], teams=[team.pk, logistics.pk],
                  password="Lumen-Harbor-42"),
    )  # fmt: skip
    assert response.status_code == 302
    user = User.objects.get(username="zhao-lei")
    assert user.languages_spoken == ["zh", "en"]
    assert user.skills == ["logistics", "refund"]
    assert set(user.teams.all()) == {team, logistics}
    assert user.check_password("Lumen-Harbor-42")
    created = ConfigChange.objects.get(object_type="accounts.user", object_id=str(user.pk), action=ConfigAction.CREATED)
    assert created.username == "alice-admin"
    listing = admin_client.get(reverse("people:overview")).content.decode()
    assert "赵磊" in listing and "Chinese、English" in listing and "Logistics and delivery" in listing


def test_working_status_role_and_teams_changes_are_audited(admin_client, agent, team):
    other = Team.objects.create(name="物流组")
    data = user_form(username=agent.username, role=Role.MANAGER, working_status="away", email="", teams=[other.pk])
    assert admin_client.post(reverse("people:user_edit", args=[agent.pk]), data).status_code == 302
    agent.refresh_from_db()
    assert (agent.role, agent.is_away, list(agent.teams.all())) == (Role.MANAGER, True, [other])
    changes: dict = {}
    for entry in ConfigChange.objects.filter(object_type="accounts.user", object_id=str(agent.pk)).order_by("id"):
        changes.update(entry.changes)
    assert changes["role"] == ["agent", "manager"]
    assert changes["is_away"] == [False, True]
    assert "teams" in changes


def test_a_value_off_the_list_is_refused_with_a_readable_error(admin_client, client, admin_user):
    response = admin_client.post(reverse("people:user_new"), user_form(languages_spoken=["klingon"]))
    assert response.status_code == 200
    assert "Select a valid choice. klingon is not one of the available choices." in response.content.decode()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    page = client.post(reverse("people:user_new"), user_form(password="123")).content.decode()
    assert "密码" in page and not User.objects.filter(username="zhao-lei").exists()


def test_the_last_administrator_cannot_be_demoted(admin_client, admin_user):
    User.objects.filter(pk=admin_user.pk).update(is_superuser=False)
    data = user_form(username=admin_user.username, role=Role.AGENT)
    page = admin_client.post(reverse("people:user_edit", args=[admin_user.pk]), data).content.decode()
    assert "is the last active administrator" in page
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_a_team_with_lead_members_and_department(admin_client, agent, manager):
    department = Department.objects.create(name="物流部", manager=manager)
    data = {"name": "物流组", "name_en": "Logistics", "department": department.pk, "lead": manager.pk,
            "members": [agent.pk]}  # fmt: skip
    assert admin_client.post(reverse("people:team_new"), data).status_code == 302
    team = Team.objects.get(name="物流组")
    assert (team.lead, list(team.members.all())) == (manager, [agent])
    assert ConfigChange.objects.filter(object_type="accounts.team", object_id=str(team.pk)).exists()
    bad = admin_client.post(reverse("people:team_new"), {**data, "lead": 999999}).content.decode()
    assert "Select a valid choice" in bad


def test_a_department_and_its_manager(admin_client, manager):
    data = {"name": "质量管理部", "name_en": "Quality", "manager": manager.pk}
    assert admin_client.post(reverse("people:department_new"), data).status_code == 302
    assert Department.objects.get(name="质量管理部").manager == manager


@pytest.mark.parametrize(("lang", "words"), [("zh-hans", ["用户和团队", "新建用户", "团队负责人"]),
                                        ("en", ["Users and teams", "New user", "Team lead"])])  # fmt: skip
def test_pages_speak_the_users_language(client, admin_user, team, agent, lang, words):
    client.force_login(admin_user)
    pages = [reverse("people:overview"), reverse("people:user_edit", args=[agent.pk]), reverse("people:team_new")]
    text = "".join(client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode() for url in pages)
    for word in words:
        assert word in text


def test_only_administrators(client, manager, agent):
    client.force_login(manager)
    for url in (reverse("people:overview"), reverse("people:user_edit", args=[agent.pk]), reverse("people:team_new")):
        assert client.get(url).status_code == 403
    assert client.post(reverse("people:user_edit", args=[agent.pk]), user_form(role=Role.ADMIN)).status_code == 403
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


@pytest.mark.parametrize(
    ("lang", "shown", "hidden"), [("en", "Returns desk", "退货台"), ("zh-hans", "退货台", "Returns desk")]
)
def test_teams_and_departments_are_listed_in_the_pages_language(client, admin_user, agent, lang, shown, hidden):
    """The team and department choices read in the page's language, as the rest of the page does."""
    department = Department.objects.create(name="退货部", name_en="Returns department")
    Team.objects.create(name="退货台", name_en="Returns desk", department=department)
    client.force_login(admin_user)
    user_page = client.get(reverse("people:user_edit", args=[agent.pk]), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    team_page = client.get(reverse("people:team_new"), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert shown in user_page and hidden not in user_page
    assert ("Returns department" in team_page) == (lang == "en") and ("退货部" in team_page) == (lang != "en")
