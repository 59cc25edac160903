"""Surveys (NPS, CSAT with sub-dimensions, CES, custom), their invitations and the responses customers submit.

A Response exists only because a customer submitted the survey page: opening a link (which mail scanners
do) records at most ``Invitation.opened_at``. The headline score of a survey is copied onto the Response
(``nps``/``csat``/``ces``) so metrics read one indexed table; sub-dimension scores live in Answer rows whose
question has a ``dimension``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from voxloop.core.messages import render
from voxloop.core.models import TimeStampedModel


def new_token() -> str:
    # 32 URL-safe characters from 192 random bits: unguessable, and short enough for an SMS link.
    return secrets.token_urlsafe(24)


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–7)")
    CUSTOM = "custom", _("Custom")


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Likelihood to recommend (0–10)")
    CSAT = "csat", _("Satisfaction (1–5)")
    CES = "ces", _("Effort (1–7)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


# The inclusive range of each score question; the public page and the services validate against it.
SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

# Standard sub-dimensions of CSAT; any other lowercase code is a custom dimension.
STANDARD_DIMENSIONS = ("overall", "speed", "resolution", "attitude")
DIMENSION_LABELS = {
    "overall": pgettext_lazy("CSAT dimension", "Overall"),
    "speed": pgettext_lazy("CSAT dimension", "Speed"),
    "resolution": pgettext_lazy("CSAT dimension", "Resolution"),
    "attitude": pgettext_lazy("CSAT dimension", "Attitude"),
}


def dimension_label(code: str) -> str:
    """A CSAT sub-dimension's name; a custom one (typed by whoever built the survey) is its own name."""
    return str(DIMENSION_LABELS.get(code, code))


class InvitationChannel(models.TextChoices):
    LINK = "link", _("Link")
    EMAIL = "email", _("Email")
    EMBED = "embed", _("Embedded")
    FOLLOWUP = "followup", _("Case follow-up")
    BATCH = "batch", _("Batch to a segment")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Not sent yet")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Sending failed")


