"""Emerging-topic clustering on hand-made texts whose groups are known."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest

from voxloop_nlp.clustering import cluster_texts

DELIVERY = ["快递太慢了，等了五天才到", "物流太慢，快递一周才到", "快递员送货太慢了", "快递好慢啊，三天还没到",
            "快递太慢，物流信息不更新", "快递太慢，催了也没用", "这次快递慢得离谱", "快递还没到，太慢了"]  # fmt: skip
CRASH = ["App闪退，打开就崩溃", "软件一打开就闪退", "更新后App总是闪退崩溃", "手机App闪退了好几次", "App闪退，没法用",
         "App老是闪退", "登录时App闪退", "App又闪退了，崩溃"]  # fmt: skip
BATTERY = ["the battery drains very fast", "battery life is terrible, drains overnight", "battery drains in two hours",
           "my battery drains too fast", "the battery drains even when off", "battery drains quickly",
           "poor battery, it drains all the time", "the battery drains after the update"]  # fmt: skip
TEXTS = DELIVERY + CRASH + BATTERY


def groups_of(labels: np.ndarray) -> list[set[int]]:
    return sorted(({i for i, label in enumerate(labels) if label == c} for c in set(labels.tolist())), key=min)


def test_clearly_separate_groups_come_out_as_separate_clusters():
    result = cluster_texts(TEXTS)
    assert result.k == 3
    assert groups_of(result.labels) == [set(range(0, 8)), set(range(8, 16)), set(range(16, 24))]
    keywords = {frozenset(c.keywords[:3]) for c in result.clusters}
    assert any("battery" in k for k in keywords) and any("闪退" in k for k in keywords)
    assert any("快递" in k or "太慢" in k for k in keywords)
    for cluster in result.clusters:
        assert cluster.size == 8 and len(cluster.examples) == 3
        # the examples belong to the cluster and are given as the caller wrote them
        assert all(result.labels[i] == cluster.label for i in cluster.example_indices)
        assert [TEXTS[i] for i in cluster.example_indices] == cluster.examples


def test_same_seed_gives_the_same_clusters_and_order_does_not_matter_for_grouping():
    first, second = cluster_texts(TEXTS, seed=3), cluster_texts(TEXTS, seed=3)
    assert first.labels.tolist() == second.labels.tolist()
    assert [c.keywords for c in first.clusters] == [c.keywords for c in second.clusters]
    shuffled = list(reversed(TEXTS))
    back = cluster_texts(shuffled).labels[::-1]
    assert groups_of(back) == groups_of(first.labels)


def test_growth_compares_the_recent_share_with_the_earlier_share():
    now = datetime(2026, 6, 30)
    # delivery complaints are old, crashes are new, battery complaints are spread over both periods
    stamps = [now - timedelta(days=30)] * 8 + [now - timedelta(days=1)] * 8
    stamps += [now - timedelta(days=d) for d in (1, 2, 20, 25, 30, 30, 30, 30)]
    result = cluster_texts(TEXTS, timestamps=stamps, recent_days=7)
    by_first_item = {int(min(np.flatnonzero(result.labels == c.label))): c for c in result.clusters}
    delivery, crash, battery = by_first_item[0], by_first_item[8], by_first_item[16]
    assert (crash.recent_count, crash.earlier_count, crash.growth) == (8, 0, None)  # new: nothing before
    assert delivery.recent_count == 0 and delivery.growth == 0
    # battery: 2 of the 10 recent items, 6 of the 14 earlier ones
    assert battery.recent_share == pytest.approx(2 / 10) and battery.earlier_share == pytest.approx(6 / 14)
    assert battery.growth == pytest.approx((2 / 10) / (6 / 14))


def test_texts_without_words_are_left_out_with_label_minus_one():
    result = cluster_texts([*TEXTS, "", "   ", "123 !!", "👍"], k=3)
    assert result.labels[-4:].tolist() == [-1, -1, -1, -1]
    assert sum(c.size for c in result.clusters) == 24


def test_a_fixed_k_is_used_as_given():
    assert cluster_texts(TEXTS, k=2).k == 2
    assert len(cluster_texts(TEXTS, k=5).clusters) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"texts": ["only one"]}, "at least two"),
        ({"texts": "快递太慢了，等了五天才到"}, "not one string"),
        ({"texts": ["a", "1", "?"]}, "at least two texts with words"),
        ({"texts": TEXTS, "k": 0}, "k must be"),
        ({"texts": TEXTS, "timestamps": [1.0]}, "1 timestamps for 24 texts"),
        ({"texts": TEXTS[:2], "timestamps": [1.0, "yesterday"]}, "timestamp #1"),
    ],
)
def test_bad_input_gets_a_specific_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cluster_texts(**kwargs)


def test_clustering_never_imports_django():
    code = (
        "import sys, voxloop_nlp.clustering as c; c.cluster_texts(['ab cd', 'ef gh', 'ab ef']); "
        "print('django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
