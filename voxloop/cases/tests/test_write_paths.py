"""Each kind of case row has its writers in one place (issue 14: "automation decides, cases write").

Read from the source with ast, so a new shortcut (a rule or a page creating CaseFeedback rows itself) fails
here before it can bypass the checks and the timeline event of the cases services."""

from __future__ import annotations

import ast
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
