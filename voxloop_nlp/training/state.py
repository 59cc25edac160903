"""The compact training state shipped with the package, so `retrain` needs nothing but the installed
package and the users' corrections (no `../shared/datasets` in a real install).

`models/training_state.npz` holds *hashed feature rows*, never texts (the datasets' terms do not let us
redistribute them; a hashed n-gram row cannot be read back into the review):

- anchors: a deterministic sample of the training split (up to ANCHORS_PER_CLASS per dataset and label)
  with its labels and dataset weights: what the old model was fitted to, so a refit on corrections cannot
  drift from it unnoticed;
- evaluation sets: a deterministic sample of each dataset's test split (up to EVAL_PER_DATASET), with the
  English head's contribution per row precomputed (the head is kept as it is by a retrain), on which old and
  new models are compared set by set.

Built by `python -m voxloop_nlp.training.train_sentiment` with the model, or for an existing model folder
by `python -m voxloop_nlp.training.state [--model DIR]` (both need the datasets; a retrain never does).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, sparse

from voxloop_nlp import models_store, sentiment_model
from voxloop_nlp.training.data import Example, load_all, split
from voxloop_nlp.training.train_sentiment import DATASET_WEIGHT, prepare_with_norms

ARTIFACT = "training_state.npz"
ANCHORS_PER_CLASS = 250
EVAL_PER_DATASET = 400
PRIOR = 1.0  # L2 pull towards the current model's weights (the refit is a correction of it, not a new fit)
CORRECTION_WEIGHT = 5.0  # a person's correction is in-domain and deliberate


@dataclass
class TrainingState:
    anchors: sparse.csr_matrix
    anchor_y: np.ndarray  # 1 positive, 0 negative
    anchor_w: np.ndarray
    eval_X: sparse.csr_matrix
    eval_y: np.ndarray
    eval_head: np.ndarray  # English head logit to add where |n-gram logit| < gate (0 elsewhere)
    eval_english: np.ndarray  # bool: the row goes through the English head when unsure
    eval_sets: np.ndarray  # dataset name per row

    def save(self, directory: Path) -> None:
        def packed(prefix: str, X: sparse.csr_matrix) -> dict[str, np.ndarray]:
            # float16 values (counts are small integers; the dense cue features lose nothing that matters)
            return {
                f"{prefix}_data": X.data.astype(np.float16),
                f"{prefix}_indices": X.indices.astype(np.int32),
                f"{prefix}_indptr": X.indptr.astype(np.int32),
                f"{prefix}_shape": np.array(X.shape, dtype=np.int64),
            }

        # numpy's stubs let `**packed(...)` fill `allow_pickle: bool` too, so a dict of arrays never type-checks.
        np.savez_compressed(
            directory / ARTIFACT,
            **packed("anchors", self.anchors),  # type: ignore[arg-type]
            **packed("eval", self.eval_X),  # type: ignore[arg-type]
            anchor_y=self.anchor_y.astype(np.int8),
            anchor_w=self.anchor_w.astype(np.float32),
            eval_y=self.eval_y.astype(np.int8),
            eval_head=self.eval_head.astype(np.float32),
            eval_english=self.eval_english,
            eval_sets=self.eval_sets.astype(str),
        )

    @classmethod
    def load(cls, directory: Path) -> TrainingState:
        with np.load(directory / ARTIFACT) as d:

            def unpacked(prefix: str) -> sparse.csr_matrix:
                shape = tuple(int(v) for v in d[f"{prefix}_shape"])
                return sparse.csr_matrix(
                    (d[f"{prefix}_data"].astype(np.float64), d[f"{prefix}_indices"], d[f"{prefix}_indptr"]), shape=shape
                )

            return cls(
                anchors=unpacked("anchors"),
                anchor_y=d["anchor_y"].astype(np.int64),
                anchor_w=d["anchor_w"].astype(np.float64),
                eval_X=unpacked("eval"),
                eval_y=d["eval_y"].astype(np.int64),
                eval_head=d["eval_head"].astype(np.float64),
                eval_english=d["eval_english"].astype(bool),
                eval_sets=d["eval_sets"],
            )

    def evaluate(self, model: sentiment_model.SentimentModel) -> dict[str, dict[str, float]]:
        """Binary accuracy per shipped evaluation set: the model's score (English head where unsure)."""
        raw = model.raw(self.eval_X)
        head = model.en_head
        if head is not None:
            use = self.eval_english & (np.abs(raw) < head.gate)
            raw = raw + np.where(use, self.eval_head, 0.0)
        pred = (model.calibrate(raw) >= 0).astype(np.int64)
        out = {}
        for name in sorted(set(self.eval_sets.tolist())):
            rows = self.eval_sets == name
            out[str(name)] = {"n": int(rows.sum()), "accuracy": float(np.mean(pred[rows] == self.eval_y[rows]))}
        return out


