"""Our sentiment model: hashed character n-grams + negation-marked word n-grams + lexicon cues + (for
English text) VADER's rule-based scores → logistic regression, with a Platt-calibrated score in [-1, 1] and a neutral band tuned on neutral-labelled data.

Hashing (not a vocabulary) keeps the artifact small and makes featurisation identical at training and
inference time with no pickled objects: the artifact is plain numpy arrays plus JSON.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from voxloop_nlp import lexicon

CHAR_FEATURES = 2**19
WORD_FEATURES = 2**19
MAX_CHARS = 600  # long reviews: the first 600 characters carry the verdict; bounds time per item
NEG_SCOPE = 3
_BREAKS = frozenset("，。！？；,.!?;:：\n~～…")
LEXICON_FEATURES = 6
VADER_FEATURES = 4
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_vector(text: str) -> list[float]:
    """VADER (MIT, English rule-based sentiment) on non-Chinese text; zeros otherwise.

    It knows English idiom, negation and emphasis that 800-sentence training sets cannot teach."""
    if _HAN.search(text) or not _LATIN.search(text):
        return [0.0, 0.0, 0.0, 0.0]
    s = _vader().polarity_scores(text[:MAX_CHARS])
    return [s["compound"], s["pos"], s["neg"], 1.0]


@lru_cache(maxsize=1)
def _vectorizers():
    from sklearn.feature_extraction.text import HashingVectorizer

    char = HashingVectorizer(
        analyzer="char", ngram_range=(1, 3), n_features=CHAR_FEATURES, alternate_sign=False, lowercase=False
    )
    word = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        n_features=WORD_FEATURES,
        alternate_sign=False,
        lowercase=False,
        token_pattern=r"\S+",  # noqa: S106 (a regex, not a password)
    )
    return char, word


def mark_negation(tokens: list[str]) -> list[str]:
    """Prefix tokens in a negation's scope with '¬' so "不 满意" and "满意" become different features."""
    out: list[str] = []
    scope = 0
    for tok in tokens:
        if tok in _BREAKS:
            scope = 0
            out.append(tok)
            continue
        if tok in lexicon.NEGATORS:
            scope = NEG_SCOPE
            out.append(tok)
            continue
        out.append("¬" + tok if scope > 0 else tok)
        scope = max(0, scope - 1)
    return out


def lexicon_vector(tokens: list[str]) -> list[float]:
    """Counts of positive/negative cue words (after negation) and their degree-weighted sums."""
    pos = neg = wpos = wneg = 0.0
    negated = 0
    degree = 1.0
    for tok in tokens:
        if tok in _BREAKS:
            negated, degree = 0, 1.0
            continue
        if tok in lexicon.NEGATORS:
            negated = NEG_SCOPE
            continue
        if tok in lexicon.DEGREE:
            degree = lexicon.DEGREE[tok]
            continue
        polarity = lexicon.POLARITY.get(tok)
        if polarity:
            if negated:
                polarity = -polarity * 0.8
            if polarity > 0:
                pos += 1
                wpos += polarity * degree
            else:
                neg += 1
                wneg += -polarity * degree
            degree = 1.0
        negated = max(0, negated - 1)
    return [
        math.log1p(pos),
        math.log1p(neg),
        math.log1p(wpos),
        math.log1p(wneg),
        float(pos > neg),
        float(neg > pos),
    ]


def featurize(
    lower_texts: list[str], token_lists: list[list[str]], normalized_texts: list[str] | None = None
) -> sparse.csr_matrix:
    """Feature rows; `normalized_texts` (case kept, for VADER's emphasis rules) defaults to `lower_texts`."""
    char, word = _vectorizers()
    texts = [t[:MAX_CHARS] for t in lower_texts]
    words = [" ".join(mark_negation(toks)) for toks in token_lists]
    lex = np.array([lexicon_vector(t) for t in token_lists], dtype=np.float64).reshape(-1, LEXICON_FEATURES)
    vader = np.array(
        [vader_vector(t) for t in (normalized_texts if normalized_texts is not None else lower_texts)],
        dtype=np.float64,
    ).reshape(-1, VADER_FEATURES)
    dense = sparse.csr_matrix(np.hstack([lex, vader]))
    return sparse.hstack([char.transform(texts), word.transform(words), dense], format="csr")


@dataclass
class SentimentModel:
    coef: np.ndarray
    intercept: float
    platt_a: float
    platt_b: float
    neutral_band: float
    version: str
    meta: dict

    def scores(self, X: sparse.csr_matrix) -> np.ndarray:
        """Calibrated scores in [-1, 1]: 2·P(positive) − 1."""
        if X.shape[1] > self.coef.shape[0]:
            X = X[:, : self.coef.shape[0]]  # a model trained before a feature block was appended
        raw = X @ self.coef + self.intercept
        p = 1.0 / (1.0 + np.exp(-(self.platt_a * raw + self.platt_b)))
        return 2.0 * p - 1.0

    def label(self, score: float) -> str:
        if score >= self.neutral_band:
            return "positive"
        if score <= -self.neutral_band:
            return "negative"
        return "neutral"

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "sentiment.npz", coef=self.coef.astype(np.float16))
        meta = dict(self.meta)
        meta.update(
            version=self.version,
            intercept=self.intercept,
            platt_a=self.platt_a,
            platt_b=self.platt_b,
            neutral_band=self.neutral_band,
            char_features=CHAR_FEATURES,
            word_features=WORD_FEATURES,
        )
        (directory / "sentiment.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path) -> SentimentModel:
        meta = json.loads((directory / "sentiment.json").read_text("utf-8"))
        with np.load(directory / "sentiment.npz") as data:
            coef = data["coef"].astype(np.float64)
        return cls(
            coef=coef,
            intercept=float(meta["intercept"]),
            platt_a=float(meta["platt_a"]),
            platt_b=float(meta["platt_b"]),
            neutral_band=float(meta["neutral_band"]),
            version=str(meta["version"]),
            meta=meta,
        )
