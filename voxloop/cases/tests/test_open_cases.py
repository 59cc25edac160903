"""open_cases: the batch form of open_case + assign_case that the rules use. Same rows, same timeline, same
checks as one by one, and all or nothing."""

from __future__ import annotations

import pytest

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind, Severity, SLAPolicy
from voxloop.cases.services import CaseError, CaseErrorCode, CaseRequest, assign_case, open_case, open_cases
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.search.models import DocKind, SearchDocument

CLOCKS = ("first_response_due_at", "first_response_warn_at", "resolution_due_at", "resolution_warn_at",
          "sla_next_check_at", "status", "severity", "team_id", "assignee_id", "customer_id", "sla_policy_id")  # fmt: skip


def timeline(case: Case) -> list[tuple[str, dict]]:
    return [(e.kind, e.payload) for e in CaseEvent.objects.filter(case=case).order_by("id")]


def on_topic(feedback_id: int, code: str = "logistics.delay") -> int:
    FeedbackTopic.objects.create(feedback_id=feedback_id, code=code, top_code=code.split(".")[0])
    return feedback_id


def test_a_batch_writes_what_opening_and_assigning_one_by_one_writes(make_feedback, staffed_team, team_agents):
    wang, _zhang = team_agents
    single = open_case([make_feedback(customer_id="A")], Severity.IMPORTANT, team=staffed_team, now=MONDAY_9)
    single = assign_case(single, wang, now=MONDAY_9)
    single.refresh_from_db()

    batch = open_cases(
        [
            CaseRequest([make_feedback(customer_id="B")], Severity.IMPORTANT, team=staffed_team, assignee=wang),
            CaseRequest([make_feedback(customer_id="C")], Severity.URGENT),
        ],
        now=MONDAY_9,
    )

    first, queued = (Case.objects.get(pk=c.pk) for c in batch)
    assert first.number == f"C{first.pk:07d}" and first.created_at == MONDAY_9
    assert {f: getattr(first, f) for f in CLOCKS if f != "customer_id"} == {
        f: getattr(single, f) for f in CLOCKS if f != "customer_id"
    }
    assert first.status == CaseStatus.OPEN and first.assignee == wang
    assert [k for k, _p in timeline(first)] == [k for k, _p in timeline(single)] == ["created", "assigned"]
    assert timeline(first)[1][1] == {"from_user_id": None, "to_user_id": wang.pk}
    created, single_created = timeline(first)[0][1], timeline(single)[0][1]
    assert {k: v for k, v in created.items() if k != "feedback_ids"} == {
        k: v for k, v in single_created.items() if k != "feedback_ids"
    }
    assert queued.status == CaseStatus.NEW and queued.assignee is None and queued.severity == Severity.URGENT
    assert list(CaseFeedback.objects.filter(case=queued).values_list("feedback__customer__external_id", flat=True)) == [
        "C"
    ]
    # Cases written in bulk send no post_save: search still finds them by number.
    assert SearchDocument.objects.filter(kind=DocKind.CASE, object_id__in=[first.pk, queued.pk]).count() == 2


def test_repeats_are_flagged_against_earlier_cases_and_earlier_ones_of_the_batch(make_feedback):
    old = open_case([on_topic(make_feedback(customer_id="R"))], now=MONDAY_9)
    first, second, other_topic = open_cases(
        [
            CaseRequest([on_topic(make_feedback(customer_id="R"))]),
            CaseRequest([on_topic(make_feedback(customer_id="R"))]),
            CaseRequest([on_topic(make_feedback(customer_id="R"), "price.high")]),
        ],
        now=MONDAY_9,
    )

    assert Case.objects.get(pk=first.pk).repeat_of_id == old.pk
    assert Case.objects.get(pk=second.pk).repeat_of_id == first.pk  # the newest earlier case on the topic
    assert Case.objects.get(pk=other_topic.pk).repeat_of_id is None
    repeat = dict(timeline(second))[EventKind.REPEAT]
    assert repeat["repeat_of_case_id"] == first.pk and repeat["topics"] == ["logistics"]
    assert [k for k, _p in timeline(second)] == ["created", "repeat"]


def test_a_batch_with_one_bad_request_writes_nothing(make_feedback, staffed_team, agent):
    SLAPolicy.objects.filter(severity=Severity.URGENT).update(is_active=False)
    fine = CaseRequest([make_feedback(customer_id="X")], Severity.NORMAL)
    with pytest.raises(CaseError) as exc:
        open_cases([fine, CaseRequest([make_feedback(customer_id="Y")], Severity.URGENT)], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.NO_SLA_POLICY
    with pytest.raises(CaseError) as exc:
        open_cases([fine, CaseRequest([make_feedback()], team=staffed_team, assignee=agent)], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.NOT_IN_TEAM  # the agent fixture works in another team
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_feedback_already_in_an_open_case_is_refused(make_feedback):
    taken = make_feedback()
    case = open_case([taken], now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        open_cases([CaseRequest([taken])], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.FEEDBACK_IN_OPEN_CASE
    assert str(case.pk) in exc.value.message
