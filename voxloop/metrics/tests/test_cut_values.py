"""Metric cuts by team or agent are chosen from lists by name; a value that names nothing is an error in words,
not a panel of zeros."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


def test_the_value_list_names_teams_agents_and_codes(analyst_client, people):
    page = analyst_client.get(reverse("metrics:panel"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<option value="{people["other_team"].pk}" >Logistics</option>' in page
    assert f'<option value="{people["replier"].pk}" >Li</option>' in page
    assert '<option value="hotline" >Hotline</option>' in page or 'value="hotline"' in page
    assert 'name="value" size="12"' not in page  # no more typing an id
    zh = analyst_client.get(reverse("metrics:panel"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'<option value="{people["other_team"].pk}" >物流组</option>' in zh


@pytest.mark.parametrize(("cut", "value"), [("team", "999999"), ("agent", "abc"), ("channel", "fax"),
                                            ("topic", "nosuch.topic")])  # fmt: skip
def test_an_unknown_value_is_an_error_not_zeros(analyst_client, people, cut, value):
    for url in (reverse("metrics:panel"), reverse("metrics:drill_cases")):
        response = analyst_client.get(url, {"cut": cut, "value": value, "kpi": "cases_opened"},
                                      HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
        assert response.status_code == 400
        assert f"“{value}” is not a known value of" in response.content.decode()
    zh = analyst_client.get(reverse("metrics:panel"), {"cut": cut, "value": value}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert f"“{value}”不是" in zh.content.decode()


def test_a_known_team_cut_works(analyst_client, people):
    response = analyst_client.get(reverse("metrics:panel"), {"cut": "team", "value": people["team"].pk})
    assert response.status_code == 200
