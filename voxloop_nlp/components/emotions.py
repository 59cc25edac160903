"""Emotions with evidence words, negation ("不失望" is no disappointment) and degree ("非常失望" > "有点失望")."""

from __future__ import annotations

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

_CUE_TO_EMOTION = {cue.lower(): name for name, cues in EMOTION_CUES.items() for cue in cues}
_MATCHER = CueMatcher(_CUE_TO_EMOTION)


def detect_emotions(lower: str) -> list[dict]:
    found: dict[str, dict] = {}
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


@component("emotions", requires=["normalized"], assigns=["emotions"])
def emotions(doc: FeedbackDoc) -> FeedbackDoc:
    doc.emotions = detect_emotions(doc.lower)
    return doc
