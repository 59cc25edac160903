"""Daily roll-ups against numbers worked out by hand, incremental maintenance, and idempotent rebuilds."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from voxloop.cases.models import CaseEvent, EventKind
from voxloop.metrics import queries, services
from voxloop.metrics.cells import SOURCE_DIMENSIONS
from voxloop.metrics.days import local_day
from voxloop.metrics.models import DirtyDay, MetricDaily, Source
from voxloop.metrics.tests.conftest import (
    MONDAY,
    make_case,
    make_customer,
    make_order,
    make_response,
    sh,
)
from voxloop.stats import formulas

HOUR = 3600.0
MONDAY_ONLY = queries.Period(MONDAY, MONDAY)


def in_bucket_of(estimate: float | None, exact: float) -> bool:
    low, high = formulas.bucket_bounds(formulas.bucket_of(exact))
    return estimate is not None and low <= estimate <= high


@pytest.fixture
def monday_cases(policy, people):
    """Three cases opened on Monday 23 November (Shanghai), worked out by hand in the calendar
    Mon-Fri 09:00-18:00 with Wednesday 25 a holiday:

    A  09:00, replied 11:00 (2 h both ways), resolved Tue 10:00 (25 h clock; 9 h Mon + 1 h Tue = 10 h business),
       one reply, never reopened: first-contact resolution; SLA met.
    B  17:00, replied Tue 09:30 (16.5 h clock; 1 h Mon + 0.5 h Tue = 1.5 h business), waited on the customer
       Tue 12:00 - Thu 10:00 across the holiday (6 h Tue + 0 Wed + 1 h Thu = 7 h paused), resolved Thu 12:00
       (67 h clock; 1 + 9 + 0 + 3 = 13 h business - 7 h paused = 6 h), two replies, reopened twice, resolution
       breached: not first-contact, SLA missed. A repeat of A (same customer, same topic).
    C  10:00, no reply yet, still open: in no SLA outcome yet."""
    anna, bo = make_customer("anna", "loyal_advocate"), make_customer("bo")
    a = make_case(sh(23, 9), policy=policy, replies=[sh(23, 11)], resolved=sh(24, 10), status="resolved",
                  customer=anna, team=people["team"], assignee=people["assignee"])  # fmt: skip
    b = make_case(sh(23, 17), policy=policy, replies=[sh(24, 9, 30), sh(26, 11)], resolved=sh(26, 12),
                  status="resolved", reopen_count=2, customer=anna, team=people["team"], assignee=people["assignee"],
                  breached=True, repeat_of=a, pauses=[(sh(26, 10), 7 * 3600)])  # fmt: skip
    c = make_case(sh(23, 10), policy=policy, customer=bo, team=people["other_team"])
    return a, b, c


def monday_totals(source: str, dimension: str = "", value: str = "") -> queries.Totals:
    rows = queries.load_days([source], queries.Cut(dimension, value), MONDAY, MONDAY)
    return rows[source].get(MONDAY, queries.Totals())


def test_case_kpis_hand_computed(monday_cases):
    services.refresh_day(Source.CASES, MONDAY)
    t = monday_totals(Source.CASES)
    kpi = {k.key: queries.kpi_value(k.key, t) for k in queries.KPIS if k.source == Source.CASES}
    assert kpi["cases_opened"].value == 3
    assert kpi["resolution_rate"].value == pytest.approx(2 / 3) and kpi["resolution_rate"].n == 3
    assert kpi["fcr_rate"].value == 0.5 and kpi["fcr_rate"].n == 2  # A yes; B had two replies and reopened
    assert kpi["sla_compliance"].value == 0.5 and kpi["sla_compliance"].n == 2  # C has no outcome yet
    assert kpi["reopen_rate"].value == 0.5 and kpi["reopen_rate"].n == 2  # reopened twice counts once
    assert kpi["repeat_rate"].value == pytest.approx(1 / 3) and kpi["repeat_rate"].extra["alert"] is True
    # Percentiles come from log buckets: each estimate lies in the bucket of the exact value.
    assert kpi["frt_business_median"].n == 2
    # Business time: A 2 h, B 1.5 h. Clock time: A 2 h, B 16.5 h (the night does not count in business hours).
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["frt_business"], 100), 2 * HOUR)
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["frt_business"], 1), 1.5 * HOUR)
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["frt_wall"], 100), 16.5 * HOUR)
    # Resolution: A 10 h business / 25 h clock; B 6 h business (13 h minus 7 h waiting, holiday excluded) / 67 h.
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["resolution_business"], 100), 10 * HOUR)
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["resolution_business"], 1), 6 * HOUR)
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["resolution_wall"], 100), 67 * HOUR)
    assert in_bucket_of(formulas.histogram_percentile(t.histograms["resolution_wall"], 1), 25 * HOUR)


def test_case_cuts_by_team_agent_and_segment(monday_cases, people):
    services.refresh_day(Source.CASES, MONDAY)
    assert monday_totals(Source.CASES, "team", str(people["team"].pk)).n == 2
    assert monday_totals(Source.CASES, "team", str(people["other_team"].pk)).n == 1
    assert monday_totals(Source.CASES, "agent", str(people["assignee"].pk)).get("resolved") == 2
    assert monday_totals(Source.CASES, "agent", "").n == 1  # C has no assignee
    assert monday_totals(Source.CASES, "segment", "loyal_advocate").n == 2


def test_no_data_is_none_not_zero(db):
    panel = queries.kpi_panel(MONDAY_ONLY)
    by_key = {c.definition.key: c for c in panel.cards}
    assert by_key["nps"].current.value is None and by_key["nps"].current.n == 0
    assert by_key["resolution_rate"].current.value is None
    assert by_key["cases_opened"].current.value == 0  # a count of nothing is 0


def test_survey_kpis_hand_computed(csat_survey, people):
    # NPS answers 10, 9, 8, 6, 0 -> 2 promoters, 1 passive, 2 detractors: NPS 0.
    # CSAT 5, 4, 3 -> top-2 share 2/3, mean 4. CES 7, 5, 2 -> easy 2/3, mean 14/3. Speed 5 and 2 -> 1/2, 3.5.
    answers = [(10, 5, 7, {"speed": 5, "attitude": 4}), (9, 4, 5, {"speed": 2}), (8, 3, 2, {}), (6, None, None, {}),
               (0, None, None, {})]  # fmt: skip
    for i, (nps, csat, ces, dims) in enumerate(answers):
        make_response(csat_survey, sh(23, 9 + i), nps=nps, csat=csat, ces=ces, dimensions=dims)
    services.refresh_day(Source.RESPONSES, MONDAY)
    t = monday_totals(Source.RESPONSES)
    nps_kpi = queries.kpi_value("nps", t)
    assert nps_kpi.value == 0 and nps_kpi.n == 5
    assert nps_kpi.extra == {"promoters": 0.4, "passives": 0.2, "detractors": 0.4}
    assert queries.kpi_value("csat_top2", t).value == pytest.approx(2 / 3)
    assert queries.kpi_value("csat_mean", t).value == 4 and queries.kpi_value("csat_mean", t).n == 3
    assert queries.kpi_value("ces_mean", t).value == pytest.approx(14 / 3)
    assert queries.kpi_value("ces_easy", t).value == pytest.approx(2 / 3)
    by_dimension = {d["dimension"]: d for d in queries.csat_dimensions(t)}
    assert by_dimension["speed"] == {"dimension": "speed", "n": 2, "top2": 0.5, "mean": 3.5}
    assert by_dimension["attitude"]["n"] == 1


def test_all_detractors(csat_survey):
    for score in (0, 3, 6):
        make_response(csat_survey, sh(23, 12), nps=score)
    services.refresh_day(Source.RESPONSES, MONDAY)
    nps = queries.kpi_value("nps", monday_totals(Source.RESPONSES))
    assert (nps.value, nps.ci_low, nps.ci_high) == (-100, -100, -100)


def test_response_in_another_time_zone_counts_on_the_local_day(csat_survey):
    # 11:00 in New York on Monday 23 is 00:00 on Tuesday 24 in Shanghai (the site's TIME_ZONE).
    make_response(csat_survey, datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("America/New_York")), csat=5)
    make_response(csat_survey, datetime(2026, 11, 23, 10, 59, tzinfo=ZoneInfo("America/New_York")), csat=1)
    services.rebuild([Source.RESPONSES], since=MONDAY, until=MONDAY + timedelta(days=1))
    days = queries.load_days([Source.RESPONSES], queries.Cut(), MONDAY, MONDAY + timedelta(days=1))[Source.RESPONSES]
    assert days[MONDAY].get("csat_sum") == 1
    assert days[MONDAY + timedelta(days=1)].get("csat_sum") == 5


def test_csat_is_credited_to_the_agent_who_replied(csat_survey, monday_cases, people):
    a = monday_cases[0]
    make_response(csat_survey, sh(24, 15), csat=5, case=a, agent=people["replier"], team=people["team"])
    period = queries.Period(MONDAY, MONDAY + timedelta(days=1))
    services.rebuild(since=period.start, until=period.end)
    rows = {r.value: r for r in queries.breakdown(period, "agent")}
    assert rows[str(people["replier"].pk)].kpis["csat_top2"].n == 1
    assert rows[str(people["assignee"].pk)].kpis["csat_top2"].n == 0  # the assignee did not answer the customer
    assert rows[str(people["assignee"].pk)].kpis["cases_opened"].n == 2
    assert rows[str(people["assignee"].pk)].extra["resolved_per_day"] == 1.0  # 2 resolved over 2 days


def test_breakdown_sums_are_the_sums_of_its_days(csat_survey, monday_cases, people):
    """The breakdown adds its counters up in the database (per database its own SQL): each value's totals are
    the sums of that value's daily rows, counter by counter."""
    make_response(csat_survey, sh(24, 15), csat=5, nps=9, ces=6, case=monday_cases[0], agent=people["replier"])
    make_response(csat_survey, sh(23, 10), csat=2, nps=3, agent=people["assignee"], team=people["team"])
    period = queries.Period(MONDAY, MONDAY + timedelta(days=1))
    services.rebuild(since=period.start, until=period.end)
    checked = 0
    for dimension in ("agent", "team", "channel"):
        sources = [s for s in Source.values if dimension in SOURCE_DIMENSIONS[s]]
        totals = queries.aggregate_by_value(sources, dimension, period.start, period.end)
        for source in sources:
            expected: dict[str, tuple[int, dict[str, float]]] = {}
            for row in MetricDaily.objects.filter(source=source, dimension=dimension):
                n, sums = expected.get(row.value, (0, {}))
                for key in queries.BREAKDOWN_SUMS[source]:
                    if key in row.sums:
                        sums[key] = sums.get(key, 0) + row.sums[key]
                expected[row.value] = (n + row.n, sums)
            checked += len(expected)
            for value, (n, sums) in expected.items():
                assert totals[value][source].n == n, (dimension, source, value)
                assert dict(totals[value][source].sums) == pytest.approx({k: v for k, v in sums.items() if v})
    assert checked >= 6  # agents, teams and channels of both cases and responses


