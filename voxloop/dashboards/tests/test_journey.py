"""Journey map: touchpoint figures from the topic roll-ups, pain points, drill links, and the editor."""

from __future__ import annotations

import json
from datetime import date, datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.analysis.models import Topic
from voxloop.dashboards.filters import parse_filters
from voxloop.dashboards.journey import journey
from voxloop.dashboards.models import Touchpoint
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.metrics import services
from voxloop.metrics.tests.conftest import make_feedback

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
PARAMS = {"period": "custom", "start": "2026-03-01", "end": "2026-03-10"}


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def test_the_default_journey_is_seeded_in_order_from_taxonomy_topics():
    touchpoints = list(Touchpoint.objects.filter(is_active=True))
    assert [t.code for t in touchpoints] == ["awareness", "purchase", "payment", "delivery", "installation", "use",
                                             "after-sales", "renewal"]  # fmt: skip
    codes = {c for t in touchpoints for c in t.topic_codes}
    assert codes <= set(Topic.objects.values_list("code", flat=True))  # every mapped topic exists
    assert Touchpoint.objects.get(code="delivery").topic_codes == ["logistics"]


@pytest.fixture
def feedback(db):
    """Logistics: 4 items (3 negative, sentiment -0.5 x3 and 0.5); refund: 2 items (1 negative, -1.0 and 0);
    quality: 1 positive (0.8). One item mentions both refund and attitude (one touchpoint: after-sales).
    Two complaints about price.billing (renewal, a sub-topic)."""
    moment = datetime(2026, 3, 3, 12, tzinfo=SH)
    for _ in range(3):
        make_feedback(moment, sentiment="negative", score=-0.5, kind="complaint", topics=("logistics",))
    make_feedback(moment, sentiment="positive", score=0.5, topics=("logistics",))
    make_feedback(moment, sentiment="negative", score=-1.0, kind="complaint", topics=("refund", "attitude"))
    make_feedback(moment, sentiment="neutral", score=0.0, topics=("refund",))
    make_feedback(moment, sentiment="positive", score=0.8, topics=("quality",))
    for _ in range(2):
        make_feedback(moment, sentiment="negative", score=-0.6, kind="complaint", topics=("price.billing",))
    services.rebuild(since=date(2026, 2, 1), until=date(2026, 3, 10))


def test_touchpoint_figures_and_pain_points(feedback):
    result = journey(parse_filters(PARAMS, TODAY), "en")
    rows = {r.touchpoint.code: r.figures for r in result.rows}
    assert rows["delivery"].n == 4 and rows["delivery"].negative == 3
    assert rows["delivery"].negative_share == pytest.approx(0.75)
    assert rows["delivery"].sentiment == pytest.approx((-1.5 + 0.5) / 4)
    # after-sales = refund + attitude + speed: the item about refund and attitude counts once per topic
    assert rows["after-sales"].n == 3 and rows["after-sales"].negative == 2
    assert rows["after-sales"].sentiment == pytest.approx((-1.0 + 0.0 - 1.0) / 3)
    assert rows["use"].n == 1 and rows["use"].negative == 0 and rows["awareness"].n == 0
    # renewal covers a sub-topic: measured from the roll-ups' sub-topic rows
    assert rows["renewal"].n == 2 and rows["renewal"].negative == 2 and rows["renewal"].complaints == 2
    assert rows["renewal"].sentiment == pytest.approx(-0.6)
    # payment's account topic... price.billing items also mention price: purchase counts them
    assert rows["purchase"].n == 2 and rows["purchase"].negative == 2
    pains = [(p.touchpoint.code, p.code) for p in result.pain_points]
    assert pains[0] == ("delivery", "logistics")  # 3 negative mentions
    assert pains[1] == ("purchase", "price")  # 2 negative, share 100%
    assert pains.index(("after-sales", "attitude")) < pains.index(("after-sales", "refund"))  # 1/1 beats 1/2


