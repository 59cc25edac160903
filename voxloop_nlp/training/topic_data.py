"""The labelled topic/aspect sets in ../shared/datasets, mapped onto the default taxonomy's top-level codes.

Each set names its categories differently; `MAPPINGS` says which default topic each category counts as
(the nearest one: a car's fuel use or a dish's taste is product `quality`, a restaurant's décor
`environment`). Categories with no sensible counterpart ("其他", SemEval's "misc", Bitext's ORDER,
FEEDBACK and NEWSLETTER) are dropped: those texts still train as negatives of every code only when they
carry a mapped category too. Polarity per mapped topic is kept for aspect-sentiment evaluation; when
two categories of one text map to the same topic with different polarities, it is None (conflict).

The split is the same text-hash split as for sentiment (`data.split_of`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxloop_nlp.training.data import _clean, data_dir, split_of

MAPPINGS: dict[str, dict[str, str]] = {
    "cosmetics": {
        "整体": "quality",  # the product overall
        "使用体验": "quality",
        "功效": "quality",
        "气味": "quality",
        "包装": "quality",  # the product's own pack (jar, pump), rarely the parcel
        "真伪": "quality",
        "成分": "quality",
        "尺寸": "quality",
        "新鲜度": "quality",
        "价格": "price",
        "物流": "logistics",
        "服务": "attitude",
    },
    "car": {
        "动力": "quality",
        "油耗": "quality",
        "安全性": "quality",
        "配置": "quality",
        "内饰": "quality",
        "外观": "quality",
        "舒适性": "quality",
        "操控": "usability",  # how the car is to drive
        "空间": "usability",
        "价格": "price",
    },
    "semeval": {"food": "quality", "service": "attitude", "price": "price", "ambience": "environment"},
    "asap": {
        "location_traffic": "environment",
        "location_distance_from_business_district": "environment",
        "location_easy_to_find": "environment",
        "service_wait_time": "speed",
        "service_waiters_attitude": "attitude",
        "service_parking_convenience": "environment",
        "service_serving_speed": "speed",
        "price_level": "price",
        "price_cost_effective": "price",
        "price_discount": "price",
        "environment_decoration": "environment",
        "environment_noise": "environment",
        "environment_space": "environment",
        "environment_cleaness": "environment",
        "dish_portion": "quality",
        "dish_taste": "quality",
        "dish_look": "quality",
        "dish_recommendation": "quality",
    },
    "bitext": {
        "ACCOUNT": "account",
        "PAYMENT": "account",
        "REFUND": "refund",
        "DELIVERY": "logistics",
        "SHIPPING_ADDRESS": "logistics",
        "INVOICE": "price",
        "CANCELLATION_FEE": "price",
        "CONTACT": "communication",
    },
}
TOPIC_SETS = ("cosmetics", "car", "semeval", "asap", "bitext")
_ZH_POLARITY = {"正面": "positive", "负面": "negative", "中性": "neutral"}
_NUM_POLARITY = {"1": "positive", "0": "neutral", "-1": "negative"}


@dataclass
class TopicExample:
    text: str
    codes: frozenset[str]
    dataset: str
    polarity: dict[str, str | None] = field(default_factory=dict)
    raw: tuple[str, ...] = ()  # the set's own category names (for few-shot benchmarks)


def _add(polarity: dict[str, str | None], code: str, value: str | None) -> None:
    if code in polarity and polarity[code] != value:
        polarity[code] = None
    else:
        polarity[code] = value


def load_cosmetics(root: Path) -> list[TopicExample]:
    out = []
    with open(root / "zh_ecom_cosmetics_aspects" / "cosmetics_aspects.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            polarity: dict[str, str | None] = {}
            raw = []
            for quad in (row.get("quads(category:polarity:aspect:opinion)") or "").split("|"):
                parts = quad.split(":")
                if len(parts) >= 2 and parts[0] in MAPPINGS["cosmetics"]:
                    _add(polarity, MAPPINGS["cosmetics"][parts[0]], _ZH_POLARITY.get(parts[1]))
            for cat in (row.get("categories") or "").split("|"):
                raw.append(cat)
                code = MAPPINGS["cosmetics"].get(cat)
                if code and code not in polarity:
                    polarity[code] = None
            out.append(TopicExample(_clean(row["text"]), frozenset(polarity), "cosmetics", polarity, tuple(raw)))
    return out


def load_car(root: Path) -> list[TopicExample]:
    out = []
    with open(root / "zh_car_topics_bdci2018" / "car_topics.csv", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            polarity: dict[str, str | None] = {}
            raw = []
            for pair in (row.get("topic_sentiments") or "").split("|"):
                cat, _, value = pair.partition(":")
                if cat in MAPPINGS["car"]:
                    raw.append(cat)
                    _add(polarity, MAPPINGS["car"][cat], _NUM_POLARITY.get(value.strip()))
            out.append(TopicExample(_clean(row["text"]), frozenset(polarity), "car", polarity, tuple(raw)))
    return out


def load_semeval(root: Path) -> list[TopicExample]:
    rows = json.loads((root / "semeval14_restaurant_acsa" / "acsa_train.json").read_text("utf-8"))
    by_text: dict[str, TopicExample] = {}
    for row in rows:
        text = _clean(row["sentence"])
        ex = by_text.setdefault(text, TopicExample(text, frozenset(), "semeval", {}, ()))
        ex.raw = (*ex.raw, row["aspect"])
        code = MAPPINGS["semeval"].get(row["aspect"])
        if code:
            sentiment = row["sentiment"] if row["sentiment"] in {"positive", "negative", "neutral"} else None
            _add(ex.polarity, code, sentiment)
            ex.codes = frozenset(ex.polarity)
    return list(by_text.values())


def load_asap(root: Path) -> list[TopicExample]:
    out = []
    for name in ("train_sample.csv", "dev_sample.csv", "test_sample.csv"):
        path = root / "asap_sample" / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                if "reviewbody" not in row:
                    continue
                polarity: dict[str, str | None] = {}
                for col, code in MAPPINGS["asap"].items():
                    value = (row.get(col) or "").strip()
                    if value in {"1", "0", "-1"}:
                        _add(polarity, code, _NUM_POLARITY[value])
                out.append(TopicExample(_clean(row["reviewbody"]), frozenset(polarity), "asap", polarity))
    return out


def load_bitext(root: Path) -> list[TopicExample]:
    out = []
    folder = root / "bitext_customer_support"
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                category = (row.get("category") or "").strip()
                code = MAPPINGS["bitext"].get(category)
                text = _clean(row.get("instruction") or "")
                if not text:
                    continue
                codes = frozenset({code}) if code else frozenset()
                raw = (category, (row.get("intent") or "").strip())
                out.append(TopicExample(text, codes, "bitext", dict.fromkeys(codes), raw))
    return out


LOADERS = {
    "cosmetics": load_cosmetics,
    "car": load_car,
    "semeval": load_semeval,
    "asap": load_asap,
    "bitext": load_bitext,
}


def load_topic_sets(path: Any = None, sets: Any = TOPIC_SETS) -> dict[str, list[TopicExample]]:
    root = data_dir(path)
    return {name: LOADERS[name](root) for name in sets}


def split_topic(examples: list[TopicExample]) -> tuple[list[TopicExample], list[TopicExample]]:
    train: list[TopicExample] = []
    test: list[TopicExample] = []
    seen: set[Any] = set()
    for ex in examples:
        key = (ex.dataset, ex.text)
        if key in seen:
            continue
        seen.add(key)
        (test if split_of(ex.text) == "test" else train).append(ex)
    return train, test


def mapped_only(examples: list[TopicExample]) -> list[TopicExample]:
    """Examples with at least one mapped topic (texts whose only categories were dropped are left out:
    "其他"/"misc" texts are not known to be about nothing)."""
    return [e for e in examples if e.codes]
