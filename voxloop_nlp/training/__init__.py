"""Training and retraining. `retrain(...)` adds users' corrections, evaluates old vs new on held-out data
and says whether the new model is not worse; `python -m voxloop_nlp.training.train_sentiment` trains
the shipped model from scratch.

`retrain` needs nothing outside the installed package: by default it refits the current model on the
compact training state shipped with it (`state.py`: hashed feature rows, never texts) plus the
corrections. Given `data_dir` (a developer's copy of the datasets) it trains from scratch instead.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxloop_nlp import models_store
from voxloop_nlp.taxonomy import default_taxonomy
from voxloop_nlp.topic_classifier import TopicClassifier
from voxloop_nlp.training.data import Example, data_dir, load_all, split, split_of

STATE_ARTIFACT = "training_state.npz"  # `state.ARTIFACT`; state.py imports numpy/scipy: loaded when used

SENTIMENT_LABELS = ("positive", "neutral", "negative")
CORRECTION_DATASET = "corrections"
# The new model is refused when it is less accurate than the current one by more than this on ANY held-out
# set (each shipped evaluation set and the held-out corrections, compared separately: one correction
# must not weigh like a whole dataset, nor a gain on one set hide a loss on another).
TOLERANCE = 0.005


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
    """Mean per-dataset accuracy, shown in the summary (the verdict is `worse_sets`)."""
    vals = [m["accuracy"] for m in metrics.values() if m.get("n")]
    return sum(vals) / len(vals) if vals else 0.0


def worse_sets(old: dict[str, dict[str, float]], new: dict[str, dict[str, float]]) -> list[str]:
    """The held-out sets on which the new model loses more than TOLERANCE accuracy."""
    return [
        name
        for name, m in sorted(new.items())
        if m.get("n") and name in old and m["accuracy"] < old[name]["accuracy"] - TOLERANCE - 1e-12
    ]


def retrain(
    corrections: Sequence[tuple[str, str]],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str],
    base_dir: str | os.PathLike[str] | None = None,
    topic_examples: Sequence[tuple[str, Sequence[str]]] = (),
    taxonomy: Any = None,
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
    # imported here: train_sentiment imports this package (through training.data), a circle at the top
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
    corr = [Example(t, lab, CORRECTION_DATASET) for t, lab in corrections if t and t.strip()]
    corr_train = [e for e in corr if split_of(e.text) == "train"]
    corr_test = [e for e in corr if split_of(e.text) == "test"]
    old = models_store.load_dir(base_dir) if base_dir else models_store.active()
    new_version = version or models_store.next_version()
    notes: list[str] = []
    if data_dir is None:
        new_model, old_metrics, new_metrics = _refit_from_state(old, corr_train, corr_test, new_version, step)
        notes.append("refitted on the shipped training state (no datasets needed)")
    else:
        root = _resolve_data_dir(data_dir)
        examples = load_all(root, extra_corpus=True)
        if limit_per_dataset:
            examples = _limit(examples, limit_per_dataset)
        train, test = split(examples)
        weighted = train + corr_train * 2  # people's corrections are in-domain: count them twice
        step("train")
        new_model = train_sentiment.fit(weighted, version=new_version)
        step("evaluate_old")
        old_metrics = train_sentiment.evaluate(old.sentiment, test + corr_test)
        step("evaluate_new")
        new_metrics = train_sentiment.evaluate(new_model, test + corr_test)
    old_acc, new_acc = _overall(old_metrics), _overall(new_metrics)
    worse = worse_sets(old_metrics, new_metrics)
    not_worse = not worse
    if worse:
        notes.append("worse by more than 0.5 point on: " + ", ".join(worse))
    step("save")
    out = Path(out_dir)
    new_model.meta["test_metrics"] = new_metrics
    new_model.meta["corrections"] = len(corr_train)
    new_model.save(out)
    models_store.write_metrics(out, new_version, new_metrics)
    if data_dir is None and (old.directory / STATE_ARTIFACT).exists() and old.directory.resolve() != out.resolve():
        shutil.copy2(old.directory / STATE_ARTIFACT, out / STATE_ARTIFACT)  # the next retrain starts from it too
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


def _state_dir(old: Any) -> Path:
    """The current model's training state, else the package's (a model written before states existed)."""

    for directory in (old.directory, models_store.PACKAGE_MODEL_DIR):
        if (directory / STATE_ARTIFACT).exists():
            return directory
    raise RetrainError(f"No training state ({STATE_ARTIFACT}) in {old.directory} nor in the package.")


def _refit_from_state(old: Any, corr_train: Any, corr_test: Any, new_version: str, step: Any) -> Any:
    """The current sentiment model refitted on the shipped state + corrections; both judged per set."""

    # imported here: train_sentiment and state import this package (through training.data), a circle at the top
    from voxloop_nlp.training import train_sentiment
    from voxloop_nlp.training.state import TrainingState, refit

    state = TrainingState.load(_state_dir(old))
    step("train")
    polar = [e for e in corr_train if e.label != "neutral"]  # the linear model is binary; the band is kept
    X = train_sentiment.prepare([e.text for e in polar])
    y = np.array([e.label == "positive" for e in polar], dtype=np.int64)
    new_model = copy.deepcopy(old.sentiment)
    new_model.coef, new_model.intercept = refit(old.sentiment, state, X, y)
    new_model.version = new_version
    new_model.meta = {**old.sentiment.meta, "version": new_version, "refit_from": old.sentiment.version}
    step("evaluate_old")
    old_metrics = state.evaluate(old.sentiment)
    if corr_test:
        old_metrics.update(train_sentiment.evaluate(old.sentiment, corr_test))
    step("evaluate_new")
    new_metrics = state.evaluate(new_model)
    if corr_test:
        new_metrics.update(train_sentiment.evaluate(new_model, corr_test))
    return new_model, old_metrics, new_metrics


def _resolve_data_dir(path: str | os.PathLike[str] | None) -> Path:
    root = data_dir(path)
    if not (root / "online_shopping_10_cats").is_dir():
        raise RetrainError(
            f"Training data not found in {root}: set VOXLOOP_DATASETS or pass data_dir (see docs/analysis.md)."
        )
    return root


def _limit(examples: list[Example], n: int) -> list[Example]:
    """Deterministic subsample: the first n per (dataset, label) in a hash order."""

    keyed = sorted(examples, key=lambda e: hashlib.md5(e.text.encode(), usedforsecurity=False).hexdigest())
    seen: dict[tuple[str, str], int] = {}
    out = []
    for e in keyed:
        k = (e.dataset, e.label)
        if seen.get(k, 0) < n:
            seen[k] = seen.get(k, 0) + 1
            out.append(e)
    return out