def test_repurchase_by_band_and_ratio(csat_survey):
    happy, content, unhappy, grumpy = (make_customer(n) for n in ("happy", "content", "unhappy", "grumpy"))
    make_response(csat_survey, sh(23, 9), csat=5, nps=10, customer=happy)
    make_response(csat_survey, sh(23, 9), csat=4, nps=8, customer=content)
    make_response(csat_survey, sh(23, 9), csat=2, nps=3, customer=unhappy)
    make_response(csat_survey, sh(23, 9), csat=1, nps=2, customer=grumpy)
    make_response(csat_survey, sh(23, 9), csat=5)  # anonymous: cannot be followed, not counted
    make_order(happy, sh(23, 9) + timedelta(days=30))  # within 6 months: a repurchase
    make_order(content, sh(23, 9) - timedelta(days=3))  # before the response: not a repurchase
    make_order(unhappy, sh(23, 9) + timedelta(days=200))  # after the 6-month window
    make_order(grumpy, sh(23, 9) + timedelta(days=10))
    services.refresh_day(Source.RESPONSES, MONDAY)
    result = queries.repurchase(monday_totals(Source.RESPONSES))
    assert result["bands"]["csat_high"]["n"] == 2 and result["bands"]["csat_high"]["rate"] == 0.5
    assert result["bands"]["csat_low"]["n"] == 2 and result["bands"]["csat_low"]["rate"] == 0.5
    assert result["csat_ratio"] == 1.0
    assert result["bands"]["promoter"]["rate"] == 1.0 and result["bands"]["detractor"]["rate"] == 0.5
    assert result["nps_ratio"] == 2.0


