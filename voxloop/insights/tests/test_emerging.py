"""The emerging-topics page: start a run, see its clusters, open a cluster's items, adopt it as a topic."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from voxloop.accounts.models import Role, User
from voxloop.analysis import emerging
from voxloop.analysis.models import EmergingCluster, EmergingRun, FeedbackTopic, Topic
from voxloop.analysis.tests.test_emerging import make_feedback, themes

pytestmark = pytest.mark.django_db
PAGE = reverse("dashboards:emerging")


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return client


@pytest.fixture
def viewer(db) -> User:
    return User.objects.create_user(username="vera-viewer", password="pw-for-tests", role=Role.VIEWER)


def chart_options(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="insight-charts" type="application/json">') + len(
        '<script id="insight-charts" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def battery(run: EmergingRun) -> EmergingCluster:
    return next(c for c in run.clusters.all() if "battery" in c.keywords[:3])


def test_an_analyst_starts_a_run_and_sees_its_clusters(client, analyst, django_capture_on_commit_callbacks):
    ids = themes()
    client.force_login(analyst)
    empty = client.get(PAGE)
    assert empty.status_code == 200 and "No finished run yet" in empty.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(PAGE, {"days": "90"})
    assert started.status_code == 302 and started.url == PAGE
    run = EmergingRun.objects.get()
    assert run.status == "done" and run.created_by == analyst and run.days == 90
    page = client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    # one bar per cluster, each opening the cluster's items, coloured by growth (battery is new: red)
    bars = chart_options(page)["clusters"]["series"][0]["data"]
    assert sorted(b["value"] for b in bars) == [8, 8]
    cluster = battery(run)
    bar = next(b for b in bars if b["url"] == reverse("dashboards:emerging_cluster", args=[cluster.pk]))
    assert bar["itemStyle"]["color"] == "#c0392b" and "battery" in bar["name"]
    assert "battery" in html and "蓝牙" in html
    for example in cluster.examples:
        assert reverse("feedback:detail", args=[example["id"]]) in html
    # analysts do not adopt
    assert reverse("dashboards:emerging_adopt", args=[cluster.pk]) not in html
    # the cluster's page lists exactly its items
    listing = client.get(bar["url"]).content.decode()
    for pk in ids["battery"]:
        assert f'data-feedback="{pk}"' in listing
    for pk in ids["bluetooth"] + ids["delivery"]:
        assert f'data-feedback="{pk}"' not in listing


def test_the_clusters_table_exports_as_csv(client, analyst):
    themes()
    emerging.find_emerging_topics()
    client.force_login(analyst)
    response = client.get(PAGE, {"export": "csv", "chart": "clusters"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert "Cluster" in body.splitlines()[0] and "battery" in body and "蓝牙" in body


def test_the_page_polls_a_running_run_and_reloads_when_it_is_done(client, analyst):
    run = emerging.create_run(user=analyst)
    client.force_login(analyst)
    html = client.get(PAGE).content.decode()
    poll = reverse("dashboards:emerging_run", args=[run.pk])
    assert f'hx-get="{poll}"' in html and 'hx-trigger="every 1s"' in html
    assert "disabled>" in html  # one run at a time: the start button waits
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_X_EMERGING_POLL": "1"}
    assert "HX-Refresh" not in client.get(poll, **headers)
    emerging.execute_run(run.pk)  # too few items: done without clusters
    done = client.get(poll, **headers)
    assert done["HX-Refresh"] == "true" and 'data-status="done"' in done.content.decode()
    assert "too few uncovered items" in client.get(PAGE).content.decode()


def test_a_second_run_while_one_is_running_is_refused_with_a_message(client, analyst):
    emerging.create_run(user=analyst)
    client.force_login(analyst)
    response = client.post(PAGE, {"days": "90"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "still running" in response.content.decode()
    assert EmergingRun.objects.count() == 1


@pytest.mark.parametrize("persona", ["viewer", "agent"])
def test_who_may_start_runs(client, persona, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(PAGE).status_code == (200 if persona == "viewer" else 403)
    assert client.post(PAGE, {"days": "90"}).status_code == 403
    assert not EmergingRun.objects.exists()


def test_an_admin_adopts_a_cluster_and_new_feedback_gets_the_topic(
    client, admin_user, django_capture_on_commit_callbacks
):
    ids = themes()
    run = emerging.find_emerging_topics()
    cluster = battery(run)
    client.force_login(admin_user)
    assert reverse("dashboards:emerging_adopt", args=[cluster.pk]) in client.get(PAGE).content.decode()
    url = reverse("dashboards:emerging_adopt", args=[cluster.pk])
    form = client.get(url)
    html = form.content.decode()
    # prefilled from the keywords
    assert form.status_code == 200 and 'value="battery' in html and "battery\n" in html
    data = {"code": "battery", "parent": "", "name_zh": "电池续航", "name_en": "Battery life",
            "phrases_zh": "电池\n掉电", "phrases_en": "battery\ndrains", "reanalyze": "on"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302
    topic = Topic.objects.get(code="battery")
    assert topic.phrases_zh == ["电池", "掉电"] and topic.name_en == "Battery life"
    cluster.refresh_from_db()
    assert cluster.adopted_topic == topic and cluster.adopted_by == admin_user
    assert set(FeedbackTopic.objects.filter(code="battery").values_list("feedback_id", flat=True)) == set(
        ids["battery"]
    )
    (new,) = make_feedback(["手机掉电太快了"], source="later")
    assert FeedbackTopic.objects.filter(feedback_id=new, code="battery").exists()
    page = client.get(response.url).content.decode()
    assert "Created the topic battery" in page and "Adopted as topic battery" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "Not A Code"}, "lower-case letters"),
        ({"code": "logistics"}, "already exists"),
        ({"code": "defect", "parent": "quality"}, "quality.defect already exists"),
        ({"phrases_zh": "", "phrases_en": "  "}, "at least one phrase"),
        ({"name_zh": ""}, "This field is required"),
    ],
)
def test_a_bad_adoption_form_comes_back_with_its_errors(client, admin_user, change, message):
    themes()
    cluster = battery(emerging.find_emerging_topics())
    client.force_login(admin_user)
    data = {"code": "battery", "parent": "", "name_zh": "电池", "name_en": "Battery", "phrases_zh": "电池",
            "phrases_en": "battery", **change}  # fmt: skip
    count = Topic.objects.count()
    response = client.post(reverse("dashboards:emerging_adopt", args=[cluster.pk]), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert Topic.objects.count() == count
    cluster.refresh_from_db()
    assert cluster.adopted_topic is None


@pytest.mark.parametrize("persona", ["analyst", "manager", "viewer"])
def test_only_admins_adopt(client, persona, request):
    themes()
    cluster = battery(emerging.find_emerging_topics())
    client.force_login(request.getfixturevalue(persona))
    url = reverse("dashboards:emerging_adopt", args=[cluster.pk])
    assert client.get(url).status_code == 403
    data = {"code": "battery", "name_zh": "电池", "name_en": "Battery", "phrases_en": "battery"}
    assert client.post(url, data).status_code == 403
    assert not Topic.objects.filter(code="battery").exists()
