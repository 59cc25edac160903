"""Read models for case pages and the API. ``visible_cases`` is the one permission scope for both."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Case as DjCase
from django.db.models import Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone
from django.utils.translation import get_language, gettext, gettext_lazy

from voxloop.accounts import privacy
from voxloop.accounts.models import Role, Team, User
from voxloop.accounts.permissions import may_work_on_cases
from voxloop.analysis.models import Topic
from voxloop.cases.cursors import CursorError, decode_cursor, encode_cursor
from voxloop.cases.hooks import case_search_provider
from voxloop.cases.models import (
    ACTIVE_STATUSES,
    Case,
    CaseEvent,
    CaseFeedback,
    CaseStatus,
    Clock,
    CompensationStatus,
    EventKind,
    FollowUp,
    FollowUpStatus,
    Severity,
)
from voxloop.feedback.models import Sentiment


def open_cases_by_agent(agent_ids: list[int]) -> list[tuple[int, str, int]]:
    """(agent id, severity, how many of their cases are open) -- routing's load, registered in CasesConfig.ready."""
    rows = (
        Case.objects.filter(assignee_id__in=agent_ids, status__in=ACTIVE_STATUSES)
        .values("assignee_id", "severity")
        .annotate(n=Count("id"))
    )
    return [(row["assignee_id"], row["severity"], row["n"]) for row in rows]


def visible_team_ids(user: User) -> list[int] | None:
    """The teams whose cases ``user`` may see; None means every team (admins, analysts, viewers)."""
    if user.is_superuser or user.role in {Role.ADMIN, Role.ANALYST, Role.VIEWER}:
        return None
    teams = Team.objects.filter(Q(members=user) | Q(lead=user))
    if user.role == Role.MANAGER:
        teams = Team.objects.filter(Q(members=user) | Q(lead=user) | Q(department__manager=user))
    return sorted(set(teams.values_list("pk", flat=True)))


