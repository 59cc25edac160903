"""Train the emotion model on NLPCC 2014 Weibo sentences (real emotion labels) plus the emotion lexicon's
Chinese cues as short examples, and measure it on the held-out split.

    .venv/bin/python -m voxloop_nlp.training.train_emotions [--out DIR]

Needs ../shared/datasets (or VOXLOOP_DATASETS). Under a minute on one core. The artifact is the topic
model's format (`topic_model.TopicModel`, one logistic regression per emotion over hashed n-grams), saved
as `models/emotion_model.{json,npz}`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voxloop_nlp.components.emotions import EMOTION_CUES, MODEL_EMOTIONS
from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.topic_model import TopicModel, fit
from voxloop_nlp.training.data import data_dir, split_of
from voxloop_nlp.training.train_sentiment import _macro_f1

ARTIFACT = "emotion_model"
C = 1.0
CUE_WEIGHT = 2.0  # a lexicon cue is a short, sure example
# NLPCC 2014's seven classes -> ours. "like" and "happiness" are both joy; disgust (厌恶: "恶心", "烦人")
# is closest to anger among ours; fear is anxiety. The benchmark maps the same way.
NLPCC_TO_OURS = {
    "like": "joy",
    "happiness": "joy",
    "sadness": "sadness",
    "anger": "anger",
    "disgust": "anger",
    "fear": "anxiety",
    "surprise": "surprise",
}


def load_weibo(root: Path) -> list[tuple[str, str]]:
    path = root / "zh_emotion_nlpcc2014_weibo" / "nlpcc2014_sentences.csv"
    with open(path, encoding="utf-8-sig") as fh:
        rows = [
            (r["text"].strip(), NLPCC_TO_OURS[r["label"]])
            for r in csv.DictReader(fh)
            if r.get("label") in NLPCC_TO_OURS
        ]
    seen: dict[str, set[str]] = {}
    for text, lab in rows:
        if text:
            seen.setdefault(text, set()).add(lab)
    # Texts labelled twice with different emotions (55 in the file) are left out: no single truth.
    return [(t, next(iter(labs))) for t, labs in seen.items() if len(labs) == 1]


def _prep(texts: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    lowers = [normalize_text(t).lower() for t in texts]
    return lowers, [tokenize(t) for t in lowers]


def cue_rows() -> list[tuple[str, str]]:
    return [(cue, name) for name, cues in EMOTION_CUES.items() for cue in cues if not cue.isascii()]


def train(rows: Sequence[tuple[str, str]]) -> TopicModel:
    rows = list(rows) + cue_rows()
    weights = [1.0] * (len(rows) - len(cue_rows())) + [CUE_WEIGHT] * len(cue_rows())
    lowers, toks = _prep([t for t, _ in rows])
    model = fit(lowers, toks, [[lab] for _, lab in rows], list(MODEL_EMOTIONS), C=C, weights=weights)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "models"))
    args = parser.parse_args(argv)
    rows = load_weibo(data_dir(args.data))
    tr = [r for r in rows if split_of(r[0]) == "train"]
    te = [r for r in rows if split_of(r[0]) == "test"]
    model = train(tr)
    lowers, toks = _prep([t for t, _ in te])
    probs = model.predict_texts(lowers, toks)
    gold = [lab for _, lab in te]
    pred = [model.codes[i] for i in probs.argmax(axis=1)]
    f1 = _macro_f1(gold, pred, sorted(set(gold)))
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
    print(f"train {len(tr)}, test {len(te)}: model alone, best emotion: accuracy {acc:.4f}, macro-F1 {f1:.4f}")
    model.meta = {"trained_on": {"nlpcc2014_weibo": len(tr), "lexicon_cues": len(cue_rows())},
                  "test": {"n": len(te), "accuracy": round(acc, 4), "macro_f1": round(f1, 4)}}  # fmt: skip
    model.save(Path(args.out), ARTIFACT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
