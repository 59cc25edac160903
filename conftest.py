"""Shared fixtures: personas (one user per role), a team, a real headless Chromium, and tallies."""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections import defaultdict
from typing import Any

import pytest
from _pytest.nodeid import NodeId

pytest_plugins = [
    "voxloop.feedback.tests.fixtures",
]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Tests start without the shipped teams and routing rules (automation migration 0003), as after a flush:
    each test builds the routing it checks; voxloop/automation/tests/test_default_setup.py loads the shipped
    set-up explicitly."""
    from django.apps import apps

    shipped = importlib.import_module("voxloop.automation.migrations.0003_default_teams_and_routing")
    with django_db_blocker.unblock():
        shipped.remove_shipped(apps, None)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Every test starts with an empty cache, as it starts with a clean database. The test cache is one LocMemCache
    for the whole run, while the database rolls back and hands out the same primary keys again: without this, an
    entry a previous test left (who is on case 1, a rate-limit counter) would speak for the next test's rows."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package (see .ci/run).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls in tests are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; fails the test on any console error or uncaught page error."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


@pytest.fixture
def login_page(page, live_server):
    """Log a user in through the real login form; returns a function(user, password) -> page."""

    def _login(user, password: str = "pw-for-tests"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return _login


# --- tallies: figures some tests report about themselves, printed at the end of the run -----------------------


class Tally:
    """Counts a test adds up while it runs (examples hypothesis generated, operations schemathesis called), so
    that the end of every run says how much was really tried, not only that it passed. Each xdist worker hands
    its figures to the controller in its workeroutput; the controller sums them in the terminal summary."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, topic: str, **counts: int) -> None:
        for key, n in counts.items():
            self.counts[topic][key] += n

    def distinct(self, topic: str, key: str, label: str) -> None:
        """Counts ``label`` once however often it is seen (an operation called by many examples)."""
        self.labels[topic][key].add(label)

    def as_plain(self) -> dict[str, Any]:
        """Plain dicts and lists, which xdist can send from a worker."""
        return {
            "counts": {t: dict(d) for t, d in self.counts.items()},
            "labels": {t: {k: sorted(v) for k, v in d.items()} for t, d in self.labels.items()},
        }

    def merge(self, plain: dict[str, Any]) -> None:
        for topic, values in plain.get("counts", {}).items():
            self.add(topic, **values)
        for topic, values in plain.get("labels", {}).items():
            for key, names in values.items():
                self.labels[topic][key].update(names)


TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


# What makes a test touch the database: pytest-django's marker, or one of its fixtures (directly or through ours).
_DATABASE_FIXTURES = frozenset({
    "db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server",
})  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that use the database (or are marked postgres); the others ran in the SQLite pass",
    )


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") or item.get_closest_marker("postgres"):
        return True
    return bool(_DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))


def _database_tests_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--database-tests-only` (the PostgreSQL pass of scripts/run-tests): a test that cannot reach the database
    gives the same result on every engine, and the SQLite pass has just run it. Not running it a second time saves
    the second run of the model-training, statistics and rule-language tests, about a third of the suite."""
    if not config.getoption("--database-tests-only"):
        return
    skipped = [item for item in items if not _uses_database(item)]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if _uses_database(item)]


def _put_xdist_groups_back(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the `xdist_group` name back into each marked test's id, so `--dist loadgroup` keeps a group on one
    worker.

    pytest-xdist 3.8 appends `@group` to `item._nodeid`, which pytest 9 no longer reads: the id comes from the
    structured `item._id`. The groups then ran on both workers at once, and the tests that move the one model
    pointer under DATA_DIR (analysis test_retrain, test_jobs, test_adapt_job) read each other's switch. With
    pytest 8 xdist's own suffix is already there and nothing changes here.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})  # fmt: skip
        if names and "@" not in item.nodeid and getattr(item, "_id", None) is not None:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


def _slow_tests_first(items: list[pytest.Item]) -> None:
    """Start the tests marked `slow` first within each of pytest-django's blocks (database tests, transactional
    tests, tests without a database), never moving a test into another block: a transactional test empties the
    tables the migrations filled, which is why pytest-django runs those after the others.

    `--dist loadgroup` hands the tests out in collection order; a test of several minutes that comes last (the
    page sweep in tests/, the model training in voxloop_nlp/) keeps one worker busy long after the other has run
    out of work. Started early in its block, the short tests fill in around it.
    """
    blocks = [_django_block(item) for item in items]
    if blocks != sorted(blocks):  # not the order pytest-django left: leave it as it is
        return
    slow_last = {id(item): item.get_closest_marker("slow") is None for item in items}
    items.sort(key=lambda item: (_django_block(item), slow_last[id(item)]))


def _django_block(item: pytest.Item) -> int:
    """The order number pytest-django sorted by (its pytest_collection_modifyitems): 0 database, 1 transactional,
    2 no database. The suite has no Django TestCase classes, so markers and fixtures decide."""
    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
                                     or (marker.args and marker.args[0])))  # fmt: skip
    if transactional or {"transactional_db", "live_server"} & fixtures:
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _database_tests_only(config, items)
    _slow_tests_first(items)
    _put_xdist_groups_back(config, items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds it up (pytest_testnodedown)
        workeroutput["tally"] = json.dumps(TALLY.as_plain())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:  # xdist, in the controller, as each worker ends
    plain = getattr(node, "workeroutput", {}).get("tally")
    if plain:
        TALLY.merge(json.loads(plain))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    for topic in sorted(set(TALLY.counts) | set(TALLY.labels)):
        figures = {**{k: len(v) for k, v in TALLY.labels[topic].items()}, **TALLY.counts[topic]}
        terminalreporter.write_line(f"{topic}: " + " ".join(f"{k}={v}" for k, v in figures.items()))
