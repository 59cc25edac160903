"""Customer segments: the service places hand-made customers where a person would, writes only changes, and the
page, the export (audited) and the bulk recovery action behave for each role."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from voxloop.accounts.models import AuditAction, AuditLog, Role, User
from voxloop.accounts.permissions import PolicyDenied
from voxloop.cases import followup, recovery
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseStatus
from voxloop.cases.services import open_case, resolve_case
from voxloop.feedback.models import Customer, CustomerSegment, Feedback, Kind
from voxloop.insights import segmentation
from voxloop.insights import segments as read
from voxloop.insights.models import SegmentRun
from voxloop.stats.segments import ValueTier
from voxloop.surveys.models import Response, Survey

S = CustomerSegment
_ids = count(1)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def customer(name: str, value: int, orders: int, **extra) -> Customer:
    return Customer.objects.create(
        name=name, external_id=f"X-{name}", lifetime_value=Decimal(value), order_count=orders, **extra
    )


def feedback(who: Customer, days_ago: int, kind: str = Kind.COMPLAINT, text: str = "") -> Feedback:
    n = next(_ids)
    return Feedback.objects.create(
        customer=who, channel="webform", source="test", external_id=f"seg-{n}", kind=kind,
        received_at=timezone.now() - timedelta(days=days_ago), text=text or f"complaint {n} of {who.name}",
    )  # fmt: skip


def resolved(item: Feedback, satisfied: bool | None) -> Case:
    """A case on ``item``, resolved; then the customer's follow-up answer (None: no answer yet)."""
    case = open_case([item.pk], title=f"case of {item.pk}")
    resolve_case(case, None, root_cause="logistics", resolution="refunded")
    if satisfied is not None:
        case = followup.record_outcome(case, satisfied)
    return case


def score(who: Customer, days_ago: int, nps: int, case: Case | None = None) -> Response:
    survey = Survey.objects.get_or_create(name="segments NPS", kind="nps")[0]
    at = timezone.now() - timedelta(days=days_ago)
    return Response.objects.create(
        survey=survey, customer=who, case=case, submitted_at=at, channel="link", nps=nps, editable_until=at
    )


@pytest.fixture
def world(db) -> dict[str, Customer]:
    return build_world()


def build_world() -> dict[str, Customer]:
    """20 customers: 4 valuable ones (top 20% by value and orders), 10 in the middle, 6 with little or nothing.
    With these, the high-value line falls between the middle and the valuable, the low one between the little
    and the middle, so each customer's tier is clear and their segment follows from their history."""
    c = {
        # valuable
        "vip_unhappy": customer("vip_unhappy", 10000, 20),  # recent complaint, nothing done yet
        "vip_happy": customer("vip_happy", 9000, 18),  # old complaint, resolved, customer satisfied
        "vip_low_score": customer("vip_low_score", 8000, 15),  # NPS 3 last month, not made good
        "vip_made_good": customer("vip_made_good", 8500, 16),  # NPS 3, then NPS 9 a week later
        # middle
        "mid_reopened": customer("mid_reopened", 500, 3),  # recent complaint; the customer was not satisfied
        "mid_two_old": customer("mid_two_old", 600, 4),  # two old complaints never resolved
        "mid_content": customer("mid_content", 400, 3),  # never complained
        "mid_one_old": customer("mid_one_old", 450, 3),  # one old complaint never resolved
        "mid_fixed": customer("mid_fixed", 550, 4),  # recent complaint resolved to satisfaction
        **{f"mid_{i}": customer(f"mid_{i}", 410 + 10 * i, 3) for i in range(5)},
        # little or nothing
        **{f"low_{i}": customer(f"low_{i}", v, o) for i, (v, o) in enumerate([(0, 0), (5, 0), (10, 1), (20, 1),
                                                                              (30, 1), (50, 1)])},
    }  # fmt: skip
    feedback(c["vip_unhappy"], 5)
    resolved(feedback(c["vip_happy"], 200), satisfied=True)
    feedback(c["vip_low_score"], 30, kind=Kind.OTHER, text="survey comment")
    score(c["vip_low_score"], 30, nps=3)
    score(c["vip_made_good"], 20, nps=3)
    score(c["vip_made_good"], 13, nps=9)
    resolved(feedback(c["mid_reopened"], 10), satisfied=False)
    feedback(c["mid_two_old"], 200)
    feedback(c["mid_two_old"], 150)
    feedback(c["mid_one_old"], 180)
    resolved(feedback(c["mid_fixed"], 20), satisfied=True)
    feedback(c["mid_content"], 40, kind=Kind.PRAISE)
    return c


