"""The roll-up contract the insight pages read: feedback sums (sentiment, emotions, complaint and negative
topics), the language dimension on every source, the multi-valued emotion_word / need dimensions, and the
root-cause sums of cases, against hand-made items worked out by hand."""

from __future__ import annotations

import pytest

from voxloop.cases.models import CaseFeedback
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.metrics import cells, services
from voxloop.metrics.compute.feedback import compute_feedback
from voxloop.metrics.compute.responses import analysed_language_of
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.tests.conftest import MONDAY, make_case, make_feedback, make_response, sh
from voxloop.surveys.models import Response


def cell(source: str, dimension: str = "", value: str = "", day=MONDAY) -> MetricDaily:
    return MetricDaily.objects.get(source=source, day=day, dimension=dimension, value=value)


def values_of(source: str, dimension: str) -> set[str]:
    return set(
        MetricDaily.objects.filter(source=source, day=MONDAY, dimension=dimension).values_list("value", flat=True)
    )


@pytest.fixture
def monday_feedback(db):
    """Monday 23 November (Shanghai):

    F1 email, negative -0.8, complaint, zh, topics logistics.delay + quality; anger (气死), disappointment
       (失望, 气死); needs 希望尽快发货
    F2 app, negative -0.4, complaint, en, topic logistics; anger (furious); needs "please add tracking." and
       "Please add tracking" (one key)
    F3 email, positive 0.9, praise, zh, topic quality.material; joy (开心); needs 建议增加颜色, 希望尽快发货!
    F4 email, neutral, no score, question, no language, no topics, no emotions, no needs
    and on Tuesday F5, negative, so nothing of it shows on Monday."""
    f1 = make_feedback(sh(23, 9), sentiment="negative", score=-0.8, kind="complaint", language="zh",
                       topics=("logistics.delay", "quality"), text="气死了，太失望，希望尽快发货",
                       emotions=[{"name": "anger", "evidence": ["气死"], "intensity": 0.9},
                                 {"name": "disappointment", "evidence": ["失望", "气死"], "intensity": 0.6}],
                       needs=["希望尽快发货"])  # fmt: skip
    f2 = make_feedback(sh(23, 10), channel="app", sentiment="negative", score=-0.4, kind="complaint", language="en",
                       topics=("logistics",), text="Furious. Please add tracking. please add tracking",
                       emotions=[{"name": "anger", "evidence": ["furious"], "intensity": 0.8}],
                       needs=["please add tracking.", "Please add tracking"])  # fmt: skip
    f3 = make_feedback(sh(23, 11), sentiment="positive", score=0.9, kind="praise", language="zh",
                       topics=("quality.material",), text="很开心，建议增加颜色，希望尽快发货!",
                       emotions=[{"name": "joy", "evidence": ["开心"], "intensity": 0.7}],
                       needs=["建议增加颜色", "希望尽快发货!"])  # fmt: skip
    f4 = make_feedback(sh(23, 12), sentiment="neutral", kind="question", language="", text="怎么退货?")
    make_feedback(sh(24, 9), sentiment="negative", score=-0.9, kind="complaint", topics=("logistics",),
                  emotions=[{"name": "anger", "evidence": ["气死"]}], needs=["希望尽快发货"])  # fmt: skip
    services.rebuild([Source.FEEDBACK])
    return f1, f2, f3, f4


def test_feedback_total_carries_sentiment_emotion_and_topic_sums(monday_feedback):
    total = cell(Source.FEEDBACK)
    assert total.n == 4
    assert total.sums["negative"] == 2 and total.sums["positive"] == 1 and total.sums["neutral"] == 1
    assert total.sums["complaints"] == 2
    assert total.sums["sent_sum"] == pytest.approx(-0.3) and total.sums["sent_n"] == 3  # F4 has no score
    assert total.sums["emo:anger"] == 2 and total.sums["emo:disappointment"] == 1 and total.sums["emo:joy"] == 1
    # Complaints by topic: F1 and F2 both mention logistics; only F1 quality; sub-topics only of complaints.
    assert total.sums["tc:logistics"] == 2 and total.sums["tc:quality"] == 1
    assert total.sums["sc:logistics.delay"] == 1 and "sc:quality.material" not in total.sums  # F3 is praise
    # Negative items by topic: same as complaints here, but not F3's quality (positive).
    assert total.sums["tn:logistics"] == 2 and total.sums["tn:quality"] == 1