def test_rebuild_is_idempotent_and_drops_stale_rows(monday_cases):
    services.rebuild(since=MONDAY, until=MONDAY)
    first = sorted(MetricDaily.objects.values_list("source", "dimension", "value", "n", "sums"))
    services.rebuild(since=MONDAY, until=MONDAY)
    assert sorted(MetricDaily.objects.values_list("source", "dimension", "value", "n", "sums")) == first
    for case in monday_cases:
        case.delete()
    services.rebuild(since=MONDAY, until=MONDAY)
    assert not MetricDaily.objects.filter(source=Source.CASES).exists()


def test_first_catch_up_marks_every_day_with_data(monday_cases, csat_survey):
    make_response(csat_survey, sh(25, 9), csat=4)
    assert services.catch_up() == {Source.CASES: 1, Source.RESPONSES: 1}
    assert services.refresh_dirty() == 2
    assert monday_totals(Source.CASES).n == 3
    later = sh(30, 0)  # after every event of the fixtures (some lie a few days ahead of the real clock)
    services.catch_up(later)  # looks back a few minutes (late commits) past the first look
    assert services.catch_up(later + timedelta(minutes=10)) == {}  # nothing changed since


def test_catch_up_folds_a_resolution_into_the_roll_up(monday_cases, policy):
    services.rebuild(since=MONDAY, until=MONDAY)  # also sets the watermarks
    c = monday_cases[2]
    c.status, c.resolved_at, c.first_responded_at = "resolved", sh(24, 9), sh(23, 11)
    c.save()
    # As resolve_case does: every change of a case writes a timeline event, which is what catch_up looks at.
    CaseEvent.objects.create(case=c, kind=EventKind.RESOLVED, created_at=timezone.now(), payload={})
    marked = services.catch_up(timezone.now() + timedelta(seconds=1))
    assert marked[Source.CASES] == 1
    assert DirtyDay.objects.filter(source=Source.CASES, day=MONDAY).exists()
    assert services.refresh_dirty() == 1
    assert monday_totals(Source.CASES).get("resolved") == 3
    assert not DirtyDay.objects.exists()


