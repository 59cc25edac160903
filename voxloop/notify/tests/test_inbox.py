"""In-app notifications: each kind reaches the right colleague and nobody else, escalations always reach a person,
@mentions, the bell's count, the list page (mark read, mark all read) and the email preference."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.cases import outbox
from voxloop.cases.events import record_event
from voxloop.cases.models import Case, Compensation, EscalationLevel, EventKind, Severity
from voxloop.cases.services import add_reply, assign_case, escalate_case, open_case, take_case
from voxloop.cases.sla import chain_gaps, sweep_sla
from voxloop.cases.tests.conftest import MONDAY_9, sh
from voxloop.notify import inbox
from voxloop.notify.checks import check_escalation_chain
from voxloop.notify.models import Notification, NotificationKind, OutgoingMessage
from voxloop.notify.services import send_due_messages


def deliver() -> None:
    outbox.process_case_events()
    send_due_messages()


def kinds(user: User) -> list[str]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


@pytest.fixture
def people(staffed_team, team_agents) -> dict[str, User]:
    wang, zhang = team_agents
    admin = User.objects.create_user("root", password="x", role=Role.ADMIN)
    return {
        "wang": wang,
        "zhang": zhang,
        "lead": staffed_team.lead,
        "manager": staffed_team.department.manager,
        "exec": EscalationLevel.objects.get(level=3).user,
        "admin": admin,
    }


@pytest.fixture
def case(make_feedback, staffed_team) -> Case:
    return open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)


def test_assignment_notifies_the_new_assignee_only(case, people):
    assign_case(case, people["wang"], actor=people["manager"], now=MONDAY_9)
    deliver()
    [note] = Notification.objects.all()
    assert (note.user, note.kind, note.case_id) == (people["wang"], NotificationKind.ASSIGNED, case.pk)
    with translation.override("en"):
        assert inbox.text(note) == f"mei-manager assigned case {case.number} to you"
    with translation.override("zh-hans"):
        assert "分配给你" in inbox.text(note)


def test_taking_a_case_yourself_notifies_nobody(case, people):
    take_case(case, people["wang"], now=MONDAY_9)
    deliver()
    assert not Notification.objects.exists()


def test_customer_message_reaches_the_assignee(case, people):
    assign_case(case, people["wang"], now=MONDAY_9)
    deliver()
    Notification.objects.all().delete()
    record_event(case, EventKind.CUSTOMER_MESSAGE, None, timezone.now(), text="还没到")
    deliver()
    assert kinds(people["wang"]) == [NotificationKind.CUSTOMER_REPLIED]
    assert Notification.objects.count() == 1


def test_sla_warning_breach_and_escalation(case, people):
    assign_case(case, people["wang"], now=MONDAY_9)
    deliver()
    Notification.objects.all().delete()
    sweep_sla(now=sh(2026, 11, 23, 9, 50))
    deliver()
    assert kinds(people["wang"]) == [NotificationKind.SLA_WARNING]
    sweep_sla(now=sh(2026, 11, 23, 10, 1))
    deliver()
    assert kinds(people["wang"]) == [NotificationKind.SLA_BREACH, NotificationKind.SLA_WARNING]
    assert kinds(people["lead"]) == [NotificationKind.ESCALATION, NotificationKind.SLA_BREACH]
    assert kinds(people["zhang"]) == [] and kinds(people["admin"]) == [] and kinds(people["manager"]) == []


def test_escalation_with_no_team_lead_reaches_the_admins(make_feedback, people):
    leaderless = Team.objects.create(name="无组长组")
    case = open_case([make_feedback()], team=leaderless, now=MONDAY_9)
    escalate_case(case, people["wang"], reason="超出权限")
    deliver()
    [note] = Notification.objects.filter(kind=NotificationKind.ESCALATION)
    assert note.user == people["admin"]
    with translation.override("en"):
        assert "names nobody for its team" in inbox.text(note)
    assert case.events.get(kind=EventKind.ESCALATED).payload["to_user_ids"] == [people["admin"].pk]


def test_escalation_of_a_case_without_a_team_reaches_the_managers(make_feedback, people):
    """A team-less case waits in the shared queue: level 1 (team lead) reaches the managers, level 2 (department
    manager) the departments' manager; nobody falls to the administrators."""
    case = open_case([make_feedback()], now=MONDAY_9)
    assert case.team_id is None
    escalate_case(case, people["wang"])
    escalate_case(case, people["wang"])
    deliver()
    first, second = case.events.filter(kind=EventKind.ESCALATED).order_by("id")
    assert first.payload["to_user_ids"] == [people["manager"].pk, people["exec"].pk]
    assert second.payload["to_user_ids"] == [people["manager"].pk]
    assert not first.payload["fallback_to_admins"] and not second.payload["fallback_to_admins"]
    assert kinds(people["manager"]) == [NotificationKind.ESCALATION, NotificationKind.ESCALATION]
    assert kinds(people["exec"]) == [NotificationKind.ESCALATION] and kinds(people["admin"]) == []