def _order(e: Example) -> str:
    return hashlib.md5(e.text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _sample(examples: Sequence[Example], per_key: int, key: Any) -> list[Example]:
    seen: dict[Any, int] = defaultdict(int)
    out = []
    for e in sorted(examples, key=_order):
        k = key(e)
        if seen[k] < per_key:
            seen[k] += 1
            out.append(e)
    return out


def build_state(
    model: sentiment_model.SentimentModel, train: Sequence[Example], test: Sequence[Example], directory: Path
) -> TrainingState:
    """Hash a sample of `train` and of each dataset's polar `test` rows into `directory/ARTIFACT`."""

    anchors = _sample([e for e in train if e.label != "neutral"], ANCHORS_PER_CLASS, lambda e: (e.dataset, e.label))
    evals = _sample([e for e in test if e.label != "neutral"], EVAL_PER_DATASET, lambda e: e.dataset)
    XA, _ = prepare_with_norms([e.text for e in anchors])
    XE, norms = prepare_with_norms([e.text for e in evals])
    english = np.array([sentiment_model.uses_english_head(t) for t in norms], dtype=bool)
    head_logit = np.zeros(len(evals))
    if model.en_head is not None and english.any():
        idx = np.where(english)[0]
        head_logit[idx] = model.en_head.polarity(sentiment_model.embed([norms[i] for i in idx]))
    state = TrainingState(
        anchors=XA.tocsr(),
        anchor_y=np.array([e.label == "positive" for e in anchors], dtype=np.int64),
        anchor_w=np.array([DATASET_WEIGHT.get(e.dataset, 1.0) for e in anchors]),
        eval_X=XE.tocsr(),
        eval_y=np.array([e.label == "positive" for e in evals], dtype=np.int64),
        eval_head=head_logit,
        eval_english=english,
        eval_sets=np.array([e.dataset for e in evals]),
    )
    state.save(directory)
    return state


def refit(
    model: sentiment_model.SentimentModel,
    state: TrainingState,
    X_corr: sparse.csr_matrix,
    y_corr: np.ndarray,
    *,
    prior: float = PRIOR,
    weight: float = CORRECTION_WEIGHT,
) -> tuple[np.ndarray, float]:
    """(coef, intercept) of the current model corrected by people's labels.

    Minimises the weighted cross-entropy on corrections (their labels) and on the anchors (the current
    model's own probabilities as soft targets: distillation, so without corrections the optimum is the
    current model itself and fitting the small sample cannot make it drift), plus prior/2·||coef −
    current coef||² for the weights no row touches. L-BFGS over the hashed weights. ``weight``: of each
    extra row against one anchor (a person's correction; `adapt` passes less for its pseudo-labels)."""
    n = model.coef.shape[0]
    beta0 = model.coef.astype(np.float64)
    anchors = state.anchors[:, :n]
    soft = 1.0 / (1.0 + np.exp(-np.clip(anchors @ beta0 + model.intercept, -30, 30)))
    X = sparse.vstack([anchors, X_corr[:, :n]]).tocsr()
    t = np.concatenate([soft, y_corr.astype(np.float64)])
    w = np.concatenate([state.anchor_w, np.full(len(y_corr), weight)])

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        beta, b = params[:-1], params[-1]
        z = X @ beta + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        g = w * (p - t)
        diff = beta - beta0
        value = float(w @ (np.logaddexp(0.0, z) - t * z) + 0.5 * prior * diff @ diff)
        return value, np.concatenate([X.T @ g + prior * diff, [g.sum()]])

    start = np.concatenate([beta0, [model.intercept]])
    res = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 200})
    return res.x[:-1], float(res.x[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the training state for a model folder.")
    parser.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    parser.add_argument("--model", default=str(models_store.PACKAGE_MODEL_DIR))
    args = parser.parse_args(argv)
    directory = Path(args.model)
    model = sentiment_model.SentimentModel.load(directory)
    train, test = split(load_all(args.data, extra_corpus=True))
    state = build_state(model, train, test, directory)
    size = (directory / ARTIFACT).stat().st_size
    print(f"{directory / ARTIFACT}: {state.anchors.shape[0]} anchors, {state.eval_X.shape[0]} evaluation rows, "
          f"{size / 1e6:.1f} MB; shipped-set accuracy {state.evaluate(model)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
