from voxloop_nlp.components.keywords import extract_keywords
from voxloop_nlp.components.segment import tokenize


def test_chinese_keywords_skip_function_words():
    kws = extract_keywords(tokenize("我们觉得这个耳机的音质非常好，但是耳机的续航太短"))
    assert kws[0] == "耳机"
    assert "音质" in kws
    assert "续航" in kws
    assert "我们" not in kws
    assert "但是" not in kws


def test_english_keywords():
    kws = extract_keywords(tokenize("the battery life of this laptop is terrible, battery dies fast"))
    assert kws[0] == "battery"
    assert "the" not in kws
    assert "this" not in kws
