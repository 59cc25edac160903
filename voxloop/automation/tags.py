"""Tags put on feedback by hand (a person's bulk action), beside the ones rules put (automation.services).
Cases show the tags of their feedback, so tagging a case tags its items."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from voxloop.automation.models import FeedbackTag

TAG_MAX_CHARS = 50  # FeedbackTag.tag's length


class TagError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_tag(value: str) -> str:
    """The tag as stored (trimmed, inner spaces kept), or TagError saying what is wrong with it."""
    tag = " ".join((value or "").split())
    if not tag:
        raise TagError(_("Write the tag to add."))
    if len(tag) > TAG_MAX_CHARS:
        raise TagError(_("A tag has at most %(limit)s characters.") % {"limit": TAG_MAX_CHARS})
    return tag


def add_tag(feedback_ids: Iterable[int], tag: str) -> int:
    """Tag these items (no rule: a person did it); an item that has the tag already keeps it. Returns how many
    items carry the tag now that did not before."""
    tag = clean_tag(tag)
    ids = sorted(set(feedback_ids))
    have = set(FeedbackTag.objects.filter(feedback_id__in=ids, tag=tag).values_list("feedback_id", flat=True))
    FeedbackTag.objects.bulk_create(
        [FeedbackTag(feedback_id=i, tag=tag) for i in ids if i not in have], ignore_conflicts=True
    )
    return len([i for i in ids if i not in have])


def tags_of(feedback_ids: Iterable[int]) -> dict[int, list[str]]:
    """feedback id -> its tags, sorted, for many items in one query."""
    found: dict[int, list[str]] = {}
    for feedback_id, tag in FeedbackTag.objects.filter(feedback_id__in=list(feedback_ids)).values_list(
        "feedback_id", "tag"
    ):
        found.setdefault(feedback_id, []).append(tag)
    return {k: sorted(set(v)) for k, v in found.items()}
