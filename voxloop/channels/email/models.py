"""IMAP mailboxes polled for customer email."""

from __future__ import annotations

import os

from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel


class Mailbox(TimeStampedModel):
    """An IMAP folder VoxLoop reads customer email from. Only messages with a UID above `last_uid` are
    fetched; a changed UIDVALIDITY (the server renumbered the folder) starts again from the beginning,
    and (source, Message-ID) keeps messages seen before from being stored twice."""

    name = models.CharField(_("name"), max_length=80, unique=True, help_text=_("Used in the source: email:<name>."))
    host = models.CharField(_("IMAP server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    use_ssl = models.BooleanField(_("use SSL/TLS"), default=True)
    username = models.CharField(_("user name"), max_length=255)
    # Stored in the database in clear text (IMAP needs the password itself). Prefer password_env,
    # which names an environment variable of the server and worker processes holding it.
    password = models.CharField(_("password"), max_length=255, blank=True)
    password_env = models.CharField(
        _("password environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of an environment variable holding the password; used instead of the stored password."),
    )
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    enabled = models.BooleanField(_("enabled"), default=True)
    last_uid = models.BigIntegerField(_("last fetched UID"), default=0)
    uidvalidity = models.BigIntegerField(_("UIDVALIDITY"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # A lease: set while a poll runs, so two polls of the same mailbox never overlap.
    polling_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"email:{self.name}"[:100]

    def get_password(self) -> str:
        if self.password_env:
            return os.environ.get(self.password_env, "")
        return self.password


class SentMessageId(models.Model):
    """The Message-ID of one message we sent a customer about a case. A reply names it in In-Reply-To or
    References, which is how the reply finds its case whatever its subject says. Stored without the angle
    brackets, as parsing.py reads the headers; one per outgoing message, so a retried send reuses it."""

    message_id = models.CharField(_("Message-ID"), max_length=250, unique=True)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+", verbose_name=_("case"))
    # The notify app's OutgoingMessage id; a plain number, so email does not depend on notify's tables.
    outgoing_id = models.BigIntegerField(_("outgoing message"), unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sent Message-ID")
        verbose_name_plural = _("sent Message-IDs")

    def __str__(self) -> str:
        return self.message_id
