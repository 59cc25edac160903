import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from voxloop.accounts.models import User
from voxloop.cases.models import ACTIVE_STATUSES, CannedReply, Case, CaseEvent, CaseFeedback, CaseStatus, Holiday
from voxloop.cases.sla import chain_gaps
from voxloop.feedback.models import Channel, Customer, Feedback, Order
from voxloop.metrics.queries import kpi_panel, make_period
from voxloop.notify.models import OutgoingMessage
from voxloop.surveys.models import Response

pytestmark = pytest.mark.django_db
DEMO = ["admin", "manager", "agent", "agent2", "agent3", "analyst"]


@pytest.mark.slow
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
    oldest = items.order_by("received_at").first()
    assert oldest is not None and timezone.now() - oldest.received_at > timedelta(days=150)
    assert Customer.objects.count() >= 1000 and Order.objects.count() >= 1000
    assert items.filter(customer__isnull=False, order__isnull=False).exists()
    assert User.objects.filter(username__in=["admin", "manager", "agent", "analyst"]).count() == 4
    # The loop has history: cases worked to every state, clocks breached, surveys answered, comments as feedback.
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {CaseStatus.CLOSED, CaseStatus.NEW} <= statuses
    assert Case.objects.filter(first_responded_at__isnull=False).count() > 50
    assert Case.objects.filter(first_response_breached=True).exists()
    first_case = Case.objects.order_by("created_at").first()
    assert first_case is not None and first_case.created_at < timezone.now() - timedelta(days=100)
    assert (
        Response.objects.filter(csat__isnull=False).count() > 20 and Response.objects.filter(nps__isnull=False).exists()
    )
    assert Feedback.objects.filter(channel="survey").exists()
    assert not CaseEvent.objects.filter(processed=False).exists()  # every event handled, none left to replay
    # Old history sends no mail; the last two days go out to the local mail sink (Settings → Outgoing mail).
    mail = OutgoingMessage.objects.all()
    assert mail.exists()
    assert not mail.filter(created_at__lt=timezone.now() - timedelta(days=3)).exists()
    # The demo tells the truth: nothing dated later than now.
    now = timezone.now()
    assert not items.filter(received_at__gt=now).exists()
    assert not Case.objects.filter(created_at__gt=now).exists()
    assert not CaseEvent.objects.filter(created_at__gt=now).exists()
    assert not Response.objects.filter(submitted_at__gt=now).exists()
    assert not Order.objects.filter(ordered_at__gt=now).exists()
    # Realistic queues: open cases breached by hours or days (a few, recent), never by months (a reopened case's
    # resolution clock starts again at the reopening; a case waiting for the customer has its clock paused).
    active = Case.objects.filter(status__in=ACTIVE_STATUSES, paused_since__isnull=True)
    month_ago = now - timedelta(days=30)
    assert not active.filter(resolution_due_at__lt=month_ago).exists()
    assert not active.filter(first_responded_at__isnull=True, first_response_due_at__lt=month_ago).exists()
    assert active.filter(resolution_due_at__gt=now).count() > active.filter(resolution_due_at__lte=now).count()
    # CES answers, canned replies, staff with an address on the demo's mail sink.
    assert Response.objects.filter(ces__isnull=False).count() > 5
    assert CannedReply.objects.filter(is_active=True).values("language").distinct().count() == 2
    assert all(
        e.endswith("@demo.voxloop.local")
        for e in User.objects.filter(username__in=DEMO).values_list("email", flat=True)
    )
    # Satisfied customers order again more often than dissatisfied ones (the repurchase bands' premise).
    bands = kpi_panel(make_period(None, None, timezone.localdate(), last_days=180)).repurchase["bands"]
    assert bands["csat_high"]["rate"] > bands["csat_low"]["rate"]
    # Repeat complaints flagged by cases.repeat: the repeat rate (repeat cases among the cases with a known
    # customer, as the metrics page counts it) above its 15% alert threshold for at least one topic.
    rates = {}
    for topic in ("quality", "logistics", "price", "attitude"):
        on_topic = CaseFeedback.objects.filter(feedback__topic_links__top_code=topic).values("case_id")
        identified = Case.objects.filter(pk__in=on_topic, customer__isnull=False, merged_into__isnull=True)
        rates[topic] = (identified.filter(repeat_of__isnull=False).count(), identified.count())
    assert max(r / n for r, n in rates.values() if n) > 0.15, rates
    # Every text that says "second time" has a first complaint of the same customer before it.
    for repeat in items.filter(text__startswith="第二次反馈了", customer__isnull=False)[:20]:
        assert repeat.customer_id is not None  # (filtered above)
        assert items.filter(customer_id=repeat.customer_id, received_at__lt=repeat.received_at).exists()
    # Teams and routing in use: cases are routed to the shipped teams, whose members are the demo's agents (the
    # "my team" tab and metrics by team have cases), and every chain level reaches someone for every team.
    shipped = ["售后服务组", "物流组", "投诉处理组", "英文支持组"]
    for name in shipped:
        assert Case.objects.filter(team__name=name).exists(), name
    english = CaseFeedback.objects.filter(case__team__name="英文支持组", feedback__language__startswith="en")
    assert set(english.values_list("case_id", flat=True)) == set(
        Case.objects.filter(team__name="英文支持组").values_list("pk", flat=True)
    )  # routed there by an English item
    assert Case.objects.filter(team__in=User.objects.get(username="agent2").teams.all()).count() > 20
    assert Case.objects.filter(team__isnull=False).count() > Case.objects.filter(team__isnull=True).count()
    assert [g for g in chain_gaps() if g.team is None or g.team.name in shipped] == [
        g for g in chain_gaps() if g.team is None and g.target != "named_user"
    ]  # only "cases without a team" have no lead or department manager (they go to the administrators)
    assert Holiday.objects.filter(date__year=timezone.localdate().year + 1).exists()
    counts = (Feedback.objects.count(), Customer.objects.count(), Case.objects.count(), Response.objects.count())
    call_command("load_demo", "--items", "400", verbosity=0)
    assert CannedReply.objects.count() == 6
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
        monkeypatch.setattr("voxloop.demo.generator.timezone.now", lambda: moment)
        rng = random.Random(42)
        customers = [generator._person(rng, i) for i in range(1, 51)]
        return [(f["external_id"], f["channel"]) for f in generator.generate_feedback(rng, 300, 180, customers, [])]

    before_midnight = items_at(datetime(2026, 11, 24, 23, 58, tzinfo=UTC))
    assert items_at(datetime(2026, 11, 25, 0, 3, tzinfo=UTC)) == before_midnight
    assert items_at(datetime(2026, 11, 28, 15, 0, tzinfo=UTC)) == before_midnight