def test_feedback_topic_and_language_dimensions(monday_feedback):
    assert cell(Source.FEEDBACK, "topic", "logistics").n == 2  # F1 (via logistics.delay) and F2
    quality = cell(Source.FEEDBACK, "topic", "quality")
    assert quality.n == 2 and quality.sums["positive"] == 1 and quality.sums["tc:quality"] == 1
    assert cell(Source.FEEDBACK, "topic", "").n == 1  # F4 has no topic
    zh = cell(Source.FEEDBACK, "language", "zh")
    assert zh.n == 2 and zh.sums["negative"] == 1 and zh.sums["emo:joy"] == 1
    assert cell(Source.FEEDBACK, "language", "en").sums == {
        "negative": 1, "sent_sum": -0.4, "sent_n": 1, "complaints": 1, "tc:logistics": 1, "tn:logistics": 1,
        "emo:anger": 1, "tv:logistics": 1, "ts:logistics": -0.4, "tsn:logistics": 1,
    }  # fmt: skip
    assert cell(Source.FEEDBACK, "language", "").n == 1


def test_emotion_words_count_items_per_word_with_the_emotions_it_was_evidence_of(monday_feedback):
    assert values_of(Source.FEEDBACK, cells.EMOTION_WORD) == {"气死", "失望", "furious", "开心"}  # no "" row
    angry = cell(Source.FEEDBACK, cells.EMOTION_WORD, "气死")
    assert angry.n == 1 and angry.sums["emo:anger"] == 1 and angry.sums["emo:disappointment"] == 1
    disappointed = cell(Source.FEEDBACK, cells.EMOTION_WORD, "失望")
    # F1 was also angry, but "失望" was evidence of disappointment only.
    assert disappointed.sums["emo:disappointment"] == 1 and "emo:anger" not in disappointed.sums
    assert disappointed.sums["negative"] == 1 and disappointed.sums["complaints"] == 1
    # term rows carry the plain figures, not the per-topic breakdown of the cut rows (it would triple them)
    assert not [k for k in disappointed.sums if k.startswith(("tc:", "tn:", "tv:", "ts:", "sc:", "sv:"))]
    assert cell(Source.FEEDBACK, cells.EMOTION_WORD, "开心").sums["positive"] == 1
    # Tuesday's 气死 is Tuesday's.
    assert cell(Source.FEEDBACK, cells.EMOTION_WORD, "气死", day=MONDAY.replace(day=24)).n == 1


def test_need_keys_group_lead_ins_and_find_their_items(monday_feedback):
    f1, f2, f3, _f4 = monday_feedback
    assert values_of(Source.FEEDBACK, cells.NEED) == {"尽快发货", "add tracking", "增加颜色"}  # no "" row
    ship = cell(Source.FEEDBACK, cells.NEED, "尽快发货")
    assert ship.n == 2 and ship.sums["negative"] == 1 and ship.sums["positive"] == 1
    assert ship.sums["emo:anger"] == 1 and ship.sums["emo:joy"] == 1
    assert cell(Source.FEEDBACK, cells.NEED, "add tracking").n == 1  # one item, two spellings: counted once
    # The key is what the inbox search (q=) looks for: it finds exactly the items that voiced the need.
    for key, expected in (("尽快发货", {f1, f3}), ("add tracking", {f2}), ("增加颜色", {f3})):
        found = set(filter_feedback(InboxFilters(q=key, date_from="2026-11-23", date_to="2026-11-23")))
        assert found == expected, key


