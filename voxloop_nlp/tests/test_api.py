import voxloop_nlp
from voxloop_nlp.taxonomy import Taxonomy

KEYS = {
    "language", "sentiment", "emotions", "topics", "kind", "urgency", "needs", "keywords", "masked_text",
    "model_version", "normalized_text",
}  # fmt: skip


def test_to_dict_has_the_cli_schema():
    d = voxloop_nlp.analyze("快递太慢，客服电话13812345678打不通，非常失望").to_dict()
    assert set(d) == KEYS
    assert set(d["sentiment"]) == {"label", "score"}
    assert set(d["urgency"]) == {"level", "reasons"}
    assert all(set(e) == {"name", "evidence", "intensity"} for e in d["emotions"])
    # Each topic carries its own sentiment (aspect sentiment, issue 16), next to the issue 3 fields.
    assert d["topics"]
    assert all(set(t) == {"code", "name", "confidence", "evidence", "sentiment"} for t in d["topics"])
    assert all(set(t["sentiment"]) == {"label", "score"} for t in d["topics"])
    assert d["model_version"] == voxloop_nlp.MODEL_VERSION
    assert "[PHONE]" in d["masked_text"]
    assert "13812345678" in d["normalized_text"]


def test_batch_equals_single_and_is_deterministic():
    texts = ["物流很快", "Terrible support", "這個價格太貴了", "", "希望增加夜间配送"]
    batch = [a.to_dict() for a in voxloop_nlp.analyze_batch(texts)]
    assert batch == [voxloop_nlp.analyze(t).to_dict() for t in texts]
    assert batch == [a.to_dict() for a in voxloop_nlp.analyze_batch(texts)]


def test_traditional_input_keeps_original_in_masked_text():
    a = voxloop_nlp.analyze("這個價格太貴了")
    assert a.language == "zh-Hant"
    assert a.normalized_text == "这个价格太贵了"
    assert a.masked_text == "這個價格太貴了"
    assert a.topics[0]["code"] == "price"


def test_taxonomy_argument_is_used():
    tax = Taxonomy.from_dicts([{"code": "coffee", "name_zh": "咖啡", "name_en": "Coffee", "phrases_zh": ["拿铁"]}])
    a = voxloop_nlp.analyze_batch(["拿铁太苦了"], taxonomy=tax)[0]
    assert [t["code"] for t in a.topics] == ["coffee"]


def test_non_string_is_refused():
    import pytest

    with pytest.raises(TypeError, match="expects strings"):
        voxloop_nlp.analyze_batch([None])  # type: ignore[list-item]  # the wrong type is the test
