"""Fast-lane robustness (issue 16 item 1): noise that must not flip a label, contrast clauses,
intensifiers, questions with tags, health and food-safety urgency, urgency cues on praise, 师傅."""

import pytest

import voxloop_nlp
from voxloop_nlp.clauses import emphasised_clause, strip_trailing_tags


@pytest.mark.parametrize(
    ("text", "core"),
    [
        ("请问什么时候有货？ #12", "请问什么时候有货？"),
        ("Where is my order? [ref 5512]", "Where is my order?"),
        ("物流太慢了 工单号: 88231", "物流太慢了"),
        ("有货吗？ 12", "有货吗？"),
        ("I love my iPhone 12", "I love my iPhone 12"),  # a number inside the sentence stays
        ("#12", "#12"),  # nothing but a tag: kept
    ],
)
def test_trailing_tags_are_cut_off(text, core):
    assert strip_trailing_tags(text) == core


@pytest.mark.parametrize("suffix", ["", " #12", " #A-77", "  [id:9913]", " 【工单 5】", "？ 12"])
def test_a_question_with_a_trailing_tag_stays_a_neutral_question(suffix):
    a = voxloop_nlp.analyze("请问什么时候有货？" + suffix)
    assert a.kind == "question"
    assert a.sentiment_label == "neutral"


def test_english_question_with_an_order_tag_is_a_question():
    a = voxloop_nlp.analyze("Where is my order? #4411")
    assert a.kind == "question"
    assert a.sentiment_label != "negative"


def test_a_question_that_carries_a_complaint_is_a_complaint():
    assert voxloop_nlp.analyze("为什么这么慢？太失望了").kind == "complaint"
    assert voxloop_nlp.analyze("客服态度这么差，还让不让人买了？").kind == "complaint"


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("东西不错，就是物流慢了点", "物流慢了点"),
        ("饭很好吃，不过送餐速度真的很慢", "送餐速度真的很慢"),
        ("外观好看但是续航很差", "续航很差"),
        ("The food was great but the service was slow", "the service was slow"),
        ("Although the room was nice, the staff were rude", "the staff were rude"),
        ("就是这个味道，太好吃了", None),  # 就是 opening a text is no contrast
        ("nothing but praise for them", None),
    ],
)
def test_emphasised_clause(text, clause):
    assert emphasised_clause(text.lower()) == clause


@pytest.mark.parametrize(
    "text",
    [
        "特别特别慢！！",
        "特别特别慢",
        "饭很好吃，不过送餐速度真的很慢，我等了三个小时，疯了",
        "送餐员给我打电话比较粗鲁",
    ],
)
def test_intensified_and_contrasted_complaints_are_negative(text):
    assert voxloop_nlp.analyze(text).sentiment_label == "negative"


def test_repeated_punctuation_does_not_flip_praise():
    assert voxloop_nlp.analyze("太好吃了！！！").sentiment_label == "positive"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("速度挺快，但是味道不咋地，东西不太干净，吃的我肠炎", "health:肠炎"),
        ("吃完拉肚子了", "health:拉肚子"),
        ("孩子吃了以后腹泻", "health:腹泻"),
        ("用了以后过敏了，脸都红肿了", "health:过敏"),
        ("饭里有异物", "food_safety:异物"),
        ("I got food poisoning after eating here", "health:food poisoning"),
        ("My son had an allergic reaction to it", "health:allergic reaction"),
    ],
)
def test_health_harm_and_food_safety_are_urgent(text, reason):
    a = voxloop_nlp.analyze(text)
    assert a.urgency_level == "urgent"
    assert reason in a.urgency_reasons


@pytest.mark.parametrize("text", ["请问这个会过敏吗？", "Will it cause an allergic reaction?", "用了一个月不会过敏"])
def test_a_question_about_harm_or_a_negated_harm_is_not_urgent(text):
    assert voxloop_nlp.analyze(text).urgency_level == "normal"


@pytest.mark.parametrize("text", ["第二次反馈了，App很好用", "Second time ordering, service was excellent!"])
def test_urgency_cues_do_not_fire_on_praise(text):
    a = voxloop_nlp.analyze(text)
    assert a.sentiment_label == "positive"
    assert a.urgency_level == "normal"


def test_repeated_contact_still_counts_on_a_complaint():
    a = voxloop_nlp.analyze("第二次反馈了，问题还是没解决")
    assert a.urgency_level in {"important", "urgent"}


def test_shifu_in_a_delivery_context_is_the_courier_not_repair():
    codes = {t["code"] for t in voxloop_nlp.analyze("师傅人很好，送的超级快").topics}
    assert "repair" not in codes
    assert "logistics" in codes
    repair = {t["code"] for t in voxloop_nlp.analyze("维修师傅上门很及时").topics}
    assert "repair" in repair
