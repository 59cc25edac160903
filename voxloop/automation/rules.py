"""The condition and action language of automation and routing rules, kept free of database writes.

A condition is a leaf ``{"field": "sentiment", "op": "eq", "value": "negative"}`` or a group ``{"all": [...]}`` /
``{"any": [...]}``; a rule's ``conditions`` is a list (all must hold) or one node. An empty list matches every item
(allowed, but validation warns). Conditions are evaluated on ``Facts``: a plain snapshot of one analysed feedback
item taken before any action runs, so actions can never re-trigger rules (no loops).

Actions are a list of ``{"type": ...}`` objects; see ``ACTION_SPECS``. ``apply_rules`` (the service that runs
them) lives in ``voxloop.automation.services``, which imports this module (never the other way round).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from voxloop.feedback.bands import CSAT_BANDS, NPS_BANDS, answer_bands
from voxloop.feedback.models import Channel, Feedback, Kind, Sentiment, Urgency


class Severity(models.TextChoices):
    """How bad a case is: chosen by a rule's open_case action (or a person), carried by the case and its SLA."""

    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")
    URGENT = "urgent", _("Urgent")


# A survey answer's comment is stored as a feedback item from this source with the answer's scores and the
# survey's kind in its payload (voxloop.surveys.loop.comment_to_feedback); the rules see them as the facts
# survey_kind and survey_band. The kinds are SurveyKind's values, written out because surveys sit above
# automation (a surveys test checks that the two agree).
SURVEY_SOURCE = "survey"
SURVEY_KINDS = ("nps", "csat", "ces", "custom")

# The reason kinds the analysis pipeline gives for urgency ("safety:起火" -> "safety").
URGENCY_REASON_KINDS = ("safety", "legal", "media", "churn", "repeated_contact", "strong_negative_emotion")


class RuleValidationError(Exception):
    """Rule JSON that cannot be used; ``messages`` name the place (e.g. "conditions[1].op") and the problem."""

    def __init__(self, messages: Sequence[str | Promise]) -> None:
        super().__init__("; ".join(str(m) for m in messages))
        self.messages = [str(m) for m in messages]


@dataclass(frozen=True)
class Facts:
    """What rules may look at for one feedback item. Text fields are lower-cased; codes as stored."""

    feedback_id: int
    sentiment: str = ""
    sentiment_score: float | None = None
    kind: str = ""
    urgency: str = ""
    urgency_reasons: tuple[str, ...] = ()  # reason kinds, e.g. ("safety", "churn")
    topics: tuple[str, ...] = ()  # topic codes, e.g. ("logistics.delay",)
    channel: str = ""
    language: str = ""
    customer_id: int | None = None
    customer_tags: tuple[str, ...] = ()
    customer_segment: str = ""
    customer_lifetime_value: Decimal | None = None
    product: str = ""  # product code
    rating: Decimal | None = None
    survey_kind: str = ""  # the survey's kind when the item is a survey answer's comment, else ""
    survey_band: tuple[str, ...] = ()  # its scores' bands, e.g. ("detractor",) or ("promoter", "low")
    text: str = ""  # subject and text, lower-cased

    @property
    def top_topics(self) -> set[str]:
        return {code.split(".")[0] for code in self.topics}


def facts_for(feedback: Any) -> Facts:
    """Facts of a Feedback loaded with select_related("customer", "product", "analysis") and prefetched
    topic_links (see ``facts_queryset``)."""
    analysis = getattr(feedback, "analysis", None) if _has_analysis(feedback) else None
    customer = feedback.customer
    survey_kind, survey_band = survey_facts(feedback.source, feedback.raw_payload)
    reasons = tuple(dict.fromkeys(str(r).split(":")[0] for r in (analysis.urgency_reasons if analysis else []) or []))
    return Facts(
        feedback_id=feedback.pk,
        sentiment=feedback.sentiment or "",
        sentiment_score=feedback.sentiment_score,
        kind=feedback.kind or "",
        urgency=feedback.urgency or "",
        urgency_reasons=reasons,
        topics=tuple(sorted(link.code for link in feedback.topic_links.all())),
        channel=feedback.channel or "",
        language=(feedback.language or "").lower(),
        customer_id=feedback.customer_id,
        customer_tags=tuple(str(t).lower() for t in (customer.tags or [])) if customer else (),
        customer_segment=(customer.segment or "").lower() if customer else "",
        customer_lifetime_value=customer.lifetime_value if customer else None,
        product=(feedback.product.code if feedback.product_id and feedback.product else "").lower(),
        rating=feedback.rating,
        survey_kind=survey_kind,
        survey_band=survey_band,
        text=f"{feedback.title}\n{feedback.text}".lower() if feedback.title else (feedback.text or "").lower(),
    )