class Survey(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices, default=SurveyKind.CUSTOM)
    # Language codes the survey is offered in, e.g. ["zh-hans", "en"]; the first is the fallback.
    languages = models.JSONField(_("languages"), default=list, blank=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    intro_zh = models.TextField(_("introduction (Chinese)"), blank=True)
    intro_en = models.TextField(_("introduction (English)"), blank=True)
    thank_you_zh = models.TextField(_("thank-you text (Chinese)"), blank=True)
    thank_you_en = models.TextField(_("thank-you text (English)"), blank=True)
    is_anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("Responses keep no link to the customer or the case.")
    )
    # {"logo_text": "VoxLoop", "colour": "#2563eb"}
    branding = models.JSONField(_("branding"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_followup_default = models.BooleanField(
        _("sent after a case is resolved"), default=False, help_text=_("The survey customers get after a case.")
    )
    # Set on the shipped templates so the data migration can find them again (idempotent); blank otherwise.
    template_code = models.CharField(max_length=20, blank=True)
    # For the open link and the embed snippet: anyone with it may answer, so it is unguessable too.
    public_token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.UniqueConstraint(
                fields=["is_followup_default"],
                condition=models.Q(is_followup_default=True),
                name="one_followup_default_survey",
            ),
            models.UniqueConstraint(
                fields=["template_code"], condition=~models.Q(template_code=""), name="survey_template_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name people read: in the interface's language (name_en in English, when set)."""
        return self.name_in(get_language() or "")

    def name_in(self, language: str) -> str:
        """The name in ``language``: name_en for English when set, the (Chinese) name otherwise."""
        return self.name_en if self.name_en and language.startswith("en") else self.name

    @property
    def headline_kind(self) -> str:
        """The score copied onto Response: nps, csat, ces, or "" for custom surveys."""
        return self.kind if self.kind in SCORE_RANGES else ""

    def title(self, language: str) -> str:
        return (self.title_en if language.startswith("en") else self.title_zh) or self.title_zh or self.title_en

    def intro(self, language: str) -> str:
        return (self.intro_en if language.startswith("en") else self.intro_zh) or ""

    def thank_you(self, language: str) -> str:
        return (self.thank_you_en if language.startswith("en") else self.thank_you_zh) or ""


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    # Blank, or "overall", "speed", "resolution", "attitude" or a custom code: scores cut by sub-dimension.
    dimension = models.CharField(_("dimension"), max_length=40, blank=True)
    text_zh = models.CharField(_("question (Chinese)"), max_length=500, blank=True)
    text_en = models.CharField(_("question (English)"), max_length=500, blank=True)
    # [{"code": "price", "zh": "价格", "en": "Price"}, ...] for single and multiple choice.
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    # Shown only when an earlier score question's answer matches, e.g. {"question": 1, "lte": 6} asks
    # "why?" after a low score; {} always shows. Keys: question (its order), lte, gte.
    show_if = models.JSONField(_("show if"), default=dict, blank=True)

    class Meta:
        ordering = ["survey", "order"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [models.UniqueConstraint(fields=["survey", "order"], name="question_survey_order_unique")]

    def __str__(self) -> str:
        return f"{self.order}. {self.text_zh or self.text_en}"

    def text(self, language: str) -> str:
        return (self.text_en if language.startswith("en") else self.text_zh) or self.text_zh or self.text_en

    @property
    def is_score(self) -> bool:
        return self.kind in SCORE_RANGES

    @property
    def score_range(self) -> tuple[int, int] | None:
        return SCORE_RANGES.get(self.kind)

    def choice_label(self, code: str, language: str) -> str:
        for choice in self.choices or []:
            if choice.get("code") == code:
                key = "en" if language.startswith("en") else "zh"
                return choice.get(key) or choice.get("zh") or choice.get("en") or code
        return code


class Invitation(TimeStampedModel):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    customer = models.ForeignKey(
        "feedback.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_invitations"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_invitations"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=InvitationChannel.choices)
    email = models.EmailField(_("email"), blank=True)  # where an email invitation goes
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    # When to send (follow-ups wait some days after the case is resolved); NULL: now.
    send_after = models.DateTimeField(_("send after"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Informational only: link scanners open links too, so nothing is ever derived from it.
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)  # English, or the mail server's own words
    error_i18n = models.JSONField(default=dict, blank=True)  # set when we wrote it: shown in the reader's language
    # Open-link and embed answers create their invitation on submit; the form's random id makes a resubmitted
    # form (double click, browser retry) find the same invitation instead of answering twice.
    submission_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "submission_id"],
                condition=~models.Q(submission_id=""),
                name="invitation_submission_unique",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="invitation_customer_recent"),
            models.Index(fields=["survey", "-created_at"], name="invitation_survey_recent"),
            # The reminder and sending sweeps read only the few invitations still waiting.
            models.Index(
                fields=["status", "sent_at"],
                name="invitation_waiting",
                condition=models.Q(status__in=["pending", "sent"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer or self.email or self.channel}"

    @property
    def error_display(self) -> str:
        return render(self.error_i18n, self.error)


class Response(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    # One response per invitation; open-link and embed responses have an invitation of their own.
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    customer = models.ForeignKey(
        "feedback.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    submitted_at = models.DateTimeField(_("submitted at"), db_index=True)
    updated_at = models.DateTimeField(_("last edited at"), auto_now=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=InvitationChannel.choices)
    nps = models.SmallIntegerField("NPS", null=True, blank=True)
    csat = models.SmallIntegerField("CSAT", null=True, blank=True)
    ces = models.SmallIntegerField("CES", null=True, blank=True)
    comment = models.TextField(pgettext_lazy("survey response", "comment"), blank=True)
    # The Feedback item created from the comment (channel "survey"), analysed like any other.
    feedback = models.ForeignKey(
        "feedback.Feedback", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    # The person who last replied publicly on the case: CSAT is credited to who actually answered.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    editable_until = models.DateTimeField(_("editable until"))

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.CheckConstraint(condition=models.Q(nps__gte=0, nps__lte=10), name="response_nps_0_10"),
            models.CheckConstraint(condition=models.Q(csat__gte=1, csat__lte=5), name="response_csat_1_5"),
            models.CheckConstraint(condition=models.Q(ces__gte=1, ces__lte=7), name="response_ces_1_7"),
        ]
        indexes = [
            models.Index(fields=["survey", "submitted_at"], name="response_survey_time"),
            models.Index(fields=["agent", "submitted_at"], name="response_agent_time"),
            models.Index(fields=["team", "submitted_at"], name="response_team_time"),
            models.Index(fields=["product", "submitted_at"], name="response_product_time"),
            models.Index(fields=["customer", "submitted_at"], name="response_customer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    # PROTECT: a question that has answers cannot be deleted, or past scores would silently vanish.
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    # Copied from the question when answered, so sub-dimension metrics need no join.
    dimension = models.CharField(_("dimension"), max_length=40, blank=True)
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        ordering = ["response", "question__order"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="answer_response_question")]
        indexes = [models.Index(fields=["dimension", "response"], name="answer_dimension")]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.number if self.number is not None else self.text[:30]}"
