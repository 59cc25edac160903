from voxloop_nlp.components.topics import assign_topics
from voxloop_nlp.taxonomy import TOP_LEVEL_CODES, Taxonomy, TaxonomyError, default_taxonomy


def codes(doc):
    return [t["code"] for t in doc.topics]


def test_default_taxonomy_has_the_stable_top_level_codes_and_children():
    tax = default_taxonomy()
    tops = {c for c, t in tax.topics.items() if t.parent is None}
    assert tops == set(TOP_LEVEL_CODES)
    assert all(t.parent in tax.topics for t in tax.topics.values() if t.parent)
    assert any("." in c for c in tax.topics)


def test_multi_label_hierarchical_with_evidence(make_doc):
    doc = make_doc("快递还没到，客服也不回复")
    doc.language = "zh"
    assign_topics([doc])
    found = {t["code"]: t for t in doc.topics}
    assert {"logistics", "logistics.delay", "speed.response"} <= set(found)
    assert "还没到" in found["logistics.delay"]["evidence"]
    assert found["logistics"]["name"] == "物流配送"
    assert all(0 < t["confidence"] <= 1 for t in doc.topics)


def test_english_names_for_english_text(make_doc):
    doc = make_doc("I want a refund, the item was damaged")
    doc.language = "en"
    assign_topics([doc])
    names = {t["code"]: t["name"] for t in doc.topics}
    assert names["refund"] == "Returns, refunds and exchanges"
    assert "logistics.damage" in names


def test_custom_taxonomy_from_dicts(make_doc):
    tax = Taxonomy.from_dicts(
        [
            {"code": "food", "name_zh": "菜品", "name_en": "Food", "phrases_zh": ["菜"], "phrases_en": ["dish"]},
            {"code": "food.taste", "parent": "food", "name_zh": "口味", "name_en": "Taste", "phrases_zh": ["太咸"]},
        ]
    )
    doc = make_doc("这道菜太咸了")
    doc.language = "zh"
    assign_topics([doc], tax)
    assert set(codes(doc)) == {"food", "food.taste"}
    assert tax.to_dicts()[1]["parent"] == "food"


def test_taxonomy_rejects_unknown_parent():
    import pytest

    with pytest.raises(TaxonomyError, match="unknown parent 'nope'"):
        Taxonomy.from_dicts([{"code": "a", "parent": "nope"}])


def test_everyday_words_of_other_domains_name_their_topic():
    import voxloop_nlp

    texts = ["味道不错，送餐也快", "The food was great but the service was slow.", "口味一般，分量太少"]
    first, second, third = voxloop_nlp.analyze_batch(texts)
    found = {t["code"]: t for t in first.topics}
    assert {"quality", "logistics"} <= set(found)
    assert "味道" in found["quality"]["evidence"]
    found = {t["code"]: t for t in second.topics}
    assert {"quality", "attitude"} <= set(found)
    assert "food" in found["quality"]["evidence"] and "service" in found["attitude"]["evidence"]
    assert [t["code"] for t in third.topics][0] == "quality"


def test_the_model_vetoes_phrases_only_in_the_script_it_learnt_the_topic_from():
    """A model that learnt "quality" from Chinese text alone has no say over an English phrase hit."""
    import numpy as np

    from voxloop_nlp.components.segment import tokenize
    from voxloop_nlp.components.topics import combine
    from voxloop_nlp.topic_model import N_FEATURES, TopicModel

    codes_ = list(TOP_LEVEL_CODES)
    sure_no = TopicModel(
        codes_,
        np.zeros((len(codes_), N_FEATURES), dtype=np.float32),
        np.full(len(codes_), -6.0),  # p ~ 0.002 for every topic: below the veto
        meta={
            "data_positives": dict.fromkeys(codes_, 500),
            "data_positives_han": dict.fromkeys(codes_, 500),
            "data_positives_latin": dict.fromkeys(codes_, 0),
        },
    )
    tax = default_taxonomy()
    for text, kept in (("the food was cold", True), ("味道一般般", False)):
        probs = sure_no.predict_texts([text], [tokenize(text)])[0]
        conf, _ = combine(text, tokenize(text), tax, sure_no, probs)
        assert ("quality" in conf) is kept, text