def test_page_chart_drills_to_pain_points_then_to_the_feedback(client, analyst, feedback):
    client.force_login(analyst)
    response = client.get("/insights/journey/", PARAMS)
    assert response.status_code == 200
    options = json.loads(json.dumps(response.context["chart_options"]))
    journey_chart = options["journey"]
    assert journey_chart["xAxis"]["data"][:4] == ["Awareness", "Purchase", "Payment", "Delivery"]
    delivery_bar = journey_chart["series"][0]["data"][3]
    assert delivery_bar["value"] == 4 and "touchpoint=delivery" in delivery_bar["url"]
    assert journey_chart["series"][2]["data"][3]["value"] == pytest.approx(-0.25)
    assert b"counts once per topic" in response.content
    # the touchpoint's bar opens the same page narrowed to its pain points
    narrowed = client.get("/insights/journey/" + delivery_bar["url"].split("#")[0])
    pain = json.loads(json.dumps(narrowed.context["chart_options"]["pain_points"]))
    assert pain["yAxis"]["data"] == ["Delivery · Logistics and delivery"]
    url = pain["series"][0]["data"][0]["url"]
    assert "topic=logistics" in url and "sentiment=negative" in url
    assert client.get(url).status_code == 200
    items = filter_feedback(InboxFilters.from_params(dict(parse_qsl(url.split("?", 1)[1]))))
    assert items.count() == 3 and all(f.sentiment == "negative" for f in items)


def test_a_cut_explains_that_the_journey_needs_all_feedback(client, analyst, feedback):
    client.force_login(analyst)
    response = client.get("/insights/journey/", {**PARAMS, "channel": "email"})
    assert response.status_code == 200 and b"Clear the filter" in response.content


def _formset_data(touchpoints: list[Touchpoint], **changes: dict) -> dict:
    data = {"tp-TOTAL_FORMS": str(len(touchpoints) + 1), "tp-INITIAL_FORMS": str(len(touchpoints)),
            "tp-MIN_NUM_FORMS": "0", "tp-MAX_NUM_FORMS": "30"}  # fmt: skip
    for i, t in enumerate(touchpoints):
        row = {"id": t.pk, "sort_order": t.sort_order, "code": t.code, "name_zh": t.name_zh, "name_en": t.name_en,
               "topic_codes": ", ".join(t.topic_codes), "is_active": "on" if t.is_active else ""}  # fmt: skip
        row.update(changes.get(t.code, {}))
        data.update({f"tp-{i}-{k}": v for k, v in row.items() if v != ""})
    # the empty extra row, posted as a browser posts it (its defaults filled in): it must be skipped
    n = len(touchpoints)
    data.update({f"tp-{n}-sort_order": "0", f"tp-{n}-is_active": "on", f"tp-{n}-code": "", f"tp-{n}-topic_codes": ""})
    return data


def test_admin_edits_touchpoints_and_errors_come_back_on_the_form(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/insights/journey/edit/").status_code == 200
    touchpoints = list(Touchpoint.objects.all())
    bad = _formset_data(touchpoints, delivery={"topic_codes": "logistics, no-such-topic"})
    response = client.post("/insights/journey/edit/", bad)
    assert response.status_code == 200
    assert "Unknown topic codes: no-such-topic" in response.content.decode()
    assert Touchpoint.objects.get(code="delivery").topic_codes == ["logistics"]  # nothing saved
    good = _formset_data(touchpoints, installation={"topic_codes": "repair.installation，logistics.damage"})
    n = len(touchpoints)
    good.update({f"tp-{n}-code": "returns", f"tp-{n}-name_zh": "退货", f"tp-{n}-name_en": "Returns",
                 f"tp-{n}-sort_order": "75", f"tp-{n}-topic_codes": "refund", f"tp-{n}-is_active": "on"})  # fmt: skip
    response = client.post("/insights/journey/edit/", good)
    assert response.status_code == 302
    assert Touchpoint.objects.get(code="installation").topic_codes == ["repair.installation", "logistics.damage"]
    assert Touchpoint.objects.get(code="returns").topic_codes == ["refund"]
    codes = [t.code for t in Touchpoint.objects.all()]
    assert codes.index("returns") == codes.index("after-sales") + 1


def test_only_admins_edit_the_journey(client, analyst):
    client.force_login(analyst)
    assert client.get("/insights/journey/").status_code == 200
    assert b"Edit the touchpoints" not in client.get("/insights/journey/").content
    assert client.get("/insights/journey/edit/").status_code == 403
