"""The rule language: every field and operator, groups, and invalid JSON refused with a clear message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voxloop.automation.rules import Facts, RuleValidationError, compile_conditions, validate_actions, validate_rule

ITEM = Facts(
    feedback_id=1,
    sentiment="negative",
    sentiment_score=-0.8,
    kind="complaint",
    urgency="urgent",
    urgency_reasons=("safety", "legal"),
    topics=("logistics.delay", "quality"),
    channel="email",
    language="zh-hans",
    customer_id=7,
    customer_tags=("vip", "wholesale"),
    customer_segment="enterprise",
    customer_lifetime_value=Decimal("80000.00"),
    product="phone-x",
    rating=Decimal("1"),
    text="充电器起火了 the charger caught fire",
)


def holds(field: str, op: str, value, facts: Facts = ITEM) -> bool:
    return compile_conditions([{"field": field, "op": op, "value": value}])(facts)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("sentiment", "eq", "negative", True),
        ("sentiment", "eq", "positive", False),
        ("sentiment", "in", ["neutral", "negative"], True),
        ("sentiment", "any", ["neutral", "positive"], False),
        ("sentiment_score", "lte", -0.5, True),
        ("sentiment_score", "gte", 0, False),
        ("kind", "eq", "complaint", True),
        ("kind", "in", ["praise", "question"], False),
        ("urgency", "eq", "urgent", True),
        ("urgency", "in", ["normal", "important"], False),
        ("urgency_reasons", "contains", "safety", True),
        ("urgency_reasons", "contains", "churn", False),
        ("urgency_reasons", "any", ["churn", "legal"], True),
        ("urgency_reasons", "in", ["media", "churn"], False),
        ("topics", "eq", "logistics", True),  # a prefix names the whole branch
        ("topics", "contains", "logistics.delay", True),
        ("topics", "contains", "logistics.damage", False),
        ("topics", "any", ["refund", "quality"], True),
        ("topics", "in", ["refund", "price"], False),
        ("topics", "eq", "logist", False),  # a prefix is a whole code segment, not a substring
        ("channel", "eq", "email", True),
        ("channel", "in", ["hotline", "chat"], False),
        ("language", "eq", "zh", True),  # zh matches zh-Hans
        ("language", "eq", "zh-Hant", True),  # primary subtag only
        ("language", "in", ["en", "ja"], False),
        ("customer_tags", "contains", "VIP", True),  # case-insensitive
        ("customer_tags", "any", ["svip", "blacklist"], False),
        ("customer_segment", "eq", "Enterprise", True),
        ("customer_segment", "in", ["smb", "consumer"], False),
        ("customer_segment", "contains", "prise", True),
        ("customer_lifetime_value", "gte", 50000, True),
        ("customer_lifetime_value", "gte", "100000", False),
        ("customer_lifetime_value", "lte", 80000, True),
        ("customer_lifetime_value", "eq", "80000", True),
        ("product", "eq", "PHONE-X", True),
        ("product", "any", ["tv-1", "tv-2"], False),
        ("rating", "lte", 2, True),
        ("rating", "gte", 3, False),
        ("rating", "eq", 1, True),
        ("text", "contains", "起火", True),
        ("text", "contains", "爆炸", False),
        ("text", "any", ["explode", "Caught Fire"], True),
        ("text", "any", ["refund", "退款"], False),
    ],
)
def test_each_field_and_operator(field, op, value, expected):
    assert holds(field, op, value) is expected


def test_missing_values_never_match():
    bare = Facts(feedback_id=2)  # no customer, no rating, not analysed into anything
    assert not holds("rating", "lte", 5, bare)
    assert not holds("customer_lifetime_value", "lte", 1_000_000, bare)
    assert not holds("language", "eq", "zh", bare)
    assert not holds("customer_tags", "any", ["vip"], bare)
    assert not holds("topics", "eq", "quality", bare)


def test_groups_all_and_any_nest():
    urgent_or_vip = compile_conditions(
        {
            "any": [
                {"field": "urgency", "op": "eq", "value": "urgent"},
                {
                    "all": [
                        {"field": "sentiment", "op": "eq", "value": "negative"},
                        {"field": "customer_tags", "op": "contains", "value": "vip"},
                    ]
                },
            ]
        }
    )
    assert urgent_or_vip(ITEM)
    calm_vip = Facts(feedback_id=3, urgency="normal", sentiment="negative", customer_tags=("vip",))
    assert urgent_or_vip(calm_vip)
    calm_regular = Facts(feedback_id=4, urgency="normal", sentiment="negative")
    assert not urgent_or_vip(calm_regular)
    both = compile_conditions(
        [{"field": "sentiment", "op": "eq", "value": "negative"}, {"field": "rating", "op": "gte", "value": 4}]
    )
    assert not both(ITEM)


def test_empty_conditions_match_everything_with_a_warning():
    assert compile_conditions([])(Facts(feedback_id=5))
    warnings = validate_rule([], [{"type": "open_case", "severity": "normal"}])
    assert warnings == ["This rule has no conditions: it matches every analysed feedback item."]
    assert validate_rule([{"field": "kind", "op": "eq", "value": "complaint"}], [{"type": "auto_acknowledge"}]) == []


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([{"field": "mood", "op": "eq", "value": "sad"}], "conditions[0]: unknown field 'mood'; use one of sentiment,"),
        ([{"field": "kind", "op": "like", "value": "x"}], "conditions[0]: unknown operator 'like'; use one of eq, in,"),
        (
            [{"field": "rating", "op": "contains", "value": "5"}],
            "conditions[0]: operator 'contains' does not apply to rating; use one of eq, gte, lte.",
        ),
        ([{"field": "rating", "op": "gte", "value": "five"}], "conditions[0]: rating needs a number, not 'five'."),
        ([{"field": "rating", "op": "gte", "value": True}], "conditions[0]: rating needs a number, not True."),
        (
            [{"field": "sentiment", "op": "eq", "value": "angry"}],
            "conditions[0]: 'angry' is not a valid sentiment; use one of positive, neutral, negative.",
        ),
        (
            [{"field": "urgency_reasons", "op": "any", "value": ["fire"]}],
            "conditions[0]: 'fire' is not a valid urgency_reasons; use one of safety, legal, media, churn,",
        ),
        (
            [{"field": "channel", "op": "in", "value": "email"}],
            "conditions[0]: operator 'in' needs a non-empty list of values, not 'email'.",
        ),
        ([{"field": "text", "op": "any", "value": []}], "conditions[0]: operator 'any' needs a non-empty list"),
        ([{"field": "text", "op": "contains", "value": ""}], "conditions[0]: text needs non-empty text values"),
        ([{"field": "kind", "op": "eq", "value": "complaint", "negate": True}], "conditions[0]: unknown key(s) negate"),
        (["sentiment=negative"], "conditions[0]: a condition must be an object"),
        ({"any": []}, 'conditions.any: an "any" group needs at least one condition.'),
        ({"any": {"field": "kind"}}, "conditions.any must be a list of conditions."),
        ({"all": [], "any": []}, 'conditions: a group has exactly one key, "all" or "any", holding a list.'),
        ("negative", "conditions: a condition must be an object"),
    ],
)
def test_invalid_conditions_are_refused_with_a_clear_message(conditions, message):
    with pytest.raises(RuleValidationError) as exc:
        compile_conditions(conditions)
    assert any(m.startswith(message) for m in exc.value.messages), exc.value.messages


def test_every_problem_is_reported_at_once():
    with pytest.raises(RuleValidationError) as exc:
        validate_rule(
            [{"field": "mood", "op": "eq", "value": "x"}, {"any": [{"field": "kind", "op": "eq", "value": "rant"}]}],
            [{"type": "open_case", "severity": "critical"}],
        )
    assert exc.value.messages == [
        "conditions[0]: unknown field 'mood'; use one of sentiment, sentiment_score, kind, urgency, urgency_reasons, "
        "topics, channel, language, customer_tags, customer_segment, customer_lifetime_value, product, rating, "
        "survey_kind, survey_band, text.",
        "conditions[1].any[0]: 'rant' is not a valid kind; use one of complaint, praise, suggestion, question, other.",
        "actions[0]: unknown severity 'critical'; use one of normal, important, urgent.",
    ]


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([], "actions: give a non-empty list of actions"),
        ({"type": "open_case"}, "actions: give a non-empty list of actions"),
        (["open_case"], 'actions[0]: an action must be an object with a "type".'),
        ([{"type": "close_case"}], "actions[0]: unknown action type 'close_case'; use one of open_case, set_team,"),
        ([{"type": "open_case"}], "actions[0]: open_case needs severity."),
        ([{"type": "open_case", "severity": "urgent", "team": 3}], "actions[0]: open_case does not take team."),
        ([{"type": "open_case", "severity": "normal", "merge_open": "yes"}], "actions[0]: merge_open must be true"),
        ([{"type": "set_team", "team": ""}], "actions[0]: team must be a team name or id."),
        ([{"type": "add_tags", "tags": "vip"}], "actions[0]: tags must be a non-empty list of words."),
        ([{"type": "add_tags", "tags": ["x" * 51]}], "actions[0]: a tag has at most 50 characters."),
        ([{"type": "notify", "message": 5}], "actions[0]: message must be text."),
    ],
)
def test_invalid_actions_are_refused_with_a_clear_message(actions, message):
    with pytest.raises(RuleValidationError) as exc:
        validate_actions(actions)
    assert any(m.startswith(message) for m in exc.value.messages), exc.value.messages


def test_unknown_team_is_named():
    with pytest.raises(RuleValidationError) as exc:
        validate_actions([{"type": "set_team", "team": "夜班"}], team_exists=lambda ref: False)
    assert exc.value.messages == ["actions[0]: there is no team '夜班'."]


def test_survey_band_and_kind_are_facts_with_checked_values():
    predicate = compile_conditions([{"field": "survey_band", "op": "any", "value": ["detractor", "low"]}])
    assert predicate(Facts(feedback_id=1, survey_kind="nps", survey_band=("detractor",)))
    assert predicate(Facts(feedback_id=1, survey_kind="csat", survey_band=("promoter", "low")))
    assert not predicate(Facts(feedback_id=1, survey_kind="nps", survey_band=("passive",)))
    assert not predicate(Facts(feedback_id=1))  # not a survey answer
    with pytest.raises(RuleValidationError, match="'unhappy' is not a valid survey_band"):
        compile_conditions([{"field": "survey_band", "op": "any", "value": ["unhappy"]}])
    with pytest.raises(RuleValidationError, match="'poll' is not a valid survey_kind"):
        compile_conditions([{"field": "survey_kind", "op": "eq", "value": "poll"}])
