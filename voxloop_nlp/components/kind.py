"""Kind: complaint, praise, suggestion, question or other — from sentiment, needs and question cues."""

from __future__ import annotations

import re

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_QUESTION = re.compile(
    r"[?]|吗[?。!]?$|呢[?。]?$|请问|怎么|如何|为什么|为何|是否|能不能|可不可以|有没有|多久|什么时候|哪里|几天|"
    r"\b(how|what|when|where|why|which|can i|could i|is there|do you|does it|is it)\b",
    re.IGNORECASE,
)
_ENDS_AS_QUESTION = re.compile(r"(?:[?]|吗|呢)\s*$")
_COMPLAINT = re.compile(r"投诉|差评|举报|退款|退货|complain|complaint|refund|unacceptable", re.IGNORECASE)


@component("kind", requires=["sentiment", "needs", "emotions"], assigns=["kind"])
def kind(doc: FeedbackDoc) -> FeedbackDoc:
    label = doc.sentiment_label
    negative_emotion = any(e["name"] in {"anger", "disappointment", "sadness"} for e in doc.emotions)
    complaint_cue = bool(_COMPLAINT.search(doc.lower))
    if doc.needs and not negative_emotion and not complaint_cue and doc.sentiment_score > -0.9:
        # "建议增加夜间配送" reads negative to a review-trained model, but it is a suggestion.
        doc.kind = "question" if _ENDS_AS_QUESTION.search(doc.lower) else "suggestion"
    elif label == "negative" and (doc.sentiment_score <= -0.6 or negative_emotion or complaint_cue):
        doc.kind = "complaint"
    elif _ENDS_AS_QUESTION.search(doc.lower) and label != "positive":
        doc.kind = "question"
    elif doc.needs and label != "negative":
        doc.kind = "suggestion"
    elif _QUESTION.search(doc.lower) and label != "positive":
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
