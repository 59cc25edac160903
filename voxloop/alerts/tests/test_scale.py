"""Detection over a year of every series stays within its budget (10 s) on a large roll-up set."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from voxloop.alerts import services
from voxloop.alerts.models import Alert
from voxloop.alerts.tests.handmade import TODAY
from voxloop.metrics.models import MetricDaily, Source

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TOPICS, PRODUCTS, CHANNELS = 11, 500, 10
DAYS = services.HISTORY_DAYS + services.BASELINE_DAYS


def _sums(rng: np.random.Generator, n: int) -> dict:
    # as many counters as real feedback cells carry (sentiments, emotions, topic mentions), so the JSON is realistic
    negative = int(rng.binomial(n, 0.25))
    sums = {"negative": negative, "positive": n - negative, "complaints": negative // 2, "sent_n": n,
            "sent_sum": round(-0.1 * n, 2)}  # fmt: skip
    sums.update({f"emo:e{i}": n // (i + 3) for i in range(8)})
    sums.update({f"tc:t{i}": negative // (i + 2) for i in range(11)})
    sums.update({f"tn:t{i}": negative // (i + 2) for i in range(11)})
    return sums


def test_a_year_of_every_topic_product_and_channel_takes_under_ten_seconds():
    rng = np.random.default_rng(1)
    now = timezone.now()
    series = [("", "", 3000.0)] + [("topic", f"t{i}", 150.0) for i in range(TOPICS)]
    series += [("product", str(i + 1), float(rng.uniform(1, 40))) for i in range(PRODUCTS)]
    series += [("channel", f"c{i}", 300.0) for i in range(CHANNELS)]
    weekday = np.array([1.0, 1.05, 1.0, 0.95, 1.1, 1.6, 1.7])
    rows = []
    for d in range(DAYS):
        day = TODAY - timedelta(days=DAYS - 1 - d)
        for dimension, value, level in series:
            n = int(rng.poisson(level * weekday[day.weekday()] * (5 if (value == "7" and d >= DAYS - 2) else 1)))
            if n:
                rows.append(MetricDaily(source=Source.FEEDBACK, day=day, dimension=dimension, value=value, n=n,
                                        sums=_sums(rng, n), histograms={}, computed_at=now))  # fmt: skip
        if len(rows) > 20000:
            MetricDaily.objects.bulk_create(rows, batch_size=5000)
            rows = []
    MetricDaily.objects.bulk_create(rows, batch_size=5000)
    assert MetricDaily.objects.count() > 200_000

    reverse("alerts:list")  # the URL conf is imported once per process, not per detection run: not timed here
    started = time.monotonic()
    run = services.detect(TODAY)
    elapsed = time.monotonic() - started
    print(f"detect over {run.series} series x {DAYS} days: {elapsed:.2f}s, {run.found} runs, {run.created} stored")
    assert elapsed < 10
    assert run.series == 1 + TOPICS + PRODUCTS + CHANNELS + 1 + TOPICS
    assert Alert.objects.filter(dimension="product", value="7", started_on=TODAY - timedelta(days=1)).exists()
