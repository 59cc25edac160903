"""Reasons other stages record on a case's events read as words on its timeline, in the reader's language."""

import pytest
from django.utils import timezone, translation

from voxloop.cases.models import CaseEvent, EventKind
from voxloop.cases.queries import describe_event


@pytest.mark.parametrize(
    ("kind", "payload", "english", "chinese_code_gone"),
    [
        (EventKind.NOTIFICATION, {"delivery": "not_sent", "to": "customer", "reason": "no_address"}, "no email address",
         "no_address"),
        (EventKind.FOLLOW_UP, {"action": "skipped", "reason": "recently_contacted"},
         "The customer was already followed up recently.", "recently_contacted"),
    ],
)  # fmt: skip
def test_a_recorded_reason_code_is_told_in_words(kind, payload, english, chinese_code_gone):
    event = CaseEvent(kind=kind, payload=payload, created_at=timezone.now())
    with translation.override("en"):
        assert describe_event(event, {}, {}).text == english
    with translation.override("zh-hans"):
        text = describe_event(event, {}, {}).text
    assert text and chinese_code_gone not in text and text != english


def test_an_unknown_reason_is_shown_as_recorded():
    """A failed delivery's reason is the mail server's own message: nothing to translate, nothing hidden."""
    event = CaseEvent(kind=EventKind.NOTIFICATION, created_at=timezone.now(),
                      payload={"delivery": "failed", "to": "customer", "reason": "550 mailbox unavailable"})  # fmt: skip
    assert describe_event(event, {}, {}).text == "550 mailbox unavailable"
