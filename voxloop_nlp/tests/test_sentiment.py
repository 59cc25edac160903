import os
import subprocess
import sys

import pytest

import voxloop_nlp

GOLDEN = [
    ("质量很好，物流也快，非常满意", "positive"),
    ("客服态度很差，等了三天都没人回复，太失望了", "negative"),
    ("手机用了两天就坏了，要求退货", "negative"),
    ("房间干净，服务热情，下次还会再来", "positive"),
    ("這款耳機音質很棒，推薦購買", "positive"),
    ("The food was delicious and the staff were friendly", "positive"),
    ("Terrible service, the order arrived broken and nobody answered", "negative"),
    ("Works great, very happy with this phone", "positive"),
    ("不好用，浪费钱", "negative"),
    ("The food was not good at all", "negative"),
    ("I can't recommend it enough, absolutely love it", "positive"),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_golden_sentiment(text, expected):
    assert voxloop_nlp.analyze(text).sentiment_label == expected


def test_scores_are_in_range_and_ordered():
    pos, neg = voxloop_nlp.analyze_batch(["非常满意，强烈推荐", "非常失望，垃圾产品"])
    assert -1 <= neg.sentiment_score < 0 < pos.sentiment_score <= 1


def test_plain_question_is_neutral():
    assert voxloop_nlp.analyze("请问什么时候发货？").sentiment_label == "neutral"
    assert voxloop_nlp.analyze("How do I change my delivery address?").sentiment_label == "neutral"


def test_negation_flips():
    assert voxloop_nlp.analyze("不满意").sentiment_label == "negative"
    assert voxloop_nlp.analyze("满意").sentiment_label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "Not bad",
        "not too bad",
        "The food was not bad",
        "no complaints",
        "不差",
        "服务态度不差",
        "一点也不差",
        "速度不慢",
    ],
)
def test_a_negated_complaint_word_is_mild_praise(text):
    # The model alone scores these strongly negative: the n-grams of "bad"/"差" outweigh the negator.
    result = voxloop_nlp.analyze(text)
    assert result.sentiment_label == "positive"
    assert result.sentiment_score < voxloop_nlp.analyze("很好").sentiment_score


@pytest.mark.parametrize("text", ["could be better", "Room for improvement", "还有待改进"])
def test_could_be_better_is_a_complaint(text):
    assert voxloop_nlp.analyze(text).sentiment_label == "negative"


@pytest.mark.parametrize("text", ["还没退款", "no refund yet"])
def test_a_negated_event_is_not_praise(text):
    assert voxloop_nlp.analyze(text).sentiment_label != "positive"


@pytest.mark.parametrize(
    "text",
    [
        "not bad, but the delivery was slow and the box was broken",
        "房间不差，但是服务特别差",
        "服务特别差",
        "差不多就行",
    ],
)
def test_mixed_or_unnegated_short_text_is_not_turned_into_praise(text):
    assert voxloop_nlp.analyze(text).sentiment_label != "positive"


@pytest.mark.parametrize("text", ["ok", "Fine.", "It was okay", "The food was fine", "还行吧", "质量一般", "凑合"])
def test_a_lukewarm_verdict_is_neutral(text):
    # The model alone scores "fine" +0.98 and "质量一般" -0.79: as sure as real praise or a real complaint.
    assert voxloop_nlp.analyze(text).sentiment_label == "neutral"


def test_lukewarm_keeps_its_leaning():
    ok, so_so = voxloop_nlp.analyze_batch(["还行", "一般般"])
    assert so_so.sentiment_score < 0 < ok.sentiment_score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("很一般", "negative"),  # intensified: a complaint
        ("not ok", "negative"),
        ("质量一般，客服态度很差", "negative"),  # another cue decides
        ("fine, thanks", "positive"),
        ("the room was fine but dirty", "negative"),
        ("还行，没毛病", "positive"),  # with a negated complaint word: mild praise
    ],
)
def test_intensified_negated_or_mixed_lukewarm_words_are_judged_as_usual(text, expected):
    assert voxloop_nlp.analyze(text).sentiment_label == expected


def test_empty_text_is_neutral():
    assert voxloop_nlp.analyze("").sentiment_label == "neutral"
    assert voxloop_nlp.analyze("   ").sentiment_score == 0.0


def test_chinese_text_never_pays_for_the_sentence_encoder(monkeypatch):
    from voxloop_nlp import sentiment_model

    def refuse(texts):
        raise AssertionError(f"embedded {texts}")

    monkeypatch.setattr(sentiment_model, "embed", refuse)
    assert voxloop_nlp.analyze("质量很好，物流也快，非常满意").sentiment_label == "positive"


