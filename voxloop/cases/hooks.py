"""Points where a higher layer follows case writes that bypass model signals (docs/architecture/layers.md, L2).

- ``cases_written``: announced inside the writing transaction with the ids of cases written in bulk (the rules
  open many cases with one INSERT, which sends no ``post_save``); search indexes them with their rows.
- A case text search: the inbox's search box, answered by the search app's word index when it is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from voxloop.core.hooks import Hook

cases_written: Hook[list[int]] = Hook("cases written in bulk")

# (cases, query) -> the cases whose number, title or resolution holds every word of the query; the search app's
# word index. Without one, the inbox's search box matches the case number and the title's text.
CaseTextSearch = Callable[[QuerySet[Any], str], QuerySet[Any]]
_case_search: list[CaseTextSearch] = []


def register_case_search(provider: CaseTextSearch) -> None:
    _case_search[:] = [provider]


def case_search_provider() -> CaseTextSearch | None:
    return _case_search[0] if _case_search else None
