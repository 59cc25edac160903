"""The one feedback record, the customers it comes from, and the batches it arrives in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from voxloop.core.messages import render
from voxloop.core.models import TimeStampedModel


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline / call log")
    EMAIL = "email", _("Email")
    WEBFORM = "webform", _("Web form")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social media")
    REVIEW = "review", _("Review site")
    SURVEY = "survey", _("Survey")
    IN_PERSON = "in_person", _("In person")
    STAFF = "staff", _("Staff report")
    API = "api", _("API")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    PRAISE = "praise", _("Praise")
    SUGGESTION = "suggestion", _("Suggestion")
    QUESTION = "question", pgettext_lazy("kind of feedback", "Question")
    OTHER = "other", _("Other")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")
    URGENT = "urgent", _("Urgent")


class CustomerSegment(models.TextChoices):
    """Where a customer stands by complaint history and value (set by the segmentation task; see
    voxloop.stats.segments). Stored as text on Customer.segment, so imports may also carry their own."""

    LOYAL_ADVOCATE = "loyal_advocate", _("Loyal advocate")
    GROWTH_POTENTIAL = "growth_potential", _("Growth potential")
    HIGH_RISK_RECOVERY = "high_risk_recovery", _("High-risk recovery")
    AT_RISK = "at_risk", _("At risk")
    OTHERS = "others", _("Others")


class AnalysedLanguage(models.TextChoices):
    ZH = "zh", _("Simplified Chinese")
    ZH_HANT = "zh-Hant", _("Traditional Chinese")
    EN = "en", _("English")
    MIXED = "mixed", _("Mixed")
    OTHER = "other", _("Other")


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for analysis")
    DONE = "done", _("Analysed")
    FAILED = "failed", _("Analysis failed")


class Customer(TimeStampedModel):
    # Plain indexes (Meta.indexes), not db_index: on PostgreSQL db_index also builds a second, LIKE-prefix
    # index on every CharField, which no query here uses and every customer insert would pay for.
    external_id = models.CharField(_("customer ID"), max_length=100, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    # Digits only (with a leading + for international numbers), so matching ignores formatting.
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    handles = models.JSONField(_("other contacts"), default=dict, blank=True)  # {"wechat": "...", "weibo": "..."}
    language = models.CharField(_("language"), max_length=10, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    segment = models.CharField(_("segment"), max_length=40, blank=True)
    lifetime_value = models.DecimalField(_("lifetime value"), max_digits=14, decimal_places=2, default=0)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    opted_out = models.BooleanField(_("opted out of contact"), default=False)
    attributes = models.JSONField(_("other attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~models.Q(external_id=""), name="customer_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["external_id"], name="customer_external_id"),
            models.Index(fields=["email"], name="customer_email"),
            models.Index(fields=["phone"], name="customer_phone"),
            models.Index(fields=["segment"], name="customer_segment"),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id or self.email or self.phone or f"#{self.pk}"


class Product(TimeStampedModel):
    code = models.CharField(_("code"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)

    def display_name(self, language: str = "") -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name

    class Meta:
        ordering = ["name"]
        verbose_name = _("product or service")
        verbose_name_plural = _("products and services")

    def __str__(self) -> str:
        return self.name


class ImportKind(models.TextChoices):
    FEEDBACK = "feedback", _("Feedback")
    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportBatch(TimeStampedModel):
    """One arrival of records: a file, an API batch, a mailbox poll. Counts add up to the rows seen."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices, default=ImportKind.FEEDBACK)
    origin = models.CharField(_("origin"), max_length=20, default="file")  # file, api, email, imap
    source = models.CharField(_("source"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True, max_length=500)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    file_format = models.CharField(_("format"), max_length=20, blank=True)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.PENDING, db_index=True
    )
    total_rows = models.BigIntegerField(_("rows in file"), null=True, blank=True)
    rows_processed = models.BigIntegerField(_("rows processed"), default=0)  # the resume checkpoint
    accepted_count = models.BigIntegerField(_("accepted"), default=0)
    duplicate_count = models.BigIntegerField(_("duplicates skipped"), default=0)
    rejected_count = models.BigIntegerField(_("rejected"), default=0)
    error_message = models.TextField(_("error"), blank=True)  # English, as logged and given to the API
    error_i18n = models.JSONField(default=dict, blank=True)  # the same, to show in the reader's language
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Only one process runs a batch at a time: the one holding this lease (fileimport.services.lease).
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.file_name}"

    @property
    def progress_percent(self) -> int | None:
        if not self.total_rows:
            return 100 if self.status == BatchStatus.COMPLETED else None
        return min(100, int(self.rows_processed * 100 / self.total_rows))

    @property
    def error_display(self) -> str:
        return render(self.error_i18n, self.error_message)


