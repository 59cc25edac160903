"""The search index: one row per searchable thing, holding its words (see text.py).

The full-text index over ``body`` is vendor specific and made by the migration: an FTS5 table on SQLite,
a GIN index over a tsvector on PostgreSQL. The rows point at their source by (kind, object_id) and are
rebuilt from it at will (``manage.py rebuild_search_index``): the index is never the record.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocKind(models.TextChoices):
    FEEDBACK = "feedback", _("Feedback")
    CASE = "case", _("Case")
    EVENT = "event", _("Case message")
    CUSTOMER = "customer", _("Customer")


class SearchDocument(models.Model):
    kind = models.CharField(max_length=10, choices=DocKind.choices)
    object_id = models.BigIntegerField()
    # For a case or one of its messages: the case, so results are filtered by who may see it.
    case_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField()  # newest first in the results
    body = models.TextField()

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="searchdoc_kind_object")]
        indexes = [models.Index(fields=["kind", "at"], name="searchdoc_kind_at")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id}"
