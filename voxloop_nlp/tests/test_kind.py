import pytest

import voxloop_nlp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("客服态度恶劣，我要投诉", "complaint"),
        ("非常好用，感谢客服的耐心", "praise"),
        ("建议增加夜间配送服务", "suggestion"),
        ("请问怎么修改收货地址？", "question"),
        ("How can I change my password?", "question"),
        ("The package was damaged and I want a refund", "complaint"),
    ],
)
def test_kind(text, expected):
    assert voxloop_nlp.analyze(text).kind == expected


def test_pros_and_cons_leaning_negative_are_neutral_but_still_a_complaint():
    # Neutral as a rating (a 3-star review), but the cons still need working: routing must see them.
    a = voxloop_nlp.analyze("挺温和的，但清洁效果不是很好")
    assert (a.sentiment_label, a.kind) == ("neutral", "complaint")


def test_a_lukewarm_verdict_is_no_complaint():
    a = voxloop_nlp.analyze("还好还好，和实体店差不多")
    assert (a.sentiment_label, a.kind) == ("neutral", "other")


def test_a_tentative_model_emotion_does_not_make_a_question_a_complaint(make_doc):
    from voxloop_nlp.components.kind import kind

    def judged(tentative):
        doc = make_doc("还要等多久啊？")
        doc.sentiment_label, doc.sentiment_score = "negative", -0.4
        doc.emotions = [{"name": "anger", "evidence": ["还要"], "intensity": 0.2}]
        if tentative:
            doc.extras["tentative_emotions"] = ["anger"]  # the model's p was below emotions.SURE_P
        return kind(doc).kind

    assert judged(tentative=True) == "question"
    assert judged(tentative=False) == "complaint"  # a sure anger still carries a complaint
