"""Train the topic model for the default taxonomy on the labelled topic/aspect sets plus the taxonomy's
phrases, and measure it (per set, cross-domain, coverage, aspect sentiment).

    .venv/bin/python -m voxloop_nlp.training.train_topics [--out DIR]

Needs ../shared/datasets (or VOXLOOP_DATASETS). A minute or two on one core.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import voxloop_nlp
from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.components.topics import combine
from voxloop_nlp.learn import learn
from voxloop_nlp.taxonomy import TOP_LEVEL_CODES, Taxonomy, default_taxonomy
from voxloop_nlp.topic_model import TopicModel, fit
from voxloop_nlp.training.topic_data import (
    TOPIC_SETS,
    TopicExample,
    load_topic_sets,
    mapped_only,
    split_topic,
)

C = 2.0
PHRASE_WEIGHT = 2.0  # a seed phrase is a short, sure example
BITEXT_SAMPLE = 1500  # synthetic and very regular: enough to learn its vocabulary, not to dominate
THRESHOLD = 0.4
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _prep(texts: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    lowers = [normalize_text(t).lower() for t in texts]
    return lowers, [tokenize(t) for t in lowers]


def top_codes(codes: Any, taxonomy: Taxonomy) -> set[str]:
    out = set()
    for c in codes:
        if c in taxonomy.topics:
            chain = [c, *taxonomy.ancestors(c)]
            out.add(chain[-1])
    return out


def phrase_rows(taxonomy: Taxonomy) -> list[tuple[str, set[str]]]:
    return [(phrase, top_codes(codes, taxonomy)) for phrase, codes in taxonomy.phrase_index.items()]


def train_model(examples: Sequence[TopicExample], taxonomy: Taxonomy | None = None, *, seed: int = 7) -> TopicModel:
    taxonomy = taxonomy or default_taxonomy()
    rows: list[tuple[str, set[str], float]] = []
    bitext = [e for e in examples if e.dataset == "bitext"]
    if len(bitext) > BITEXT_SAMPLE:
        keep = {id(e) for e in random.Random(seed).sample(bitext, BITEXT_SAMPLE)}
        examples = [e for e in examples if e.dataset != "bitext" or id(e) in keep]
    rows += [(e.text, set(e.codes), 1.0) for e in examples]
    rows += [(p, codes, PHRASE_WEIGHT) for p, codes in phrase_rows(taxonomy)]
    lowers, tokens = _prep([r[0] for r in rows])
    model = fit(lowers, tokens, [r[1] for r in rows], list(TOP_LEVEL_CODES), C=C, weights=[r[2] for r in rows])
    model.threshold = THRESHOLD
    model.meta["data_positives"] = {c: sum(1 for e in examples if c in e.codes) for c in model.codes}
    # Per script too: the phrase veto only trusts the model on text like the text it learnt a topic from.
    han = [bool(_HAN.search(e.text)) for e in examples]
    for key, want in (("data_positives_han", True), ("data_positives_latin", False)):
        model.meta[key] = {
            c: sum(1 for e, h in zip(examples, han, strict=True) if h == want and c in e.codes) for c in model.codes
        }
    model.meta["trained_on"] = sorted({e.dataset for e in examples})
    model.meta["train_counts"] = {ds: sum(1 for e in examples if e.dataset == ds) for ds in TOPIC_SETS}
    model.meta["train_counts"]["taxonomy_phrases"] = len(taxonomy.phrase_index)
    return model


def predict_top(model: TopicModel, texts: Sequence[str], taxonomy: Taxonomy | None = None) -> list[set[str]]:
    """Top-level codes the pipeline's topic step gives (phrases + this model + the coverage fallback)."""

    taxonomy = taxonomy or default_taxonomy()
    lowers, tokens = _prep(texts)
    probs = model.predict_texts(lowers, tokens)
    out = []
    for i, low in enumerate(lowers):
        conf, _ = combine(low, tokens[i], taxonomy, model, probs[i])
        out.append(top_codes(conf, taxonomy))
    return out


