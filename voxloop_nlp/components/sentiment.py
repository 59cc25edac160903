"""Sentiment: our trained model (see sentiment_model.py), label with a neutral band, score in [-1, 1];
then `sentiment_rules` (plain questions are neutral; "not bad" and "could be better" get the lexicon's sign).

Before scoring, trailing tags/ids/numbers are cut off (`clauses.strip_trailing_tags`: "请问什么时候有货？ #12"
is the plain question). A text with a contrast ("东西不错，就是物流慢了点", "great food but slow service")
is scored twice, whole and its emphasised clause alone, and the clause weighs more (`CONTRAST_WEIGHT`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxloop_nlp import clauses, models_store, sentiment_rules
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

CONTRAST_WEIGHT = 0.7  # share of the emphasised clause's score in a text with a contrast
# Only short texts: in a long review the last "但是" is often one point among many, and the model reads the
# whole text well (on long hotel reviews the clause rule cost accuracy).
CONTRAST_MAX_CHARS = 60
CONTRAST_UNSURE = 0.35  # the clause decides only where the whole text's score is unsure


def _model_scores(
    model: Any, norms: list[str], lowers: list[str], tokens: list[list[str]], english_head: bool = True
) -> list[float]:
    if not lowers:
        return []
    X = model.featurize(lowers, tokens, norms)
    raw = model.scores(X, norms if english_head else None)
    return [
        sentiment_rules.adjust(low, toks, float(s), model.neutral_band)
        for low, toks, s in zip(lowers, tokens, raw, strict=True)
    ]


def fast_scores(
    model: Any, norms: Sequence[str], lowers: Sequence[str], tokens: Sequence[list[str]], *, english_head: bool = True
) -> tuple[np.ndarray, list[str]]:
    """The fast lane's scores (what users see and what every evaluation measures) and each text's core
    (lower-cased, trailing tags removed), for `kind` to read. `english_head=False`: n-grams alone (clauses
    of a text, scored per topic, do not pay for the sentence embedding)."""
    cores, core_norms, core_tokens = [], [], []
    for norm, low, toks in zip(norms, lowers, tokens, strict=True):
        core = clauses.strip_trailing_tags(low)
        if core != low:
            cores.append(core)
            core_norms.append(clauses.strip_trailing_tags(norm))
            core_tokens.append(tokenize(core))
        else:
            cores.append(low)
            core_norms.append(norm)
            core_tokens.append(toks)
    scores = np.array(_model_scores(model, core_norms, cores, core_tokens, english_head), dtype=np.float64)
    # Texts with a contrast: score the emphasised clause alone (only these texts pay for it).
    idx, tails = [], []
    for i, core in enumerate(cores):
        tail = clauses.emphasised_clause(core) if len(core) <= CONTRAST_MAX_CHARS else None
        if tail:
            idx.append(i)
            tails.append(tail)
    if tails:
        tail_scores = _model_scores(model, tails, tails, [tokenize(t) for t in tails], english_head)
        for i, ts in zip(idx, tail_scores, strict=True):
            # The clause overrides only when it is surer than the whole text: "X不错，就是Y" with a mild Y
            # is still, as its writers rate it, a positive review (its Y gets its own polarity per topic).
            if abs(ts) > abs(scores[i]) and abs(scores[i]) < CONTRAST_UNSURE:
                scores[i] = CONTRAST_WEIGHT * ts + (1 - CONTRAST_WEIGHT) * scores[i]
    return scores, cores


def score_docs(docs: Sequence[FeedbackDoc]) -> None:
    if not docs:
        return
    model = models_store.active().sentiment
    scores, cores = fast_scores(model, [d.normalized for d in docs], [d.lower for d in docs], [d.tokens for d in docs])
    for doc, score, core in zip(docs, scores, cores, strict=True):
        doc.sentiment_score = round(float(score), 4)
        doc.sentiment_label = model.label(float(score))
        doc.extras["core"] = core


@component("sentiment", requires=["normalized", "tokens"], assigns=["sentiment"], batch=score_docs)
def sentiment(doc: FeedbackDoc) -> FeedbackDoc:
    score_docs([doc])
    return doc
