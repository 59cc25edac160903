"""Adapting the fast lane to the text it is used on (self-training), guarded by the not-worse rule.

A model trained on other domains misreads a new domain's own words ("续航", "回本", "出餐"): they are rare
or absent in its training data, so their weights are near zero. Here the current model labels the new
texts it is sure about (pseudo-labels), and the linear n-gram model is refitted on them together with the
shipped training state (`training/state.py`: the anchors' own probabilities as soft targets, an L2 pull
towards the current weights). The words that keep company with confident verdicts in the new domain get
weights, and the texts the model was unsure about are then judged with them. Nothing changes at run time:
same features, same speed.

Guards, since a model teaching itself can drift:
- only confident pseudo-labels (|score| >= CONFIDENT), plain questions and duplicates left out;
- class balance kept: the larger class is cut to the size of the smaller (a flood of praise must not teach
  the model that everything is praise, nor the model's own lean in a new domain be learnt back), and
  nothing is learnt with fewer than MIN_PER_CLASS of either;
- the not-worse rule of `retrain` (`training.worse_sets`): the adapted model is refused when it is worse by
  more than 0.5 point on any shipped evaluation set (or on the held-out corrections the caller passes).

`voxloop analyze --adapt` runs it on its input before the final pass; the Django side runs it periodically
on an installation's own unlabelled feedback (`voxloop.analysis.jobs.adapt_installation`).
"""

from __future__ import annotations

import copy
import shutil
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxloop_nlp import models_store
from voxloop_nlp.sentiment_model import SentimentModel
from voxloop_nlp.training import STATE_ARTIFACT, _state_dir, worse_sets
from voxloop_nlp.training import state as state_mod
from voxloop_nlp.training.data import Example
from voxloop_nlp.training.state import TrainingState
from voxloop_nlp.training.train_sentiment import evaluate, prepare, score_texts

CONFIDENT = 0.8  # |calibrated score|: P(positive) >= 0.9 or <= 0.1
MAX_RATIO = 1.0  # at most this many of one class per one of the other
PRIOR = 0.3  # L2 pull towards the current weights (retrain's is 1.0): looser, so the domain's words move
MIN_PER_CLASS = 20
MAX_TEXTS = 20_000  # a refit on more adds little and costs memory; a deterministic sample is taken
PSEUDO_WEIGHT = 1.0  # weight of one pseudo-labelled text against one anchor row (a correction weighs 5)
MIN_CHARS = 4


@dataclass
class AdaptReport:
    """What an adaptation did. ``model`` is the adapted sentiment model when it passed the guard, else None."""

    texts: int
    used: int
    positives: int
    negatives: int
    old_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    new_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    worse: list[str] = field(default_factory=list)
    reason: str = ""  # why nothing was adapted ("too_few", "worse"), "" when adapted
    model: SentimentModel | None = None

    @property
    def adapted(self) -> bool:
        return self.model is not None

    def summary(self) -> str:
        head = (
            f"{self.used} of {self.texts} texts pseudo-labelled ({self.positives} positive, {self.negatives} negative)"
        )
        if self.reason == "too_few":
            return f"{head}: too few confident texts of each polarity (need {MIN_PER_CLASS}); model kept"
        if self.reason == "worse":
            return f"{head}: the adapted model was worse by more than 0.5 point on {', '.join(self.worse)}; model kept"
        sets = ", ".join(
            f"{name} {100 * self.old_metrics[name]['accuracy']:.1f}->{100 * m['accuracy']:.1f}"
            for name, m in sorted(self.new_metrics.items())
            if name in self.old_metrics
        )
        return f"{head}: adapted ({sets})" if sets else f"{head}: adapted"


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def pseudo_labels(
    model: SentimentModel, texts: Sequence[str], *, confident: float = CONFIDENT, max_ratio: float = MAX_RATIO
) -> tuple[list[str], np.ndarray]:
    """The texts the model is sure about and its labels for them (1 positive, 0 negative), balanced."""

    seen: set[str] = set()
    unique = []
    for text in texts:
        k = _key(text)
        if len(k) >= MIN_CHARS and k not in seen:
            seen.add(k)
            unique.append(text)
    if len(unique) > MAX_TEXTS:
        order = sorted(range(len(unique)), key=lambda i: zlib.crc32(_key(unique[i]).encode("utf-8")))
        unique = [unique[i] for i in sorted(order[:MAX_TEXTS])]
    if not unique:
        return [], np.zeros(0, dtype=np.int64)
    scores = score_texts(model, unique)
    pos = [i for i, s in enumerate(scores) if s >= confident]
    neg = [i for i, s in enumerate(scores) if s <= -confident]
    # The surest first, so the cut keeps the clearest examples of the larger class.
    pos.sort(key=lambda i: -scores[i])
    neg.sort(key=lambda i: scores[i])
    if pos and neg:
        # The model is surer of one polarity than of the other in a domain it does not know (on the dairy
        # reviews held out of training it calls 33% positive of a set that is 49% positive, and its confident
        # texts lean the same way): learning that lean back would entrench it. Equal numbers of each
        # (MAX_RATIO 1) measured best; the refit still fits the intercept to the anchors and these together.
        cap = int(max_ratio * min(len(pos), len(neg)))
        pos, neg = pos[:cap], neg[:cap]
    chosen = sorted(pos + neg)
    return [unique[i] for i in chosen], np.array([1 if scores[i] > 0 else 0 for i in chosen], dtype=np.int64)


