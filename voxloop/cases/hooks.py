"""Points where a higher layer follows case writes that bypass model signals (docs/architecture/layers.md, L2).

- ``cases_written``: announced inside the writing transaction with the ids of cases written in bulk (the rules
  open many cases with one INSERT, which sends no ``post_save``); search indexes them with their rows.
"""

from __future__ import annotations

from voxloop.core.hooks import Hook

cases_written: Hook[list[int]] = Hook("cases written in bulk")
