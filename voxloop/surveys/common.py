"""What every survey operation shares: the error it raises, the language a survey is shown in, the clock.

The operations themselves are split by job: ``building`` (surveys and questions), ``invitations`` (links,
e-mails, batches, follow-ups, reminders), ``answers`` (cleaning and recording answers) and ``loop`` (closing
the loop: reopen the case, turn the comment into feedback). Views, tasks and the case follow-up hook call
them; none of them save survey models directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from django.utils import timezone

from voxloop.cases.tracking import normalise_language
from voxloop.surveys.models import Survey

SUPPORTED_LANGUAGES = ("zh-hans", "en")
COMMENT_MAX_CHARS = 5000


class SurveyErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    ALREADY_ANSWERED = "already_answered"
    EDIT_CLOSED = "edit_closed"
    INACTIVE = "inactive"
    QUESTION_HAS_ANSWERS = "question_has_answers"
    NO_RECIPIENT = "no_recipient"


class SurveyError(Exception):
    def __init__(self, code: SurveyErrorCode, message: str, errors: Mapping[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = dict(errors or {})  # field or question name -> message


def now_or_current(now: datetime | None) -> datetime:
    return now or timezone.now()


def survey_language(survey: Survey, wanted: str | None) -> str:
    """The language to show a survey in: the one asked for if the survey offers it, else its first one."""
    offered = [normalise_language(code) or "" for code in survey.languages or []] or ["zh-hans"]
    lang = normalise_language(wanted)
    return lang if lang in offered else offered[0]
