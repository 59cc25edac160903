"""Journey map: touchpoint figures from the topic roll-ups, pain points, drill links, and the editor."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.analysis.models import Topic
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.insights.filters import parse_filters
from voxloop.insights.journey import journey
from voxloop.insights.models import Touchpoint
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
    assert "topic=logistics" in url and "aspect=negative" in url  # the topic negative itself (its own polarity)
    assert client.get(url).status_code == 200
    items = filter_feedback(InboxFilters.from_params(dict(parse_qsl(url.split("?", 1)[1]))))
    assert items.count() == 3 and all(f.sentiment == "negative" for f in items)


def _figures(result) -> dict:
    return {(r.touchpoint.code, code): (f.n, f.negative, round(f.sent_sum, 9), f.sent_n, f.complaints)
            for r in result.rows for code, f in r.topics}  # fmt: skip


def test_a_filter_covering_every_item_gives_the_same_journey(client, analyst, feedback):
    """Every item of the fixture came by email: the email filter's per-topic sums give exactly the figures of
    the topic and sub-topic rows."""
    everything = journey(parse_filters(PARAMS, TODAY), "en")
    by_email = journey(parse_filters({**PARAMS, "channel": "email"}, TODAY), "en")
    assert _figures(by_email) == _figures(everything)
    assert [(p.touchpoint.code, p.code) for p in by_email.pain_points] == [
        (p.touchpoint.code, p.code) for p in everything.pain_points
    ]
    client.force_login(analyst)
    response = client.get("/insights/journey/", {**PARAMS, "channel": "email"})
    assert response.status_code == 200 and b"Clear the filter" not in response.content
    assert response.context["chart_options"]["journey"]["series"][0]["data"][3]["value"] == 4
    assert journey(parse_filters({**PARAMS, "channel": "app"}, TODAY), "en").rows[3].figures.n == 0


@pytest.fixture
def two_products(db):
    """Product A: 2 negative logistics complaints (-0.5 each), 1 negative price.billing complaint (-0.6).
    Product B: logistics 1 positive (0.5) and 1 neutral without a score; quality 1 positive (0.8)."""
    from voxloop.feedback.models import Product

    a = Product.objects.create(code="A", name="A")
    b = Product.objects.create(code="B", name="B")
    moment = datetime(2026, 3, 3, 12, tzinfo=SH)
    for _ in range(2):
        make_feedback(moment, product=a, sentiment="negative", score=-0.5, kind="complaint", topics=("logistics",))
    make_feedback(moment, product=a, sentiment="negative", score=-0.6, kind="complaint", topics=("price.billing",))
    make_feedback(moment, product=b, sentiment="positive", score=0.5, topics=("logistics",))
    make_feedback(moment, product=b, sentiment="neutral", topics=("logistics",))
    make_feedback(moment, product=b, sentiment="positive", score=0.8, topics=("quality",))
    services.rebuild(since=date(2026, 2, 1), until=date(2026, 3, 10))
    return a, b


def test_a_product_filter_gives_that_products_journey(two_products):
    a, b = two_products
    in_a = {r.touchpoint.code: r.figures for r in journey(parse_filters({**PARAMS, "product": str(a.pk)}, TODAY),
                                                             "en").rows}  # fmt: skip
    assert (in_a["delivery"].n, in_a["delivery"].negative, in_a["delivery"].complaints) == (2, 2, 2)
    assert in_a["delivery"].sentiment == pytest.approx(-0.5)
    # renewal = the sub-topic price.billing, from the sub-topic sums of A's rows; purchase = price counts it too
    assert (in_a["renewal"].n, in_a["renewal"].negative, in_a["renewal"].complaints) == (1, 1, 1)
    assert in_a["renewal"].sentiment == pytest.approx(-0.6) and in_a["purchase"].n == 1
    assert in_a["use"].n == 0 and in_a["use"].sentiment is None
    in_b = {r.touchpoint.code: r.figures for r in journey(parse_filters({**PARAMS, "product": str(b.pk)}, TODAY),
                                                             "en").rows}  # fmt: skip
    # B's logistics: two mentions, one scored (0.5); nothing negative
    assert (in_b["delivery"].n, in_b["delivery"].negative, in_b["delivery"].sent_n) == (2, 0, 1)
    assert in_b["delivery"].sentiment == pytest.approx(0.5) and in_b["delivery"].negative_share == 0
    assert in_b["use"].n == 1 and in_b["use"].sentiment == pytest.approx(0.8)
    assert in_b["renewal"].n == 0 and in_b["purchase"].n == 0


def test_under_a_product_filter_pain_points_drill_to_that_products_feedback(client, analyst, two_products):
    a, _b = two_products
    make_feedback(datetime(2026, 3, 4, 12, tzinfo=SH), sentiment="negative", score=-0.9, topics=("logistics",))
    services.rebuild(since=date(2026, 3, 4), until=date(2026, 3, 4))  # a negative logistics item of no product
    client.force_login(analyst)
    response = client.get("/insights/journey/", {**PARAMS, "product": str(a.pk), "touchpoint": "delivery"})
    assert response.status_code == 200 and b"Clear the filter" not in response.content
    pain = response.context["chart_options"]["pain_points"]
    [bar] = pain["series"][0]["data"]
    assert bar["value"] == 2 and f"product_id={a.pk}" in bar["url"]
    items = filter_feedback(InboxFilters.from_params(dict(parse_qsl(bar["url"].split("?", 1)[1]))))
    assert items.count() == 2 and {f.product_id for f in items} == {a.pk}


def test_a_team_filter_says_feedback_has_no_team(client, analyst, feedback):
    from voxloop.accounts.models import Team

    team = Team.objects.create(name="Hotline")
    client.force_login(analyst)
    response = client.get("/insights/journey/", {**PARAMS, "team": str(team.pk)})
    assert response.status_code == 200 and b"not assigned to teams" in response.content
    assert response.context["chart_options"] == {}


def _formset_data(touchpoints: list[Touchpoint], **changes: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"tp-TOTAL_FORMS": str(len(touchpoints) + 1), "tp-INITIAL_FORMS": str(len(touchpoints)),
            "tp-MIN_NUM_FORMS": "0", "tp-MAX_NUM_FORMS": "30"}  # fmt: skip
    for i, t in enumerate(touchpoints):
        row = {"id": t.pk, "sort_order": t.sort_order, "code": t.code, "name_zh": t.name_zh, "name_en": t.name_en,
               "topic_codes": list(t.topic_codes), "is_active": "on" if t.is_active else ""}  # fmt: skip
        row.update(changes.get(t.code, {}))
        data.update({f"tp-{i}-{k}": v for k, v in row.items() if v not in ("", [])})
    # the empty extra row, posted as a browser posts it (its defaults filled in): it must be skipped
    n = len(touchpoints)
    data.update({f"tp-{n}-sort_order": "0", f"tp-{n}-is_active": "on", f"tp-{n}-code": ""})
    return data


def test_admin_edits_touchpoints_and_errors_come_back_on_the_form(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/insights/journey/edit/").status_code == 200
    touchpoints = list(Touchpoint.objects.all())
    page = client.get("/insights/journey/edit/").content.decode()
    assert '<option value="logistics" selected>Logistics and delivery</option>' in page  # chosen by name
    assert "Chosen: Logistics and delivery<" in page  # and said in a line, since a list box scrolls
    intro = page.split("</h1>", 1)[1].split("</p>", 1)[0]
    assert "chosen by name" in intro and "logistics" not in intro  # the help teaches names, no codes
    bad = _formset_data(touchpoints, delivery={"topic_codes": ["logistics", "no-such-topic"]})
    response = client.post("/insights/journey/edit/", bad)
    assert response.status_code == 200
    assert "“no-such-topic” is not a topic of the taxonomy; choose topics from the list." in response.content.decode()
    empty = _formset_data(touchpoints, delivery={"topic_codes": []})
    assert "Choose at least one topic." in client.post("/insights/journey/edit/", empty).content.decode()
    assert Touchpoint.objects.get(code="delivery").topic_codes == ["logistics"]  # nothing saved
    good = _formset_data(touchpoints, installation={"topic_codes": ["repair.installation", "logistics.damage"]})
    n = len(touchpoints)
    good.update({f"tp-{n}-code": "returns", f"tp-{n}-name_zh": "退货", f"tp-{n}-name_en": "Returns",
                 f"tp-{n}-sort_order": "75", f"tp-{n}-topic_codes": ["refund"], f"tp-{n}-is_active": "on"})  # fmt: skip
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