def test_a_case_without_a_team_reaches_the_admins_only_when_no_manager_is_left(make_feedback, people):
    User.objects.filter(role=Role.MANAGER).update(is_active=False)  # the department's manager among them
    case = open_case([make_feedback()], now=MONDAY_9)
    escalate_case(case, people["wang"])
    assert case.events.get(kind=EventKind.ESCALATED).payload["to_user_ids"] == [people["admin"].pk]
    assert {(g.level, g.team) for g in chain_gaps()} >= {(1, None), (2, None)}


def test_escalation_to_an_inactive_manager_reaches_the_admins(make_feedback, people, staffed_team):
    people["manager"].is_active = False
    people["manager"].save()
    case = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    escalate_case(case, people["wang"])
    escalate_case(case, people["wang"])  # level 2: the department manager, who left
    deliver()
    assert [n.user for n in Notification.objects.filter(kind=NotificationKind.ESCALATION).order_by("id")] == [
        people["lead"],
        people["admin"],
    ]


def test_approval_needed_reaches_the_manager(case, people):
    comp = Compensation.objects.create(case=case, amount=Decimal("800"), reason="破损", requested_by=people["wang"])
    record_event(case, EventKind.COMPENSATION, people["wang"], timezone.now(), action="proposed", status="pending",
                 amount="800.00", currency="CNY", compensation_id=comp.pk)  # fmt: skip
    deliver()
    [note] = Notification.objects.all()
    assert (note.user, note.kind) == (people["manager"], NotificationKind.APPROVAL_NEEDED)
    with translation.override("en"):
        assert "800.00 CNY" in inbox.text(note)


def test_mentions_in_an_internal_note(case, people):
    add_reply(
        case, people["wang"], "@zhang-agent 请看一下，抄送 @Li-Lead. 不是 wang@corp.example @nobody", public=False
    )
    deliver()
    assert kinds(people["zhang"]) == [NotificationKind.MENTION]
    assert kinds(people["lead"]) == [NotificationKind.MENTION]
    assert kinds(people["wang"]) == []  # the author, and the email address is no mention
    outsider = User.objects.create_user("chen-other", password="x", role=Role.AGENT)
    outsider.teams.add(Team.objects.create(name="别的组"))
    add_reply(case, people["wang"], "@chen-other 你看不到这个工单", public=False)
    deliver()
    assert kinds(outsider) == []  # may not open the case: no notification leading to a refused page
    add_reply(case, people["wang"], "@zhang-agent 公开回复不算提及", public=True)
    deliver()
    assert Notification.objects.filter(kind=NotificationKind.MENTION).count() == 2


def test_mention_parsing():
    text = "@wang 看下, (@li.na). mail li@example.com, @@x, @zhang-agent: ok; @王伟"
    assert inbox.mentioned_usernames(text) == ["wang", "li.na", "zhang-agent", "王伟"]
    assert inbox.mentioned_usernames("@Wang @wang") == ["Wang"]
    assert inbox.mentioned_usernames("") == []


def test_handling_an_event_twice_notifies_once(case, people):
    assign_case(case, people["wang"], actor=people["manager"], now=MONDAY_9)
    event = case.events.get(kind=EventKind.ASSIGNED)
    inbox.handle_case_event(event)
    inbox.handle_case_event(event)
    assert Notification.objects.count() == 1