def survey_facts(source: str, payload: Any) -> tuple[str, tuple[str, ...]]:
    """The survey kind and score bands of a survey answer's feedback item; ("", ()) for any other item."""
    if source != SURVEY_SOURCE or not isinstance(payload, dict):
        return "", ()
    kind = payload.get("survey_kind")
    scores = [payload.get(key) for key in ("nps", "csat")]
    try:
        found = answer_bands(*(s if isinstance(s, int) and not isinstance(s, bool) else None for s in scores))
    except ValueError:  # a score off its scale has no band
        found = ()
    return (kind if kind in SURVEY_KINDS else ""), found


def _has_analysis(feedback: Any) -> bool:
    try:
        feedback.analysis  # noqa: B018 - a missing one-to-one raises
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist
        return False
    return True


def facts_queryset(ids: Iterable[int]) -> QuerySet[Feedback]:
    return (
        Feedback.objects.filter(pk__in=list(ids))
        .select_related("customer", "product", "analysis")
        .prefetch_related("topic_links")
        .order_by("pk")
    )


# --- fields and operators --------------------------------------------------------------------------------

CHOICE, STRING, LANGUAGE, LIST, TOPICS, NUMBER, TEXT = (
    "choice",
    "string",
    "language",
    "list",
    "topics",
    "number",
    "text",
)

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    CHOICE: ("eq", "in", "any"),
    STRING: ("eq", "in", "any", "contains"),
    LANGUAGE: ("eq", "in", "any"),
    LIST: ("contains", "any", "in"),
    TOPICS: ("eq", "contains", "any", "in"),
    NUMBER: ("eq", "gte", "lte"),
    TEXT: ("contains", "any"),
}
ALL_OPERATORS = ("eq", "in", "contains", "gte", "lte", "any")


@dataclass(frozen=True)
class FieldSpec:
    type: str
    label: Any
    choices: tuple[str, ...] = ()


FIELDS: dict[str, FieldSpec] = {
    "sentiment": FieldSpec(CHOICE, _("sentiment"), tuple(Sentiment.values)),
    "sentiment_score": FieldSpec(NUMBER, _("sentiment score")),
    "kind": FieldSpec(CHOICE, _("kind"), tuple(Kind.values)),
    "urgency": FieldSpec(CHOICE, _("urgency"), tuple(Urgency.values)),
    "urgency_reasons": FieldSpec(LIST, _("urgency reasons"), URGENCY_REASON_KINDS),
    "topics": FieldSpec(TOPICS, _("topics")),
    "channel": FieldSpec(CHOICE, _("channel"), tuple(Channel.values)),
    "language": FieldSpec(LANGUAGE, _("language")),
    "customer_tags": FieldSpec(LIST, _("customer tags")),
    "customer_segment": FieldSpec(STRING, _("customer segment")),
    "customer_lifetime_value": FieldSpec(NUMBER, _("customer lifetime value")),
    "product": FieldSpec(STRING, _("product code")),
    "rating": FieldSpec(NUMBER, _("rating")),
    "survey_kind": FieldSpec(CHOICE, _("survey kind"), SURVEY_KINDS),
    "survey_band": FieldSpec(LIST, _("survey score band"), NPS_BANDS + CSAT_BANDS),
    "text": FieldSpec(TEXT, _("keywords in text")),
}


