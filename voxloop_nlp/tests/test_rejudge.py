"""`rejudge_batch`: the kind and urgency the pipeline gives a text when another sentiment (the refine lane's) is
substituted for its own; with its own sentiment, exactly what `analyze` gives."""

import pytest

import voxloop_nlp

TEXTS = [
    "服务非常好，非常满意，下次还来",
    "请问什么时候有货？",
    "快递太慢了，包装也破了，非常失望，第二次了",
    "The food was great and the staff were friendly, second time here",
    "挺温和的，但清洁效果不是很好",
    "吃了以后拉肚子，不过客服处理得很好",
    "建议增加夜间配送服务",
]


def test_with_the_pipelines_own_sentiment_it_is_what_analyze_gives():
    analyses = voxloop_nlp.analyze_batch(TEXTS)
    again = voxloop_nlp.rejudge_batch(TEXTS, [(a.sentiment_label, a.sentiment_score) for a in analyses])
    assert again == [(a.kind, a.urgency_level, list(a.urgency_reasons)) for a in analyses]


def test_praise_read_as_a_complaint_becomes_praise_and_a_complaint_read_as_praise_a_complaint():
    (praise, _, _), (complaint, _, _) = voxloop_nlp.rejudge_batch(
        [TEXTS[0], "快递太慢了，包装也破了"], [("positive", 0.9), ("negative", -0.9)]
    )
    assert (praise, complaint) == ("praise", "complaint")


def test_urgency_cues_other_than_harm_do_not_count_on_praise():
    text = "The food was great and the staff were friendly, second time here"
    assert voxloop_nlp.rejudge_batch([text], [("negative", -0.8)])[0][1:] == (
        "important", ["repeated_contact:second time"]
    )  # fmt: skip
    assert voxloop_nlp.rejudge_batch([text], [("positive", 0.8)])[0][1:] == ("normal", [])
    # Harm is harm, however politely told.
    assert voxloop_nlp.rejudge_batch([TEXTS[5]], [("positive", 0.8)])[0][1] == "urgent"


def test_one_sentiment_per_text():
    with pytest.raises(ValueError):
        voxloop_nlp.rejudge_batch(TEXTS[:2], [("positive", 0.9)])
