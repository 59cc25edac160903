"""History is not news: which imported items are historical (docs/imports.md, "Historical items").

An import of last year's reviews is analysed and counted in metrics and insights like any other item, but a
negative review from last March must not open a case, acknowledge the customer or page an agent today. The
importer chooses per import (file, CLI, API batch): ``auto`` (the default) marks items received more than
``HISTORICAL_AFTER_DAYS`` days before the import as historical; ``all`` marks every item; ``none`` treats every
item as new. The choice is kept in the batch's options, so a re-analysis later decides the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.feedback.models import Feedback

#: The key in ImportBatch.options that holds the importer's choice.
OPTION = "history"
#: Imports that default to ``auto`` when the batch does not say (older batches; mailbox polling is live mail).
_AUTO_ORIGINS = {"file", "api"}


class HistoryMode(models.TextChoices):
    AUTO = "auto", _("Items received more than %(days)s days before the import are history")
    ALL = "all", _("All items are history")
    NONE = "none", _("All items are new")


def after_days() -> int:
    return max(0, int(getattr(settings, "HISTORICAL_AFTER_DAYS", 7)))


def is_historical(received_at: datetime, imported_at: datetime, mode: str) -> bool:
    """The one decision: is an item received at ``received_at`` and imported at ``imported_at`` history?"""
    if mode == HistoryMode.ALL:
        return True
    if mode == HistoryMode.AUTO:
        return received_at < imported_at - timedelta(days=after_days())
    return False


def batch_mode(origin: str, options: dict[str, Any] | None) -> str:
    mode = (options or {}).get(OPTION)
    if mode in HistoryMode.values:
        return str(mode)
    return HistoryMode.AUTO if origin in _AUTO_ORIGINS else HistoryMode.NONE


def historical_feedback_ids(feedback_ids: Iterable[int]) -> set[int]:
    """Those of these items that are history (imported ones only: an item sent live is always news)."""
    rows = Feedback.objects.filter(pk__in=list(feedback_ids), batch__isnull=False).values_list(
        "pk", "received_at", "batch__origin", "batch__options", "batch__created_at"
    )
    return {
        pk
        for pk, received_at, origin, options, imported_at in rows
        if is_historical(received_at, imported_at, batch_mode(origin, options))
    }


def mode_label(mode: str) -> str:
    """The choice in the reader's language (the ``auto`` one names the number of days)."""
    return str(HistoryMode(mode).label) % {"days": after_days()}


def choices() -> list[tuple[str, str]]:
    """(value, label) for the import page and the API's documentation, ``auto`` first."""
    return [(mode, mode_label(mode)) for mode in HistoryMode.values]
