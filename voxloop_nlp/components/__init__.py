"""Pipeline components. `load_builtin()` imports (and so registers) all of them."""

from __future__ import annotations

import importlib

BUILTIN = (
    "normalize",
    "language",
    "segment",
    "sentiment",
    "emotions",
    "topics",
    "needs",
    "kind",
    "urgency",
    "keywords",
    "pii",
)


def load_builtin() -> None:
    for name in BUILTIN:
        importlib.import_module(f"voxloop_nlp.components.{name}")
