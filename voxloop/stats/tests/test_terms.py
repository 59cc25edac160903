"""Need keys and emotion words: what the roll-ups count for the Emotion and needs page."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voxloop.stats.terms import NEED_KEY_MAX, emotion_names, emotion_words, need_key, need_keys
from voxloop.stats.tests.test_purity import PACKAGE_DIR


@pytest.mark.parametrize(
    ("phrase", "key"),
    [
        ("希望提供视频教程", "提供视频教程"),
        ("希望可以提供视频教程！", "提供视频教程"),  # lead-ins stack: 希望 + 可以
        ("建议增加夜间模式。", "增加夜间模式"),
        ("能不能快点发货啊", "快点发货"),  # a trailing particle is no part of the need
        ("请尽快处理", "处理"),
        ("希望你们能改进一下包装吧", "改进一下包装"),
        ("would be nice if it came with a charger", "it came with a charger"),
        ("It would be great if the app had search", "the app had search"),
        ("I wish the battery lasted longer!", "the battery lasted longer"),
        ("please add dark mode.", "add dark mode"),
        ("Please add dark mode", "add dark mode"),  # case-folded: one key for both spellings
        ("Could you please add a size chart", "add a size chart"),
        ("you should offer free returns", "offer free returns"),
        ("I would suggest adding more colors", "adding more colors"),
        ("增加颜色", "增加颜色"),  # no lead-in: unchanged
    ],
)
def test_need_key_strips_lead_ins_and_trailing_punctuation(phrase, key):
    assert need_key(phrase) == key
    assert key in phrase.lower()  # a piece of the phrase, so q=<key> finds the item


def test_need_key_keeps_something_when_the_phrase_is_all_lead_in():
    assert need_key("希望能好") == "能好"  # stripping 能 too would leave one character
    assert need_key("希望") == "希望"
    assert need_key("  。 ") == ""


def test_need_key_is_at_most_100_characters_and_ends_on_a_word():
    chinese = "希望" + "很" * 150
    assert need_key(chinese) == "很" * NEED_KEY_MAX
    english = "please " + " ".join(["longword"] * 30)
    key = need_key(english)
    assert len(key) <= NEED_KEY_MAX and key.endswith("longword") and key in english


def test_need_keys_dedupe_and_tolerate_bad_json():
    assert need_keys(["希望尽快发货", "建议尽快发货。", "please add tracking"]) == ["尽快发货", "add tracking"]
    assert need_keys(None) == [] and need_keys("希望尽快发货") == [] and need_keys([3, "。"]) == []


def test_emotion_words_map_each_word_to_its_emotions():
    emotions = [
        {"name": "anger", "evidence": ["气死", "Furious"], "intensity": 0.9},
        {"name": "disappointment", "evidence": ["气死"], "intensity": 0.5},
        {"name": "joy"},  # no evidence: an emotion, but no word
        "junk",
    ]
    assert emotion_words(emotions) == {"气死": {"anger", "disappointment"}, "furious": {"anger"}}
    assert emotion_names(emotions) == ["anger", "disappointment", "joy"]
    assert emotion_words(None) == {} and emotion_names({"name": "anger"}) == []


def test_terms_never_import_django():
    code = (
        "import sys, types; pkg = types.ModuleType('voxloop'); "
        f"pkg.__path__ = [{PACKAGE_DIR!r}]; sys.modules['voxloop'] = pkg; import voxloop.stats.terms; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
