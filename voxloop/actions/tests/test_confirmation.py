""" "Is it fixed for you?" answers count toward the verdict: customers told of a fix answer a one-question survey;
enough of them saying "not fixed" overrule an "effective" verdict, enough saying "fixed" confirm it, a few are
shown but not counted; the daily task measures again when new answers arrive; the action page says so."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from voxloop.actions import confirmation, notices, services
from voxloop.actions.models import ActionEvent, ActionStatus, FixNotice
from voxloop.actions.tests.fixtures import answer_notices as _answer
from voxloop.actions.tests.fixtures import told_action
from voxloop.notify import inbox
from voxloop.notify.models import Notification, NotificationKind
from voxloop.surveys import answers as survey_answers

TODAY = date(2026, 6, 1)
CUSTOMERS = 12


@pytest.fixture
def told(db, manager, agent):
    """An action measured effective and closed, whose 12 customers were told with a CSAT "is it fixed?" link."""
    return told_action(manager, agent, TODAY, CUSTOMERS)


def test_customers_saying_not_fixed_overrule_an_effective_verdict(told, client, manager):
    _answer(told, [1, 2, 1, 1, 3, 2, 1, 1, 2, 5])  # ten answers: one fixed, one neither, eight not fixed
    found = confirmation.answers(told)
    assert (found["n"], found["fixed"], found["not_fixed"], found["neither"]) == (10, 1, 8, 1)
    assert found["call"] == "not_fixed" and found["high"] < 0.5

    measurement = services.measure_effect(told, today=TODAY)
    told.refresh_from_db()
    assert measurement.verdict == "inconclusive" and told.latest_verdict == "inconclusive"
    assert measurement.report["improvement"]["low"] > 0  # the time series alone still says effective
    assert "customers_not_fixed" in measurement.report["warnings"]

    client.force_login(manager)
    en = client.get(f"/actions/{told.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-call="not_fixed"' in en
    assert "10 customers told of the fix answered “is it fixed for you?”: 1 say fixed, 8 not fixed" in en
    assert "Most say it is not fixed: this overrules an “effective” verdict." in en
    assert "The time series shows complaints fell by" in en and "None" not in en  # not "too wide to tell"
    assert "say it is not: the verdict cannot be “effective”" in en  # the warning above the chart
    zh = client.get(f"/actions/{told.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "10 位已获告知的客户回答了“问题解决了吗？”：1 位说已解决，8 位说未解决" in zh
    assert "多数人说问题没有解决：“有效”的结论因此不成立。" in zh and "时间序列显示投诉每千条减少了" in zh


def test_customers_saying_fixed_confirm_and_a_few_answers_do_not_move_the_verdict(told, client, manager):
    _answer(told, [5, 1, 2])  # three answers: shown, not counted
    few = services.measure_effect(told, today=TODAY)
    assert few.verdict == "effective" and few.report["confirmation"]["call"] == "too_few"
    client.force_login(manager)
    page = client.get(f"/actions/{told.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-call="too_few"' in page and "Fewer than 10 answers: shown, but not counted" in page

    # the other nine answer "fixed"
    for notice in FixNotice.objects.filter(action=told, invitation__answered_at__isnull=True):
        assert notice.invitation is not None
        survey_answers.submit_response(invitation=notice.invitation, data={"q1": "5"})
    confirmed = services.measure_effect(told, today=TODAY)
    assert confirmed.verdict == "effective"
    assert confirmed.report["confirmation"]["call"] == "fixed"
    assert confirmed.report["confirmation"]["fixed"] == 10 and confirmed.report["confirmation"]["n"] == 12
    page = client.get(f"/actions/{told.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Most say it is fixed: the customers confirm the measurement." in page


def test_the_daily_task_measures_again_and_reopens_a_fix_customers_say_did_not_hold(
    told, agent, django_capture_on_commit_callbacks
):
    assert notices.remeasure_answered(TODAY) == 0  # nobody answered since the last measurement
    assert confirmation.asked_action_ids() == {told.pk}  # a run over many actions reads answers of this one only
    _answer(told, [1] * 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.remeasure_answered(TODAY) == 1
    told.refresh_from_db()
    assert told.latest_verdict == "inconclusive" and told.status == ActionStatus.IN_PROGRESS
    assert told.closed_at is None
    reopened = ActionEvent.objects.get(action=told, kind="reopened")
    assert reopened.payload == {"reason": "customers_not_fixed", "answers": 10, "not_fixed": 10, "fixed": 0}
    note = Notification.objects.get(user=agent, kind=NotificationKind.ACTION_REOPENED)
    with translation.override("en"):
        assert (
            inbox.text(note)
            == "Most customers told of the fix say it is not fixed: your action “换快递公司” is reopened"
        )
    with translation.override("zh-hans"):
        assert inbox.text(note) == "多数已获告知的客户说问题没有解决：您的整改项“换快递公司”已重新打开"
    assert notices.remeasure_answered(TODAY) == 0  # counted once, and no longer closed


def test_a_yes_no_choice_reads_as_fixed_or_not():
    assert confirmation._reading(None, None, {"yes"}) == "fixed"
    assert confirmation._reading(None, None, {"not_fixed"}) == "not_fixed"
    assert confirmation._reading(None, None, set()) is None  # a comment alone says nothing on "fixed"
    assert confirmation._reading(None, 10, set()) == "fixed" and confirmation._reading(None, 7, set()) == "neither"
    assert confirmation._reading(3, 0, set()) == "neither"  # the CSAT question is read first
