"""The import direction of docs/architecture/layers.md, checked with scripts/import_graph.py's own code.

A lower layer never imports a higher one and apps never import each other in a circle. The violations that
existed when this test was written are listed below, each with the reason it is still there; fixing one
means deleting its line (the test fails if a listed violation no longer exists, so the list only shrinks).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _import_graph() -> ModuleType:
    # scripts/ is not a package: load the command's file itself, so the test and the command share one code.
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


import_graph = _import_graph()

# (file, importing app, imported app) -- without the "voxloop." prefix. Only ever remove lines.
KNOWN_UPWARD_IMPORTS: set[tuple[str, str, str]] = set()

# Circles among apps of one layer (every other circle contains an upward import and is listed above).
KNOWN_PEER_CIRCLES: set[tuple[str, ...]] = set()


def _short(app: str) -> str:
    return app.removeprefix("voxloop.")


@pytest.fixture(scope="module")
def report():
    return import_graph.analyse(ROOT)


def test_no_new_upward_import(report):
    found = {(u.path, _short(u.source_app), _short(u.target_app)) for u in report.upward}
    new = sorted(found - KNOWN_UPWARD_IMPORTS)
    lines = [
        f"{u.path}:{u.line} {u.source_app} -> {u.target_app} ({u.target})"
        for u in sorted(report.upward, key=lambda u: (u.path, u.line))
        if (u.path, _short(u.source_app), _short(u.target_app)) in new
    ]
    assert not new, (
        "a lower layer imports a higher one (docs/architecture/layers.md); announce through a registered "
        "hook instead:\n" + "\n".join(lines)
    )


def test_known_upward_imports_are_still_there(report):
    """A fixed violation must leave the list, so the list only shrinks."""
    found = {(u.path, _short(u.source_app), _short(u.target_app)) for u in report.upward}
    gone = sorted(KNOWN_UPWARD_IMPORTS - found)
    assert not gone, f"fixed, remove from KNOWN_UPWARD_IMPORTS: {gone}"


def test_no_circle_between_apps_of_one_layer(report):
    found = {tuple(_short(a) for a in cycle) for cycle in report.peer_circles}
    assert found <= KNOWN_PEER_CIRCLES, f"new import circle between peer apps: {sorted(found - KNOWN_PEER_CIRCLES)}"
    assert KNOWN_PEER_CIRCLES <= found, f"fixed, remove from KNOWN_PEER_CIRCLES: {KNOWN_PEER_CIRCLES - found}"


def test_every_module_sits_in_a_layer_and_the_doc_names_real_apps(report):
    """analyse() refuses modules outside every layer; here: every app the doc names exists."""
    for layer in report.layers:
        for app in layer:
            path = ROOT / Path(*app.split("."))
            assert path.is_dir() or path.with_suffix(".py").exists(), f"layers.md names {app}, which does not exist"


def test_the_checker_finds_an_upward_import_and_a_circle(tmp_path):
    """The checker itself: a tiny tree with one upward import and one circle between peers."""
    (tmp_path / "docs" / "architecture").mkdir(parents=True)
    (tmp_path / "docs" / "architecture" / "layers.md").write_text(
        "```layers\nvoxloop_nlp\nvoxloop.low\nvoxloop.high, voxloop.peer\n```\n", encoding="utf-8"
    )
    files = {
        "voxloop_nlp/__init__.py": "",
        "voxloop/__init__.py": "",
        "voxloop/low/__init__.py": "",
        "voxloop/low/services.py": "def f():\n    from voxloop.high import models\n",
        "voxloop/high/__init__.py": "",
        "voxloop/high/models.py": "from voxloop.peer import x\nfrom ..low import services\n",
        "voxloop/peer/__init__.py": "",
        "voxloop/peer/x.py": "from voxloop.high.models import Y\n",
        "voxloop/peer/tests/test_x.py": "from voxloop.low import services\nimport voxloop_nlp\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = import_graph.analyse(tmp_path)
    assert [(u.path, u.line, u.target_app) for u in result.upward] == [("voxloop/low/services.py", 2, "voxloop.high")]
    assert result.peer_circles == [("voxloop.high", "voxloop.peer")]
    assert result.mutual == [("voxloop.high", "voxloop.low"), ("voxloop.high", "voxloop.peer")]
    assert [(i.path, i.line) for i in result.in_function] == [("voxloop/low/services.py", 2)]


def test_every_in_function_import_says_why(report):
    """Imports sit at the top of a file unless a comment says why (the rule is in scripts/import_graph.py)."""
    found = [f"{i.path}:{i.line} ({i.target})" for i in sorted(report.unexplained, key=lambda i: (i.path, i.line))]
    assert not found, (
        "an import inside a function gives no reason: move it to the top of the file, or put a comment on or "
        "directly above it saying why it cannot be there (`.venv/bin/python scripts/import_graph.py --list`):\n"
        + "\n".join(found)
    )


def test_the_checker_tells_explained_from_unexplained_imports(tmp_path):
    """Each rule of scripts/import_graph.py's docstring, and the near misses that do not count."""
    (tmp_path / "docs" / "architecture").mkdir(parents=True)
    (tmp_path / "docs" / "architecture" / "layers.md").write_text(
        "```layers\nvoxloop_nlp\nvoxloop.low\n```\n", encoding="utf-8"
    )
    services = '''\
# a comment above the def does not count
def on_the_line():
    import json  # rule 1: a reason on the line; rule 3: it covers the next import too
    import os


def above():
    """A docstring."""
    # rule 2: a reason directly above
    import json

    import os
    from voxloop.low import apps


def none():
    import json


def blank_between():
    # a comment, then a blank line
    x = 1
    # about x

    import json
    return x


def statement_between():
    # imported here: why
    x = 1
    import json
    return x


def try_line():
    # only the try: line is above
    try:
        import json
    except ImportError:
        pass
'''
    apps = """\
from django.apps import AppConfig


class LowConfig(AppConfig):
    def ready(self):
        # Imported here: models load only once the app registry is ready.
        from voxloop.low import services

        services.none()
        from voxloop.low.services import above


class NotAnAppConfig:
    def ready(self):
        # one comment here covers only the run below it
        from voxloop.low import services

        services.none()
        from voxloop.low.services import above
"""
    files = {"voxloop_nlp/__init__.py": "", "voxloop/__init__.py": "", "voxloop/low/__init__.py": "",
             "voxloop/low/services.py": services, "voxloop/low/apps.py": apps}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = import_graph.analyse(tmp_path)
    unexplained = sorted((i.path, i.line) for i in result.unexplained)
    assert unexplained == [
        ("voxloop/low/apps.py", 19),  # the second run of a `ready` that is not an AppConfig's
        ("voxloop/low/services.py", 17),  # no comment
        ("voxloop/low/services.py", 25),  # a blank line between the comment and the import
        ("voxloop/low/services.py", 32),  # a statement between
        ("voxloop/low/services.py", 39),  # the comment is above the try:, not above the import
    ]
    assert len(result.in_function) == 13
