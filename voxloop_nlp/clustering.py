"""Emerging topics: cluster the feedback the taxonomy covers poorly.

The caller passes the texts it considers uncovered (e.g. no topic, or a topic with low confidence). Pure
and deterministic for a given ``seed``; no Django, no network.

1. features: TF-IDF (hashed, so no vocabulary to hold) of Chinese character pairs -- no segmenter needed,
   robust to new product words -- and, for other scripts, of words and neighbouring word pairs; reduced
   to ``dimensions`` by truncated SVD (LSA) fitted on a sample, then L2-normalised so Euclidean k-means
   behaves like cosine similarity. On the benchmark's short texts 40-50 dimensions separated themes
   better than 100-200 (purity 0.90-0.94 against 0.84-0.87), hence the default of 50;
2. k: unless given, every candidate k up to ``max_k`` (and up to one cluster per ``min_size`` texts) is
   fitted on a sample and the smallest k within 0.01 of the best silhouette (on at most
   ``silhouette_sample`` points) wins -- a simple, explainable rule;
3. k-means fitted on the sample, every text then assigned to its nearest centre;
4. per cluster: size, top keywords by class-based TF-IDF (c-TF-IDF: a word frequent in this cluster and
   rare in the others) over segmented words, representative examples (closest to the centre, distinct
   texts), and growth when timestamps are given: the cluster's share of the recent period against its
   share before.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from voxloop_nlp.components.keywords import EN_STOP, ZH_STOP
from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize

CANDIDATE_KS = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)
_CONTENT = re.compile(r"^(?:[\u4e00-\u9fff]{2,}|[a-z][a-z'-]{2,})$")


@dataclass(frozen=True)
class Cluster:
    label: int
    size: int
    keywords: list[str]
    examples: list[str]  # representative texts as given, closest to the centre first
    example_indices: list[int]  # their positions in the input
    recent_count: int | None = None  # items in the recent period (None without timestamps)
    earlier_count: int | None = None
    recent_share: float | None = None  # of all recent items
    earlier_share: float | None = None  # of all earlier items
    growth: float | None = None  # recent_share / earlier_share; None if the cluster had no earlier items


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # cluster label per input text; -1 for texts without words (blank, only numbers)
    clusters: list[Cluster]  # largest first
    k: int
    k_scores: dict[int, float] = field(default_factory=dict)  # silhouette per candidate k tried


_RUNS = re.compile(r"[\u4e00-\u9fff]+|[a-z][a-z0-9'-]*|[0-9]+")


def _terms(text: str) -> list[str]:
    """Chinese: character bigrams (no segmenter needed, robust to new product words); other scripts:
    words without stop words, and pairs of neighbouring words. Numbers are dropped: "3 days" and
    "5 days" are the same complaint."""
    terms: list[str] = []
    previous = ""
    for run in _RUNS.findall(text):
        if "\u4e00" <= run[0] <= "\u9fff":
            terms.extend(run[i : i + 2] for i in range(len(run) - 1)) if len(run) > 1 else terms.append(run)
            previous = ""
        elif run[0].isdigit() or run in EN_STOP or len(run) < 2:
            continue
        else:
            terms.append(run)
            if previous:
                terms.append(f"{previous} {run}")
            previous = run
    return terms


def _features(texts: list[str], dimensions: int, sample: np.ndarray, seed: int) -> np.ndarray:
    # imported here: scikit-learn takes about 2 s to import; only a clustering run pays for it
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.preprocessing import normalize

    hashed = HashingVectorizer(analyzer=_terms, n_features=2**20, alternate_sign=False, norm=None).transform(texts)
    # keep only the hashed columns the sample uses: the SVD then works on tens of thousands of columns
    # instead of 2**18, which is what makes it fast (columns unseen in the sample carry no fitted weight)
    used = np.unique(hashed[sample].indices)
    hashed = hashed[:, used]
    tfidf = TfidfTransformer(sublinear_tf=True).fit(hashed[sample]).transform(hashed)
    components = max(1, min(dimensions, len(sample) - 1, tfidf.shape[1] - 1))
    svd = TruncatedSVD(n_components=components, random_state=seed).fit(tfidf[sample])
    vectors: np.ndarray = normalize(svd.transform(tfidf)).astype(np.float64)
    return vectors


def _kmeans(k: int, seed: int, n_init: int = 4) -> Any:
    # Lloyd's k-means on the sample (at most ``sample_size`` points of ``dimensions`` values: about a
    # second) finds clearly better optima than the mini-batch variant on short texts; the rest of the
    # texts are only assigned to the nearest centre
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, random_state=seed, n_init=n_init)


def _choose_k(
    vectors: np.ndarray, max_k: int, min_size: int, silhouette_sample: int, seed: int
) -> tuple[int, dict[int, float]]:
    # imported here: scikit-learn takes about 2 s to import; only a clustering run pays for it
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    distinct = len(np.unique(vectors.round(6), axis=0))
    # a topic worth a name has at least ``min_size`` items on average; on few texts the silhouette of
    # many tiny clusters is mostly noise
    ks = [k for k in CANDIDATE_KS if k <= min(max_k, distinct - 1, len(vectors) // min_size)]
    if not ks:
        return 1, {}
    probe = (
        vectors
        if len(vectors) <= silhouette_sample
        else vectors[rng.choice(len(vectors), silhouette_sample, replace=False)]
    )
    scores: dict[int, float] = {}
    for k in ks:
        # restarts matter on few points (a bad start there flips the choice of k); on many, two suffice
        labels = _kmeans(k, seed, n_init=4 if len(probe) < 1000 else 2).fit_predict(probe)
        if len(set(labels.tolist())) < 2:
            continue
        scores[k] = float(silhouette_score(probe, labels, random_state=seed))
    if not scores:
        return 1, {}
    best = max(scores.values())
    # the smallest k within 0.01 of the best: silhouette differences that small are noise
    return min(k for k, s in scores.items() if s >= best - 0.01), scores


def _words(text: str) -> list[str]:
    return [t for t in tokenize(text) if _CONTENT.match(t) and t not in ZH_STOP and t not in EN_STOP]


def _keywords(docs_by_cluster: dict[int, list[str]], top: int) -> dict[int, list[str]]:
    """c-TF-IDF: tf of a word in its cluster x log(1 + average words per cluster / its total frequency)."""
    counts = {label: Counter(w for d in docs for w in _words(d)) for label, docs in docs_by_cluster.items()}
    totals: Counter[str] = Counter()
    for c in counts.values():
        totals.update(c)
    if not totals:
        return {label: [] for label in counts}
    average = sum(totals.values()) / len(counts)
    out = {}
    for label, c in counts.items():
        size = sum(c.values()) or 1
        scored = sorted(c.items(), key=lambda kv: (-(kv[1] / size) * math.log(1 + average / totals[kv[0]]), kv[0]))
        out[label] = [w for w, _ in scored[:top]]
    return out


def _as_seconds(timestamps: Sequence[datetime | float]) -> np.ndarray:
    values = []
    for i, ts in enumerate(timestamps):
        if isinstance(ts, datetime):
            values.append(ts.timestamp())
        elif isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts):
            values.append(float(ts))
        else:
            raise ValueError(f"timestamp #{i} is neither a datetime nor a number: {ts!r}")
    return np.asarray(values, dtype=np.float64)


def cluster_texts(
    texts: Sequence[str],
    *,
    timestamps: Sequence[datetime | float] | None = None,
    recent_since: datetime | float | None = None,
    recent_days: float = 7.0,
    k: int | None = None,
    max_k: int = 30,
    min_size: int = 5,
    sample_size: int = 10_000,
    silhouette_sample: int = 2_000,
    dimensions: int = 50,
    keywords: int = 8,
    examples: int = 3,
    keyword_sample: int = 200,
    seed: int = 0,
) -> Clustering:
    """Cluster ``texts``; with ``timestamps`` (datetimes or epoch seconds) each cluster gets its growth:
    the recent period starts at ``recent_since`` or, by default, ``recent_days`` before the latest one."""
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of texts, not one string")
    if k is not None and k < 1:
        raise ValueError("k must be at least 1")
    if max_k < 2:
        raise ValueError("max_k must be at least 2")
    if min_size < 1:
        raise ValueError("min_size must be at least 1")
    if timestamps is not None and len(timestamps) != len(texts):
        raise ValueError(f"{len(timestamps)} timestamps for {len(texts)} texts")
    normalized = [normalize_text(str(t)).lower() for t in texts]
    # texts with nothing to compare (blank, or only numbers, punctuation and emoji) stay out with label -1
    usable = np.array([i for i, t in enumerate(normalized) if _terms(t)], dtype=np.int64)
    if len(usable) < 2:
        raise ValueError("clustering needs at least two texts with words in them")
    rng = np.random.default_rng(seed)
    docs = [normalized[i] for i in usable]
    sample = np.sort(rng.choice(len(docs), min(sample_size, len(docs)), replace=False))
    vectors = _features(docs, dimensions, sample, seed)

    k_scores: dict[int, float] = {}
    if k is None:
        k, k_scores = _choose_k(vectors[sample], max_k, min_size, silhouette_sample, seed)
    k = min(k, len(docs))
    if k == 1:
        assigned = np.zeros(len(docs), dtype=np.int64)
        centres = vectors.mean(axis=0, keepdims=True)
    else:
        model = _kmeans(k, seed).fit(vectors[sample])
        assigned = model.predict(vectors).astype(np.int64)
        centres = model.cluster_centers_

    # relabel by size (largest = 0) so labels read the same way on every page
    sizes = np.bincount(assigned, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], c))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    assigned = remap[assigned]
    centres = centres[order]

    labels = np.full(len(texts), -1, dtype=np.int64)
    labels[usable] = assigned

    seconds = split = None
    if timestamps is not None:
        seconds = _as_seconds(timestamps)[usable]
        if recent_since is None:
            split = float(seconds.max()) - timedelta(days=recent_days).total_seconds()
        else:
            split = recent_since.timestamp() if isinstance(recent_since, datetime) else float(recent_since)
        recent_mask = seconds >= split
        recent_total, earlier_total = int(recent_mask.sum()), int((~recent_mask).sum())

    members_of = {c: np.flatnonzero(assigned == c) for c in range(k) if sizes[order[c]] > 0}
    keyword_docs = {}
    for c, members in members_of.items():
        chosen = (
            members if len(members) <= keyword_sample else np.sort(rng.choice(members, keyword_sample, replace=False))
        )
        keyword_docs[c] = [docs[i] for i in chosen]
    top_words = _keywords(keyword_docs, keywords)

    clusters = []
    for c, members in members_of.items():
        similarity = vectors[members] @ centres[c]
        picked: list[int] = []
        seen: set[str] = set()
        for j in np.argsort(-similarity, kind="stable"):
            text = docs[members[j]]
            if text in seen:
                continue
            seen.add(text)
            picked.append(int(usable[members[j]]))
            if len(picked) == examples:
                break
        growth_fields: dict[str, Any] = {}
        if seconds is not None:
            recent = int(recent_mask[members].sum())
            earlier = len(members) - recent
            recent_share = recent / recent_total if recent_total else None
            earlier_share = earlier / earlier_total if earlier_total else None
            growth = recent_share / earlier_share if recent_share is not None and earlier_share else None
            growth_fields = {
                "recent_count": recent, "earlier_count": earlier, "recent_share": recent_share,
                "earlier_share": earlier_share, "growth": growth,
            }  # fmt: skip
        clusters.append(
            Cluster(
                label=c,
                size=len(members),
                keywords=top_words.get(c, []),
                examples=[str(texts[i]) for i in picked],
                example_indices=picked,
                **growth_fields,
            )
        )
    return Clustering(labels=labels, clusters=clusters, k=k, k_scores=k_scores)
