"""A multi-label topic classifier that learns from (text, topic codes) examples — users' corrections —
on top of the taxonomy's seed phrases (each phrase is also a tiny training example).

One-vs-rest logistic regression over small hashed character/word n-gram spaces (plain numpy artifact).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize

N_FEATURES = 2**16
MIN_POSITIVES = 3


@lru_cache(maxsize=1)
def _vectorizers() -> Any:
    # imported here: scikit-learn takes about 2 s to import; analysis without a topic classifier never loads it
    from sklearn.feature_extraction.text import HashingVectorizer

    char = HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=N_FEATURES, lowercase=False)
    word = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        n_features=N_FEATURES,
        lowercase=False,
        token_pattern=r"\S+",  # noqa: S106 (a regex, not a password)
    )
    return char, word


def featurize(lower_texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    char, word = _vectorizers()
    return sparse.hstack(
        [char.transform([t[:600] for t in lower_texts]), word.transform([" ".join(t) for t in token_lists])],
        format="csr",
    )


@dataclass
class TopicClassifier:
    codes: list[str]
    coef: np.ndarray  # (n_codes, n_features)
    intercept: np.ndarray
    threshold: float = 0.5

    def predict_proba(self, X: sparse.csr_matrix) -> np.ndarray:
        probs: np.ndarray = 1.0 / (1.0 + np.exp(-(np.asarray(X @ self.coef.T) + self.intercept)))
        return probs

    @classmethod
    def train(
        cls, examples: Sequence[tuple[str, Sequence[str]]], *, taxonomy: Any, C: float = 4.0
    ) -> TopicClassifier | None:
        # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
        from sklearn.linear_model import LogisticRegression

        rows: list[tuple[str, set[str]]] = []
        for text, codes in examples:
            known = {c for c in codes if c in taxonomy.topics}
            # A sub-topic implies its parents.
            for c in list(known):
                known.update(taxonomy.ancestors(c))
            rows.append((text, known))
        for phrase, codes in taxonomy.phrase_index.items():
            implied = set(codes)
            for c in codes:
                implied.update(taxonomy.ancestors(c))
            rows.append((phrase, implied))
        lowers = [normalize_text(t).lower() for t, _ in rows]
        X = featurize(lowers, [tokenize(t) for t in lowers])
        codes, coefs, intercepts = [], [], []
        for code in sorted(taxonomy.topics):
            y = np.array([code in labels for _, labels in rows], dtype=int)
            if y.sum() < MIN_POSITIVES or y.sum() == len(y):
                continue
            clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced")
            clf.fit(X, y)
            codes.append(code)
            coefs.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
        if not codes:
            return None
        return cls(codes, np.vstack(coefs), np.array(intercepts))

    def save(self, directory: Path) -> None:
        np.savez_compressed(directory / "topics.npz", coef=self.coef.astype(np.float16), intercept=self.intercept)
        (directory / "topics.json").write_text(
            json.dumps({"codes": self.codes, "threshold": self.threshold, "n_features": N_FEATURES}) + "\n", "utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> TopicClassifier:
        meta = json.loads((directory / "topics.json").read_text("utf-8"))
        with np.load(directory / "topics.npz") as data:
            return cls(meta["codes"], data["coef"].astype(np.float64), data["intercept"], float(meta["threshold"]))