class QuarantinedRow(TimeStampedModel):
    """A row we could not accept, kept exactly as received with the reason, to be fixed and re-imported."""

    class Status(models.TextChoices):
        OPEN = "open", _("Needs attention")
        FIXED = "fixed", _("Fixed and re-imported")
        DISMISSED = "dismissed", _("Dismissed")

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="quarantined_rows")
    row_number = models.BigIntegerField(_("row"))
    raw = models.JSONField(_("row as received"), default=dict, blank=True)
    raw_text = models.TextField(_("raw text"), blank=True)
    reason_code = models.CharField(_("reason code"), max_length=40)
    reason = models.TextField(_("reason"))  # English, as logged and given to the API
    reason_i18n = models.JSONField(default=dict, blank=True)  # the same, to show in the reader's language
    field = models.CharField(_("field"), max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    # Where the row is in a CSV file: its first physical line and how many it spans (an unclosed quote
    # swallows every line after it); 0 where the format has no lines to speak of.
    line = models.BigIntegerField(_("line"), default=0)
    line_count = models.BigIntegerField(_("lines"), default=0)

    class Meta:
        ordering = ["batch", "row_number"]
        verbose_name = _("quarantined row")
        verbose_name_plural = _("quarantined rows")
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="quarantine_batch_row_unique")]

    @property
    def last_line(self) -> int:
        return self.line + max(self.line_count, 1) - 1

    @property
    def reason_display(self) -> str:
        """The reason in the active language (rows stored before templates were kept show their English)."""
        if not self.reason_i18n:
            return self.reason
        reason = render(self.reason_i18n, self.reason)
        if not self.field:
            return reason
        return gettext("Column “%(column)s”: %(reason)s") % {"column": self.field, "reason": reason}


class ColumnMapping(TimeStampedModel):
    """A saved mapping from a source's columns to VoxLoop fields (e.g. a Taobao review export)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices, default=ImportKind.FEEDBACK)
    source = models.CharField(_("source"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    columns = models.JSONField(_("columns"), default=dict)  # {voxloop_field: source_column}
    options = models.JSONField(_("options"), default=dict, blank=True)  # date format, time zone...
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name"]
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")

    def __str__(self) -> str:
        return self.name


class Order(TimeStampedModel):
    external_id = models.CharField(_("order number"), max_length=100, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    ordered_at = models.DateTimeField(_("ordered at"), db_index=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    status = models.CharField(_("status"), max_length=40, blank=True)
    raw_payload = models.JSONField(default=dict, blank=True)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")

    class Meta:
        ordering = ["-ordered_at"]
        verbose_name = pgettext_lazy("purchase order", "order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "ordered_at"], name="order_customer_time")]

    def __str__(self) -> str:
        return self.external_id


class Feedback(TimeStampedModel):
    """One piece of customer feedback, whatever channel it came from. Never edited in place: the text
    and raw payload stay as received; analysis and corrections sit beside them."""

    # Few indexes on purpose: every index slows bulk imports (each imported row updates every index, at a
    # random place for the time-ordered ones). The composite ones below cover the inbox; the partial ones
    # leave out the rows an import brings by the million with no value (no customer, no order, no thread,
    # not analysed yet), so those rows cost nothing there. No db_index on CharFields: on PostgreSQL it adds
    # a LIKE-prefix index that no query uses.
    # No database foreign-key constraints either (db_constraint=False): PostgreSQL checks each one per row at
    # commit, which cost as much as inserting the row (~25 µs of ~65 µs per row in a bulk import). Ingestion
    # only writes ids it has just looked up or created, and deletions go through the ORM, whose on_delete
    # (SET_NULL) keeps references tidy as it always did.
    created_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    # (source, external_id) makes ingestion idempotent: a retried request or re-imported file never duplicates.
    source = models.CharField(_("source"), max_length=100)
    external_id = models.CharField(_("external ID"), max_length=200)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
        db_index=False,
        db_constraint=False,
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.CharField(_("contact email"), max_length=254, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    received_at = models.DateTimeField(_("received at"))
    title = models.CharField(_("subject"), max_length=500, blank=True)
    text = models.TextField(_("text"))
    rating = models.DecimalField(_("rating"), max_digits=5, decimal_places=2, null=True, blank=True)
    rating_scale = models.PositiveSmallIntegerField(_("rating scale"), null=True, blank=True)  # e.g. 5 or 10
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
        db_index=False,
        db_constraint=False,
    )
    order_ref = models.CharField(_("order reference"), max_length=100, blank=True)
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
        db_index=False,
        db_constraint=False,
    )
    raw_payload = models.JSONField(_("payload as received"), default=dict, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)  # [{name, url, content_type, size}]
    batch = models.ForeignKey(
        ImportBatch,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
        db_constraint=False,
    )
    thread_key = models.CharField(_("conversation"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entered_feedback",
        db_index=False,
        db_constraint=False,
    )
    # Analysis results, copied here so the inbox can filter and sort without joins.
    language = models.CharField(_("language"), max_length=10, blank=True)
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(_("sentiment score"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, blank=True)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, blank=True)
    analysis_status = models.CharField(max_length=10, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING)
    model_version = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="feedback_source_external_id")]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="feedback_recent"),
            models.Index(fields=["channel", "-received_at"], name="feedback_channel_recent"),
            models.Index(
                fields=["customer", "-received_at"],
                name="feedback_customer_recent",
                condition=models.Q(customer__isnull=False),
            ),
            # Whole (not partial): "no product" is a filter of its own. None for rating: a rating filter keeps
            # a fifth of the rows or more, which the received_at scan finds at once; not worth its cost per import.
            models.Index(fields=["product", "-received_at"], name="feedback_product_recent"),
            models.Index(
                fields=["sentiment", "-received_at"],
                name="feedback_sentiment_recent",
                condition=~models.Q(sentiment=""),
            ),
            models.Index(fields=["order_ref"], name="feedback_order_ref", condition=~models.Q(order_ref="")),
            models.Index(fields=["order"], name="feedback_linked_order", condition=models.Q(order__isnull=False)),
            models.Index(fields=["thread_key"], name="feedback_thread", condition=~models.Q(thread_key="")),
            # Only the few items still waiting for analysis, for the catch-up task.
            models.Index(
                fields=["id"], name="feedback_analysis_pending", condition=models.Q(analysis_status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:40]}"