EXPECTED = {
    "vip_unhappy": S.HIGH_RISK_RECOVERY,
    "vip_happy": S.LOYAL_ADVOCATE,
    "vip_low_score": S.HIGH_RISK_RECOVERY,
    "vip_made_good": S.LOYAL_ADVOCATE,
    "mid_reopened": S.AT_RISK,
    "mid_two_old": S.AT_RISK,
    "mid_content": S.GROWTH_POTENTIAL,
    "mid_one_old": S.OTHERS,
    "mid_fixed": S.GROWTH_POTENTIAL,
    **{f"mid_{i}": S.GROWTH_POTENTIAL for i in range(5)},
    **{f"low_{i}": S.OTHERS for i in range(6)},
}


def segments_now() -> dict[str, str]:
    return dict(Customer.objects.values_list("name", "segment"))


# --- the service --------------------------------------------------------------------------------------------


def test_each_customer_lands_in_the_segment_their_value_and_history_call_for(world):
    result = segmentation.assign_segments()
    assert result.customers == 20
    assert segments_now() == EXPECTED
    assert result.counts == {S.HIGH_RISK_RECOVERY: 2, S.LOYAL_ADVOCATE: 2, S.AT_RISK: 2, S.GROWTH_POTENTIAL: 7,
                             S.OTHERS: 7}  # fmt: skip


def test_the_facts_behind_the_segments(world):
    facts = segmentation.gather_facts()
    by_name = {c.name: c.pk for c in world.values()}
    records = {r.customer: r for r in facts.records()}
    happy = records[by_name["vip_happy"]]
    assert (happy.complaints, happy.resolved_satisfied, happy.recent_unhappy) == (1, 1, False)
    reopened = records[by_name["mid_reopened"]]  # the dissatisfied answer reopened the case: not made good
    assert (reopened.complaints, reopened.resolved_satisfied, reopened.recent_unhappy) == (1, 0, True)
    assert records[by_name["vip_low_score"]].recent_unhappy  # a low score, no complaint
    assert not records[by_name["vip_made_good"]].recent_unhappy  # a later good score made it good
    assert records[by_name["mid_two_old"]].complaints == 2 and not records[by_name["mid_two_old"]].recent_unhappy


def test_a_low_score_on_a_case_resolved_to_satisfaction_afterwards_is_made_good(world):
    who = world["mid_content"]
    case = open_case([feedback(who, 30, kind=Kind.QUESTION).pk])
    score(who, 25, nps=2, case=case)
    assert who.pk in set(segmentation.unhappy_recent_responses(timezone.now() - timedelta(days=90))
                         .values_list("customer_id", flat=True))  # fmt: skip
    resolve_case(case, None, root_cause="service", resolution="called back")
    followup.record_outcome(case, True)
    assert not segmentation.unhappy_recent_responses(timezone.now() - timedelta(days=90)).filter(customer=who).exists()


def test_a_complaint_older_than_the_window_does_not_make_a_customer_recently_unhappy(world):
    feedback(world["vip_happy"], segmentation.RECENT_DAYS + 5)
    segmentation.assign_segments()
    # Now one complaint not made good (old): still valuable, not recently unhappy, but no longer "all resolved".
    assert Customer.objects.get(pk=world["vip_happy"].pk).segment == S.OTHERS
    feedback(world["vip_happy"], 1)
    segmentation.assign_segments()
    assert Customer.objects.get(pk=world["vip_happy"].pk).segment == S.HIGH_RISK_RECOVERY


def test_running_again_changes_nothing(world, django_assert_max_num_queries):
    first = segmentation.assign_segments()
    assert first.changed == 20
    stamps = dict(Customer.objects.values_list("pk", "updated_at"))
    with django_assert_max_num_queries(
        11
    ):  # set-based: the same few queries for 20 customers or 200,000 (3 for the run record)
        again = segmentation.assign_segments()
    assert again.changed == 0
    assert segments_now() == EXPECTED
    assert dict(Customer.objects.values_list("pk", "updated_at")) == stamps


def test_only_customers_whose_segment_changed_are_written(world):
    segmentation.assign_segments()
    Customer.objects.filter(pk=world["mid_content"].pk).update(segment="vip-imported")
    result = segmentation.assign_segments()
    assert result.changed == 1
    assert Customer.objects.get(pk=world["mid_content"].pk).segment == S.GROWTH_POTENTIAL


