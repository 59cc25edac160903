"""The trained multi-label topic model: one logistic regression per topic code over hashed character
1-3-grams and word 1-2-grams (the sentiment model's numpy hashing, folded into a small space so the
artifact stays a few MB). Used twice:

- the shipped model for the default taxonomy, trained on labelled topic/aspect data plus the taxonomy's
  phrases (`training/train_topics.py`, artifact `models/topic_model.{json,npz}`);
- a customer's own taxonomy learnt from examples (`voxloop topics learn`, `learn.py`), same format.

Evidence: the words of the text that push a code's score up the most (its word-unigram weights), so a
topic the phrases did not find still says why ("味道" → quality).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from voxloop_nlp import sentiment_model as sm
from voxloop_nlp.components.keywords import EN_STOP, ZH_STOP

CHAR_BITS = 17
WORD_BITS = 16
N_FEATURES = 2**CHAR_BITS + 2**WORD_BITS
MAX_CHARS = 600
ARTIFACT = "topic_model"
# Function words are never evidence, whatever weight a small model gave them.
_FUNCTION_CHARS = frozenset(
    "的了吧也个我你他她它是在和就都而及与着或一不没很太还又把被给让对从向往这那有去来说要会能啊呢吗嘛呀哦哈么"
)


def _fold(X: sparse.csr_matrix, bits: int, offset: int) -> sparse.csr_matrix:
    Y = sparse.csr_matrix(
        (X.data, X.indices & (2**bits - 1), X.indptr), shape=(X.shape[0], 2**bits)
    )  # collisions of a folded hash only add up
    Y.sum_duplicates()
    if offset:
        Y = sparse.csr_matrix((Y.data, Y.indices + offset, Y.indptr), shape=(Y.shape[0], N_FEATURES))
    else:
        Y.resize((Y.shape[0], N_FEATURES))
    return Y


def featurize(lower_texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    texts = [t[:MAX_CHARS] for t in lower_texts]
    if not texts:
        return sparse.csr_matrix((0, N_FEATURES))
    chars = _fold(sm.char_ngram_block(texts, n_max=3), CHAR_BITS, 0)
    words = _fold(sm.word_ngram_block([list(t) for t in token_lists]), WORD_BITS, 2**CHAR_BITS)
    return (chars + words).tocsr()


def token_columns(tokens: Sequence[str]) -> np.ndarray:
    """The feature column of each token's word unigram (as `featurize` hashes it)."""
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    h = np.fromiter((sm._token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    cols = (sm._mix(h + np.uint64(1)) & np.uint64(sm.WORD_FEATURES - 1)) & np.uint64(2**WORD_BITS - 1)
    columns: np.ndarray = cols.astype(np.int64) + 2**CHAR_BITS
    return columns


@dataclass
class TopicModel:
    codes: list[str]
    coef: np.ndarray  # (n_codes, N_FEATURES)
    intercept: np.ndarray
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, X: sparse.csr_matrix) -> np.ndarray:
        z = np.asarray(X @ self.coef.T) + self.intercept
        probs: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return probs

    def predict_texts(self, lowers: Sequence[str], token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_proba(featurize(lowers, token_lists))

    def evidence_table(self, tokens: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The text's content words and their word-unigram weights for every code (n_codes × n_words):
        computed once per text, read by `evidence_from` for each code found."""
        words = [
            t
            for t in dict.fromkeys(tokens)
            if t not in _FUNCTION_CHARS and t not in EN_STOP and t not in ZH_STOP and any(ch.isalnum() for ch in t)
        ]
        return words, self.coef[:, token_columns(words)] if words else np.zeros((len(self.codes), 0))

    @staticmethod
    def evidence_from(
        table: tuple[list[str], np.ndarray], code_index: int, limit: int = 3, min_weight: float = 0.5
    ) -> list[str]:
        """Up to `limit` words with the largest positive weight (> `min_weight`) for the code."""
        words, weights = table
        if not words:
            return []
        row = weights[code_index]
        order = np.argsort(-row)[:limit]
        return [words[i] for i in order if row[i] > min_weight]

    def evidence(self, tokens: Sequence[str], code_index: int, limit: int = 3) -> list[str]:
        return self.evidence_from(self.evidence_table(tokens), code_index, limit)

    def save(self, directory: Path, name: str = ARTIFACT) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # float16 and exact zeros for tiny weights: the artifact compresses to a few MB.
        coef = np.where(np.abs(self.coef) < 1e-3, 0.0, self.coef).astype(np.float16)
        np.savez_compressed(directory / f"{name}.npz", coef=coef, intercept=self.intercept)
        meta = {"codes": self.codes, "threshold": self.threshold, "n_features": N_FEATURES, **self.meta}
        (directory / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path, name: str = ARTIFACT) -> TopicModel:
        meta = json.loads((directory / f"{name}.json").read_text("utf-8"))
        if meta.get("n_features") != N_FEATURES:
            raise ValueError(f"{directory / name}.json was made with other features ({meta.get('n_features')}).")
        with np.load(directory / f"{name}.npz") as data:
            coef = data["coef"].astype(np.float32)
            intercept = data["intercept"].astype(np.float64)
        codes = meta.pop("codes")
        threshold = float(meta.pop("threshold"))
        meta.pop("n_features", None)
        return cls(codes, coef, intercept, threshold, meta)


def fit(
    lowers: Sequence[str],
    token_lists: Sequence[Sequence[str]],
    labels: Sequence[Collection[str]],
    codes: Sequence[str],
    *,
    C: float = 2.0,
    weights: Sequence[float] | None = None,
    balanced: bool = False,
    min_positives: int = 1,
) -> TopicModel:
    """One-vs-rest logistic regression (scikit-learn's liblinear: training only, never at run time)."""
    # imported here: scikit-learn takes about 2 s to import; only training pays for it, never analysis
    from sklearn.linear_model import LogisticRegression

    X = featurize(lowers, token_lists)
    sw = None if weights is None else np.asarray(weights, dtype=np.float64)
    kept, coefs, intercepts = [], [], []
    for code in codes:
        y = np.array([code in lab for lab in labels], dtype=int)
        if y.sum() < min_positives or y.sum() == len(y):
            continue
        clf = LogisticRegression(C=C, solver="liblinear", class_weight="balanced" if balanced else None)
        clf.fit(X, y, sample_weight=sw)
        kept.append(code)
        coefs.append(clf.coef_[0].astype(np.float32))
        intercepts.append(clf.intercept_[0])
    if not kept:
        raise ValueError("No topic has enough examples to learn from.")
    return TopicModel(kept, np.vstack(coefs), np.array(intercepts, dtype=np.float64))
