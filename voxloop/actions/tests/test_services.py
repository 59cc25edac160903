"""The action's life: creation with a frozen baseline, the status machine and who may move it, measured effects,
overdue reminders and escalation, webhooks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from voxloop.accounts.models import Department, Role, User
from voxloop.accounts.permissions import PolicyDenied
from voxloop.actions import outcomes, services
from voxloop.actions.hooks import action_announced
from voxloop.actions.models import ActionEvent, ActionStatus, EffectMeasurement, ImprovementAction
from voxloop.actions.services import ActionError, ActionErrorCode
from voxloop.actions.tests.fixtures import implement, seed_feedback
from voxloop.notify.models import Notification, NotificationKind
from voxloop.webhooks.models import WebhookDelivery, WebhookEndpoint

TODAY = date(2026, 6, 1)


@pytest.fixture
def department(db, manager):
    return Department.objects.create(name="物流部", name_en="Logistics", manager=manager)


@pytest.fixture
def viewer(db):
    return User.objects.create_user(username="vic-viewer", password="x", role=Role.VIEWER)


def make(actor, department, owner, **kw):
    kw.setdefault("title", "换快递公司")
    kw.setdefault("due_date", TODAY + timedelta(days=20))
    kw.setdefault("topics", ["delivery"])
    return services.create_action(actor, department=department, owner=owner, today=TODAY, **kw)


def test_creation_freezes_the_baseline_of_the_scope(analyst, agent, department):
    seed_feedback(
        TODAY - timedelta(days=100), 100, per_day=20, rate_before=0.2, rate_after=0.2, change_on=TODAY, seed=1
    )
    action = make(analyst, department, agent)
    base = action.baseline
    assert base["items"] == 90 * 20  # exactly the 90 days before the day of creation
    rate = base["complaints_per_1000"]
    assert rate["low"] < rate["value"] < rate["high"]
    assert 150 < rate["value"] < 250 and rate["n"] == 1800
    assert action.status == ActionStatus.PROPOSED
    assert ActionEvent.objects.filter(action=action, kind="created").exists()


def test_bad_scope_and_missing_title_are_refused_clearly(analyst, agent, department):
    with pytest.raises(ActionError, match="pigeon") as channel:
        make(analyst, department, agent, channels=["pigeon"])
    assert channel.value.code == ActionErrorCode.INVALID
    with pytest.raises(ActionError) as untitled:
        make(analyst, department, agent, title="  ")
    assert untitled.value.code == ActionErrorCode.INVALID
    assert not ImprovementAction.objects.exists()


def test_the_status_machine_needs_a_plan_to_start_and_a_verdict_to_close(manager, agent, department):
    action = make(manager, department, agent)
    services.approve_action(manager, action)
    with pytest.raises(ActionError) as plan_missing:
        services.start_action(agent, action)
    assert plan_missing.value.code == ActionErrorCode.PLAN_REQUIRED
    services.start_action(agent, action, plan="1. 评估三家快递 2. 切换")
    services.implement_action(agent, action, TODAY - timedelta(days=1))
    assert action.implemented_on == TODAY - timedelta(days=1)
    services.verify_action(agent, action)
    with pytest.raises(ActionError) as no_verdict:
        services.close_action(manager, action, effective=True)
    assert no_verdict.value.code == ActionErrorCode.VERDICT_REQUIRED
    with pytest.raises(ActionError) as wrong:
        services.approve_action(manager, action)
    assert wrong.value.code == ActionErrorCode.WRONG_STATUS
    kinds = list(ActionEvent.objects.filter(action=action).values_list("to_status", flat=True))
    assert kinds == ["proposed", "approved", "in_progress", "implemented", "verifying"]


def test_who_may_move_an_action(analyst, agent, department, viewer, db):
    outsider = User.objects.create_user(username="otto-agent", password="x", role=Role.AGENT)
    action = make(analyst, department, agent)
    with pytest.raises(ActionError):
        services.approve_action(agent, action)  # the owner does not approve their own action
    with pytest.raises(PolicyDenied):
        make(viewer, department, agent)
    services.approve_action(department.manager, action)  # the department's manager does
    with pytest.raises(ActionError) as denied:
        services.start_action(outsider, action, plan="x")
    assert denied.value.code == ActionErrorCode.NOT_ALLOWED
    assert ImprovementAction.objects.get(pk=action.pk).status == ActionStatus.APPROVED  # nothing changed
    with pytest.raises(ActionError) as no_reason:
        services.cancel_action(department.manager, action, "  ")
    assert no_reason.value.code == ActionErrorCode.REASON_REQUIRED
    services.cancel_action(department.manager, action, "重复")
    assert action.status == ActionStatus.CANCELLED and action.comments.get().text == "重复"


def test_scheduled_measurements_find_the_effect_and_allow_closing(
    manager, agent, department, django_capture_on_commit_callbacks
):
    implemented = TODAY - timedelta(days=31)
    seed_feedback(
        implemented - timedelta(days=95),
        126,
        per_day=40,
        rate_before=0.25,
        rate_after=0.12,
        change_on=implemented,
        seed=2,
    )
    action = make(manager, department, agent)
    implement(manager, agent, action, implemented)
    assert services.due_measurements(TODAY) == [(action.pk, 14), (action.pk, 30)]
    assert services.measure_due_effects(TODAY) == 2
    assert services.measure_due_effects(TODAY) == 0  # taken once
    action.refresh_from_db()
    assert action.status == ActionStatus.VERIFYING and action.latest_verdict == "effective"
    at30 = EffectMeasurement.objects.get(action=action, horizon_days=30)
    report = at30.report
    assert report["post_days"] == 30 and report["improvement"]["low"] > 0
    assert len(report["series"]["days"]) == 120 and report["series"]["intervention"] == implemented.isoformat()
    assert report["series"]["counterfactual"][100] > 200  # the old rate carried on: ~250 per 1,000
    services.close_action(manager, action, effective=True)
    assert action.status == ActionStatus.CLOSED_EFFECTIVE


def test_a_fix_that_changed_nothing_is_not_effective(manager, agent, department):
    implemented = TODAY - timedelta(days=61)
    seed_feedback(
        implemented - timedelta(days=95),
        156,
        per_day=60,
        rate_before=0.2,
        rate_after=0.2,
        change_on=implemented,
        seed=3,
    )
    action = make(manager, department, agent, plan="x")
    implement(manager, agent, action, implemented)
    measurement = services.measure_now(agent, action)
    assert measurement.verdict == "not_effective"
    with pytest.raises(ActionError):
        services.close_action(manager, action, effective=True)
    services.close_action(manager, action, effective=False)
    assert action.status == ActionStatus.CLOSED_NOT_EFFECTIVE


def test_too_early_right_after_implementation(manager, agent, department):
    action = make(manager, department, agent, plan="x")
    services.approve_action(manager, action)
    services.start_action(agent, action)
    services.implement_action(agent, action, timezone.localdate() - timedelta(days=5))
    assert services.measure_now(agent, action).verdict == "too_early"
    action.refresh_from_db()
    assert action.status == ActionStatus.IMPLEMENTED  # verification waits for a real measurement


def test_overdue_reminds_the_owner_then_escalates_once(manager, agent, department, django_capture_on_commit_callbacks):
    action = make(manager, department, agent, due_date=TODAY - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.flag_overdue_actions(TODAY) == (1, 0)
        assert services.flag_overdue_actions(TODAY) == (0, 0)
    note = Notification.objects.get(user=agent)
    assert note.kind == NotificationKind.ACTION_OVERDUE and note.values["url"] == f"/actions/{action.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.flag_overdue_actions(TODAY + timedelta(days=5)) == (0, 1)
        assert services.flag_overdue_actions(TODAY + timedelta(days=6)) == (0, 0)
    assert Notification.objects.get(user=manager).kind == NotificationKind.ACTION_ESCALATED


def test_webhooks_receive_action_events(manager, agent, department, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(
        description="erp", url="https://example.com/hook", event_kinds=["action.created", "action.status_changed"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        action = make(manager, department, agent)
        services.approve_action(manager, action)
    kinds = sorted(WebhookDelivery.objects.values_list("event_kind", flat=True))
    assert kinds == ["action.created", "action.status_changed"]
    assert action_announced.handlers  # registered by the webhooks app


def test_a_shared_read_gives_the_same_series_as_the_scope_query(manager, agent, department):
    implemented = TODAY - timedelta(days=40)
    seed_feedback(implemented - timedelta(days=95), 130, per_day=15, rate_before=0.3, rate_after=0.1,
                  change_on=implemented, seed=9)  # fmt: skip
    scope = outcomes.Scope(["delivery"], [], [], "")
    first, last = implemented - timedelta(days=90), TODAY - timedelta(days=1)
    direct = outcomes.outcome_series(scope, first, last)
    cache = outcomes.OutcomeCache(first - timedelta(days=10), last)
    assert cache.serves(scope)
    shared = outcomes.outcome_series(scope, first, last, cache)
    for name in ("complaints", "items", "topic_items", "negatives", "total_items", "total_complaints"):
        assert list(getattr(shared, name)) == list(getattr(direct, name)), name
    assert direct.complaints.sum() > 0


def _same(fast, alone, path: str = "report") -> None:
    """Equal, floats within rounding: the shared read of a run may sum the same counts in another order."""
    if isinstance(alone, dict):
        assert isinstance(fast, dict) and fast.keys() == alone.keys(), path
        for key in alone:
            _same(fast[key], alone[key], f"{path}.{key}")
    elif isinstance(alone, list):
        assert isinstance(fast, list) and len(fast) == len(alone), path
        for i, (f, a) in enumerate(zip(fast, alone, strict=True)):
            _same(f, a, f"{path}[{i}]")
    elif isinstance(alone, float):
        assert fast == pytest.approx(alone, rel=1e-9, abs=1e-9), path
    else:
        assert fast == alone, path


def test_measuring_every_open_action_at_once_matches_measuring_each_alone(manager, agent, department):
    """The daily run reads the data once for all actions; each verdict and number is what the action's own
    "measure now" finds on the same data, whatever the scope's shape."""
    start = TODAY - timedelta(days=220)
    seed_feedback(start, 220, per_day=12, rate_before=0.3, rate_after=0.15, change_on=TODAY - timedelta(days=60),
                  seed=21)  # fmt: skip
    seed_feedback(start, 220, per_day=8, rate_before=0.2, rate_after=0.2, change_on=TODAY, topic="price", seed=22,
                  channel="email")  # fmt: skip
    scopes: list[tuple[dict[str, list[str]], int]] = [
        ({"topics": ["delivery"]}, 60),
        ({"topics": ["delivery"]}, 60),  # the same scope and day as the one before
        ({"topics": ["delivery"]}, 30),
        ({"topics": ["price"]}, 45),
        ({"topics": ["delivery", "price"]}, 60),
        ({"topics": ["delivery"], "channels": ["webform"]}, 50),
        ({"topics": ["price"], "channels": ["webform"]}, 50),  # nothing in scope: no data at all
        ({"topics": []}, 70),
        ({"topics": ["delivery"]}, 10),  # too early
    ]
    actions = []
    for i, (scope, days_ago) in enumerate(scopes):
        action = make(manager, department, agent, title=f"整改 {i}", **scope)
        actions.append(implement(manager, agent, action, TODAY - timedelta(days=days_ago)))

    counts = services.measure_open_effects(TODAY)

    assert sum(counts.values()) == len(actions) and counts.get("effective", 0) >= 1
    for action in actions:
        action.refresh_from_db()
        fast = EffectMeasurement.objects.get(action=action, horizon_days=services.ON_DEMAND).report
        alone = services.compute_effect(action, today=TODAY)
        assert fast["verdict"] == alone["verdict"], action.title
        _same(fast, alone, action.title)