def test_catch_up_sees_new_feedback_by_key_and_new_orders(csat_survey):
    from voxloop.feedback.models import Feedback

    customer = make_customer("dora")
    make_response(csat_survey, sh(23, 9), csat=5, customer=customer)
    services.rebuild(since=MONDAY, until=MONDAY)
    Feedback.objects.create(channel="email", source="t", external_id="late-1", received_at=sh(23, 20), text="迟到")
    make_order(customer, sh(24, 12))  # turns Monday's response into a repurchase
    marked = services.catch_up(timezone.now() + timedelta(hours=2))
    assert marked == {Source.FEEDBACK: 1, Source.RESPONSES: 1}
    services.refresh_dirty()
    assert monday_totals(Source.FEEDBACK).n == 1
    assert queries.repurchase(monday_totals(Source.RESPONSES))["bands"]["csat_high"]["rate"] == 1.0
    assert services.catch_up(timezone.now() + timedelta(hours=3)) == {}  # seen rows are not marked again


def test_catch_up_counts_new_feedback_once_within_its_look_back(db):
    """The catch-up looks back CATCH_UP_OVERLAP for late commits; a row it counted is not marked again by the
    next looks in that window (each of them recomputed the day again)."""
    from voxloop.feedback.models import Feedback

    services.rebuild(since=MONDAY, until=MONDAY)
    now = timezone.now()
    Feedback.objects.create(channel="email", source="t", external_id="once-1", received_at=sh(23, 20), text="一次")
    assert services.catch_up(now + timedelta(seconds=1)) == {Source.FEEDBACK: 1}
    services.refresh_dirty()
    assert services.catch_up(now + timedelta(minutes=1)) == {}  # inside the look-back: counted already
    assert services.catch_up(now + timedelta(minutes=2)) == {}
    assert monday_totals(Source.FEEDBACK).n == 1


