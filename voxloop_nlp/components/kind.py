"""Kind: complaint, praise, suggestion, question or other — from sentiment, needs and question cues.

A question is a question unless it carries a complaint (a complaint word, a negative emotion or a negative
opinion word): "请问什么时候有货？ #12" is a question whatever the model's score, "为什么这么慢？太失望了" a
complaint. Trailing tags and ids are ignored (the sentiment component leaves the text's core in extras).
"""

from __future__ import annotations

import re
from typing import Any

from voxloop_nlp import lexicon
from voxloop_nlp.components.emotions import firm_emotions
from voxloop_nlp.cues import CueMatcher
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_QUESTION = re.compile(
    r"[?]|吗[?。!]?$|呢[?。]?$|请问|怎么|如何|为什么|为何|是否|能不能|可不可以|有没有|多久|什么时候|哪里|几天|"
    r"\b(how|what|when|where|why|which|can i|could i|is there|do you|does it|is it)\b",
    re.IGNORECASE,
)
_ENDS_AS_QUESTION = re.compile(r"(?:[?]|吗|呢)\s*$")
_STARTS_AS_QUESTION = re.compile(
    r"^\s*(?:请问|想问|问一下|咨询一下|你好[,，]?请问|how (?:do|can|long)|can you|could you|is there|do you|when will)",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(r"投诉|差评|举报|退款|退货|complain|complaint|refund|unacceptable", re.IGNORECASE)
_NEGATIVE_WORDS = CueMatcher(w for w, p in lexicon.POLARITY.items() if p < 0)
_NEGATIVE_EMOTIONS = {"anger", "disappointment", "sadness"}


def carries_complaint(lower: str, emotions: list[dict[str, Any]]) -> bool:
    """A complaint word, a negative emotion or an un-negated negative opinion word."""
    if _COMPLAINT.search(lower) or any(e["name"] in _NEGATIVE_EMOTIONS for e in emotions):
        return True
    return any(not h.negated for h in _NEGATIVE_WORDS.find(lower))


@component("kind", requires=["sentiment", "needs", "emotions"], assigns=["kind"])
def kind(doc: FeedbackDoc) -> FeedbackDoc:
    label = doc.sentiment_label
    lower = doc.extras.get("core", doc.lower)
    emotions = firm_emotions(doc)
    negative_emotion = any(e["name"] in _NEGATIVE_EMOTIONS for e in emotions)
    complaint_cue = bool(_COMPLAINT.search(lower))
    is_question = bool(_ENDS_AS_QUESTION.search(lower) or _STARTS_AS_QUESTION.search(lower))
    if doc.needs and not negative_emotion and not complaint_cue and doc.sentiment_score > -0.9:
        # "建议增加夜间配送" reads negative to a review-trained model, but it is a suggestion.
        doc.kind = "question" if _ENDS_AS_QUESTION.search(lower) else "suggestion"
    elif is_question and label != "positive" and not carries_complaint(lower, emotions):
        doc.kind = "question"
    elif label == "negative" and (doc.sentiment_score <= -0.6 or negative_emotion or complaint_cue):
        doc.kind = "complaint"
    elif doc.extras.get("neutral_because") == "mixed" and doc.sentiment_score < 0:
        # Pros and cons leaning negative: neutral as a rating, still a complaint to be worked.
        doc.kind = "complaint"
    elif _ENDS_AS_QUESTION.search(lower) and label != "positive":
        doc.kind = "question"
    elif doc.needs and label != "negative":
        doc.kind = "suggestion"
    elif _QUESTION.search(lower) and label != "positive":
        doc.kind = "question"
    elif label == "negative":
        doc.kind = "complaint"
    elif label == "positive":
        doc.kind = "praise"
    elif doc.needs:
        doc.kind = "suggestion"
    else:
        doc.kind = "other"
    return doc