def test_email_is_optional_per_user(case, people):
    for user in User.objects.all():
        user.email = f"{user.username}@corp.example"
        user.save(update_fields=["email"])
    inbox.set_email_preference(people["lead"], False)
    escalate_case(case, people["wang"])
    deliver()
    assert kinds(people["lead"]) == [NotificationKind.ESCALATION]
    assert not OutgoingMessage.objects.filter(to_user=people["lead"]).exists()
    assert mail.outbox == []
    inbox.set_email_preference(people["lead"], True)
    escalate_case(case, people["wang"])  # level 2: the manager still gets email
    deliver()
    assert [m.to for m in mail.outbox] == [["mei-manager@corp.example"]]


def test_bell_count_list_mark_read_and_mark_all(client, case, people, make_feedback, staffed_team):
    other = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    assign_case(case, people["wang"], actor=people["manager"], now=MONDAY_9)
    assign_case(other, people["wang"], actor=people["manager"], now=MONDAY_9)
    assign_case(other, people["zhang"], actor=people["manager"], now=MONDAY_9)
    deliver()
    client.force_login(people["wang"])
    page = client.get(reverse("cases:inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="bell"' in page and 'hx-trigger="load, every 30s"' in page  # the page asks for the count at once
    bell = client.get(reverse("notify:bell")).content.decode()
    assert 'class="bell-count">2<' in bell and 'hx-trigger="every 30s"' in bell
    listing = client.get(reverse("notify:list")).content.decode()
    assert listing.count('class="notify-item unread"') == 2
    first = Notification.objects.filter(user=people["wang"]).first()
    assert first is not None
    theirs = Notification.objects.get(user=people["zhang"])
    client.post(reverse("notify:mark_read", args=[first.pk]))
    client.post(reverse("notify:mark_read", args=[theirs.pk]))  # someone else's: ignored
    assert inbox.unread_count(people["wang"]) == 1
    assert inbox.unread_count(people["zhang"]) == 1
    client.post(reverse("notify:mark_all_read"))
    assert inbox.unread_count(people["wang"]) == 0
    assert 'class="bell-count"' not in client.get(reverse("notify:bell")).content.decode()
    assert inbox.unread_count(people["zhang"]) == 1
    assert client.get(reverse("notify:list") + "?show=all").content.decode().count('class="notify-item"') == 2


def test_the_list_is_translated(client, case, people):
    assign_case(case, people["wang"], actor=people["manager"], now=MONDAY_9)
    deliver()
    client.force_login(people["wang"])
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("notify:list")).content.decode()
    assert "通知" in page and "标为已读" in page


def test_chain_gaps_on_the_sla_page_and_at_start_up(client, make_feedback, people, staffed_team):
    assert check_escalation_chain() == []  # the staffed team names someone at every level
    Team.objects.create(name="无组长组", department=Department.objects.create(name="无经理部"))
    gaps = {(g.level, g.team.name if g.team else None) for g in chain_gaps()}
    assert {(1, "无组长组"), (2, "无组长组")} <= gaps
    assert not {(1, None), (2, None)} & gaps  # cases without a team reach the managers
    [warning] = check_escalation_chain()
    assert "无组长组" in warning.msg and warning.id == "notify.W001"
    client.force_login(people["admin"])
    page = client.get(reverse("sla:overview"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="chain-gaps"' in page and "无组长组" in page
    # the chain table names who each level reaches for cases without a team
    rows = page.split('id="escalation-levels"', 1)[1].split("</table>", 1)[0]
    # Each cell carries its column name for the phone layout (data-label); the names are what the admin reads.
    cells = re.findall(r'<td class="unteamed"[^>]*>(.*?)</td>', rows)
    assert cells.count("mei-manager, zhao-exec") == 1  # level 1: the managers
    assert cells.count("mei-manager") == 1  # level 2: the department's manager
    assert "Reaches for cases without a team" in page
    call_command("check")  # a warning, not an error: start-up goes on
