"""Sentiment: our trained model (see sentiment_model.py), label with a neutral band, score in [-1, 1];
then `sentiment_rules` (plain questions are neutral; "not bad" and "could be better" get the lexicon's sign).
"""

from __future__ import annotations

from collections.abc import Sequence

from voxloop_nlp import models_store, sentiment_rules
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component


def score_docs(docs: Sequence[FeedbackDoc]) -> None:
    if not docs:
        return
    model = models_store.active().sentiment
    norms = [d.normalized for d in docs]
    X = model.featurize([d.lower for d in docs], [d.tokens for d in docs], norms)
    for doc, score in zip(docs, model.scores(X, norms), strict=True):
        score = sentiment_rules.adjust(doc.lower, doc.tokens, float(score), model.neutral_band)
        doc.sentiment_score = round(score, 4)
        doc.sentiment_label = model.label(score)


@component("sentiment", requires=["normalized", "tokens"], assigns=["sentiment"], batch=score_docs)
def sentiment(doc: FeedbackDoc) -> FeedbackDoc:
    score_docs([doc])
    return doc