def test_catch_up_still_finds_a_late_commit_below_its_position(db):
    """A row that took its key before the last look but committed after it is found by its recent time."""
    from voxloop.feedback.models import Feedback
    from voxloop.metrics.models import Watermark

    services.rebuild(since=MONDAY, until=MONDAY + timedelta(days=1))
    now = timezone.now()
    late = Feedback.objects.create(channel="email", source="t", external_id="late-a", received_at=sh(23, 8), text="迟")
    early = Feedback.objects.create(channel="email", source="t", external_id="late-b", received_at=sh(24, 8), text="早")
    # The last look saw only the later key: the earlier one had not committed yet.
    mark = Watermark.objects.get(source=Source.FEEDBACK)
    mark.positions = {**mark.positions, "feedback": early.pk, "feedback_seen": [early.pk]}
    mark.checked_until = now
    mark.save()
    assert services.catch_up(now + timedelta(minutes=1)) == {Source.FEEDBACK: 1}
    assert set(DirtyDay.objects.filter(source=Source.FEEDBACK).values_list("day", flat=True)) == {
        local_day(late.received_at)
    }


def test_note_hooks_mark_the_day(monday_cases, csat_survey):
    services.note_case_changed(monday_cases[0])
    services.note_response_saved(make_response(csat_survey, sh(24, 1), csat=3))
    assert set(DirtyDay.objects.values_list("source", "day")) == {
        (Source.CASES, MONDAY), (Source.RESPONSES, MONDAY + timedelta(days=1))}  # fmt: skip


def test_rebuild_command(monday_cases, capsys):
    call_command("rebuild_rollups", "--since", "2026-11-23", "--until", "2026-11-24", "--no-progress")
    assert "Recomputed 6 source-days" in capsys.readouterr().out
    assert monday_totals(Source.CASES).n == 3


def test_rebuild_command_rejects_bad_dates(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("rebuild_rollups", "--since", "23/11/2026")
    with pytest.raises(CommandError, match="before"):
        call_command("rebuild_rollups", "--since", "2026-11-24", "--until", "2026-11-23")


def test_panel_compares_with_the_previous_period(policy, people):
    # Two cases in the week before, one resolved; three in this week, all resolved.
    for day in (16, 17):
        make_case(sh(day, 10), policy=policy, resolved=sh(day, 15) if day == 16 else None,
                  status="resolved" if day == 16 else "open")  # fmt: skip
    for day in (23, 24, 26):
        make_case(sh(day, 10), policy=policy, resolved=sh(day, 15), status="resolved")
    period = queries.Period(MONDAY, MONDAY + timedelta(days=6))
    services.rebuild(since=period.previous.start, until=period.end)
    card = next(c for c in queries.kpi_panel(period).cards if c.definition.key == "resolution_rate")
    assert (card.current.value, card.current.n, card.previous.value, card.previous.n) == (1.0, 3, 0.5, 2)
    assert card.comparison.delta == 0.5
    assert card.series[:4] == [1.0, 1.0, None, 1.0]  # Wednesday: no cases, no data
    assert card.series_n[:4] == [1, 1, 0, 1]
