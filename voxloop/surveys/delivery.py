"""Where the e-mail sender plugs into surveys (docs/architecture/layers.md, L2).

Surveys writes the invitation and the reminder (its templates, in the invitation's language) but sends no
mail itself: every outbound e-mail goes through voxloop.notify's outbox, which sits above surveys and
registers a mailer here in NotifyConfig.ready. The mailer sends at once and says whether the mail went, because
the invitation records it (sent, or failed and why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyEmail:
    invitation_id: int
    to: str
    language: str
    subject: str
    body: str
    html: str
    reminder: bool


class SurveyMailError(Exception):
    """The e-mail did not go out; the message says why (recorded on the invitation)."""


# Sends at once; raises SurveyMailError when the mail did not go out.
SurveyMailer = Callable[[SurveyEmail], None]
_mailers: list[SurveyMailer] = []


def register_survey_mailer(mailer: SurveyMailer) -> None:
    _mailers[:] = [mailer]


def send_survey_email(mail: SurveyEmail) -> None:
    if not _mailers:
        raise SurveyMailError("no mail sender is installed (voxloop.notify)")
    _mailers[0](mail)
