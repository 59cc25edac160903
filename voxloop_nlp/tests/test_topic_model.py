"""The trained topic model, aspect sentiment, and a customer's own taxonomy (issue 16 items 2, 3, 5)."""

import json

import pytest

import voxloop_nlp
from voxloop_nlp import learn, models_store
from voxloop_nlp.cli import main


def topics(text):
    return {t["code"]: t for t in voxloop_nlp.analyze(text).topics}


def test_the_shipped_model_has_a_trained_topic_model_for_the_default_taxonomy():
    model = models_store.active().topic_model
    assert model is not None
    assert {"quality", "logistics", "price", "attitude", "environment"} <= set(model.codes)
    assert model.meta["metrics"]["cross_cosmetics_semeval_to_car"]["f1"] > 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("味道不咋地，太咸了", "quality"),  # food taste: no phrase, the model maps it to quality
        ("油耗太高了，一箱油跑不了多远", "quality"),  # a car's fuel use
        ("The pasta was bland and overcooked", "quality"),
        ("环境很吵，桌子也脏", "environment"),
    ],
)
def test_topics_of_other_domains_map_to_the_nearest_default_topic(text, code):
    found = topics(text)
    assert code in found
    assert found[code]["evidence"], "a topic found by the model still names the words behind it"


def test_almost_every_complaint_gets_a_topic():
    complaints = [
        "味道不咋地",
        "太难吃了，再也不来了",
        "用了两天就不行了",
        "The waiter ignored us for twenty minutes",
        "买贵了，心疼",
        "一般般吧，不推荐",
        "等了三个小时才送到",
        "屏幕有划痕",
    ]
    assert sum(1 for t in complaints if topics(t)) >= len(complaints) - 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东西不错，就是物流慢了点", {"quality": "positive", "logistics": "negative"}),
        ("价格便宜，但是质量太差了", {"price": "positive", "quality": "negative"}),
        ("The food was great but the service was terribly slow", {"quality": "positive"}),
    ],
)
def test_each_topic_carries_its_own_sentiment(text, expected):
    found = topics(text)
    for code, label in expected.items():
        assert code in found, (code, list(found))
        assert found[code]["sentiment"]["label"] == label


def test_a_one_clause_text_gives_its_topics_the_text_sentiment():
    a = voxloop_nlp.analyze("物流太慢了")
    assert a.topics and all(t["sentiment"]["label"] == a.sentiment_label for t in a.topics)


HOTEL = {
    "wifi": [
        "房间wifi连不上",
        "无线网络太慢了",
        "wifi信号很差",
        "网速慢得要命",
        "wifi密码不对",
        "上不了网",
        "网络老是断",
        "wifi一直掉线",
    ],
    "breakfast": [
        "早餐种类太少",
        "早饭很难吃",
        "早餐的粥是凉的",
        "自助早餐不错",
        "早餐没有水果",
        "早饭七点才开始",
        "早餐品种丰富",
        "早餐的面包不新鲜",
    ],
    "parking": [
        "停车场太小了",
        "没有地方停车",
        "停车费太贵",
        "车位很紧张",
        "停车还要收费",
        "地下车库很难找",
        "停车很方便",
        "车库入口太窄",
    ],
}


def _examples(path, per_class=8, extra=()):
    rows = [{"text": t, "topics": [code]} for code, texts in HOTEL.items() for t in texts[:per_class]]
    path.write_text("\n".join([*(json.dumps(r, ensure_ascii=False) for r in rows), *extra]) + "\n", encoding="utf-8")


def test_topics_learn_then_analyze_with_the_customers_codes(tmp_path, capsys):
    examples, model_dir = tmp_path / "examples.jsonl", tmp_path / "model"
    _examples(examples)
    assert main(["topics", "learn", str(examples), str(model_dir)]) == 0
    assert "learnt 3 topics from 24 examples" in capsys.readouterr().err
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    items = [{"id": 1, "text": "wifi根本连不上网"}, {"id": 2, "text": "早餐太难吃了"}, {"id": 3, "text": "停车位太少"}]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in items) + "\n", encoding="utf-8")
    assert main(["analyze", "--topics", str(model_dir), str(src), str(dst)]) == 0
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [o["topics"][0]["code"] for o in out] == ["wifi", "breakfast", "parking"]
    confs = [t["confidence"] for t in out[0]["topics"]]
    assert confs == sorted(confs, reverse=True), "best first"
    assert {t["code"] for o in out for t in o["topics"]} <= set(HOTEL)
    # The default lane is untouched: without --topics the default taxonomy's codes come back.
    assert main(["analyze", str(src), str(dst)]) == 0
    assert not {t["code"] for line in dst.read_text().splitlines() for t in json.loads(line)["topics"]} & set(HOTEL)


def test_topics_learn_reports_bad_lines_and_refuses_a_single_code(tmp_path, capsys):
    examples, model_dir = tmp_path / "examples.jsonl", tmp_path / "model"
    _examples(examples, extra=["{oops", json.dumps({"text": "x", "topics": []}), json.dumps({"topics": ["wifi"]})])
    assert main(["topics", "learn", str(examples), str(model_dir)]) == 1
    err = capsys.readouterr().err
    assert "line 25: not valid JSON" in err
    assert 'line 26: "topics" must be a non-empty list' in err
    assert 'line 27: "text" is missing' in err
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"text": "wifi太慢", "topics": ["wifi"]}) + "\n")
    assert main(["topics", "learn", str(one), str(tmp_path / "m2")]) == 2
    assert "At least two topic codes" in capsys.readouterr().err


def test_analyze_with_a_folder_that_holds_no_learnt_taxonomy_is_a_clear_error(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "hi"}\n')
    assert main(["analyze", "--topics", str(tmp_path), str(src), "-"]) == 2
    assert "voxloop topics learn" in capsys.readouterr().err


def test_learnt_model_improves_with_more_examples(tmp_path):
    few = learn.learn([(t, [c]) for c, texts in HOTEL.items() for t in texts[:2]], tmp_path / "few")
    more = learn.learn([(t, [c]) for c, texts in HOTEL.items() for t in texts], tmp_path / "more")
    probe = [("网络连接不稳定", "wifi"), ("早餐的鸡蛋是冷的", "breakfast"), ("车位不够用", "parking")]

    def right(model):
        out = voxloop_nlp.analyze_batch([t for t, _ in probe], topic_model=model)
        return sum(a.topics[0]["code"] == c for a, (_, c) in zip(out, probe, strict=True))

    assert right(more) >= right(few)
    assert right(more) == 3


@pytest.mark.parametrize(
    ("text", "code", "other"),
    [
        ("客服态度很差，物流是顺丰发的", "logistics", "attitude"),
        ("Great food, the price was 20 dollars", "price", "quality"),
    ],
)
def test_a_topic_mentioned_without_an_opinion_is_neutral(text, code, other):
    found = topics(text)
    assert found[code]["sentiment"]["label"] == "neutral"
    assert found[other]["sentiment"]["label"] != "neutral"
