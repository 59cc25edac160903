"""The top bar: which pages each role reaches, and under which menu."""

import re

import pytest
from django.test import Client

SETTINGS_MENU = re.compile(r'<details class="navmenu" data-menu="settings">(.*?)</details>', re.S)


def _settings_menu(client: Client, url: str = "/cases/") -> str:
    found = SETTINGS_MENU.search(client.get(url).content.decode())
    return found.group(1) if found else ""


@pytest.mark.django_db
def test_admins_reach_people_checklist_and_sla_from_the_settings_menu(client, admin_user):
    client.force_login(admin_user)
    client.cookies["django_language"] = "en"
    menu = _settings_menu(client)
    for href, label in (("/settings/people/", "Users and teams"), ("/settings/checklist/", "Setup checklist"),
                        ("/settings/rules/sla/", "SLA policies and calendars")):  # fmt: skip
        assert f'href="{href}"' in menu and label in menu
    # the page one is on is marked in its menu
    menu = _settings_menu(client, "/settings/people/")
    assert 'href="/settings/people/" class="active" aria-current="page"' in menu
    assert 'href="/settings/checklist/" class="active"' in _settings_menu(client, "/settings/checklist/")


@pytest.mark.django_db
def test_the_settings_menu_is_in_chinese_for_a_chinese_admin(client, admin_user):
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"
    menu = _settings_menu(client)
    assert "Users and teams" not in menu and "Setup checklist" not in menu
    assert 'href="/settings/people/"' in menu


@pytest.mark.django_db
def test_agents_see_no_admin_pages_in_the_top_bar(client, agent):
    client.force_login(agent)
    page = client.get("/cases/").content.decode()
    assert "/settings/people/" not in page and "/settings/checklist/" not in page
