"""Each kind of case row has its writers in one place (issue 14: "automation decides, cases write").

Read from the source with ast, so a new shortcut (a rule or a page creating CaseFeedback rows itself) fails
here before it can bypass the checks and the timeline event of the cases services."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create", "update", "delete", "save"}


def _writes_of(model: str) -> set[str]:
    """Files (outside tests and migrations) that construct ``model`` or call a write on ``model.objects``."""
    found = set()
    for path in sorted((ROOT / "voxloop").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "tests" in rel.parts or "migrations" in rel.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == model:
                found.add(rel.as_posix())
            # model.objects.<write>(...) and model.objects.filter(...).<write>(...)
            if isinstance(func, ast.Attribute) and func.attr in WRITES:
                target = func.value
                while isinstance(target, ast.Call | ast.Attribute):
                    target = target.func if isinstance(target, ast.Call) else target.value
                if isinstance(target, ast.Name) and target.id == model:
                    found.add(rel.as_posix())
    return found


def test_case_feedback_links_have_one_writer():
    assert _writes_of("CaseFeedback") == {"voxloop/cases/linking.py"}


# The demo generator marks its invented history as already handed to the outbox (nobody is emailed about it).
DEMO = "voxloop/demo/loop.py"


def test_only_the_cases_app_writes_case_events():
    outside = {p for p in _writes_of("CaseEvent") if not p.startswith("voxloop/cases/")} - {DEMO}
    assert not outside, f"write CaseEvent rows through voxloop.cases.events.record_event: {sorted(outside)}"


def _state_change_functions() -> set[str]:
    """The functions docs/architecture/cases.md lists as the one writer of each state change of a case."""
    doc = (ROOT / "docs" / "architecture" / "cases.md").read_text(encoding="utf-8")
    names: set[str] = set()
    for line in doc.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[2].startswith("`cases/"):
            names.update(re.findall(r"`(\w+)`", cells[1]))
    return names


# The state changes the read side offers on its pages: the page calls the service, the service writes.
READ_SIDE_ACTIONS = {"open_recovery_cases"}  # the customer segments page's bulk recovery action


def test_the_read_side_changes_cases_only_through_the_service_made_for_it():
    """Insights and metrics show cases. A page there that acts on cases calls one cases service (listed in
    docs/architecture/cases.md and above) instead of composing the writes itself, e.g. opening cases one by one."""
    names = _state_change_functions()
    assert {"open_case", "assign_case"} | READ_SIDE_ACTIONS <= names
    forbidden = names - READ_SIDE_ACTIONS
    offenders = []
    for app in ("insights", "metrics"):
        for path in sorted((ROOT / "voxloop" / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "tests" in rel.parts or "migrations" in rel.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("voxloop.cases"):
                    offenders += [f"{rel}:{node.lineno} {a.name}" for a in node.names if a.name in forbidden]
                if isinstance(node, ast.Call):
                    func = node.func
                    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if called in forbidden:
                        offenders.append(f"{rel}:{node.lineno} {called}()")
    assert not offenders, f"the read side writes cases itself: {offenders}"