def refit_on(
    model: SentimentModel,
    state: TrainingState,
    texts: Sequence[str],
    y: np.ndarray,
    *,
    weight: float = PSEUDO_WEIGHT,
    prior: float = PRIOR,
) -> SentimentModel:
    """The model refitted on pseudo-labelled texts with the training state's anchors (see state.refit)."""

    X = prepare(list(texts), model.feature_set)
    coef, intercept = state_mod.refit(model, state, X, y, weight=weight, prior=prior)
    adapted = copy.deepcopy(model)
    adapted.coef, adapted.intercept = coef, intercept
    return adapted


def adapt(
    texts: Sequence[str],
    *,
    base: models_store.ModelSet | None = None,
    corrections: Sequence[tuple[str, str]] = (),
    version: str | None = None,
) -> AdaptReport:
    """Self-train the fast lane on ``texts`` (unlabelled); the adapted model only if not worse. ``corrections``
    ((text, label) pairs a person gave) are a further held-out set the adapted model must not lose on."""

    base = base or models_store.active()
    model = base.sentiment
    chosen, y = pseudo_labels(model, texts)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    report = AdaptReport(texts=len(texts), used=len(chosen), positives=positives, negatives=negatives)
    if positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        report.reason = "too_few"
        return report
    state = TrainingState.load(_state_dir(base))
    adapted = refit_on(model, state, chosen, y, weight=PSEUDO_WEIGHT, prior=PRIOR)
    report.old_metrics, report.new_metrics = state.evaluate(model), state.evaluate(adapted)
    held_out = [(t, lab) for t, lab in corrections if lab in ("positive", "negative") and t and t.strip()]
    if held_out:
        examples = [Example(t, lab, "corrections") for t, lab in held_out]
        report.old_metrics.update(evaluate(model, examples))
        report.new_metrics.update(evaluate(adapted, examples))
    report.worse = worse_sets(report.old_metrics, report.new_metrics)
    if report.worse:
        report.reason = "worse"
        return report
    adapted.version = version or (model.version.split("+")[0] + "+adapted")
    adapted.meta = {
        **model.meta,
        "version": adapted.version,
        "adapted_from": model.version,
        "adapted_on": {"texts": len(texts), "positives": positives, "negatives": negatives},
    }
    report.model = adapted
    return report


def with_sentiment(base: models_store.ModelSet, sentiment: SentimentModel) -> models_store.ModelSet:
    """The same model set with another sentiment model (topics, emotions and classifier shared)."""
    return models_store.ModelSet(base.directory, sentiment, base.topic_classifier, base.topic_model, base.emotion_model)


def save(base: models_store.ModelSet, sentiment: SentimentModel, out_dir: str | Path) -> Path:
    """Write an adapted model folder that `load_models` / VOXLOOP_MODEL_DIR can use: the adapted sentiment
    model plus what the base folder holds that a later retrain or adaptation needs."""

    out = Path(out_dir)
    sentiment.save(out)
    for name in (STATE_ARTIFACT, "topics.json", "topics.npz"):
        src = base.directory / name
        if src.exists() and src.resolve() != (out / name).resolve():
            shutil.copy2(src, out / name)
    if not (out / STATE_ARTIFACT).exists() and (models_store.PACKAGE_MODEL_DIR / STATE_ARTIFACT).exists():
        shutil.copy2(models_store.PACKAGE_MODEL_DIR / STATE_ARTIFACT, out / STATE_ARTIFACT)
    return out
