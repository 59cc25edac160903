import pytest

from voxloop_nlp.components import segment


def test_jieba_is_the_default_and_finds_words():
    assert segment.tokenize("客服态度很差") == ["客服", "态度", "很差"]


def test_english_tokens():
    assert segment.tokenize("don't buy it, it's broken!") == ["don't", "buy", "it", ",", "it's", "broken", "!"]


def test_bigram_fallback_is_swappable():
    segment.set_segmenter("bigram")
    try:
        assert segment.tokenize("物流很快") == ["物流", "流很", "很快"]
    finally:
        segment.set_segmenter("jieba")


def test_unknown_segmenter_is_refused():
    with pytest.raises(ValueError, match="Unknown segmenter"):
        segment.set_segmenter("spacy")
