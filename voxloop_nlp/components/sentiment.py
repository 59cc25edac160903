"""Sentiment: our trained model (see sentiment_model.py), label with a neutral band, score in [-1, 1];
then `sentiment_rules` (plain questions are neutral; "not bad" and "could be better" get the lexicon's sign).

Before scoring, trailing tags/ids/numbers are cut off (`clauses.strip_trailing_tags`: "请问什么时候有货？ #12"
is the plain question). A text with a contrast ("东西不错，就是物流慢了点", "great food but slow service")
is scored twice, whole and its emphasised clause alone, and the clause weighs more (`CONTRAST_WEIGHT`).

Mixed and lukewarm texts are neutral (the 3-star review): a text whose score is not decisive
(|score| < `MIXED_MAX_SCORE`) is pulled inside the neutral band, keeping its sign, when it holds a clearly
positive clause and a clearly negative one ("味道不错，但是分量太少，价格偏贵"), or a lukewarm verdict
anywhere ("质量一般，用着还行", "it's ok for the price"). Only unsure multi-clause texts pay for
scoring their clauses. The sign (the binary verdict) never changes.
"""

from __future__ import annotations

import os
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


def _mixed_max_score() -> float:
    raw = os.environ.get("VOXLOOP_MIXED_NEUTRAL_BELOW", "0.4")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"VOXLOOP_MIXED_NEUTRAL_BELOW must be a number from 0 to 1 (0 turns it off), not {raw!r}.")
    return value


# Mixed/lukewarm → neutral only below this |score|. A trade-off measured on labelled sets of three domains
# and two languages (docs/analysis.md, "Mixed and lukewarm texts"): 0.4 / 0.6 raise the 3-class macro-F1
# where mixed texts count as neutral by up to 4 / 9 points, and cost up to 2.7 / 5.7 points of binary
# accuracy when a neutral label counts as wrong on two-class review sets (the score's sign is unchanged).
MIXED_MAX_SCORE = _mixed_max_score()
MIXED_MAX_RATIO = 2  # mixed: the larger side has at most twice the clauses of the smaller
MIXED_MAX_CLAUSES = 12  # a long review's first clauses: bounds the cost per item


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
    model: Any,
    norms: Sequence[str],
    lowers: Sequence[str],
    tokens: Sequence[list[str]],
    *,
    english_head: bool = True,
    mixed: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """The fast lane's scores (what users see and what every evaluation measures) and each text's core
    (lower-cased, trailing tags removed), for `kind` to read. `english_head=False`: n-grams alone (clauses
    of a text, scored per topic, do not pay for the sentence embedding). `mixed=False`: no mixed/lukewarm
    step (a clause is scored on its own)."""
    scores, cores, _ = fast_scores_marked(model, norms, lowers, tokens, english_head=english_head, mixed=mixed)
    return scores, cores


def fast_scores_marked(
    model: Any,
    norms: Sequence[str],
    lowers: Sequence[str],
    tokens: Sequence[list[str]],
    *,
    english_head: bool = True,
    mixed: bool = True,
) -> tuple[np.ndarray, list[str], dict[int, tuple[str, float]]]:
    """`fast_scores`, plus the texts the mixed/lukewarm step pulled inside the band: position → (why, the score before)
    ("mixed": pros and cons; "lukewarm": a lukewarm verdict)."""
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
    pulled = _pull_mixed_inside_band(model, scores, cores) if mixed else {}
    return scores, cores, pulled


def _pull_mixed_inside_band(model: Any, scores: np.ndarray, cores: list[str]) -> dict[int, tuple[str, float]]:
    """Mixed or lukewarm texts with an undecided score → neutral, sign kept (see the module docstring);
    returns position → (why: "mixed" or "lukewarm", the score before)."""
    band = model.neutral_band
    inside = 0.9 * band
    owners, parts = [], []
    pulled: dict[int, tuple[str, float]] = {}
    for i, core in enumerate(cores):
        if not band <= abs(scores[i]) < MIXED_MAX_SCORE:
            continue
        if sentiment_rules.has_lukewarm_cue(core):
            pulled[i] = ("lukewarm", float(scores[i]))
            scores[i] = float(np.sign(scores[i])) * inside
            continue
        spans = clauses.clause_spans(core)
        if len(spans) >= 2:
            for a, b in spans[:MIXED_MAX_CLAUSES]:
                owners.append(i)
                parts.append(core[a:b])
    if not parts:
        return pulled
    part_scores, _ = fast_scores(model, parts, parts, [tokenize(p) for p in parts], english_head=False, mixed=False)
    pos: dict[int, int] = {}
    neg: dict[int, int] = {}
    for i, v in zip(owners, part_scores, strict=True):
        pos[i] = pos.get(i, 0) + int(v >= band)
        neg[i] = neg.get(i, 0) + int(v <= -band)
    for i in pos:
        # Balanced: pros and cons both there, neither side outnumbering the other by more than 2 to 1
        # ("饭很好吃，不过送餐速度真的很慢，我等了三个小时，疯了" is a complaint with one kind word).
        if min(pos[i], neg[i]) >= 1 and min(pos[i], neg[i]) * MIXED_MAX_RATIO >= max(pos[i], neg[i]):
            pulled[i] = ("mixed", float(scores[i]))
            scores[i] = float(np.sign(scores[i])) * inside
    return pulled


def score_docs(docs: Sequence[FeedbackDoc]) -> None:
    if not docs:
        return
    model = models_store.active().sentiment
    scores, cores, pulled = fast_scores_marked(
        model, [d.normalized for d in docs], [d.lower for d in docs], [d.tokens for d in docs]
    )
    for i, (doc, score, core) in enumerate(zip(docs, scores, cores, strict=True)):
        doc.sentiment_score = round(float(score), 4)
        doc.sentiment_label = model.label(float(score))
        doc.extras["core"] = core
        if i in pulled:
            # `kind`: pros and cons leaning negative is a complaint; `topics`: a topic's own polarity comes
            # from the score before (the text is mixed, its one topic need not be).
            doc.extras["neutral_because"], doc.extras["score_before_mixed"] = pulled[i]


@component("sentiment", requires=["normalized", "tokens"], assigns=["sentiment"], batch=score_docs)
def sentiment(doc: FeedbackDoc) -> FeedbackDoc:
    score_docs([doc])
    return doc
