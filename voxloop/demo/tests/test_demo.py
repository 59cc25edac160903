import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent, CaseStatus
from voxloop.feedback.models import Channel, Customer, Feedback, Order
from voxloop.surveys.models import Response

pytestmark = pytest.mark.django_db


def test_demo_data_is_varied_realistic_and_idempotent(capsys):
    call_command("load_demo", "--items", "400", verbosity=0)
    out = capsys.readouterr().out
    assert "admin" in out and "voxloop-demo" in out
    items = Feedback.objects.filter(source__startswith="demo:")
    assert items.count() == 400
    assert set(items.values_list("channel", flat=True)) == set(Channel.values)
    texts = list(items.values_list("text", flat=True))
    assert len(set(texts)) > 300  # varied, not a handful of repeated sentences
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts) > 300  # mostly Chinese
    assert any(t.isascii() for t in texts)  # some English
    assert any(ch in "".join(texts) for ch in "購買運費這還")  # some Traditional Chinese
    oldest = items.order_by("received_at").first().received_at
    assert timezone.now() - oldest > timedelta(days=150)
    assert Customer.objects.count() >= 1000 and Order.objects.count() >= 1000
    assert items.filter(customer__isnull=False, order__isnull=False).exists()
    assert User.objects.filter(username__in=["admin", "manager", "agent", "analyst"]).count() == 4
    # The loop has history: cases worked to every state, clocks breached, surveys answered, comments as feedback.
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {CaseStatus.CLOSED, CaseStatus.NEW} <= statuses
    assert Case.objects.filter(first_responded_at__isnull=False).count() > 50
    assert Case.objects.filter(first_response_breached=True).exists()
    assert Case.objects.order_by("created_at").first().created_at < timezone.now() - timedelta(days=100)
    assert (
        Response.objects.filter(csat__isnull=False).count() > 20 and Response.objects.filter(nps__isnull=False).exists()
    )
    assert Feedback.objects.filter(channel="survey").exists()
    assert not CaseEvent.objects.filter(processed=False).exists()  # history sends no email at start
    counts = (Feedback.objects.count(), Customer.objects.count(), Case.objects.count(), Response.objects.count())
    call_command("load_demo", "--items", "400", verbosity=0)
    assert (
        Feedback.objects.count(),
        Customer.objects.count(),
        Case.objects.count(),
        Response.objects.count(),
    ) == counts


def test_demo_items_are_the_same_whenever_the_demo_is_loaded(monkeypatch):
    """A second `load_demo` must find the same items (ids and channels), even across midnight: otherwise it
    adds new ones instead of recognising the old."""
    from datetime import UTC, datetime

    from voxloop.demo import generator

    def items_at(moment: datetime) -> list[tuple[str, str]]:
        monkeypatch.setattr(generator.timezone, "now", lambda: moment)
        rng = random.Random(42)
        customers = [generator._person(rng, i) for i in range(1, 51)]
        return [(f["external_id"], f["channel"]) for f in generator.generate_feedback(rng, 300, 180, customers, [])]

    before_midnight = items_at(datetime(2026, 11, 24, 23, 58, tzinfo=UTC))
    assert items_at(datetime(2026, 11, 25, 0, 3, tzinfo=UTC)) == before_midnight
    assert items_at(datetime(2026, 11, 28, 15, 0, tzinfo=UTC)) == before_midnight
