"""Topics: explainable phrase matches from the taxonomy, plus the classifier learnt from corrections.

A phrase hit gives a topic with its evidence; a sub-topic hit also gives its parent. The classifier
(when a retrained model ships one) adds topics it is confident about, and raises the confidence of
phrase hits it agrees with. Negated phrases still count: "没有发货" is about logistics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from voxloop_nlp import models_store, topic_classifier
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component
from voxloop_nlp.taxonomy import Taxonomy, default_taxonomy

MAX_TOPICS = 6
# Words for a person that mean a repairman in a repair context and the courier in a delivery one.
COURIER_WORDS = frozenset({"师傅"})
_DELIVERY_CONTEXT = re.compile(r"送|快递|外卖|配送|骑手|派件|取件|揽件|物流|到货|司机")
_REPAIR_CONTEXT = re.compile(r"修|安装|装机|检测|调试|拆机")


def phrase_topics(lower: str, taxonomy: Taxonomy) -> dict[str, list[str]]:
    """code → evidence phrases (sub-topic evidence is also the parent's)."""
    found: dict[str, list[str]] = {}
    index = taxonomy.phrase_index
    courier = None
    for hit in taxonomy.matcher.find(lower):
        codes = index.get(hit.cue, ())
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


def assign_topics(docs: Sequence[FeedbackDoc], taxonomy: Taxonomy | None = None) -> None:
    taxonomy = taxonomy or default_taxonomy()
    clf = models_store.active().topic_classifier
    probs = None
    if clf is not None and docs:
        probs = clf.predict_proba(topic_classifier.featurize([d.lower for d in docs], [d.tokens for d in docs]))
    for i, doc in enumerate(docs):
        found = phrase_topics(doc.lower, taxonomy)
        conf = {code: min(0.95, 0.55 + 0.15 * len(ev)) for code, ev in found.items()}
        if probs is not None:
            for j, code in enumerate(clf.codes):
                if code not in taxonomy.topics:
                    continue
                p = float(probs[i, j])
                if code in conf:
                    conf[code] = max(conf[code], p)
                elif p >= clf.threshold:
                    conf[code] = p
                    found[code] = []
                    for parent in taxonomy.ancestors(code):
                        if parent not in conf:
                            conf[parent] = p
                            found[parent] = []
        ranked = sorted(conf, key=lambda c: (-conf[c], c))[:MAX_TOPICS]
        lang = "en" if doc.language == "en" else "zh"
        doc.topics = [
            {
                "code": code,
                "name": taxonomy.name(code, lang),
                "confidence": round(conf[code], 3),
                "evidence": found.get(code, []),
            }
            for code in ranked
        ]


def _batch(docs: list[FeedbackDoc]) -> None:
    assign_topics(docs, docs[0].extras.get("taxonomy") if docs else None)


@component("topics", requires=["normalized", "tokens", "language"], assigns=["topics"], batch=_batch)
def topics(doc: FeedbackDoc) -> FeedbackDoc:
    assign_topics([doc], doc.extras.get("taxonomy"))
    return doc
