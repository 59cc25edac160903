"""Sentiment: our trained model (see sentiment_model.py), label with a neutral band, score in [-1, 1].

A bare question with no opinion cue ("怎么退款?") is neutral whatever n-grams say: questions are a
frequent neutral case in customer service that review-trained models see rarely.
"""

from __future__ import annotations

from collections.abc import Sequence

from voxloop_nlp import lexicon, models_store
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_QUESTION_END = ("?", "吗", "呢", "么")


def _is_plain_question(doc: FeedbackDoc) -> bool:
    text = doc.lower.rstrip(" 。.!~")
    if not text.endswith(_QUESTION_END):
        return False
    return not any(lexicon.POLARITY.get(t) for t in doc.tokens)


def score_docs(docs: Sequence[FeedbackDoc]) -> None:
    if not docs:
        return
    model = models_store.active().sentiment
    norms = [d.normalized for d in docs]
    X = model.featurize([d.lower for d in docs], [d.tokens for d in docs], norms)
    for doc, score in zip(docs, model.scores(X, norms), strict=True):
        score = float(score)
        if not doc.tokens:
            score = 0.0
        elif _is_plain_question(doc):
            score = max(-model.neutral_band * 0.9, min(model.neutral_band * 0.9, score * 0.3))
        doc.sentiment_score = round(score, 4)
        doc.sentiment_label = model.label(score)


@component("sentiment", requires=["normalized", "tokens"], assigns=["sentiment"], batch=score_docs)
def sentiment(doc: FeedbackDoc) -> FeedbackDoc:
    score_docs([doc])
    return doc