def test_cases_by_root_cause_and_origin_language(policy, people):
    en_item = make_feedback(sh(23, 8), language="en", sentiment="negative")
    zh_item = make_feedback(sh(23, 8), language="zh")
    resolved = make_case(sh(23, 9), policy=policy, replies=[sh(23, 10)], resolved=sh(23, 12), status="resolved")
    resolved.root_cause = "logistics.delay"
    resolved.save(update_fields=["root_cause"])
    CaseFeedback.objects.create(case=resolved, feedback=en_item)
    CaseFeedback.objects.create(case=resolved, feedback=zh_item)  # linked later: not the origin
    open_case = make_case(sh(23, 11), policy=policy)
    open_case.root_cause = "logistics.delay"  # diagnosed but not resolved yet: not in the Pareto
    open_case.save(update_fields=["root_cause"])
    CaseFeedback.objects.create(case=open_case, feedback=make_feedback(sh(23, 10), language="zh"))
    make_case(sh(23, 13), resolved=sh(23, 14), status="resolved")  # resolved without a root cause
    services.rebuild([Source.CASES])
    total = cell(Source.CASES)
    assert total.n == 3 and total.sums["resolved"] == 2 and total.sums["rc:logistics.delay"] == 1
    assert [k for k in total.sums if k.startswith("rc:")] == ["rc:logistics.delay"]
    en = cell(Source.CASES, "language", "en")
    assert en.n == 1 and en.sums["rc:logistics.delay"] == 1
    assert cell(Source.CASES, "language", "zh").n == 1 and cell(Source.CASES, "language", "").n == 1


def test_responses_by_language(csat_survey, policy):
    case = make_case(sh(23, 9), policy=policy)
    CaseFeedback.objects.create(case=case, feedback=make_feedback(sh(23, 8), language="en"))
    comment = make_feedback(sh(23, 16), language="zh-Hant")
    make_response(csat_survey, sh(23, 10), nps=10, case=case)  # the case's first item: en
    with_comment = make_response(csat_survey, sh(23, 11), nps=0, case=case)
    with_comment.feedback = comment  # the analysed comment wins over the case
    with_comment.language = "en"
    with_comment.save(update_fields=["feedback", "language"])
    plain = make_response(csat_survey, sh(23, 12), csat=5)  # no case, no comment: the survey's language
    Response.objects.filter(pk=plain.pk).update(language="zh-hans")
    services.rebuild([Source.RESPONSES])
    assert cell(Source.RESPONSES, "language", "en").sums == {"promoters": 1}
    assert cell(Source.RESPONSES, "language", "zh-Hant").sums == {"detractors": 1}
    assert cell(Source.RESPONSES, "language", "zh").sums["csat_n"] == 1


def test_analysed_language_of_survey_codes():
    assert analysed_language_of("zh-hans") == "zh"
    assert analysed_language_of("zh-Hant") == "zh-Hant"
    assert analysed_language_of("en-us") == "en"
    assert analysed_language_of("ja") == "other"
    assert analysed_language_of("") == ""


def test_feedback_rebuild_is_one_query_per_table_not_per_item(monday_feedback, django_assert_max_num_queries):
    for i in range(20):
        make_feedback(sh(23, 13), sentiment="negative", topics=("logistics",), emotions=[{"name": "anger",
                      "evidence": [f"w{i}"]}], needs=[f"希望改进{i}号"])  # fmt: skip
    with django_assert_max_num_queries(4):  # items + analyses (one join), topics; nothing per item
        compute_feedback(MONDAY, MONDAY)
    assert compute_feedback(MONDAY, MONDAY).days[MONDAY].cells[("", "")].n == 24


def test_a_response_counts_in_the_topics_of_its_comment_and_of_its_case(csat_survey, policy):
    """Drivers compare responses that mention a topic with those that do not: a relationship NPS answer with no
    case is about what its comment speaks of."""
    case = make_case(sh(23, 9), policy=policy)
    CaseFeedback.objects.create(case=case, feedback=make_feedback(sh(23, 8), topics=("logistics",)))
    relationship = make_response(csat_survey, sh(23, 10), nps=2)
    relationship.feedback = make_feedback(sh(23, 10), topics=("price", "quality.defect"))
    relationship.save(update_fields=["feedback"])
    follow_up = make_response(csat_survey, sh(23, 11), nps=10, case=case)
    follow_up.feedback = make_feedback(sh(23, 11), topics=("attitude",))
    follow_up.save(update_fields=["feedback"])
    make_response(csat_survey, sh(23, 12), nps=9)  # no case, no comment: no topic
    services.rebuild([Source.RESPONSES])
    about_price = {"detractors": 1, "t:price:detractors": 1, "t:quality:detractors": 1}
    assert cell(Source.RESPONSES, "topic", "price").sums == about_price
    assert cell(Source.RESPONSES, "topic", "quality").sums == about_price
    about_logistics = {"promoters": 1, "t:attitude:promoters": 1, "t:logistics:promoters": 1}
    assert cell(Source.RESPONSES, "topic", "logistics").sums == about_logistics
    assert cell(Source.RESPONSES, "topic", "attitude").sums == about_logistics
    assert cell(Source.RESPONSES, "topic", "").sums == {"promoters": 1}