def test_a_second_run_while_one_is_going_does_nothing(world):
    running = SegmentRun.objects.create(started_at=timezone.now())
    assert segmentation.assign_segments().skipped
    assert set(segments_now().values()) == {""}
    running.started_at = timezone.now() - timedelta(hours=2)  # died long ago: no longer blocks
    running.save()
    assert not segmentation.assign_segments().skipped
    assert "" not in set(segments_now().values())


def test_the_task_and_the_command_run_the_same_service(world):
    from voxloop.insights.tasks import assign_segments_task

    assert assign_segments_task.delay().get()["changed"] == 20
    Customer.objects.update(segment="")
    out = io.StringIO()
    call_command("assign_segments", "--no-progress", stdout=out)
    assert "Placed 20 customers" in out.getvalue() and "20 changed" in out.getvalue()
    assert segments_now() == EXPECTED


def test_the_daily_beat_entry_names_the_task():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["customer-segments"]
    assert entry["task"] == "voxloop.insights.tasks.assign_segments_task" and entry["schedule"] == 86400


def test_the_tier_query_agrees_with_the_placement(world):
    result = segmentation.assign_segments()
    thresholds = segmentation.thresholds_of(result.summary)
    assert thresholds is not None
    placed = segmentation.place(segmentation.gather_facts())
    for tier in ValueTier:
        expected = {p.customer for p in placed.placements if p.tier is tier}
        assert set(Customer.objects.filter(read.tier_filter(tier, thresholds)).values_list("pk", flat=True)) == expected
        assert {c.pk for c in Customer.objects.all() if read.tier_of(c.lifetime_value, c.order_count, thresholds)
                is tier} == expected  # fmt: skip
    assert result.summary["tiers"][S.HIGH_RISK_RECOVERY] == {"high": 2}


# --- the bulk action ----------------------------------------------------------------------------------------


def test_recovery_cases_open_only_for_customers_without_an_open_case(world, manager):
    segmentation.assign_segments()
    open_case([Feedback.objects.get(customer=world["vip_unhappy"]).pk])  # already being handled
    preview = recovery.recovery_preview(S.HIGH_RISK_RECOVERY)
    assert (preview["total"], preview["open_case"], preview["to_open"]) == (2, 1, 1)

    result = recovery.open_recovery_cases(S.HIGH_RISK_RECOVERY, manager)
    assert len(result.opened) == 1 and result.skipped == {"open_case": 1} and result.remaining == 0
    case = Case.objects.get(pk=result.opened[0])
    latest = Feedback.objects.filter(customer=world["vip_low_score"]).latest("received_at")
    assert case.customer == world["vip_low_score"] and list(case.feedback_items.all()) == [latest]
    assert case.severity == "important" and case.created_by == manager

    again = recovery.open_recovery_cases(S.HIGH_RISK_RECOVERY, manager)
    assert again.opened == [] and again.skipped == {"open_case": 2}
    assert Case.objects.filter(customer=world["vip_low_score"], status__in=ACTIVE_STATUSES).count() == 1


def test_recovery_skips_opted_out_customers_and_those_without_feedback(world, manager):
    segmentation.assign_segments()
    Customer.objects.filter(pk=world["low_0"].pk).update(opted_out=True)
    feedback(world["low_1"], 3, kind=Kind.QUESTION)
    result = recovery.open_recovery_cases(S.OTHERS, manager)
    # OTHERS: mid_one_old and low_1 have feedback; low_0 opted out; low_2..low_5 have none.
    assert len(result.opened) == 2
    assert result.skipped == {"opted_out": 1, "no_feedback": 4}
    assert Case.objects.filter(pk__in=result.opened, severity="normal").count() == 2


def test_recovery_opens_at_most_the_limit_and_says_how_many_remain(world, manager):
    segmentation.assign_segments()
    result = recovery.open_recovery_cases(S.AT_RISK, manager, limit=1)
    # mid_reopened's case is open again (reopened), so only mid_two_old is due a case: the limit is no bar.
    assert len(result.opened) == 1 and result.remaining == 0
    for i in range(3):
        feedback(world[f"mid_{i}"], 2, kind=Kind.QUESTION)
    result = recovery.open_recovery_cases(S.GROWTH_POTENTIAL, manager, limit=2)
    assert len(result.opened) == 2 and result.remaining == 3  # mid_content, mid_fixed, mid_0..2: 5 candidates
    assert result.skipped == {"no_feedback": 2}  # mid_3, mid_4
    assert recovery.open_recovery_cases(S.GROWTH_POTENTIAL, manager, limit=2).remaining == 1