def test_english_text_the_ngrams_are_unsure_about_goes_through_the_english_head(monkeypatch):
    """The sentence encoder is the dearest step: only English text whose n-gram logit is inside the
    model's gate is embedded; Chinese text and confident English text never are."""
    from voxloop_nlp import models_store, sentiment_model
    from voxloop_nlp.training.train_sentiment import prepare

    model = models_store.active().sentiment
    assert model.en_head is not None  # the shipped model has one
    english = [
        "The waiter was rude and the soup was cold",
        "Absolutely wonderful, I love it, best purchase ever",
        "It was okay I guess, not sure I would order it again",
        "The phone arrived on Tuesday",
    ]
    raw = model.raw(prepare(english, model.feature_set))
    unsure = [t for t, r in zip(english, raw, strict=True) if abs(r) < model.en_head.gate]
    assert 0 < len(unsure) < len(english)  # the gate splits these: some are embedded, some are not
    seen: list[list[str]] = []
    real = sentiment_model.embed

    def recording_embed(texts):
        seen.append(list(texts))
        return real(texts)

    monkeypatch.setattr(sentiment_model, "embed", recording_embed)
    results = voxloop_nlp.analyze_batch(["质量很好", *english])
    assert seen == [unsure]
    assert results[1].sentiment_label == "negative"
    assert results[2].sentiment_label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "味道不错，但是分量太少，价格偏贵",  # pros and cons, balanced: a 3-star review
        "用了一周，效果一般般，香味还可以，价格有点贵",  # a lukewarm verdict in a longer text
    ],
)
def test_a_mixed_or_lukewarm_review_is_neutral(text):
    # Before, each of these came out positive: the n-grams' lean decided a mixed text.
    assert voxloop_nlp.analyze(text).sentiment_label == "neutral"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("质量很好，物流也快，非常满意", "positive"),  # every clause agrees
        ("饭很好吃，不过送餐速度真的很慢，我等了三个小时，疯了", "negative"),  # one kind word among complaints
        ("The food was great, but the service was terrible and slow.", "negative"),  # decisive
    ],
)
def test_a_one_sided_or_decided_text_keeps_its_verdict(text, expected):
    assert voxloop_nlp.analyze(text).sentiment_label == expected


def test_the_mixed_step_never_changes_the_binary_verdict():
    """Mixed texts are pulled inside the neutral band with their sign: positive/negative reports that
    read the score's sign see the same verdicts as before."""
    from voxloop_nlp import models_store
    from voxloop_nlp.components.normalize import normalize_text
    from voxloop_nlp.components.segment import tokenize
    from voxloop_nlp.components.sentiment import fast_scores

    texts = [
        "味道不错，但是分量太少，价格偏贵",
        "手机外观好看，拍照清晰，就是电池不耐用，发热严重",
        "用了一周，效果一般般，香味还可以，价格有点贵",
        "东西不错，就是物流慢了点",
        "Nice design, but the battery life is short",
        "快递很慢，包装也破了，不过客服态度还行",
    ]
    norms = [normalize_text(t) for t in texts]  # as the pipeline gives them
    lowers = [t.lower() for t in norms]
    model = models_store.active().sentiment
    with_step, _ = fast_scores(model, norms, lowers, [tokenize(t) for t in lowers])
    without, _ = fast_scores(model, norms, lowers, [tokenize(t) for t in lowers], mixed=False)
    assert list(with_step >= 0) == list(without >= 0)
    assert (abs(with_step) <= abs(without) + 1e-9).all()
    assert (abs(with_step) < abs(without)).any()


def _analyze_in_subprocess(text: str, setting: str) -> subprocess.CompletedProcess:
    code = f"import voxloop_nlp; print(voxloop_nlp.analyze({text!r}).sentiment_label)"
    env = {**os.environ, "VOXLOOP_MIXED_NEUTRAL_BELOW": setting}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_the_mixed_neutral_setting_can_turn_the_step_off_and_refuses_nonsense():
    mixed = "味道不错，但是分量太少，价格偏贵"
    assert _analyze_in_subprocess(mixed, "0").stdout.strip() == "positive"  # the n-grams' lean, as before
    assert _analyze_in_subprocess(mixed, "0.4").stdout.strip() == "neutral"
    bad = _analyze_in_subprocess(mixed, "lots")
    assert bad.returncode != 0
    assert "VOXLOOP_MIXED_NEUTRAL_BELOW must be a number from 0 to 1" in bad.stderr