def visible_cases(user: User) -> QuerySet[Case]:
    """Cases ``user`` may open: agents their teams' cases, managers their departments', admins all.

    Cases assigned to the user stay visible after a move to another team, and cases no routing rule placed
    in a team (``team`` empty) form a shared queue that every agent sees, so nothing waits unseen.
    Analysts and viewers read every case; the pages mask personal data for them."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    team_ids = visible_team_ids(user)
    if team_ids is None:
        return Case.objects.all()
    return Case.objects.filter(Q(team_id__in=team_ids) | Q(team__isnull=True) | Q(assignee=user))


def may_work_on(user: User, case: Case) -> bool:
    """Whether ``user`` may change ``case`` (reply, assign, resolve...); analysts and viewers only read."""
    if not may_work_on_cases(user):
        return False
    return visible_cases(user).filter(pk=case.pk).exists()


# --- agent inbox and case page (read models) ----------------------------------------------------------

# The main menu's entry (its msgid lives in the cases catalog, next to the pages it opens).
NAV_LABEL = gettext_lazy("Cases")
INBOX_PAGE_SIZE = 30
SEARCH_MAX_CHARS = 100
TABS = ("mine", "team", "unassigned", "breaching", "breached", "waiting", "escalated", "customer", "all")
TAB_LABELS = {
    "mine": gettext_lazy("Mine"),
    "team": gettext_lazy("My team's"),
    "unassigned": gettext_lazy("Unassigned"),
    "breaching": gettext_lazy("About to breach"),
    "breached": gettext_lazy("Breached"),
    "waiting": gettext_lazy("Waiting on customer"),
    "escalated": gettext_lazy("Escalated to me / my team"),
    "customer": gettext_lazy("Customer replied"),
    "all": gettext_lazy("All visible"),
}
# What each list is sorted by, told above the list so nobody has to guess why a case comes first.
TAB_ORDER_HELP = {
    "mine": gettext_lazy("Sorted by the next due time, most urgent first."),
    "team": gettext_lazy("Sorted by the next due time, most urgent first."),
    "unassigned": gettext_lazy("Sorted by the next due time, most urgent first."),
    "breaching": gettext_lazy("Not yet breached, due within %(hours)s hours or warned; the soonest due first."),
    "breached": gettext_lazy("Past their due time now; the most overdue first."),
    "waiting": gettext_lazy("Clocks paused while the customer is asked; the longest waiting first."),
    "escalated": gettext_lazy("Escalated to you, or in your teams and escalated; the most urgent first."),
    "customer": gettext_lazy("The customer wrote in the last %(days)s days; the latest message first."),
    "all": gettext_lazy("Every case you may see, newest first."),
}
CUSTOMER_RECENT_DAYS = 7


def breaching_soon_hours() -> float:
    return float(getattr(settings, "CASES_BREACHING_SOON_HOURS", 4))


@dataclass
class CaseInboxFilters:
    tab: str = "mine"
    status: str = ""
    severity: str = ""
    team: int | None = None
    assignee: str = ""  # a user id, or "none" for unassigned
    q: str = ""  # the search box: a case number, or words of the title or resolution
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CaseInboxFilters:
        """Read the query string; a value that makes no sense is reported, not silently dropped."""
        f = cls()
        tab = params.get("tab", "") or "mine"
        if tab in TABS:
            f.tab = tab
        else:
            f.errors.append(gettext("Unknown tab %(value)s; showing your cases.") % {"value": tab[:30]})
        status = params.get("status", "")
        if status and status not in CaseStatus.values:
            f.errors.append(gettext("Unknown status %(value)s was ignored.") % {"value": status[:30]})
        else:
            f.status = status
        severity = params.get("severity", "")
        if severity and severity not in Severity.values:
            f.errors.append(gettext("Unknown severity %(value)s was ignored.") % {"value": severity[:30]})
        else:
            f.severity = severity
        team = params.get("team", "")
        if team:
            if team.isdigit():
                f.team = int(team)
            else:
                f.errors.append(gettext("Team %(value)s is not a team number and was ignored.") % {"value": team[:30]})
        assignee = params.get("assignee", "")
        if assignee:
            if assignee == "none" or assignee.isdigit():
                f.assignee = assignee
            else:
                f.errors.append(
                    gettext("Assignee %(value)s is not a user number and was ignored.") % {"value": assignee[:30]}
                )
        f.q = " ".join(params.get("q", "").split())[:SEARCH_MAX_CHARS]
        return f

    @property
    def active(self) -> bool:
        return bool(self.status or self.severity or self.team or self.assignee or self.q)

    def params(self, **override: str) -> dict[str, str]:
        params = {"tab": self.tab, "status": self.status, "severity": self.severity}
        params["team"] = str(self.team) if self.team else ""
        params["assignee"] = self.assignee
        params["q"] = self.q
        params.update(override)
        return {k: v for k, v in params.items() if v}

    def as_params(self) -> list[tuple[str, str]]:
        """The filter as (name, value) pairs, e.g. for hidden form fields."""
        return list(self.params().items())

    def query_string(self, **override: str) -> str:
        return urlencode(self.params(**override))


def _next_due_expression() -> DjCase:
    """The next due time: the first-response due while no public reply was sent (and earlier), else resolution."""
    return DjCase(
        When(
            first_responded_at__isnull=True,
            first_response_due_at__isnull=False,
            first_response_due_at__lt=F("resolution_due_at"),
            then=F("first_response_due_at"),
        ),
        default=F("resolution_due_at"),
        output_field=DateTimeField(),
    )


def _recent_customer_message_cases(now: datetime) -> QuerySet[CaseEvent, Any]:
    """Ids of cases the customer wrote to lately: a range on the event time index, not a scan of the timeline."""
    since = now - timedelta(days=CUSTOMER_RECENT_DAYS)
    return CaseEvent.objects.filter(kind=EventKind.CUSTOMER_MESSAGE, created_at__gte=since).values("case_id")


def inbox_queryset(user: User, filters: CaseInboxFilters, now: datetime) -> QuerySet[Case]:
    tab = filters.tab
    team_ids = list(user.teams.values_list("pk", flat=True)) if tab == "team" else []
    # "Mine" and a member's "my team's" lie inside visible_cases by definition; starting from the plain table
    # keeps their query a single index range instead of visible_cases' OR.
    if tab == "mine" and user.is_active:
        cases = Case.objects.filter(assignee=user)
    elif tab == "team" and filters.team:
        # A manager looks at any team they oversee: the team chosen in the filter, within what they may see.
        cases = visible_cases(user).filter(team_id=filters.team)
    elif tab == "team" and team_ids and user.is_active:
        cases = Case.objects.filter(team_id__in=team_ids)
    elif tab == "team":
        cases = Case.objects.none()
    else:
        cases = visible_cases(user)
    if tab != "all":
        cases = cases.filter(status__in=ACTIVE_STATUSES)
    if tab == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    elif tab == "waiting":
        cases = cases.filter(status=CaseStatus.PENDING_CUSTOMER)
    elif tab == "breaching":
        # Not yet breached: the running clock's due time lies ahead, within the horizon or already warned.
        horizon = now + timedelta(hours=breaching_soon_hours())
        cases = (
            cases.filter(paused_since__isnull=True)
            .annotate(next_due=_next_due_expression())
            .filter(next_due__gte=now)
            .filter(
                Q(next_due__lte=horizon)
                | Q(first_responded_at__isnull=True, first_response_warned=True)
                | Q(resolution_warned=True)
            )
        )
    elif tab == "breached":
        cases = (
            cases.filter(paused_since__isnull=True).annotate(next_due=_next_due_expression()).filter(next_due__lt=now)
        )
    elif tab == "escalated":
        my_teams = list(user.teams.values_list("pk", flat=True)) + list(user.led_teams.values_list("pk", flat=True))
        to_me = CaseEvent.objects.filter(kind=EventKind.ESCALATED, payload__to_user_id=user.pk).values("case_id")
        cases = cases.filter(escalation_level__gt=0).filter(
            Q(pk__in=to_me) | Q(team_id__in=my_teams) | Q(assignee=user)
        )
    elif tab == "customer":
        cases = cases.filter(pk__in=_recent_customer_message_cases(now))
    if filters.q:
        provider = case_search_provider()
        if provider is not None:
            cases = provider(cases, filters.q)  # the search app's word index
        else:
            cases = cases.filter(Q(number=filters.q.upper()) | Q(title__icontains=filters.q))
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.severity:
        cases = cases.filter(severity=filters.severity)
    if filters.team and tab != "team":
        cases = cases.filter(team_id=filters.team)
    if filters.assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif filters.assignee:
        cases = cases.filter(assignee_id=int(filters.assignee))
    return cases


def tab_counts(user: User, filters: CaseInboxFilters | None = None, now: datetime | None = None) -> dict[str, int]:
    """How many cases each list holds with the current filters: one COUNT per list, each over the same query
    the list pages through (so a tab never promises cases its list does not show), each on an index."""
    now = now or timezone.now()
    base = filters or CaseInboxFilters()
    counts = {}
    for tab in TABS:
        if tab == "all":
            continue  # every case ever: the one count that grows without bound, and nobody works from it
        tab_filters = CaseInboxFilters(
            tab=tab, status=base.status, severity=base.severity, team=base.team, assignee=base.assignee, q=base.q
        )
        counts[tab] = inbox_queryset(user, tab_filters, now).count()
    return counts


def _sort_key(tab: str) -> tuple[str, bool]:
    """The column each list is ordered by and whether ascending (see TAB_ORDER_HELP)."""
    if tab == "all":
        return "created_at", False
    if tab == "waiting":
        return "paused_since", True
    if tab == "customer":
        return "last_customer_at", False
    return "next_due", True


def _last_customer_message() -> Subquery:
    latest = CaseEvent.objects.filter(case=OuterRef("pk"), kind=EventKind.CUSTOMER_MESSAGE).order_by("-created_at")
    return Subquery(latest.values("created_at")[:1], output_field=DateTimeField())


def inbox_page(
    user: User, filters: CaseInboxFilters, cursor: str = "", now: datetime | None = None
) -> tuple[list[Case], str]:
    """One page of the inbox with a keyset cursor (no OFFSET, no COUNT). Work tabs are ordered by the next due
    time (most urgent first); "all visible" newest first."""
    now = now or timezone.now()
    cases = inbox_queryset(user, filters, now)
    try:
        decoded = decode_cursor(cursor) if cursor else None
    except CursorError:
        decoded = None  # a link edited by hand: start again at the first page
    # Two steps: order and cut the narrow case rows first, then load the page with its customer, team and
    # assignee; joining before the sort would make the database join every matching case.
    key, ascending = _sort_key(filters.tab)
    if key == "next_due" and "next_due" not in cases.query.annotations:
        cases = cases.annotate(next_due=_next_due_expression())
    elif key == "last_customer_at":
        cases = cases.annotate(last_customer_at=_last_customer_message())
    if decoded:
        moment, pk = decoded
        after, pk_after = ("gt", "gt") if ascending else ("lt", "lt")
        if moment is None:
            cases = cases.filter(**{f"{key}__isnull": True, f"pk__{pk_after}": pk})
        else:
            cases = cases.filter(
                Q(**{f"{key}__{after}": moment})
                | Q(**{key: moment, f"pk__{pk_after}": pk})
                | Q(**{f"{key}__isnull": True})
            )
    if ascending:
        ordering = (F(key).asc(nulls_last=True), "id")
    else:
        ordering = (F(key).desc(nulls_last=True), "-id")
    keys = list(cases.order_by(*ordering).values_list("pk", key)[: INBOX_PAGE_SIZE + 1])
    next_cursor = ""
    if len(keys) > INBOX_PAGE_SIZE:
        keys = keys[:INBOX_PAGE_SIZE]
        next_cursor = encode_cursor(keys[-1][1], keys[-1][0])
    by_pk = Case.objects.select_related("customer", "team", "assignee").in_bulk([pk for pk, _ in keys])
    page = [by_pk[pk] for pk, _ in keys if pk in by_pk]
    for case in page:
        case.clock = next_clock(case, now)  # type: ignore[attr-defined]  # for the template, not a field
    return page, next_cursor


@dataclass
class ClockView:
    """What a countdown shows: the due instant, whether it is past, paused or stopped, and server-side text."""

    label: str
    due_at: datetime | None
    text: str
    overdue: bool = False
    paused: bool = False
    stopped: bool = False  # met or no longer running
    breached: bool = False
    warned: bool = False

    @property
    def due_iso(self) -> str:
        return self.due_at.isoformat() if self.due_at else ""


def format_duration(seconds: float) -> str:
    minutes = max(int(abs(seconds)) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return gettext("%(h)sh %(m)sm") % {"h": hours, "m": mins}
    return gettext("%(m)sm") % {"m": mins}


def countdown_text(due: datetime, now: datetime) -> tuple[str, bool]:
    seconds = (due - now).total_seconds()
    if seconds < 0:
        return gettext("overdue by %(t)s") % {"t": format_duration(seconds)}, True
    return gettext("%(t)s left") % {"t": format_duration(seconds)}, False


def _clock(case: Case, clock: str, now: datetime) -> ClockView:
    label = str(Clock(clock).label)
    due = getattr(case, f"{clock}_due_at")
    breached = getattr(case, f"{clock}_breached")
    warned = getattr(case, f"{clock}_warned")
    if due is None:
        return ClockView(label, None, gettext("no target"), stopped=True)
    if clock == Clock.FIRST_RESPONSE and case.first_responded_at is not None:
        met = case.first_responded_at <= due
        text = gettext("answered %(when)s") % {
            "when": timezone.localtime(case.first_responded_at).strftime("%Y-%m-%d %H:%M")
        }
        return ClockView(label, due, text, stopped=True, breached=breached or not met, warned=warned)
    if case.status not in ACTIVE_STATUSES:
        return ClockView(label, due, gettext("stopped"), stopped=True, breached=breached, warned=warned)
    if case.paused_since is not None:
        return ClockView(
            label, due, gettext("paused (waiting on customer)"), paused=True, breached=breached, warned=warned
        )
    text, overdue = countdown_text(due, now)
    return ClockView(label, due, text, overdue=overdue, breached=breached, warned=warned)


def case_clocks(case: Case, now: datetime | None = None) -> list[ClockView]:
    now = now or timezone.now()
    return [_clock(case, Clock.FIRST_RESPONSE, now), _clock(case, Clock.RESOLUTION, now)]


def next_clock(case: Case, now: datetime) -> ClockView:
    """The clock an inbox row shows: first response while it runs, else resolution."""
    first = _clock(case, Clock.FIRST_RESPONSE, now)
    if not first.stopped and (
        case.resolution_due_at is None or (first.due_at and first.due_at <= case.resolution_due_at)
    ):
        return first
    return _clock(case, Clock.RESOLUTION, now)


# --- timeline ------------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    event: CaseEvent
    summary: str
    text: str = ""  # reply/note text, shown as a block
    public: bool = False


def _user_names(ids: set[int]) -> dict[int, str]:
    return {u.pk: (u.get_full_name() or u.username) for u in User.objects.filter(pk__in=ids)}


def _status_label(value: Any) -> str:
    try:
        return str(CaseStatus(value).label)
    except ValueError:
        return str(value)


def _severity_label(value: Any) -> str:
    try:
        return str(Severity(value).label)
    except ValueError:
        return str(value)


# Why a case was reopened without a person saying so: the code the service recorded, told in words.
REOPEN_REASONS = {
    "customer_message": gettext_lazy("The customer wrote again."),
    "new_complaint": gettext_lazy("A new complaint from the customer on the same topic."),
    "follow_up_dissatisfied": gettext_lazy("The customer said at the follow-up that they are not satisfied."),
}


# Codes other stages record as an event's "reason" (a follow-up skipped, a message not sent), told in words. The
# stage that owns the codes registers their labels in its AppConfig.ready (notify sits above cases).
REASON_LABELS: dict[str, Any] = {}
# The channels notify sends to customers by (its DeliveryChannel), named on delivery notes.
DELIVERY_CHANNEL_LABELS: dict[str, Any] = {
    "email": gettext_lazy("email"),
    "sms": gettext_lazy("SMS"),
    "im": gettext_lazy("chat app"),
}


def register_reason_labels(labels: Mapping[str, Any]) -> None:
    REASON_LABELS.update(labels)


def _reason(value: object) -> str:
    text = str(value or "")
    return str(REASON_LABELS.get(text, text))


def _topic_label(code: object) -> str:
    if not code:
        return "—"
    topic = Topic.objects.filter(code=str(code)).first()
    return topic.display_name(get_language() or "") if topic else str(code)


def _clock_label(value: Any) -> str:
    try:
        return str(Clock(value).label)
    except ValueError:
        return str(value)


def _when(value: object) -> str:
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else str(value)


def describe_event(
    event: CaseEvent,
    names: Mapping[int, str],
    cases: Mapping[int, str],
    mask: Callable[[str], str] = lambda value: value,
) -> TimelineEntry:
    """A readable sentence for every kind of event (in the current language); unknown kinds fall back to the
    kind's name and the raw payload, so nothing on the timeline is hidden."""
    p = event.payload or {}
    kind = event.kind

    def who(key: str) -> str:
        uid = p.get(key)
        return names.get(uid, gettext("nobody")) if uid else gettext("nobody")

    def case_ref(cid: object) -> str:
        return cases.get(cid, f"#{cid}") if isinstance(cid, int) else str(cid)

    if kind == EventKind.CREATED:
        summary = gettext("Case opened with severity %(severity)s.") % {"severity": _severity_label(p.get("severity"))}
    elif kind in (EventKind.PUBLIC_REPLY, EventKind.INTERNAL_NOTE):
        public = kind == EventKind.PUBLIC_REPLY
        summary = gettext("Public reply to the customer") if public else gettext("Internal note")
        channel = str(DELIVERY_CHANNEL_LABELS.get(str(p.get("channel") or ""), "")) if public else ""
        if channel:
            summary = gettext("Public reply to the customer, by %(channel)s") % {"channel": channel}
        return TimelineEntry(event, summary, str(p.get("text", "")), public)
    elif kind == EventKind.STATUS_CHANGED:
        summary = gettext("Status changed from %(old)s to %(new)s.") % {
            "old": _status_label(p.get("from")),
            "new": _status_label(p.get("to")),
        }
    elif kind == EventKind.ASSIGNED:
        if p.get("to_team_id"):
            team_names: dict[Any, str] = dict(
                Team.objects.filter(pk__in=[p.get("from_team_id"), p["to_team_id"]]).values_list("pk", "name")
            )
            summary = gettext("Moved from team %(old)s to team %(new)s.") % {
                "old": team_names.get(p.get("from_team_id"), "—"),
                "new": team_names.get(p["to_team_id"], "—"),
            }
        elif p.get("taken"):
            summary = gettext("%(user)s took the case.") % {"user": who("to_user_id")}
        elif p.get("from_user_id"):
            summary = gettext("Reassigned from %(old)s to %(new)s.") % {
                "old": who("from_user_id"),
                "new": who("to_user_id"),
            }
        else:
            summary = gettext("Assigned to %(user)s.") % {"user": who("to_user_id")}
    elif kind == EventKind.SEVERITY_CHANGED:
        summary = gettext("Severity changed from %(old)s to %(new)s; resolution now due %(due)s.") % {
            "old": _severity_label(p.get("from")),
            "new": _severity_label(p.get("to")),
            "due": _when(p.get("resolution_due_at")),
        }
    elif kind == EventKind.SLA_WARNING:
        summary = gettext("SLA warning: %(clock)s is due %(due)s.") % {
            "clock": _clock_label(p.get("clock")),
            "due": _when(p.get("due_at")),
        }
    elif kind == EventKind.SLA_BREACH:
        summary = gettext("SLA breached: %(clock)s was due %(due)s.") % {
            "clock": _clock_label(p.get("clock")),
            "due": _when(p.get("due_at")),
        }
    elif kind == EventKind.ESCALATED:
        if p.get("reason") == "on_demand":
            summary = gettext("Escalated on demand to level %(level)s (%(user)s).") % {
                "level": p.get("level"),
                "user": who("to_user_id"),
            }
        else:
            summary = gettext("Escalated to level %(level)s (%(user)s) after an SLA breach.") % {
                "level": p.get("level"),
                "user": who("to_user_id"),
            }
        return TimelineEntry(event, summary, str(p.get("note", "")))
    elif kind == EventKind.MERGED:
        if p.get("into_case_id"):
            summary = gettext("Merged into case %(case)s.") % {"case": case_ref(p.get("into_case_id"))}
        else:
            summary = gettext("Cases %(cases)s were merged into this one.") % {
                "cases": ", ".join(case_ref(c) for c in p.get("from_case_ids", []))
            }
    elif kind == EventKind.RESOLVED:
        summary = gettext("Resolved. Root cause: %(cause)s.") % {"cause": _topic_label(p.get("root_cause"))}
        return TimelineEntry(event, summary, str(p.get("resolution", "")))
    elif kind == EventKind.REOPENED:
        summary = gettext("Reopened; resolution now due %(due)s.") % {"due": _when(p.get("resolution_due_at"))}
        reason = str(p.get("reason") or "")
        return TimelineEntry(event, summary, str(REOPEN_REASONS.get(reason, reason)))
    elif kind == EventKind.FEEDBACK_LINKED:
        ids = p.get("feedback_ids") or ([p["feedback_id"]] if p.get("feedback_id") else [])
        summary = gettext("Feedback %(ids)s linked.") % {"ids": ", ".join(f"#{i}" for i in ids)}
    elif kind == EventKind.ACKNOWLEDGED:
        summary = gettext("The customer was told the case is being handled.")
    elif kind == EventKind.NOTIFICATION:
        to = mask(str(p.get("to") or "")) or gettext("the recipient")
        channel = str(DELIVERY_CHANNEL_LABELS.get(str(p.get("channel") or ""), ""))
        if p.get("delivery") == "failed":
            if channel:
                summary = gettext("A message by %(channel)s to %(to)s could not be delivered.") % {
                    "channel": channel, "to": to,
                }  # fmt: skip
            else:
                summary = gettext("A message to %(to)s could not be delivered.") % {"to": to}
            return TimelineEntry(event, summary, _reason(p.get("reason")))
        if p.get("delivery") == "not_sent":
            if channel and p.get("to"):
                summary = gettext("A message by %(channel)s to %(to)s was not sent.") % {"channel": channel, "to": to}
            else:
                summary = gettext("A message to %(to)s was not sent.") % {"to": to}
            return TimelineEntry(event, summary, _reason(p.get("reason")))
        if p.get("rule"):
            summary = gettext("Rule “%(rule)s” asks for attention.") % {"rule": p.get("rule")}
            return TimelineEntry(event, summary, str(p.get("message") or ""))
        summary = gettext("Notification.")
    elif kind == EventKind.CUSTOMER_MESSAGE:
        if p.get("follow_up_case_id"):
            summary = gettext("The customer replied to this closed case; follow-up case %(case)s was opened.") % {
                "case": p.get("follow_up_number") or case_ref(p.get("follow_up_case_id"))
            }
        elif p.get("via") == "email":
            summary = gettext("Email from the customer")
        else:
            summary = gettext("Message from the customer")
        return TimelineEntry(event, summary, str(p.get("text", "")), True)
    elif kind == EventKind.COMPENSATION:
        action = p.get("action")
        values = {
            "amount": p.get("amount"),
            "currency": p.get("currency", ""),
            "status": _compensation_status(p.get("status")),
        }
        if action == "proposed":
            summary = gettext("Compensation of %(amount)s %(currency)s proposed: %(status)s.") % values
        elif action == "approved":
            summary = gettext("Compensation of %(amount)s %(currency)s approved.") % values
        elif action == "rejected":
            summary = gettext("Compensation of %(amount)s %(currency)s rejected.") % values
        else:
            summary = gettext("Compensation of %(amount)s %(currency)s: %(status)s.") % values
        return TimelineEntry(event, summary, str(p.get("note", "")))
    elif kind == EventKind.FOLLOW_UP:
        action = p.get("action")
        if action == "scheduled":
            summary = gettext("Follow-up scheduled for %(due)s.") % {"due": _when(p.get("due_at"))}
        elif action == "skipped":
            summary = gettext("Follow-up skipped.")
        elif action == "due":
            summary = gettext("Follow-up is due: a task for %(user)s.") % {"user": who("to_user_id")}
        elif action == "sent":
            summary = gettext("Follow-up sent to the customer.")
        elif action == "outcome":
            outcomes = {"satisfied": gettext("satisfied"), "dissatisfied": gettext("dissatisfied")}
            outcome = str(p.get("outcome") or "—")
            summary = gettext("Follow-up answer: %(outcome)s.") % {"outcome": outcomes.get(outcome, outcome)}
        else:
            summary = gettext("Follow-up: %(what)s.") % {"what": action or p.get("status") or "—"}
        return TimelineEntry(event, summary, _reason(p.get("reason")) or str(p.get("note") or ""))
    elif kind == EventKind.REPEAT:
        earlier = p.get("repeat_of_number") or case_ref(p.get("repeat_of_case_id"))
        if p.get("reason") == "reply_to_closed":
            summary = gettext("Follow-up of closed case %(case)s: the customer replied to it.") % {"case": earlier}
        else:
            summary = gettext("Repeat complaint: the customer had case %(case)s on the same topic.") % {"case": earlier}
    elif kind == EventKind.CLOSED:
        summary = gettext("Closed.")
    elif kind == EventKind.WITHDRAWN:
        summary = gettext("Withdrawn: after review the sentiment is no longer negative.")
        detail = gettext(
            "The refine lane relabelled feedback #%(item)s from %(old)s to %(new)s (model %(model)s) and no rule "
            "opens a case on it now. Nobody had worked on this case, so it was closed; the customer was not told."
        ) % _correction_values(p)
        return TimelineEntry(event, summary, detail)
    elif kind == EventKind.LABEL_CORRECTED:
        summary = gettext("Sentiment corrected after review: feedback #%(item)s is now %(new)s (was %(old)s).") % (
            _correction_values(p)
        )
        return TimelineEntry(event, summary, str(KEPT_LABELS.get(str(p.get("kept") or ""), "")))
    else:
        summary = str(event.get_kind_display())
    return TimelineEntry(event, summary)


