"""Emerging topics and Emotions & needs in a real headless Chromium: the charts draw on canvas without console
errors, a run started from the page shows its progress and then its clusters, a clicked bar opens exactly the
items behind it, an admin turns a cluster into a topic, and a need or an emotion word opens its feedback."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxloop.analysis import emerging
from voxloop.analysis.models import EmergingRun, Topic
from voxloop.analysis.services import seed_default_taxonomy
from voxloop.analysis.tests.test_emerging import themes
from voxloop.insights.tests.test_emotions import store
from voxloop.metrics import services as rollups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"insights-{name}.png"), full_page=True)


def _charts_drawn(page, keys: list[str]) -> None:
    for key in keys:
        page.wait_for_selector(f'[data-insight-chart="{key}"][data-rendered="true"] canvas')
    assert page.locator("[data-insight-chart] canvas").count() >= len(keys)


def _click_bar(page, key: str, index: int, horizontal: bool) -> None:
    """Click bar ``index`` of the chart's first series where ECharts draws it."""
    x, y = page.evaluate(
        """([key, index, horizontal]) => {
            const el = document.querySelector(`[data-insight-chart="${key}"]`);
            el.scrollIntoView({block: "center"});
            const chart = echarts.getInstanceByDom(el);
            const item = chart.getOption().series[0].data[index];
            const point = horizontal ? [item.value / 2, index] : [index, item.value / 2];
            const xy = chart.convertToPixel({seriesIndex: 0}, point);
            const box = el.getBoundingClientRect();
            return [box.left + xy[0], box.top + xy[1]];
        }""",
        [key, index, horizontal],
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    page.wait_for_load_state("networkidle")


def _bar_index(page, key: str, needle: str) -> int:
    """The index of the first bar whose category label or link contains ``needle``."""
    index = page.evaluate(
        """([key, needle]) => {
            const chart = echarts.getInstanceByDom(document.querySelector(`[data-insight-chart="${key}"]`));
            const option = chart.getOption();
            const axis = (option.yAxis[0].type === "category" ? option.yAxis[0] : option.xAxis[0]).data;
            const data = option.series[0].data;
            return axis.findIndex((label, i) => String(label).includes(needle) || String(data[i].url).includes(needle));
        }""",
        [key, needle],
    )
    assert index >= 0, f"no bar of {key} matches {needle!r}"
    return index


def _listed(page, selector: str) -> set[int]:
    return {
        int(v) for v in page.eval_on_selector_all(selector, "rows => rows.map(r => r.dataset.id || r.dataset.feedback)")
    }


def test_a_run_shows_progress_then_clusters_and_a_bar_opens_the_cluster(login_page, analyst, live_server):
    ids = themes()
    run = emerging.create_run(user=analyst)  # queued: no worker has taken it yet
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/emerging/")
    page.wait_for_selector("#emerging-run[data-status=queued]")
    assert page.locator("#start-emerging button[disabled]").count() == 1
    emerging.execute_run(run.pk)  # the worker: the page polls, sees it finish and reloads
    _charts_drawn(page, ["clusters"])
    assert EmergingRun.objects.get().status == "done"
    _shot(page, "emerging")
    _click_bar(page, "clusters", _bar_index(page, "clusters", "battery"), horizontal=True)
    assert "/insights/emerging/clusters/" in page.url
    assert _listed(page, "tr[data-feedback]") == set(ids["battery"])
    _shot(page, "emerging-cluster")


def test_an_admin_starts_a_run_and_makes_a_cluster_a_topic(login_page, admin_user, live_server):
    seed_default_taxonomy()  # a transactional test starts from an empty table, not the migrated taxonomy
    ids = themes()
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/insights/emerging/")
    with page.expect_navigation():
        page.click("#start-emerging button[type=submit]")  # tests run tasks eagerly: done on return
    page.wait_for_load_state("networkidle")
    _charts_drawn(page, ["clusters"])
    cluster = page.locator("article.emerging-cluster", has_text="蓝牙")
    cluster.locator("a.adopt").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#id_phrases_zh").startswith("蓝牙")
    _shot(page, "emerging-adopt")
    page.fill("#id_code", "bluetooth")
    page.fill("#id_name_en", "Bluetooth pairing")
    page.select_option("#id_parent", "usability")
    with page.expect_navigation():
        page.click("#adopt-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "usability.bluetooth" in page.locator("body").inner_text()
    topic = Topic.objects.get(code="usability.bluetooth")
    assert topic.name_en == "Bluetooth pairing" and "蓝牙" in topic.phrases_zh
    # the re-analysed items now carry the topic: the inbox filtered by it lists exactly the cluster
    page.click("#adopted-topic-feedback")
    page.wait_for_load_state("networkidle")
    assert _listed(page, "tr.inbox-row") == set(ids["bluetooth"])


def test_emotions_page_draws_and_a_need_and_an_emotion_word_open_their_feedback(login_page, analyst, live_server):
    faster = store([("快递太慢了，气死我了，希望能加快发货速度", 1), ("气死了，客服不理人，希望能加快发货速度", 3),
                    ("非常满意，希望能加快发货速度", 5)])  # fmt: skip
    night = store([("太失望了，建议增加夜间配送", 2)])
    rollups.rebuild()
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/emotions/?period=30")
    _charts_drawn(page, ["emotions", "emotion_trend", "words", "needs"])
    assert "加快发货速度" in page.locator("#need-examples").inner_text()
    _shot(page, "emotions")

    _click_bar(page, "needs", _bar_index(page, "needs", "加快发货速度"), horizontal=True)
    assert "/feedback/" in page.url
    assert _listed(page, "tr.inbox-row") == set(faster)

    page.goto(f"{live_server.url}/insights/emotions/?period=30")
    _charts_drawn(page, ["emotions"])
    _click_bar(page, "emotions", _bar_index(page, "emotions", "emotion=disappointment"), horizontal=False)
    assert "emotion=disappointment" in page.url
    _charts_drawn(page, ["words"])
    _click_bar(page, "words", _bar_index(page, "words", "失望"), horizontal=True)
    assert _listed(page, "tr.inbox-row") == set(night)
