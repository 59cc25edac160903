"""Urgency (normal / important / urgent) with the reasons that raised it.

Safety hazards, harm to health (腹泻, 过敏, food poisoning…), food safety (异物, 变质, 发霉…) and
legal/regulator/media threats are urgent; churn threats, repeated contact and strong negative emotion are
important (two of them together: urgent). A negated cue ("没有起火", "不会过敏") does not count. On praise
("第二次反馈了，App很好用", "媒体都报道了，服务真好") only harm cues count: "第二次"/"媒体" are no threat there.
"""

from __future__ import annotations

import re
from typing import Any

from voxloop_nlp.cues import CueMatcher
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

REASON_CUES: dict[str, tuple[str, ...]] = {
    "safety": (
        "起火",
        "着火",
        "冒烟",
        "爆炸",
        "炸了",
        "受伤",
        "烫伤",
        "烧伤",
        "触电",
        "漏电",
        "中毒",
        "住院",
        "流血",
        "割伤",
        "危险",
        "安全隐患",
        "fire",
        "caught fire",
        "smoke",
        "explode",
        "exploded",
        "explosion",
        "injury",
        "injured",
        "burned",
        "burn",
        "electric shock",
        "poisoning",
        "hospital",
        "bleeding",
        "dangerous",
        "hazard",
    ),
    "health": (
        "腹泻",
        "拉肚子",
        "闹肚子",
        "肠炎",
        "肠胃炎",
        "食物中毒",
        "过敏",
        "呕吐",
        "上吐下泻",
        "吃坏",
        "吃出病",
        "肚子疼",
        "胃疼",
        "起疹子",
        "红肿",
        "food poisoning",
        "allergic reaction",
        "allergy",
        "diarrhea",
        "diarrhoea",
        "vomiting",
        "threw up",
        "got sick",
        "made me sick",
        "stomach ache",
    ),
    "food_safety": (
        "异物",
        "吃出头发",
        "吃出虫",
        "吃出异物",
        "头发丝",
        "虫子",
        "苍蝇",
        "蟑螂",
        "发霉",
        "霉变",
        "长毛了",
        "变质",
        "馊了",
        "过期食品",
        "foreign object",
        "moldy",
        "mouldy",
        "cockroach",
        "bug in my food",
        "hair in my food",
        "spoiled food",
    ),
    "legal": (
        "12315",
        "消协",
        "消费者协会",
        "工商",
        "市场监管",
        "投诉到",
        "律师",
        "起诉",
        "法院",
        "报警",
        "维权",
        "仲裁",
        "lawyer",
        "lawsuit",
        "sue",
        "court",
        "legal action",
        "attorney",
        "regulator",
        "consumer protection",
    ),
    "media": ("曝光", "媒体", "记者", "微博", "发到网上", "上热搜", "journalist", "media", "press", "go public"),
    "churn": (
        "退货",
        "销户",
        "注销",
        "再也不买",
        "再也不会",
        "再也不来",
        "换一家",
        "取消订单",
        "退订",
        "cancel",
        "close my account",
        "never buy",
        "never again",
        "never coming back",
        "switch to",
        "unsubscribe",
    ),
    "repeated_contact": (
        "又一次",
        "第二次",
        "第三次",
        "多次",
        "好几次",
        "再次",
        "反复",
        "一直没解决",
        "还是没解决",
        "打了好几次",
        "once again",
        "contacted you again",
        "called again",
        "again and again",
        "second time",
        "third time",
        "multiple times",
        "several times",
        "still not resolved",
        "keep calling",
        "repeatedly",
    ),
}
URGENT_REASONS = {"safety", "health", "food_safety", "legal", "media"}
HARM_REASONS = {"safety", "health", "food_safety"}  # count on praise too: harm is harm, however politely told
_HYPOTHETICAL = re.compile(
    r"(?:会不会|会|是否|容易|怕|担心|防止|避免|预防|以免|可能)[\u4e00-\u9fff]{0,2}$|"
    r"\b(?:will it|would it|could it|can it|does it|do they|cause|causes|prevent|avoid|risk of|worried about)\b[a-z ]{0,12}$"
)
PRAISE_SCORE = 0.35  # above the neutral band with a margin: clearly positive text
_CUE_TO_REASON = {cue.lower(): reason for reason, cues in REASON_CUES.items() for cue in cues}
_MATCHER = CueMatcher(_CUE_TO_REASON)


def urgency_of(lower: str, emotions: list[dict[str, Any]], sentiment_score: float = 0.0) -> tuple[str, list[str]]:
    reasons: list[str] = []
    for hit in _MATCHER.find(lower):
        reason = _CUE_TO_REASON.get(hit.cue)
        if reason in HARM_REASONS and _HYPOTHETICAL.search(lower[max(0, hit.start - 12) : hit.start]):
            continue  # "请问这个会过敏吗？", "will it cause an allergic reaction": a question, no harm done
        if reason and not hit.negated:
            label = f"{reason}:{hit.cue}"
            if label not in reasons:
                reasons.append(label)
    strong = [e for e in emotions if e["name"] in {"anger", "disappointment", "anxiety"} and e["intensity"] >= 0.8]
    negative_emotion = any(e["name"] in {"anger", "disappointment", "sadness", "anxiety"} for e in emotions)
    if sentiment_score >= PRAISE_SCORE and not negative_emotion:
        reasons = [r for r in reasons if r.split(":")[0] in HARM_REASONS]
    if strong:
        # Emotion words, not the sentiment score: a confident "negative" alone is an ordinary complaint.
        reasons.append(f"strong_negative_emotion:{strong[0]['name']}")
    kinds = {r.split(":")[0] for r in reasons}
    if kinds & URGENT_REASONS or len(kinds) >= 3:
        level = "urgent"
    elif kinds:
        level = "important"
    else:
        level = "normal"
    return level, reasons


@component("urgency", requires=["emotions", "sentiment"], assigns=["urgency"])
def urgency(doc: FeedbackDoc) -> FeedbackDoc:
    doc.urgency_level, doc.urgency_reasons = urgency_of(doc.lower, doc.emotions, doc.sentiment_score)
    return doc