def primary_language(code: str) -> str:
    return code.lower().replace("_", "-").split("-")[0]


def topic_matches(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(prefix + ".")


Predicate = Callable[[Facts], bool]


def _compile_leaf(node: dict[str, Any], where: str, errors: list[str]) -> Predicate | None:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys:
        errors.append(
            _("%(where)s: unknown key(s) %(keys)s; a condition has field, op and value.")
            % {"where": where, "keys": ", ".join(sorted(map(str, unknown_keys)))}
        )
        return None
    name, op = node.get("field"), node.get("op")
    value: Any = node.get("value")  # the JSON as written, checked below
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None or not isinstance(name, str):
        errors.append(
            _("%(where)s: unknown field %(field)r; use one of %(allowed)s.")
            % {"where": where, "field": name, "allowed": ", ".join(FIELDS)}
        )
        return None
    if not isinstance(op, str) or op not in ALL_OPERATORS:
        errors.append(
            _("%(where)s: unknown operator %(op)r; use one of %(allowed)s.")
            % {"where": where, "op": op, "allowed": ", ".join(ALL_OPERATORS)}
        )
        return None
    allowed = OPERATORS_BY_TYPE[spec.type]
    if op not in allowed:
        errors.append(
            _("%(where)s: operator %(op)r does not apply to %(field)s; use one of %(allowed)s.")
            % {"where": where, "op": op, "field": name, "allowed": ", ".join(allowed)}
        )
        return None
    several = op in ("in", "any")
    if spec.type == NUMBER:
        number = _number(value)
        if number is None:
            errors.append(
                _("%(where)s: %(field)s needs a number, not %(value)r.")
                % {"where": where, "field": name, "value": value}
            )
            return None
        return _number_predicate(name, op, number)
    values = value if several else [value]
    if several and (not isinstance(value, list) or not value):
        errors.append(
            _("%(where)s: operator %(op)r needs a non-empty list of values, not %(value)r.")
            % {"where": where, "op": op, "value": value}
        )
        return None
    if not all(isinstance(v, str) and v.strip() for v in values):
        errors.append(
            _("%(where)s: %(field)s needs non-empty text values, not %(value)r.")
            % {"where": where, "field": name, "value": value}
        )
        return None
    wanted = [v.strip().lower() for v in values]
    if spec.choices:
        bad = [v for v in wanted if v not in spec.choices]
        if bad:
            errors.append(
                _("%(where)s: %(value)r is not a valid %(field)s; use one of %(allowed)s.")
                % {"where": where, "value": bad[0], "field": name, "allowed": ", ".join(spec.choices)}
            )
            return None
    return _text_predicate(name, spec.type, op, wanted)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number_predicate(name: str, op: str, number: Decimal) -> Predicate:
    def predicate(facts: Facts) -> bool:
        actual = getattr(facts, name)
        if actual is None:
            return False  # no rating / no customer: the condition does not hold
        actual = Decimal(str(actual))
        if op == "eq":
            return actual == number
        return actual >= number if op == "gte" else actual <= number

    return predicate


def _text_predicate(name: str, kind: str, op: str, wanted: list[str]) -> Predicate:
    if kind == LANGUAGE:
        primaries = {primary_language(v) for v in wanted}
        return lambda facts: bool(facts.language) and primary_language(facts.language) in primaries
    if kind == TOPICS:
        # A topic condition names a code or a prefix: "logistics" matches "logistics.delay".
        return lambda facts: any(topic_matches(code, w) for code in facts.topics for w in wanted)
    if kind == LIST:
        return lambda facts: any(w in getattr(facts, name) for w in wanted)
    if kind == TEXT:
        return lambda facts: any(w in facts.text for w in wanted)
    if op == "contains":
        return lambda facts: any(w in getattr(facts, name) for w in wanted)
    allowed = set(wanted)
    return lambda facts: getattr(facts, name) in allowed


def _compile_node(node: Any, where: str, errors: list[str], depth: int = 0) -> Predicate | None:
    if depth > 10:
        errors.append(_("%(where)s: conditions are nested too deeply (at most 10 levels).") % {"where": where})
        return None
    if isinstance(node, list):
        return _compile_group("all", node, where, errors, depth)
    if not isinstance(node, dict):
        errors.append(
            _('%(where)s: a condition must be an object like {"field": ..., "op": ..., "value": ...}, not %(value)r.')
            % {"where": where, "value": node}
        )
        return None
    groups = [k for k in ("all", "any") if k in node]
    if groups:
        if len(node) != 1:
            errors.append(
                _('%(where)s: a group has exactly one key, "all" or "any", holding a list.') % {"where": where}
            )
            return None
        key = groups[0]
        if not isinstance(node[key], list):
            errors.append(_("%(where)s.%(key)s must be a list of conditions.") % {"where": where, "key": key})
            return None
        return _compile_group(key, node[key], f"{where}.{key}", errors, depth)
    return _compile_leaf(node, where, errors)


def _compile_group(key: str, nodes: list[Any], where: str, errors: list[str], depth: int) -> Predicate | None:
    if key == "any" and not nodes:
        errors.append(_('%(where)s: an "any" group needs at least one condition.') % {"where": where})
        return None
    parts = [_compile_node(n, f"{where}[{i}]", errors, depth + 1) for i, n in enumerate(nodes)]
    if any(p is None for p in parts):
        return None
    preds = [p for p in parts if p is not None]
    if key == "any":
        return lambda facts: any(p(facts) for p in preds)
    return lambda facts: all(p(facts) for p in preds)


def compile_conditions(conditions: Any) -> Predicate:
    """Check conditions and turn them into a predicate; raises RuleValidationError naming every problem."""
    errors: list[str] = []
    if conditions is None:
        conditions = []
    predicate = _compile_node(conditions, "conditions", errors)
    if errors or predicate is None:
        raise RuleValidationError(errors or [_("conditions: cannot be used.")])
    return predicate


def matches_everything(conditions: Any) -> bool:
    """True for conditions that hold for every item (an empty list, or groups of empty "all" lists)."""
    if conditions is None:
        return True
    if isinstance(conditions, list):
        return all(matches_everything(c) for c in conditions)
    if isinstance(conditions, dict) and set(conditions) == {"all"} and isinstance(conditions["all"], list):
        return matches_everything(conditions["all"])
    return False


# --- actions ---------------------------------------------------------------------------------------------

OPEN_CASE, SET_TEAM, ADD_TAGS, NOTIFY, AUTO_ACKNOWLEDGE = (
    "open_case",
    "set_team",
    "add_tags",
    "notify",
    "auto_acknowledge",
)
ACTION_SPECS: dict[str, dict[str, bool]] = {  # type -> {key: required}
    OPEN_CASE: {"severity": True, "merge_open": False},
    SET_TEAM: {"team": True},
    ADD_TAGS: {"tags": True},
    NOTIFY: {"message": False},
    AUTO_ACKNOWLEDGE: {},
}
SEVERITY_RANK: dict[str, int] = {Severity.NORMAL: 1, Severity.IMPORTANT: 2, Severity.URGENT: 3}


@dataclass
class Plan:
    """What the rules that fired on one item ask for, combined: the highest severity wins, the first team set
    wins, tags and notifications add up."""

    severity: str = ""
    merge_open: bool = True
    team: Any = None  # team name or id as written in the rule
    tags: list[str] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    acknowledge: bool = False

    def add(self, actions: list[dict[str, Any]], rule_id: int, rule_name: str) -> None:
        for action in actions:
            kind = action["type"]
            if kind == OPEN_CASE:
                severity = action["severity"]
                if not self.severity or SEVERITY_RANK[severity] > SEVERITY_RANK[self.severity]:
                    self.severity = severity
                if action.get("merge_open") is False:
                    self.merge_open = False
            elif kind == SET_TEAM and self.team is None:
                self.team = action["team"]
            elif kind == ADD_TAGS:
                self.tags.extend(t for t in action["tags"] if t not in self.tags)
            elif kind == NOTIFY:
                self.notifications.append({"rule_id": rule_id, "rule": rule_name, "message": action.get("message", "")})
            elif kind == AUTO_ACKNOWLEDGE:
                self.acknowledge = True


def validate_actions(actions: Any, *, team_exists: Callable[[Any], bool] | None = None) -> list[dict[str, Any]]:
    """Check actions; returns them normalised (tags stripped). Raises RuleValidationError naming every problem."""
    errors: list[str] = []
    if not isinstance(actions, list) or not actions:
        raise RuleValidationError([_("actions: give a non-empty list of actions, e.g. [{\"type\": \"open_case\", "
                                     "\"severity\": \"normal\"}].")])  # fmt: skip
    clean: list[dict[str, Any]] = []
    for i, action in enumerate(actions):
        where = f"actions[{i}]"
        if not isinstance(action, dict):
            errors.append(_('%(where)s: an action must be an object with a "type".') % {"where": where})
            continue
        kind = action.get("type")
        if kind not in ACTION_SPECS:
            errors.append(
                _("%(where)s: unknown action type %(type)r; use one of %(allowed)s.")
                % {"where": where, "type": kind, "allowed": ", ".join(ACTION_SPECS)}
            )
            continue
        spec = ACTION_SPECS[kind]
        extra = set(action) - set(spec) - {"type"}
        missing = [k for k, required in spec.items() if required and k not in action]
        if extra:
            errors.append(
                _("%(where)s: %(type)s does not take %(keys)s.")
                % {"where": where, "type": kind, "keys": ", ".join(sorted(map(str, extra)))}
            )
            continue
        if missing:
            errors.append(
                _("%(where)s: %(type)s needs %(keys)s.") % {"where": where, "type": kind, "keys": ", ".join(missing)}
            )
            continue
        item = dict(action)
        if kind == OPEN_CASE:
            if action["severity"] not in Severity.values:
                errors.append(
                    _("%(where)s: unknown severity %(value)r; use one of %(allowed)s.")
                    % {"where": where, "value": action["severity"], "allowed": ", ".join(Severity.values)}
                )
            if "merge_open" in action and not isinstance(action["merge_open"], bool):
                errors.append(_("%(where)s: merge_open must be true or false.") % {"where": where})
        elif kind == SET_TEAM:
            team = action["team"]
            if (
                isinstance(team, bool)
                or not isinstance(team, int | str)
                or (isinstance(team, str) and not team.strip())
            ):
                errors.append(_("%(where)s: team must be a team name or id.") % {"where": where})
            elif team_exists is not None and not team_exists(team):
                errors.append(_("%(where)s: there is no team %(team)r.") % {"where": where, "team": team})
        elif kind == ADD_TAGS:
            tags = action["tags"]
            if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t.strip() for t in tags):
                errors.append(_("%(where)s: tags must be a non-empty list of words.") % {"where": where})
            elif any(len(t.strip()) > 50 for t in tags):
                errors.append(_("%(where)s: a tag has at most 50 characters.") % {"where": where})
            else:
                item["tags"] = list(dict.fromkeys(t.strip() for t in tags))
        elif kind == NOTIFY and not isinstance(action.get("message", ""), str):
            errors.append(_("%(where)s: message must be text.") % {"where": where})
        clean.append(item)
    if errors:
        raise RuleValidationError(errors)
    return clean


def validate_rule(conditions: Any, actions: Any, *, team_exists: Callable[[Any], bool] | None = None) -> list[str]:
    """Validate a whole automation rule. Returns warnings (the rule may still be saved); raises on errors."""
    errors: list[str] = []
    try:
        compile_conditions(conditions)
    except RuleValidationError as exc:
        errors.extend(exc.messages)
    try:
        validate_actions(actions, team_exists=team_exists)
    except RuleValidationError as exc:
        errors.extend(exc.messages)
    if errors:
        raise RuleValidationError(errors)
    warnings = []
    if matches_everything(conditions):
        warnings.append(str(_("This rule has no conditions: it matches every analysed feedback item.")))
    return warnings
