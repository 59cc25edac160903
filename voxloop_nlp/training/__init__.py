"""Training and retraining. `retrain(...)` adds users' corrections, evaluates old vs new on held-out data
and says whether the new model is not worse; `python -m voxloop_nlp.training.train_sentiment` trains
the shipped model from scratch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voxloop_nlp.training.data import Example, data_dir, load_all, split, split_of

SENTIMENT_LABELS = ("positive", "neutral", "negative")
CORRECTION_DATASET = "corrections"
# The new model may be this much less accurate overall (noise) and still count as "not worse".
TOLERANCE = 0.002


# Steps `retrain` reports through its `progress` callback, in order (a CLI bar or a web page shows them).
RETRAIN_STEPS = ("load", "train", "evaluate_old", "evaluate_new", "save")

ProgressFn = Callable[[str, int, int], None]


class RetrainError(ValueError):
    pass


@dataclass
class RetrainReport:
    old_version: str
    new_version: str
    out_dir: str
    old_metrics: dict[str, dict[str, float]]
    new_metrics: dict[str, dict[str, float]]
    old_accuracy: float
    new_accuracy: float
    corrections_used: int
    corrections_held_out: int
    not_worse: bool
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verdict = "not worse: switch" if self.not_worse else "WORSE: keep the old model"
        return (
            f"{self.old_version} {self.old_accuracy:.4f} -> {self.new_version} {self.new_accuracy:.4f} "
            f"({self.corrections_used} corrections trained, {self.corrections_held_out} held out): {verdict}"
        )


def _overall(metrics: dict[str, dict[str, float]]) -> float:
    """Mean per-dataset accuracy: every dataset (and the corrections) counts the same."""
    vals = [m["accuracy"] for m in metrics.values() if m.get("n")]
    return sum(vals) / len(vals) if vals else 0.0


def retrain(
    corrections: Sequence[tuple[str, str]],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str],
    base_dir: str | os.PathLike[str] | None = None,
    topic_examples: Sequence[tuple[str, Sequence[str]]] = (),
    taxonomy=None,
    limit_per_dataset: int | None = None,
    version: str | None = None,
    progress: ProgressFn | None = None,
) -> RetrainReport:
    """Train a new model on the datasets' train splits plus `corrections` ((text, label) pairs) and
    compare it with the current one on the same held-out split (test splits + held-out corrections).

    Writes the new model to `out_dir`; switching to it (`load_models(out_dir)` / VOXLOOP_MODEL_DIR) is
    the caller's decision, normally only when `report.not_worse`. `progress(step, done, total)` is called
    as each of `RETRAIN_STEPS` starts (done = steps finished so far) and once more at the end.
    """
    from voxloop_nlp import models_store
    from voxloop_nlp.taxonomy import default_taxonomy
    from voxloop_nlp.topic_classifier import TopicClassifier
    from voxloop_nlp.training import train_sentiment

    bad = [(i, lab) for i, (_, lab) in enumerate(corrections, start=1) if lab not in SENTIMENT_LABELS]
    if bad:
        i, lab = bad[0]
        raise RetrainError(f"Correction #{i} has label '{lab}'; expected one of {', '.join(SENTIMENT_LABELS)}.")
    total = len(RETRAIN_STEPS)

    def step(name: str) -> None:
        if progress is not None:
            progress(name, RETRAIN_STEPS.index(name) if name in RETRAIN_STEPS else total, total)

    step("load")
    root = _resolve_data_dir(data_dir)
    examples = load_all(root, extra_corpus=True)
    if limit_per_dataset:
        examples = _limit(examples, limit_per_dataset)
    train, test = split(examples)
    corr = [Example(t, lab, CORRECTION_DATASET) for t, lab in corrections if t and t.strip()]
    corr_train = [e for e in corr if split_of(e.text) == "train"]
    corr_test = [e for e in corr if split_of(e.text) == "test"]
    old = models_store.load_dir(base_dir) if base_dir else models_store.active()
    new_version = version or models_store.next_version()
    weighted = train + corr_train * 2  # people's corrections are in-domain: count them twice
    step("train")
    new_model = train_sentiment.fit(weighted, version=new_version)
    step("evaluate_old")
    old_metrics = train_sentiment.evaluate(old.sentiment, test + corr_test)
    step("evaluate_new")
    new_metrics = train_sentiment.evaluate(new_model, test + corr_test)
    old_acc, new_acc = _overall(old_metrics), _overall(new_metrics)
    not_worse = new_acc >= old_acc - TOLERANCE
    if CORRECTION_DATASET in new_metrics and CORRECTION_DATASET in old_metrics:
        new_c, old_c = new_metrics[CORRECTION_DATASET], old_metrics[CORRECTION_DATASET]
        not_worse = not_worse and new_c["accuracy"] >= old_c["accuracy"]
    step("save")
    out = Path(out_dir)
    new_model.meta["test_metrics"] = new_metrics
    new_model.meta["corrections"] = len(corr_train)
    new_model.save(out)
    models_store.write_metrics(out, new_version, new_metrics)
    notes = []
    if topic_examples:
        clf = TopicClassifier.train(topic_examples, taxonomy=taxonomy or default_taxonomy())
        if clf is not None:
            clf.save(out)
            notes.append(f"topic classifier trained on {len(topic_examples)} corrected examples")
    elif (old.directory / "topics.json").exists() and old.directory.resolve() != out.resolve():
        for name in ("topics.json", "topics.npz"):
            shutil.copy2(old.directory / name, out / name)
    step("done")
    return RetrainReport(
        old_version=old.version,
        new_version=new_version,
        out_dir=str(out),
        old_metrics=old_metrics,
        new_metrics=new_metrics,
        old_accuracy=old_acc,
        new_accuracy=new_acc,
        corrections_used=len(corr_train),
        corrections_held_out=len(corr_test),
        not_worse=not_worse,
        notes=notes,
    )


def _resolve_data_dir(path: str | os.PathLike[str] | None) -> Path:
    root = data_dir(path)
    if not (root / "online_shopping_10_cats").is_dir():
        raise RetrainError(
            f"Training data not found in {root}: set VOXLOOP_DATASETS or pass data_dir (see docs/analysis.md)."
        )
    return root


def _limit(examples: list[Example], n: int) -> list[Example]:
    """Deterministic subsample: the first n per (dataset, label) in a hash order."""
    import hashlib

    keyed = sorted(examples, key=lambda e: hashlib.md5(e.text.encode(), usedforsecurity=False).hexdigest())
    seen: dict[tuple[str, str], int] = {}
    out = []
    for e in keyed:
        k = (e.dataset, e.label)
        if seen.get(k, 0) < n:
            seen[k] = seen.get(k, 0) + 1
            out.append(e)
    return out