def test_every_feedback_cell_carries_volume_and_sentiment_per_topic_and_sub_topic(monday_feedback):
    """The journey map within one filter reads these from the filter's rows. Plus F6 (Monday, app, neutral,
    no score, logistics.delay): counted in the volumes, not in the sentiment counts."""
    make_feedback(sh(23, 14), channel="app", sentiment="neutral", topics=("logistics.delay",))
    services.rebuild([Source.FEEDBACK])
    total = cell(Source.FEEDBACK).sums
    # logistics: F1 (-0.8, via logistics.delay), F2 (-0.4), F6 (no score)
    assert total["tv:logistics"] == 3 and total["tsn:logistics"] == 2
    assert total["ts:logistics"] == pytest.approx(-1.2)
    # quality: F1 (-0.8) and F3 (0.9, via quality.material)
    assert total["tv:quality"] == 2 and total["ts:quality"] == pytest.approx(0.1) and total["tsn:quality"] == 2
    # sub-topics: logistics.delay F1 (negative, -0.8) and F6; quality.material F3 (positive, 0.9)
    assert (total["sv:logistics.delay"], total["sneg:logistics.delay"], total["ssn:logistics.delay"]) == (2, 1, 1)
    assert total["ss:logistics.delay"] == pytest.approx(-0.8)
    assert total["sv:quality.material"] == 1 and "sneg:quality.material" not in total
    assert total["ss:quality.material"] == pytest.approx(0.9) and total["ssn:quality.material"] == 1
    # Within a channel only that channel's items: app = F2 and F6; email = F1, F3 (and F4, no topic).
    app = cell(Source.FEEDBACK, "channel", "app").sums
    assert app["tv:logistics"] == 2 and app["ts:logistics"] == pytest.approx(-0.4) and app["tsn:logistics"] == 1
    assert "tv:quality" not in app and app["sv:logistics.delay"] == 1 and "ssn:logistics.delay" not in app
    email = cell(Source.FEEDBACK, "channel", "email").sums
    assert email["tv:logistics"] == 1 and email["ts:logistics"] == pytest.approx(-0.8)
    assert email["tv:quality"] == 2 and email["sv:quality.material"] == 1
    # The old keys are unchanged: complaints and negatives per topic, the topic rows' own counts.
    assert (
        total["tc:logistics"] == 2 and total["tn:logistics"] == 2 and cell(Source.FEEDBACK, "topic", "logistics").n == 3
    )
    # Over all feedback the per-topic sums agree with the topic and sub-topic rows.
    quality_row = cell(Source.FEEDBACK, "topic", "quality")
    assert quality_row.n == total["tv:quality"] and quality_row.sums["sent_sum"] == pytest.approx(total["ts:quality"])
    delay_row = cell(Source.FEEDBACK, cells.SUBTOPIC, "logistics.delay")
    assert delay_row.n == total["sv:logistics.delay"] and delay_row.sums["negative"] == total["sneg:logistics.delay"]


