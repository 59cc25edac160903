"""Stages hand over by registration: ingest announces stored items, analysis announces analysed ones."""

from __future__ import annotations

from voxloop.analysis.dispatch import queue_analysis
from voxloop.analysis.services import feedback_analysed
from voxloop.automation.services import apply_rules_after_analysis
from voxloop.core.hooks import Hook
from voxloop.feedback.hooks import feedback_stored


def test_each_stage_is_subscribed_by_the_next_one():
    assert queue_analysis in feedback_stored.handlers
    assert apply_rules_after_analysis in feedback_analysed.handlers


def test_a_hook_calls_its_handlers_in_order_once_each():
    hook: Hook[list[int]] = Hook("test")
    calls: list[tuple[str, list[int]]] = []

    def first(ids: list[int]) -> None:
        calls.append(("first", ids))

    def second(ids: list[int]) -> None:
        calls.append(("second", ids))

    hook.register(first)
    hook.register(second)
    hook.register(first)  # an AppConfig.ready that runs twice must not double the work
    hook.announce([1, 2])
    hook.unregister(first)
    hook.announce([3])
    assert calls == [("first", [1, 2]), ("second", [1, 2]), ("second", [3])]
