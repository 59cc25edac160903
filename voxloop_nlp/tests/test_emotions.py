from voxloop_nlp.components.emotions import detect_emotions


def names(text):
    return {e["name"]: e for e in detect_emotions(text.lower())}


def test_negated_emotion_is_not_reported():
    assert "disappointment" not in names("这次真的不失望")
    assert "disappointment" not in names("I was not disappointed at all")


def test_degree_words_ending_like_a_negator_do_not_negate():
    # "特别" ends in "别" (don't) and "无比" starts with "无" (none): both only intensify.
    assert names("特别失望")["disappointment"]["intensity"] > names("失望")["disappointment"]["intensity"]
    assert "disappointment" in names("无比失望")
    assert "joy" not in names("不是特别满意")


def test_degree_changes_intensity():
    strong = names("非常失望")["disappointment"]["intensity"]
    weak = names("有点失望")["disappointment"]["intensity"]
    plain = names("失望")["disappointment"]["intensity"]
    assert strong > plain > weak


def test_evidence_words_are_returned():
    found = names("客服态度让我很生气，谢谢你们的道歉但我很失望")
    assert found["anger"]["evidence"] == ["生气"]
    assert found["gratitude"]["evidence"] == ["谢谢"]
    assert "失望" in found["disappointment"]["evidence"]


def test_all_core_emotions_are_detectable():
    samples = {
        "anger": "气死我了",
        "disappointment": "太失望了",
        "anxiety": "急用，很着急",
        "sadness": "好伤心",
        "joy": "非常开心",
        "gratitude": "Thank you so much",
        "surprise": "居然这么快就到了",
    }
    for name, text in samples.items():
        assert name in names(text), text


def test_trained_model_finds_an_emotion_without_a_cue_word_with_its_evidence():
    import voxloop_nlp

    found = {e["name"]: e for e in voxloop_nlp.analyze("客服一直推脱，真是气人").emotions}
    assert "anger" in found  # no lexicon cue: "气人" is not one, the trained model finds it
    assert found["anger"]["evidence"] and all(w in "客服一直推脱，真是气人" for w in found["anger"]["evidence"])
    assert set(found["anger"]) == {"name", "evidence", "intensity"}  # the shape the Django side stores


def test_a_social_post_without_a_cue_word_gets_its_emotion():
    import voxloop_nlp

    found = {e["name"]: e for e in voxloop_nlp.analyze("想家了，一个人过年").emotions}
    assert "sadness" in found  # no lexicon cue; Weibo-like posts mostly got no emotion at all before
    assert "想家" in found["sadness"]["evidence"]


def test_model_emotion_never_contradicts_a_clear_sentiment():
    import voxloop_nlp

    names_ = {e["name"] for e in voxloop_nlp.analyze("饭很好吃，不过送餐速度真的很慢，我等了三个小时，疯了").emotions}
    assert not names_ & {"joy", "gratitude"}
    assert not voxloop_nlp.analyze("请问什么时候发货？").emotions