def micro_f1(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    fp = sum(len(p - g) for g, p in zip(gold, pred, strict=True))
    fn = sum(len(g - p) for g, p in zip(gold, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "n": len(gold)}


def evaluate(model: TopicModel, examples: Sequence[TopicExample]) -> dict[str, float]:
    examples = mapped_only(list(examples))
    pred = predict_top(model, [e.text for e in examples])
    return micro_f1([set(e.codes) for e in examples], pred)


def aspect_accuracy(examples: Sequence[TopicExample]) -> dict[str, float]:
    """Polarity of each gold (topic, polarity) pair, judged by the pipeline's per-topic sentiment where
    the pipeline found the topic (`found` says how often), 3 classes (positive/neutral/negative)."""

    pairs = [(e, code, pol) for e in examples for code, pol in e.polarity.items() if pol]
    texts = sorted({e.text for e, _, _ in pairs})
    by_text = {t: a for t, a in zip(texts, voxloop_nlp.analyze_batch(texts), strict=True)}
    hit = found = 0
    for e, code, pol in pairs:
        topic = next((t for t in by_text[e.text].topics if t["code"] == code), None)
        if topic is None:
            continue
        found += 1
        hit += topic["sentiment"]["label"] == pol
    return {"accuracy": hit / found if found else 0.0, "found": found / len(pairs) if pairs else 0.0, "n": len(pairs)}


def fewshot_accuracy(
    examples: Sequence[TopicExample],
    k: int | None,
    *,
    label_of: Any = lambda e: e.raw[0],
    seed: int = 7,
    max_test: int = 2000,
) -> float:
    """Top-1 accuracy of a taxonomy learnt (`learn.learn`) from k examples per class (None: the whole train
    split), on the test split; single-label texts only. The set's own categories are the codes."""

    single = [e for e in examples if len(set(e.raw)) == 1 or e.dataset == "bitext"]
    train, test = split_topic(single)
    rnd = random.Random(seed)
    by_label: dict[str, list[TopicExample]] = {}
    for e in train:
        by_label.setdefault(label_of(e), []).append(e)
    chosen = []
    for _label, rows in sorted(by_label.items()):
        rnd.shuffle(rows)
        chosen += rows if k is None else rows[:k]
    test = [e for e in test if label_of(e) in by_label]
    if len(test) > max_test:
        test = rnd.sample(test, max_test)
    with tempfile.TemporaryDirectory() as tmp:
        model = learn([(e.text, [label_of(e)]) for e in chosen], tmp)
    lowers, tokens = _prep([e.text for e in test])
    probs = model.predict_texts(lowers, tokens)
    pred = [model.codes[int(np.argmax(row))] for row in probs]
    return float(np.mean([p == label_of(e) for p, e in zip(pred, test, strict=True)]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "models"))
    parser.add_argument("--datasets", default=None)
    args = parser.parse_args(argv)
    t0 = time.time()
    sets = load_topic_sets(args.datasets)
    splits = {name: split_topic(mapped_only(ex)) for name, ex in sets.items()}
    metrics: dict[str, dict[str, Any]] = {}
    # Cross-domain: train on cosmetics + SemEval, test on car; and the reverse.
    m = train_model([e for n in ("cosmetics", "semeval") for e in splits[n][0]])
    metrics["cross_cosmetics_semeval_to_car"] = evaluate(m, splits["car"][1])
    m = train_model(splits["car"][0])
    metrics["cross_car_to_cosmetics_semeval"] = evaluate(m, splits["cosmetics"][1] + splits["semeval"][1])
    model = train_model([e for n in TOPIC_SETS for e in splits[n][0]])
    for name in TOPIC_SETS:
        metrics[f"test_{name}"] = evaluate(model, splits[name][1])
    model.meta["metrics"] = {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in metrics.items()}
    model.save(Path(args.out))
    for k, v in metrics.items():
        print(
            f"{k:36s} micro-F1 {v['f1'] * 100:6.2f}  P {v['precision'] * 100:6.2f}  R {v['recall'] * 100:6.2f}  n {v['n']}"
        )
    print(f"saved to {args.out} in {time.time() - t0:.0f}s; nonzero weights {int(np.count_nonzero(model.coef))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