def test_the_case_service_itself_refuses_who_the_page_refuses(world, manager, analyst, agent):
    """The recovery action is a cases service: any caller (page, task, shell) gets the page's policy, and the
    system (no actor) may run it."""
    segmentation.assign_segments()
    before = Case.objects.count()
    for user in (analyst, agent):
        with pytest.raises(PolicyDenied) as denied:
            recovery.open_recovery_cases(S.HIGH_RISK_RECOVERY, user)
        assert denied.value.code == "not_allowed"
    assert Case.objects.count() == before
    assert len(recovery.open_recovery_cases(S.HIGH_RISK_RECOVERY, None).opened) == 2


def test_the_bulk_action_needs_a_confirmation_and_a_manager(world, client, manager, analyst, agent):
    segmentation.assign_segments()
    url = reverse("dashboards:segment_recovery", args=[S.HIGH_RISK_RECOVERY])
    before = Case.objects.count()
    for user in (analyst, agent):
        client.force_login(user)
        assert client.post(url, {"confirm": "yes"}).status_code == 403
    assert Case.objects.count() == before
    client.force_login(manager)
    response = client.post(url, follow=True)  # no confirmation ticked
    assert Case.objects.count() == before and "Tick the confirmation box" in response.content.decode()
    assert client.get(url).status_code == 405  # a link cannot open cases
    response = client.post(url, {"confirm": "yes"}, follow=True)
    text = response.content.decode()
    assert Case.objects.count() == before + 2
    assert "Opened 2 recovery cases." in text
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert "Opened 0 recovery cases." in response.content.decode()
    assert "Skipped 2 customers who already have an open case." in response.content.decode()
    assert Case.objects.count() == before + 2


# --- pages, export, permissions -----------------------------------------------------------------------------


@pytest.fixture
def viewer(db) -> User:
    return User.objects.create_user(username="vera-viewer", password="pw-for-tests", role=Role.VIEWER)


def test_insight_roles_see_the_pages_and_agents_do_not(world, client, manager, analyst, agent, viewer):
    segmentation.assign_segments()
    urls = [reverse("dashboards:segments"), reverse("dashboards:segment_customers", args=[S.AT_RISK])]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    for user in (manager, analyst, viewer):
        client.force_login(user)
        assert all(client.get(url).status_code == 200 for url in urls)
    client.force_login(agent)
    assert all(client.get(url).status_code == 403 for url in urls)
    client.force_login(manager)
    assert client.get(reverse("dashboards:segment_customers", args=["vip"])).status_code == 404


def test_the_overview_charts_count_each_segment_and_lead_to_its_list(world, client, analyst):
    segmentation.assign_segments()
    client.force_login(analyst)
    response = client.get(reverse("dashboards:segments"))
    options = json.loads(json.dumps(response.context["chart_options"]))  # what the page embeds: plain JSON
    bars = options["segments"]["series"][0]["data"]
    assert [b["value"] for b in bars] == [2, 2, 2, 7, 7]  # high-risk, at risk, loyal, growth, others
    assert bars[0]["url"] == reverse("dashboards:segment_customers", args=[S.HIGH_RISK_RECOVERY])
    tiers = {s["name"]: [d["value"] for d in s["data"]] for s in options["value-tiers"]["series"]}
    assert tiers["High value"] == [2, 0, 2, 0, 0] and tiers["Low value"] == [0, 0, 0, 0, 6]
    assert options["value-tiers"]["series"][0]["data"][0]["url"].endswith("?tier=high")
    text = response.content.decode()
    assert "Recompute segments now" not in text  # analysts look; managers act
    # The thresholds are explained: 6.2 and 2.4 orders (quantiles) as the whole numbers they mean.
    assert "lifetime value at least ¥2,080.00 or at least 7 orders" in text
    assert "lifetime value below ¥295.00 and at most 2 orders" in text
    chart_csv = client.get(reverse("dashboards:segments") + "?export=csv&chart=segments")
    assert "High-risk recovery,2," in chart_csv.content.decode("utf-8-sig")


