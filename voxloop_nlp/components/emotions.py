"""Emotions with evidence words, negation ("不失望" is no disappointment) and degree ("非常失望" > "有点失望").

Two sources: the lexicon cues below, and for Chinese text the trained emotion model (NLPCC 2014 Weibo
labels plus these cues, `training/train_emotions.py`, artifact `models/emotion_model.*`), which adds
the emotion it finds likely enough (p >= MODEL_P) with the words that weighed most for it as evidence, so
"我要不要考虑下降低回家的频率啊 回来一次吵一次" is anger although it holds no cue word.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from voxloop_nlp import models_store
from voxloop_nlp.cues import CueMatcher
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

EMOTION_CUES: dict[str, tuple[str, ...]] = {
    "anger": (
        "生气",
        "愤怒",
        "气愤",
        "气死",
        "恼火",
        "火大",
        "太过分",
        "过分",
        "可恶",
        "岂有此理",
        "忍无可忍",
        "无语",
        "垃圾",
        "坑人",
        "骗子",
        "欺骗",
        "恶心",
        "滚",
        "angry",
        "furious",
        "outraged",
        "mad",
        "annoyed",
        "ridiculous",
        "unacceptable",
        "disgusted",
        "pissed",
        "infuriating",
        "livid",
        "fed up",
    ),
    "disappointment": (
        "失望",
        "不满",
        "不满意",
        "后悔",
        "遗憾",
        "上当",
        "心寒",
        "白买",
        "不值",
        "太差",
        "很差",
        "差劲",
        "disappointed",
        "disappointing",
        "disappointment",
        "let down",
        "regret",
        "waste of money",
        "not worth",
        "dissatisfied",
        "unhappy with",
    ),
    "anxiety": (
        "着急",
        "焦虑",
        "担心",
        "急死",
        "急用",
        "紧张",
        "害怕",
        "不安",
        "催了",
        "怎么还没",
        "到底什么时候",
        "等不及",
        "worried",
        "anxious",
        "nervous",
        "concerned",
        "scared",
        "afraid",
        "urgent",
        "asap",
        "still waiting",
    ),
    "sadness": (
        "难过",
        "伤心",
        "心痛",
        "郁闷",
        "委屈",
        "哭",
        "痛苦",
        "心累",
        "绝望",
        "崩溃",
        "sad",
        "upset",
        "heartbroken",
        "depressed",
        "miserable",
        "hurt",
    ),
    "joy": (
        "开心",
        "高兴",
        "满意",
        "喜欢",
        "愉快",
        "快乐",
        "舒心",
        "爽",
        "棒",
        "赞",
        "完美",
        "超值",
        "太好了",
        "好评",
        "happy",
        "glad",
        "pleased",
        "love",
        "delighted",
        "satisfied",
        "enjoy",
        "great",
        "awesome",
        "excellent",
        "perfect",
        "amazing",
        "wonderful",
    ),
    "gratitude": (
        "感谢",
        "谢谢",
        "多谢",
        "感激",
        "辛苦了",
        "点赞",
        "thank",
        "thanks",
        "thank you",
        "grateful",
        "appreciate",
        "appreciated",
    ),
    "surprise": (
        "惊喜",
        "没想到",
        "意外",
        "竟然",
        "居然",
        "震惊",
        "吃惊",
        "出乎意料",
        "surprised",
        "surprising",
        "unexpected",
        "unexpectedly",
        "shocked",
        "wow",
        "amazed",
    ),
}

# The emotions the trained model (NLPCC 2014 Weibo labels, `training/train_emotions.py`) can give.
MODEL_EMOTIONS = ("joy", "anger", "sadness", "anxiety", "surprise", "disappointment", "gratitude")

_CUE_TO_EMOTION = {cue.lower(): name for name, cues in EMOTION_CUES.items() for cue in cues}
_MATCHER = CueMatcher(_CUE_TO_EMOTION)


def detect_emotions(lower: str) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    exclaim = min(lower.count("!"), 3)
    for hit in _MATCHER.find(lower):
        name = _CUE_TO_EMOTION.get(hit.cue)
        if name is None or hit.negated:
            continue
        intensity = min(1.0, 0.5 * hit.degree + 0.08 * exclaim)
        entry = found.setdefault(name, {"name": name, "evidence": [], "intensity": 0.0})
        if hit.cue not in entry["evidence"]:
            entry["evidence"].append(hit.cue)
        entry["intensity"] = round(max(entry["intensity"], intensity), 2)
    return sorted(found.values(), key=lambda e: (-e["intensity"], e["name"]))


# The model adds an emotion from p >= MODEL_P, pointing at words whose weight for it is > EVIDENCE_MIN_WEIGHT;
# it never removes a cue's emotion. Picked on a fifth of NLPCC's *train* split (model retrained without it)
# plus car-forum texts whose aspects are all neutral as "no emotion" (1:4), 6-class macro-F1 (5 + none):
# p 0.5 / weight 0.5 (before) 37.4, 0.3 / 0.5 40.1, 0.3 / 0.25 40.8 (no emotion 56 % -> 23 %), 0.3 / 0.0 40.6
# (12 %: too many emotions on plain talk). With 0.5 / 0.5 "想家了，一个人过年" (sadness p 0.58) got none.
MODEL_P = 0.3
EVIDENCE_MIN_WEIGHT = 0.25
SURE_P = 0.5  # below it a model emotion is tentative: shown, not acted on (`firm_emotions`)
# Intensity of a model-only emotion: below a plain cue's 0.5 unless the model is sure.
MODEL_INTENSITY = 0.55
POSITIVE_EMOTIONS = frozenset({"joy", "gratitude"})
NEGATIVE_EMOTIONS = frozenset({"anger", "disappointment", "anxiety", "sadness"})
CLEAR = 0.35  # |sentiment score| from which the text's polarity is taken as clear (as in `urgency`)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def add_model_emotions(
    found: list[dict[str, Any]], probs: Any, model: Any, tokens: Any, score: float = 0.0
) -> list[dict[str, Any]]:
    """Add the model's likely emotions (with evidence words) to the lexicon's; none without evidence, and
    none that contradicts a clear sentiment: Weibo talk is not feedback, and "饭很好吃，不过…等了三个小时"
    is no joy whatever its food words say."""
    have = {e["name"] for e in found}
    table = None
    for i in np.argsort(-probs):
        p = float(probs[i])
        if p < MODEL_P:
            break
        name = model.codes[i]
        if (
            name in have
            or (name in POSITIVE_EMOTIONS and score <= -CLEAR)
            or (name in NEGATIVE_EMOTIONS and score >= CLEAR)
        ):
            continue
        if table is None:
            table = model.evidence_table(tokens)
        evidence = model.evidence_from(table, int(i), min_weight=EVIDENCE_MIN_WEIGHT)
        if not evidence:
            continue  # an emotion nobody can point at in the text is not reported
        found.append({"name": name, "evidence": evidence, "intensity": round(MODEL_INTENSITY * p, 2)})
    return sorted(found, key=lambda e: (-e["intensity"], e["name"]))


def _batch(docs: list[FeedbackDoc]) -> None:
    for doc in docs:
        doc.emotions = detect_emotions(doc.lower)
    model = models_store.active().emotion_model
    if model is None:
        return
    zh = [d for d in docs if _HAN.search(d.lower)]
    if not zh:
        return
    probs = model.predict_texts([d.lower for d in zh], [d.tokens for d in zh])
    for doc, row in zip(zh, probs, strict=True):
        cued = {e["name"] for e in doc.emotions}
        doc.emotions = add_model_emotions(doc.emotions, row, model, doc.tokens, doc.sentiment_score)
        tentative = [
            e["name"]
            for e in doc.emotions
            if e["name"] not in cued and float(row[model.codes.index(e["name"])]) < SURE_P
        ]
        if tentative:
            doc.extras["tentative_emotions"] = tentative


def firm_emotions(doc: FeedbackDoc) -> list[dict[str, Any]]:
    """The emotions to act on (kind): a model emotion below SURE_P is shown, but does not make a question a
    complaint ("明天就要考试了，怎么办" reads as anger at p 0.55, "…怎么办？" at less)."""
    tentative = doc.extras.get("tentative_emotions", ())
    return [e for e in doc.emotions if e["name"] not in tentative]


@component("emotions", requires=["normalized", "tokens", "sentiment"], assigns=["emotions"], batch=_batch)
def emotions(doc: FeedbackDoc) -> FeedbackDoc:
    _batch([doc])
    return doc