def test_every_responses_cell_carries_score_sums_per_topic(csat_survey, policy):
    """The drivers page within one filter reads these from the filter's rows. R1 NPS 2, CSAT 1, comment about
    price and quality.defect, product A; R2 NPS 10, CSAT 5, case about logistics, comment about attitude,
    product B; R3 NPS 8, CSAT 4, case about logistics, product B; R4 NPS 9, no topic, product A."""
    from voxloop.feedback.models import Product

    product_a = Product.objects.create(code="A", name="A")
    product_b = Product.objects.create(code="B", name="B")
    case = make_case(sh(23, 9), policy=policy)
    CaseFeedback.objects.create(case=case, feedback=make_feedback(sh(23, 8), topics=("logistics",)))
    r1 = make_response(csat_survey, sh(23, 10), nps=2, csat=1)
    r1.feedback = make_feedback(sh(23, 10), topics=("price", "quality.defect"))
    r2 = make_response(csat_survey, sh(23, 11), nps=10, csat=5, case=case)
    r2.feedback = make_feedback(sh(23, 11), topics=("attitude",))
    r3 = make_response(csat_survey, sh(23, 12), nps=8, csat=4, case=case)
    r4 = make_response(csat_survey, sh(23, 13), nps=9)
    for response, product in ((r1, product_a), (r2, product_b), (r3, product_b), (r4, product_a)):
        response.product = product
        response.save(update_fields=["feedback", "product"])
    services.rebuild([Source.RESPONSES])
    total = cell(Source.RESPONSES).sums
    assert (total["t:logistics:promoters"], total["t:logistics:passives"]) == (1, 1)
    assert "t:logistics:detractors" not in total
    assert (total["t:logistics:csat_n"], total["t:logistics:csat_sum"], total["t:logistics:csat_sq"]) == (2, 9, 41)
    assert (total["t:price:detractors"], total["t:price:csat_n"], total["t:price:csat_sum"]) == (1, 1, 1)
    assert total["t:quality:csat_sq"] == 1 and total["t:attitude:promoters"] == 1 and total["t:attitude:csat_sq"] == 25
    b = cell(Source.RESPONSES, "product", str(product_b.pk)).sums
    assert b["t:logistics:csat_sum"] == 9 and b["t:logistics:promoters"] == 1 and b["t:logistics:passives"] == 1
    assert not any(k.startswith(("t:price:", "t:quality:")) for k in b)
    a = cell(Source.RESPONSES, "product", str(product_a.pk)).sums
    assert a["t:price:detractors"] == 1 and a["promoters"] == 1 and not any(k.startswith("t:logistics:") for k in a)


def test_drill_lists_hold_exactly_what_the_roll_up_counts_by_language_and_comment_topic(csat_survey, policy):
    """The number under a language or topic cut and the list behind it agree, for feedback, cases and responses."""
    from voxloop.metrics.drilldown import drill_cases, drill_feedback, drill_responses
    from voxloop.metrics.queries import Cut, Period

    case_en = make_case(sh(23, 9), policy=policy)
    CaseFeedback.objects.create(case=case_en, feedback=make_feedback(sh(23, 8), language="en", topics=("logistics",)))
    case_zh = make_case(sh(23, 9, 30), policy=policy)
    CaseFeedback.objects.create(case=case_zh, feedback=make_feedback(sh(23, 8, 30), language="zh"))
    about_price = make_response(csat_survey, sh(23, 10), nps=3)
    about_price.feedback = make_feedback(sh(23, 10), language="zh-Hant", topics=("price",))
    about_price.save(update_fields=["feedback"])
    make_response(csat_survey, sh(23, 11), nps=9, case=case_en)
    services.rebuild()
    period = Period(MONDAY, MONDAY)

    def same(source, dimension, value, rows):
        assert cell(source, dimension, value).n == len(rows), (source, dimension, value)

    same(Source.FEEDBACK, "language", "en", list(drill_feedback(period, Cut("language", "en"))))
    same(Source.FEEDBACK, "language", "zh-Hant", list(drill_feedback(period, Cut("language", "zh-Hant"))))
    same(Source.CASES, "language", "en", list(drill_cases(period, Cut("language", "en"))))
    same(Source.CASES, "language", "zh", list(drill_cases(period, Cut("language", "zh"))))
    price = list(drill_responses(period, Cut("topic", "price")))
    assert price == [about_price]  # a response with no case is about what its comment speaks of
    same(Source.RESPONSES, "topic", "price", price)
    same(Source.RESPONSES, "topic", "logistics", list(drill_responses(period, Cut("topic", "logistics"))))
    same(Source.RESPONSES, "language", "zh-Hant", list(drill_responses(period, Cut("language", "zh-Hant"))))
    same(Source.RESPONSES, "language", "en", list(drill_responses(period, Cut("language", "en"))))
