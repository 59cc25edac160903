"""Keyboard shortcuts on the case list, the case page and the feedback inbox, in a real Chromium, in Chinese and
in English: j/k move a visible selection (also onto rows htmx loads later), Enter/o open, r/n go to the reply and
the note, / to the search box, ? opens the help dialog and Esc closes it, the focus going back where it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.cases import queries
from voxloop.cases.models import Case, Severity
from voxloop.cases.services import open_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/desk")
WORDS = {
    "zh-hans": {"title": "键盘快捷键", "next": "下一个工单", "reply": "给客户写回复", "feedback_next": "下一条反馈"},
    "en": {"title": "Keyboard shortcuts", "next": "Next case", "reply": "Write a reply to the customer",
           "feedback_next": "Next feedback item"},
}  # fmt: skip


@pytest.fixture
def three_cases(make_feedback, team) -> list[Case]:
    now = timezone.now()
    texts = ["快递三天没到", "包装破损", "发票开错了"]
    return [
        open_case([make_feedback(text, customer_id=f"K-{i}")], Severity.NORMAL, team=team, now=now)
        for i, text in enumerate(texts)
    ]


def row_ids(page) -> list[str]:
    return page.locator("#case-rows > tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_agent_works_the_desk_from_the_keyboard(
    settings, monkeypatch, login_page, live_server, manager, three_cases, language
):
    settings.ANALYZE_ON_INGEST = False
    monkeypatch.setattr(queries, "INBOX_PAGE_SIZE", 2)  # the third case comes with "More cases" (htmx)
    words = WORDS[language]
    page = login_page(manager)
    if language == "en":
        page.select_option("select[name=language]", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/cases/?tab=all")
    page.wait_for_load_state("networkidle")

    # ? opens the help as a modal dialog; Esc closes it and the focus goes back to where it was.
    hint = page.locator("[data-shortcut-help]")
    hint.click()
    help_dialog = page.get_by_role("dialog", name=words["title"])
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text(words["next"])
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"shortcuts-help-{language}.png"))
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    expect(hint).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    page.keyboard.press("j")  # nothing moves behind the open dialog
    expect(page.locator("tr.kb-current")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # j/k move a visible, focused selection through the rows.
    first, second = row_ids(page)
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-id="{first}"]')).to_be_focused()
    page.keyboard.press("j")
    current = page.locator(f'tr[data-id="{second}"]')
    expect(current).to_be_focused()
    expect(current).to_have_class(re.compile(r"\bkb-current\b"))
    assert current.evaluate("r => getComputedStyle(r).outlineStyle") == "solid"  # a visible focus ring
    page.screenshot(path=str(SHOTS / f"shortcuts-row-{language}.png"))
    page.keyboard.press("k")
    expect(page.locator(f'tr[data-id="{first}"]')).to_be_focused()

    # Rows htmx loads later are reached too.
    page.locator("#more-row a").click()
    expect(page.locator("#case-rows > tr[data-id]")).to_have_count(3)
    third = row_ids(page)[2]
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-id="{third}"]')).to_be_focused()
    page.keyboard.press("j")  # the last row stays selected
    expect(page.locator("tr.kb-current")).to_have_attribute("data-id", third)

    # / goes to the list's search box; keys typed there are text, not shortcuts; nor do modified keys fire.
    page.keyboard.press("/")
    search = page.locator("input[data-shortcut-search]")
    expect(search).to_be_focused()
    page.keyboard.type("jk?")
    expect(search).to_have_value("jk?")
    expect(help_dialog).to_be_hidden()
    search.fill("")
    page.locator(f'tr[data-id="{third}"]').focus()
    page.keyboard.press("Alt+k")
    page.keyboard.press("Control+k")
    expect(page.locator("tr.kb-current")).to_have_attribute("data-id", third)

    # k back to the first row, Enter opens it.
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/cases/{first}/$"))
    page.wait_for_load_state("networkidle")

    # On the case page r goes to the reply box and n to the internal note, without typing the letter.
    page.keyboard.press("r")
    reply = page.locator("#id_reply-text")
    expect(reply).to_be_focused()
    expect(reply).to_have_value("")
    page.keyboard.type("n?")
    expect(reply).to_have_value("n?")  # inside the box they are letters
    expect(help_dialog).to_be_hidden()
    reply.fill("")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("n")
    expect(page.locator("#id_note-text")).to_be_focused()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    expect(help_dialog).to_contain_text(words["reply"])
    page.screenshot(path=str(SHOTS / f"shortcuts-case-{language}.png"))
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator(".topsearch input")).to_be_focused()  # the global search in the top bar

    # The feedback inbox: j selects the newest item, o opens it.
    page.goto(f"{live_server.url}/feedback/")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("?")
    expect(help_dialog).to_contain_text(words["feedback_next"])
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    selected = page.locator("#inbox-rows > tr.kb-current")
    expect(selected).to_be_focused()
    item = selected.get_attribute("data-id")
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(rf"/feedback/{item}/$"))
