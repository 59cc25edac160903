"""An agent works a case in a real headless Chromium: inbox, case page, canned reply, public reply, resolve."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import timezone

from voxloop.analysis.models import Topic
from voxloop.cases.macros import save_macro
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind, Severity, SLAPolicy
from voxloop.cases.services import open_case
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def team_case(team) -> Case:
    # A transactional test starts with empty tables: put back the default SLA policies and one taxonomy topic.
    if not SLAPolicy.objects.exists():
        importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies").create_defaults(
            apps, None
        )
    Topic.objects.get_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    result = ingest_feedback(
        [
            FeedbackInput(
                text="快递一个星期还没到，客服电话也打不通",
                channel="webform",
                received_at=timezone.now(),
                source="browser-test",
                external_id="b-1",
                customer_id="C-9",
                customer_name="李女士",
                email="li@example.com",
            )
        ]
    )
    return open_case(result.created, Severity.IMPORTANT, team=team, title="快递延误")


def test_agent_replies_with_a_macro_and_resolves_the_case(login_page, agent, team_case, live_server):
    save_macro(None, title="延误致歉", body="{customer_name}您好，工单{case_number}已受理，我们正在催促快递。")
    page = login_page(agent)
    page.goto(f"{live_server.url}/cases/")
    page.click("nav.case-tabs a[data-tab=team]")
    page.wait_for_load_state("networkidle")
    row = page.locator("tr.case-row")
    assert row.count() == 1
    assert "快递延误" in row.first.inner_text()
    assert row.first.locator(".countdown[data-due]:visible").count() == 1
    # On a phone the row keeps its status and next due time in view (under the title), without scrolling sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert row.first.locator(".countdown[data-due]:visible").count() == 1
    assert row.first.locator(".badge.status-new:visible, .badge.status-open:visible").count() == 1
    box = row.first.locator(".countdown[data-due]:visible").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    page.set_viewport_size({"width": 1440, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "case-inbox.png"), full_page=True)

    row.first.locator("a", has_text=team_case.number).click()
    page.wait_for_load_state("networkidle")
    assert team_case.number in page.locator("h1").inner_text()
    page.click("button[name=take]")
    page.wait_for_load_state("networkidle")
    assert agent.username in page.locator("#case-assignee").inner_text()

    # The picker inserts the macro, rendered for this case, into the reply box.
    page.select_option("#macro-picker", label="延误致歉")
    reply = page.locator("#id_reply-text")
    assert reply.input_value() == f"李女士您好，工单{team_case.number}已受理，我们正在催促快递。"
    reply.fill(reply.input_value() + " 预计明天送达。")
    page.click("button[name=send]")
    page.wait_for_load_state("networkidle")
    assert "预计明天送达" in page.locator("ol.timeline li.kind-public_reply").inner_text()

    page.click("#resolve-box summary")
    page.click("button[name=resolve]")  # nothing chosen: the browser's own required check, or our error
    page.wait_for_load_state("networkidle")
    assert Case.objects.get(pk=team_case.pk).status != CaseStatus.RESOLVED
    if not page.locator("#resolve-box[open]").count():
        page.click("#resolve-box summary")
    page.select_option("#id_resolve-root_cause", "logistics")
    page.fill("#id_resolve-resolution", "已联系快递公司加急派送，客户已签收。")
    page.click("button[name=resolve]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#case-status").inner_text() in {"已解决", "Resolved"}
    page.screenshot(path=str(SHOTS / "case-resolved.png"), full_page=True)

    case = Case.objects.get(pk=team_case.pk)
    assert (case.status, case.root_cause, case.assignee) == (CaseStatus.RESOLVED, "logistics", agent)
    assert case.first_responded_at is not None
    reply_event = CaseEvent.objects.get(case=case, kind=EventKind.PUBLIC_REPLY)
    assert reply_event.payload["text"].endswith("预计明天送达。")
