"""The assign form's list: the case team's active agents by name, an away agent marked, others not offered."""

from __future__ import annotations

from voxloop.accounts.models import User
from voxloop.cases.forms import AssignForm
from voxloop.cases.models import Case


def test_the_assignee_list_names_the_team_and_marks_who_is_away(team_case: Case, team_agents: tuple[User, User]):
    wang, zhang = team_agents
    zhang.first_name, zhang.is_away = "小张", True
    zhang.save(update_fields=["first_name", "is_away"])
    User.objects.create_user("outsider-agent", password="x", role="agent")
    select = str(AssignForm(case=team_case)["assignee"])
    assert f'<option value="{wang.pk}">wang-agent</option>' in select
    assert f'<option value="{zhang.pk}">小张 · away</option>' in select
    assert "outsider-agent" not in select
