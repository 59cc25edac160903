"""The collision notice: the case page shows who else has the case open, and who is writing a reply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.cases import presence
from voxloop.cases.models import Case, Severity
from voxloop.cases.services import open_case
from voxloop.cases.tests.test_queue_flood import worker_database_url
from voxloop.settings import DATABASE_CACHE

SHOTS = Path("/tmp/desk")
REDIS_URL = os.environ.get("VOXLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def case(make_feedback, staffed_team) -> Case:
    return open_case([make_feedback()], Severity.NORMAL, team=staffed_team, now=timezone.now())


def test_others_see_viewers_and_repliers_but_not_themselves(case, team_agents, staffed_team):
    wang, zhang = team_agents
    lead = staffed_team.lead
    presence.mark(case.pk, wang, presence.VIEWING)
    presence.mark(case.pk, zhang, presence.REPLYING)
    assert [(p.name, p.replying) for p in presence.others(case.pk, lead)] == [
        ("zhang-agent", True),
        ("wang-agent", False),
    ]
    assert [p.name for p in presence.others(case.pk, wang)] == ["zhang-agent"]
    presence.mark(case.pk, zhang, presence.LEFT)
    assert [p.name for p in presence.others(case.pk, wang)] == []


def test_an_entry_nobody_renews_expires(case, team_agents, monkeypatch):
    wang, zhang = team_agents
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])  # the module presence reads the clock from
    presence.mark(case.pk, wang, presence.VIEWING)
    clock[0] += presence.TTL_SECONDS - 1
    assert [p.name for p in presence.others(case.pk, zhang)] == ["wang-agent"]
    clock[0] += 2
    assert presence.others(case.pk, zhang) == []  # the tab was closed without saying goodbye


def test_the_heartbeat_answers_who_else_is_here(client, case, team_agents, outsider):
    wang, zhang = team_agents
    presence.mark(case.pk, zhang, presence.REPLYING)
    client.force_login(wang)
    html = client.post(f"/cases/{case.pk}/presence/", {"state": "viewing"}).content.decode()
    assert "zhang-agent 正在给客户写回复。" in html  # the site default language, Chinese
    assert "wang-agent" not in html
    assert [p.name for p in presence.others(case.pk, zhang)] == ["wang-agent"]
    client.force_login(outsider)  # another team's agent cannot see the case, nor who works on it
    assert client.post(f"/cases/{case.pk}/presence/", {"state": "viewing"}).status_code == 404
    assert client.get(f"/cases/{case.pk}/presence/").status_code == 405


def test_a_strange_state_counts_as_viewing(client, case, team_agents):
    wang, zhang = team_agents
    client.force_login(wang)
    client.post(f"/cases/{case.pk}/presence/", {"state": "<script>"})
    assert [(p.name, p.replying) for p in presence.others(case.pk, zhang)] == [("wang-agent", False)]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_agents_on_one_case_see_each_other(settings, browser, live_server, case, team_agents):
    settings.ANALYZE_ON_INGEST = False
    wang, zhang = team_agents
    for user in team_agents:
        user.set_password("pw")
        user.save()
    pages = []
    for user, (locale, viewport) in zip(
        team_agents, [("zh-CN", {"width": 1440, "height": 900}), ("en-US", {"width": 390, "height": 844})], strict=True
    ):
        context = browser.new_context(locale=locale, viewport=viewport)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if locale == "en-US":
            page.select_option("select[name=language]", "en")
            expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(f"{live_server.url}/cases/{case.pk}/")
        pages.append(page)
    wang_page, zhang_page = pages
    # Wang opened the case first: his page learns of Zhang at its next poll.
    expect(wang_page.locator("#case-presence")).to_contain_text("zhang-agent 正在查看这个工单。", timeout=15_000)
    expect(zhang_page.locator("#case-presence")).to_contain_text("wang-agent is viewing this case.")
    wang_page.fill("#id_reply-text", "您好，我们已经安排补发。")
    wang_page.locator("#id_reply-text").dispatch_event("input")
    expect(zhang_page.locator("#case-presence .replying")).to_contain_text(
        "wang-agent is writing a reply to the customer now.", timeout=15_000
    )
    SHOTS.mkdir(exist_ok=True)
    wang_page.screenshot(path=str(SHOTS / "presence-zh-1440.png"))
    zhang_page.screenshot(path=str(SHOTS / "presence-en-390.png"))
    wang_page.close()  # leaving says goodbye
    expect(zhang_page.locator("#case-presence")).not_to_contain_text("wang-agent", timeout=15_000)
    for page in pages:
        page.context.close()


def _shared_caches(kind: str) -> dict:
    """The caches a deployment shares between its web processes: the database cache (no REDIS_URL), or Redis."""
    if kind == "database":
        return {"default": DATABASE_CACHE}
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}); set VOXLOOP_TEST_REDIS_URL")
    backend = "django.core.cache.backends.redis.RedisCache"
    return {"default": {"BACKEND": backend, "LOCATION": REDIS_URL, "KEY_PREFIX": f"presence-{uuid.uuid4().hex}"}}


def test_the_database_cache_keeps_presence_among_many_other_entries(settings, case, team_agents):
    """A default install (no Redis) keeps the notice in the database cache, with the rate limits, page timings
    and search totals. Django's database cache, past 300 entries, deletes a third of them in key order, live
    ones too: a colleague's "viewing" vanished from the notice on a busy desk."""
    settings.CACHES = {"default": DATABASE_CACHE}
    call_command("createcachetable", verbosity=0)
    wang, zhang = team_agents
    presence.mark(case.pk, wang, presence.VIEWING)
    for n in range(400):  # e.g. rate-limit counters of 400 clients
        cache.set(f"rl:{n}", n, 600)
    assert [p.name for p in presence.others(case.pk, zhang)] == ["wang-agent"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_agents_served_by_different_web_processes_see_each_other(kind, settings, case, team_agents, tmp_path):
    """Production runs several web processes; each agent's heartbeat may reach any of them. The notice lives in
    the cache they share, so an agent whose page is served by one process sees the agent served by another."""
    settings.CACHES = _shared_caches(kind)
    if kind == "database":
        call_command("createcachetable", verbosity=0)  # as `make setup` and the deployment steps do
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "voxloop.cases.tests.presence_settings",
        "VOXLOOP_PRESENCE_DATABASE_URL": worker_database_url(tmp_path),  # the workers' way to this test's database
        "VOXLOOP_PRESENCE_CACHES": json.dumps(settings.CACHES),
    }

    # Two web processes, as a deployment runs them; each agent's page is served by its own one.
    servers: dict[int, subprocess.Popen[str]] = {
        user.pk: subprocess.Popen(
            [sys.executable, "-m", "voxloop.cases.tests.presence_client"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for user in team_agents
    }
    try:
        for server in servers.values():
            assert server.stdin and server.stdout
            assert json.loads(server.stdout.readline() or "{}").get("ready"), "a web process did not start"

        def heartbeat(user, state: str) -> str:
            server = servers[user.pk]
            assert server.stdin and server.stdout
            server.stdin.write(f"{case.pk} {user.username} {state}\n")
            server.stdin.flush()
            answer = json.loads(server.stdout.readline())
            assert answer["status"] == 200
            return answer["html"]

        wang, zhang = team_agents
        assert "zhang-agent" not in heartbeat(wang, "viewing")  # Wang is alone on the case
        assert "wang-agent 正在查看这个工单。" in heartbeat(zhang, "replying")
        assert "zhang-agent 正在给客户写回复。" in heartbeat(wang, "viewing")
        heartbeat(zhang, "left")
        assert "zhang-agent" not in heartbeat(wang, "viewing")
    finally:
        for server in servers.values():
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=30)
