"""Urgency (normal / important / urgent) with the reasons that raised it.

Safety hazards and legal/regulator/media threats are urgent; churn threats, repeated contact and strong
negative emotion are important (two of them together: urgent). A negated cue ("没有起火") does not count.
"""

from __future__ import annotations

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
        "过敏",
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
URGENT_REASONS = {"safety", "legal", "media"}
_CUE_TO_REASON = {cue.lower(): reason for reason, cues in REASON_CUES.items() for cue in cues}
_MATCHER = CueMatcher(_CUE_TO_REASON)


def urgency_of(lower: str, emotions: list[dict], sentiment_score: float = 0.0) -> tuple[str, list[str]]:
    reasons: list[str] = []
    for hit in _MATCHER.find(lower):
        reason = _CUE_TO_REASON.get(hit.cue)
        if reason and not hit.negated:
            label = f"{reason}:{hit.cue}"
            if label not in reasons:
                reasons.append(label)
    strong = [e for e in emotions if e["name"] in {"anger", "disappointment", "anxiety"} and e["intensity"] >= 0.8]
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