def test_the_list_shows_the_segment_customers_with_their_history(world, client, manager):
    segmentation.assign_segments()
    case = open_case([Feedback.objects.get(customer=world["mid_two_old"], received_at__lt=timezone.now() -
                                           timedelta(days=160)).pk])  # fmt: skip
    client.force_login(manager)
    response = client.get(reverse("dashboards:segment_customers", args=[S.AT_RISK]))
    rows = {r.name: r for r in response.context["rows"]}
    assert list(rows) == ["mid_two_old", "mid_reopened"]  # most valuable first
    two_old = rows["mid_two_old"]
    assert (two_old.complaints, two_old.orders, two_old.open_case_id) == (2, 4, case.pk)
    assert two_old.last_feedback_at.date() == (timezone.now() - timedelta(days=150)).date()
    text = response.content.decode()
    assert f'href="/feedback/customers/{world["mid_two_old"].pk}/"' in text
    assert case.number in text and "Open recovery cases" in text


def test_the_list_pages_and_filters_by_value_tier(world, client, analyst, monkeypatch):
    segmentation.assign_segments()
    monkeypatch.setattr(read, "PER_PAGE", 3)
    client.force_login(analyst)
    url = reverse("dashboards:segment_customers", args=[S.GROWTH_POTENTIAL])
    first = client.get(url)
    assert len(first.context["rows"]) == 3 and first.context["listing"].paginator.count == 7
    last = client.get(url + "?page=3")
    assert [r.external_id for r in last.context["rows"]] == ["X-mid_content"]  # the least valuable of the seven (400)
    others = reverse("dashboards:segment_customers", args=[S.OTHERS])
    names = set()
    for page in (1, 2, 3):
        names |= {r.external_id for r in client.get(others + f"?tier=low&page={page}").context["rows"]}
    assert names == {f"X-low_{i}" for i in range(6)}
    assert [r.external_id for r in client.get(others + "?tier=medium").context["rows"]] == ["X-mid_one_old"]
    assert "Open recovery cases" not in first.content.decode()  # analysts cannot act


def test_export_of_a_segment_is_audited_for_every_customer(world, client, manager, analyst):
    segmentation.assign_segments()
    url = reverse("dashboards:segment_customers", args=[S.HIGH_RISK_RECOVERY])
    client.force_login(manager)
    response = client.get(url + "?export=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="voxloop-segment-high_risk_recovery.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Customer,Customer ID,Segment,Value tier,Lifetime value,Orders,Complaints")
    assert [line.split(",")[0] for line in lines[1:]] == ["vip_unhappy", "vip_low_score"]
    entries = AuditLog.objects.filter(user=manager, action=AuditAction.EXPORT_PERSONAL_DATA)
    assert sorted(entries.values_list("customer_id", flat=True)) == sorted(  # type: ignore[type-var]
        [world["vip_unhappy"].pk, world["vip_low_score"].pk]
    )  # (the stubs allow a NULL customer_id; these entries have one)
    entry = entries.first()
    assert entry is not None and entry.path.endswith("?export=csv")

    client.force_login(analyst)  # analysts get masked names; the export is still on record
    xlsx = client.get(url + "?export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert AuditLog.objects.filter(user=analyst, action=AuditAction.EXPORT_PERSONAL_DATA).count() == 2
    masked = client.get(url + "?export=csv").content.decode("utf-8-sig").splitlines()
    # A name keeps its first character only (voxloop.accounts.privacy.mask_name, as on every page).
    assert [line.split(",")[0] for line in masked[1:]] == ["v**", "v**"]


def test_recompute_now_is_for_managers(world, client, manager, analyst):
    url = reverse("dashboards:segments_recompute")
    client.force_login(analyst)
    assert client.post(url).status_code == 403
    assert set(segments_now().values()) == {""}
    client.force_login(manager)
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboards:segments")
    assert segments_now() == EXPECTED  # eager Celery in tests: the task ran
    assert "Recompute segments now" in response.content.decode()


def test_page_before_any_run_says_tiers_come_later(db, client, analyst):
    customer("someone", 10, 1)
    client.force_login(analyst)
    text = client.get(reverse("dashboards:segments")).content.decode()
    assert "The value tiers appear after the next recompute" in text
    assert "1 customers are not placed yet" in text


def test_rows_resolved_case_closed_still_counts_as_made_good(world):
    case = Case.objects.get(customer=world["vip_happy"])
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED)
    segmentation.assign_segments()
    assert Customer.objects.get(pk=world["vip_happy"].pk).segment == S.LOYAL_ADVOCATE