# Why a case whose label was corrected stays as it is (cases/withdrawal.py, the LABEL_CORRECTED event's "kept").
KEPT_LABELS: dict[str, Any] = {
    "worked": gettext_lazy(
        "The rule that opened this case no longer applies, but the case has been worked on, so it stays open: "
        "check whether it is still needed."
    ),
    "several_items": gettext_lazy("The case holds other feedback too, so it stays as it is."),
    "merged": gettext_lazy("Other cases were merged with this one, so it stays as it is."),
    "not_opened_for_item": gettext_lazy("This case was not opened for this item alone, so it stays as it is."),
    "status": gettext_lazy("The case is no longer new or open, so it stays as it is."),
}


def _correction_values(p: Mapping[str, Any]) -> dict[str, str]:
    def label(value: object) -> str:
        try:
            return str(Sentiment(str(value)).label)
        except ValueError:
            return str(value or "—")

    return {"item": str(p.get("feedback_id") or "—"), "old": label(p.get("from")), "new": label(p.get("to")),
            "model": str(p.get("model") or "—")}  # fmt: skip


def _compensation_status(value: Any) -> str:
    try:
        return str(CompensationStatus(value).label)
    except ValueError:
        return str(value or "")


def timeline(case: Case, viewer: User | None = None) -> list[TimelineEntry]:
    """The case's events as readable entries; contact details in them are masked for viewers who may not see
    personal data."""

    def mask(value: str) -> str:
        return privacy.contact_for(value, viewer) if viewer is not None else value

    events = list(case.events.select_related("actor").order_by("created_at", "id"))
    user_ids: set[int] = set()
    case_ids: set[int] = set()
    for e in events:
        p = e.payload or {}
        for key in ("to_user_id", "from_user_id", "by_user_id"):
            if isinstance(p.get(key), int):
                user_ids.add(p[key])
        for key in ("into_case_id", "repeat_of_case_id", "follow_up_case_id"):
            if isinstance(p.get(key), int):
                case_ids.add(p[key])
        case_ids.update(c for c in p.get("from_case_ids", []) if isinstance(c, int))
    names = _user_names(user_ids)
    numbers = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "number"))
    return [describe_event(e, names, numbers, mask) for e in events]


