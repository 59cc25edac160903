"""Topics: explainable phrase matches from the taxonomy, the trained topic model, and the classifier
learnt from corrections; each topic with its own sentiment (aspect sentiment).

A phrase hit gives a topic with its evidence; a sub-topic hit also gives its parent. The trained model
(`topic_model.py`, shipped for the default taxonomy) adds the top-level topics it finds (p >= its
threshold) with the words that weighed most as evidence, so "味道不咋地" is quality and "fuel use" too;
when nothing reaches the threshold, its best topic is still taken if p >= FALLBACK_P, so almost every
opinion has a topic. The corrections classifier (when a retrained model ships one) adds topics it is
confident about. Both raise the confidence of phrase hits they agree with. Negated phrases still count:
"没有发货" is about logistics.

Aspect sentiment: a topic's polarity is the sentiment of the clauses holding its evidence ("东西不错，就是
物流慢了点": quality positive, logistics negative); with no such clause, or a one-clause text, the text's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from voxloop_nlp import clauses, learn, models_store, sentiment_rules, topic_classifier
from voxloop_nlp.components.sentiment import fast_scores
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component
from voxloop_nlp.taxonomy import Taxonomy, default_taxonomy

MAX_TOPICS = 6
# A topic whose clauses hold no opinion word and whose score is unsure is neutral: forum-style discussion
# ("四驱价格貌似挺高的…看齐XC60了") reads as negative to a review-trained model. Compared at 0 / 0.6 / 0.9 on
# 400 test texts each of car and cosmetics: car 42.4 / 53.9 / 57.9, cosmetics 91.8 / 90.1 / 87.3.
ASPECT_NEUTRAL_BELOW = 0.6
FALLBACK_P = 0.2  # below the threshold, the model's best topic still counts for a text with none
FALLBACK_MIN_CHARS = 4
PHRASE_VETO_P = 0.1
# A topic the trained model finds with no taxonomy phrase is the *nearest* default topic, not a taxonomy
# match: its confidence stays below 0.6 (one phrase gives 0.7), so the emerging-topics job (threshold
# 0.6) still sees such items as not covered by the taxonomy and can propose a topic for them.
MODEL_ONLY_CONFIDENCE = 0.55
VETO_MIN_POSITIVES = 50  # ...if the text has some content ("好" alone is about nothing in particular)
# Words for a person that mean a repairman in a repair context and the courier in a delivery one.
COURIER_WORDS = frozenset({"师傅"})
_DELIVERY_CONTEXT = re.compile(r"送|快递|外卖|配送|骑手|派件|取件|揽件|物流|到货|司机")
_REPAIR_CONTEXT = re.compile(r"修|安装|装机|检测|调试|拆机")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def phrase_topics(lower: str, taxonomy: Taxonomy) -> dict[str, list[str]]:
    """code → evidence phrases (sub-topic evidence is also the parent's)."""
    found: dict[str, list[str]] = {}
    index = taxonomy.phrase_index
    courier = None
    for hit in taxonomy.matcher.find(lower):
        codes: Sequence[str] = index.get(hit.cue, ())
        if hit.cue in COURIER_WORDS:
            if courier is None:
                courier = bool(_DELIVERY_CONTEXT.search(lower)) and not _REPAIR_CONTEXT.search(lower)
            if courier:
                # "师傅人很好，送的超级快": the 师傅 is the courier, not a repairman.
                codes = tuple(c for c in codes if c.split(".")[0] != "repair")
                if "logistics" in taxonomy.topics:
                    codes = (*codes, "logistics")
        for code in codes:
            for c in (code, *taxonomy.ancestors(code)):
                ev = found.setdefault(c, [])
                if hit.cue not in ev:
                    ev.append(hit.cue)
    return found


def combine(
    lower: str,
    tokens: Sequence[str],
    taxonomy: Taxonomy,
    model: Any = None,
    probs: np.ndarray | None = None,
    clf: Any = None,
    clf_probs: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(code → confidence, code → evidence) from phrases, the trained model and the corrections classifier."""
    found = phrase_topics(lower, taxonomy)
    conf = {code: min(0.95, 0.55 + 0.15 * len(ev)) for code, ev in found.items()}

    def add(code: str, p: float, evidence: list[str]) -> None:
        if code in conf:
            conf[code] = max(conf[code], p)
            return
        conf[code] = p
        found[code] = evidence
        for parent in taxonomy.ancestors(code):
            if parent not in conf:
                conf[parent] = p
                found[parent] = list(evidence)

    table = None

    def evidence(j: int) -> list[str]:
        nonlocal table
        if table is None:
            table = model.evidence_table(tokens)
        words: list[str] = model.evidence_from(table, j)
        return words

    if model is not None and probs is not None:
        # A phrase hit the model finds very unlikely is dropped ("速度" in "加速度很快" is no waiting time):
        # phrases alone cost a third of the precision on the labelled sets.
        # ...and in the text's script: a model that learnt "quality" from Chinese reviews alone has no say
        # over "The food was cold" (left out of training, English restaurant recall was 12 % with the veto).
        learnt = model.meta.get("data_positives", {})
        if "data_positives_latin" in model.meta:
            learnt = model.meta["data_positives_han" if _HAN.search(lower) else "data_positives_latin"]
        for j, code in enumerate(model.codes):
            # Only where the model learnt the topic from labelled text: a topic it knows from the phrases
            # alone (a car-forum model and "物流") has no say over them.
            # A sub-topic's phrases are specific ("不回复", "damaged"): their hits stand.
            if (
                code in conf
                and float(probs[j]) < PHRASE_VETO_P
                and learnt.get(code, 0) >= VETO_MIN_POSITIVES
                and len(found.get(code, ())) < 2  # two phrases that agree ("courier", "parcel") stand
                and not any(c.startswith(code + ".") for c in conf)
            ):
                del conf[code]
                found.pop(code, None)
        best, best_p = None, 0.0
        for j, code in enumerate(model.codes):
            if code not in taxonomy.topics:
                continue
            p = float(probs[j])
            if code in conf:
                conf[code] = max(conf[code], p)
            elif p >= model.threshold:
                add(code, MODEL_ONLY_CONFIDENCE * p, evidence(j))
            if p > best_p:
                best, best_p = code, p
        if not conf and best is not None and best_p >= FALLBACK_P and _content_chars(lower) >= FALLBACK_MIN_CHARS:
            add(best, MODEL_ONLY_CONFIDENCE * best_p, evidence(model.codes.index(best)))
    if clf is not None and clf_probs is not None:
        for j, code in enumerate(clf.codes):
            if code not in taxonomy.topics:
                continue
            p = float(clf_probs[j])
            if code in conf or p >= clf.threshold:
                add(code, p, [])
    return conf, found


def _content_chars(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _token_starts(lower: str, tokens: Sequence[str]) -> list[int]:
    starts, pos = [], 0
    for tok in tokens:
        i = lower.find(tok, pos)
        if i < 0:
            starts.append(pos)
            continue
        starts.append(i)
        pos = i + len(tok)
    return starts


def _aspect_clauses(
    lower: str, tokens: Sequence[str], evidence: dict[str, list[str]]
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """code → the clauses (text, tokens) holding its evidence; empty when the text is one clause, or a
    topic's evidence is in every clause or in none (then the text's sentiment is the topic's)."""
    spans = clauses.clause_spans(lower)
    if len(spans) < 2:
        return {}
    starts = None
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for code, words in evidence.items():
        chosen = [(a, b) for a, b in spans if any(w and w in lower[a:b] for w in words)]
        if not chosen or len(chosen) == len(spans):
            continue
        if starts is None:
            # The clause's tokens are the text's own (no second segmentation): those starting inside it.
            starts = _token_starts(lower, tokens)
        out[code] = [
            (lower[a:b], tuple(t for t, s in zip(tokens, starts, strict=True) if a <= s < b)) for a, b in chosen
        ]
    return out


def _score_clauses(items: list[tuple[str, tuple[str, ...]]]) -> dict[str, float]:
    if not items:
        return {}
    model = models_store.active().sentiment
    texts = [t for t, _ in items]
    scores, _ = fast_scores(model, texts, texts, [list(toks) for _, toks in items], english_head=False, mixed=False)
    return dict(zip(texts, (float(s) for s in scores), strict=True))


def assign_topics(docs: Sequence[FeedbackDoc], taxonomy: Taxonomy | None = None) -> None:
    taxonomy = taxonomy or default_taxonomy()
    models = models_store.active()
    model = models.topic_model
    clf = models.topic_classifier
    lowers = [d.lower for d in docs]
    tokens = [d.tokens for d in docs]
    probs = model.predict_texts(lowers, tokens) if model is not None and docs else None
    clf_probs = None
    if clf is not None and docs:
        clf_probs = clf.predict_proba(topic_classifier.featurize(lowers, tokens))
    custom = docs[0].extras.get("custom_topics") if docs else None
    custom_probs = custom.predict_texts(lowers, tokens) if custom is not None else None
    results = []
    wanted: set[tuple[str, tuple[str, ...]]] = set()
    for i, doc in enumerate(docs):
        if custom is not None and custom_probs is not None:  # both or neither
            # A customer's own taxonomy (`voxloop analyze --topics`): its codes only, best first.
            conf, found = {}, {}
            for j, p in learn.ranked_codes(custom, custom_probs[i]):
                conf[custom.codes[j]] = p
                found[custom.codes[j]] = custom.evidence(doc.tokens, j)
        else:
            conf, found = combine(
                doc.lower,
                doc.tokens,
                taxonomy,
                model,
                None if probs is None else probs[i],
                clf,
                None if clf_probs is None else clf_probs[i],
            )
        ranked = sorted(conf, key=lambda c: (-conf[c], c))[:MAX_TOPICS]
        # Per-topic sentiment differs from the text's only where two or more topics share the text.
        tops = {c.split(".")[0] for c in ranked}
        aspect = _aspect_clauses(doc.lower, doc.tokens, {c: found.get(c, []) for c in ranked}) if len(tops) > 1 else {}
        for items in aspect.values():
            wanted.update(items)
        results.append((ranked, conf, found, aspect))
    clause_scores = _score_clauses(sorted(wanted))
    for doc, (ranked, conf, found, aspect) in zip(docs, results, strict=True):
        lang = "en" if doc.language == "en" else "zh"
        topics = []
        for code in ranked:
            if code in aspect:
                score = float(np.mean([clause_scores[t] for t, _ in aspect[code]]))
            else:
                # A mixed text is neutral as a whole; the topic its evidence names keeps the text's lean.
                score = float(doc.extras.get("score_before_mixed", doc.sentiment_score))
            if ASPECT_NEUTRAL_BELOW and abs(score) < ASPECT_NEUTRAL_BELOW:
                scope = " ".join(t for t, _ in aspect[code]) if code in aspect else doc.lower
                if not sentiment_rules.has_opinion_cue(scope):
                    score *= models.sentiment.neutral_band * 0.9
            label = models.sentiment.label(score)
            topics.append(
                {
                    "code": code,
                    "name": code if custom is not None else taxonomy.name(code, lang),
                    "confidence": round(conf[code], 3),
                    "evidence": found.get(code, []),
                    "sentiment": {"label": label, "score": round(score, 4)},
                }
            )
        doc.topics = topics


def _batch(docs: list[FeedbackDoc]) -> None:
    assign_topics(docs, docs[0].extras.get("taxonomy") if docs else None)


@component("topics", requires=["normalized", "tokens", "language", "sentiment"], assigns=["topics"], batch=_batch)
def topics(doc: FeedbackDoc) -> FeedbackDoc:
    assign_topics([doc], doc.extras.get("taxonomy"))
    return doc
