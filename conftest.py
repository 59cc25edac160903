"""Shared fixtures: personas (one user per role), a team, a real headless Chromium, and tallies."""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

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

# One folder per run (the controller's process id), handed to the xdist workers: two runs at once in one checkout
# must not add up each other's figures.
TALLY_ROOT = Path(__file__).resolve().parent / "var" / "tallies"


class Tally:
    """Counts a test adds up while it runs (examples hypothesis generated, operations schemathesis called), so
    that the end of every run says how much was really tried, not only that it passed. Each xdist worker writes
    its own file; the controller sums them in the terminal summary."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, topic: str, **counts: int) -> None:
        for key, n in counts.items():
            self.counts[topic][key] += n

    def distinct(self, topic: str, key: str, label: str) -> None:
        """Counts ``label`` once however often it is seen (an operation called by many examples)."""
        self.labels[topic][key].add(label)

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "labels": {t: {k: sorted(v) for k, v in d.items()} for t, d in self.labels.items()},
        }


TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


def _tally_dir(config: pytest.Config) -> Path:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return Path(workerinput["tally_dir"])
    return TALLY_ROOT / str(os.getpid())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # xdist, in the controller, for each worker it starts
    node.workerinput["tally_dir"] = str(_tally_dir(node.config))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if TALLY.counts or TALLY.labels:
        folder = _tally_dir(session.config)
        folder.mkdir(parents=True, exist_ok=True)
        name = getattr(session.config, "workerinput", {}).get("workerid", "main")
        (folder / f"{name}.json").write_text(json.dumps(TALLY.as_json()))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    folder = _tally_dir(config)
    if not folder.is_dir():
        return
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        for topic, values in data["counts"].items():
            for key, n in values.items():
                counts[topic][key] += n
        for topic, values in data["labels"].items():
            for key, names in values.items():
                labels[topic][key].update(names)
    shutil.rmtree(folder, ignore_errors=True)
    for topic in sorted(set(counts) | set(labels)):
        figures = {**{k: len(v) for k, v in labels[topic].items()}, **counts[topic]}
        terminalreporter.write_line(f"{topic}: " + " ".join(f"{k}={v}" for k, v in figures.items()))