def follow_ups_due(user: User, limit: int = 20) -> list[Any]:
    """Follow-up tasks waiting for this agent (made due by the follow-up sweep), oldest first."""
    return list(
        FollowUp.objects.filter(assignee=user, status=FollowUpStatus.DUE)
        .select_related("case")
        .order_by("due_at", "id")[:limit]
    )


def newest_case_on_topics(candidate_ids: list[int], top_topics: Iterable[str]) -> Case | None:
    """The first of ``candidate_ids`` (newest first) holding feedback on one of these top-level topics.
    Used to join an open case, reopen a resolved one and flag repeats: the caller picks the candidates on
    the customer index, this looks up the topics for those few cases only."""
    if not candidate_ids:
        return None
    on_topic = set(
        CaseFeedback.objects.filter(
            case_id__in=candidate_ids, feedback__topic_links__top_code__in=list(top_topics)
        ).values_list("case_id", flat=True)
    )
    newest = next((pk for pk in candidate_ids if pk in on_topic), None)
    return Case.objects.get(pk=newest) if newest else None


def case_top_topics(case_ids: Iterable[int]) -> dict[int, set[str]]:
    """case id -> the top-level topics of its feedback, for many cases in one query."""
    found: dict[int, set[str]] = {}
    ids = list(case_ids)
    if not ids:
        return found
    rows = CaseFeedback.objects.filter(case_id__in=ids, feedback__topic_links__isnull=False).values_list(
        "case_id", "feedback__topic_links__top_code"
    )
    for case_id, top in rows:
        found.setdefault(case_id, set()).add(top)
    return found


def newest_cases_on_topics(wanted: Mapping[int, Iterable[str]], statuses: Iterable[str]) -> dict[int, int]:
    """For many customers at once (customer id -> top-level topics): the id of each customer's newest case in
    ``statuses`` (merged duplicates left out) holding feedback on one of its topics; customers with none are
    left out. The batch form of ``newest_case_on_topics`` for the rules: two queries for the whole batch."""
    if not wanted:
        return {}
    candidates = list(
        Case.objects.filter(customer_id__in=list(wanted), status__in=list(statuses), merged_into__isnull=True)
        .order_by("-created_at", "-id")
        .values_list("pk", "customer_id")
    )
    topics = case_top_topics(pk for pk, _customer in candidates)
    found: dict[int, int] = {}
    for pk, customer_id in candidates:
        if customer_id not in found and topics.get(pk, set()) & set(wanted[customer_id]):
            found[customer_id] = pk
    return found
