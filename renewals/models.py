"""Renewal (contract expiration) notices, their schedule settings, and Excel exports."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from notices.models import Letter, NoticeTemplate


class RenewalSetup(models.Model):
    """How renewal notices are scheduled (one row).

    Defaults follow PURA §39.112 for fixed-rate contracts: at least three written notices in
    the last third of the term, the last at least 30 days before expiry, or 15 days for terms
    under 4 months. Other products get one notice 30–60 days ahead (default 45).
    """

    notice_count = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    final_notice_days = models.PositiveSmallIntegerField(
        "Final notice: days before expiry",
        default=30,
        validators=[MinValueValidator(30), MaxValueValidator(120)],
    )
    short_term_months = models.PositiveSmallIntegerField(
        "Short term: under this many months",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    short_term_final_notice_days = models.PositiveSmallIntegerField(
        "Short term final notice: days before expiry",
        default=15,
        validators=[MinValueValidator(15), MaxValueValidator(60)],
    )
    variable_notice_days = models.PositiveSmallIntegerField(
        "Non-fixed products: days before expiry",
        default=45,
        validators=[MinValueValidator(30), MaxValueValidator(60)],
    )
    lookahead_days = models.PositiveSmallIntegerField(
        "Schedule contracts ending within (days)",
        default=400,
        validators=[MinValueValidator(60), MaxValueValidator(1200)],
    )
    email_template = models.ForeignKey(
        NoticeTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    letter_template = models.ForeignKey(
        NoticeTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "renewal setup"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> RenewalSetup:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class RenewalNotice(models.Model):
    """One scheduled contract expiration notice for one enrollment's contract end date.

    The plan codes are copied when the notice is scheduled: the export shows what the notice
    said even if the plan catalogue changes later.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "In letter queue"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    enrollment = models.ForeignKey(
        "enrollments.Enrollment", on_delete=models.CASCADE, related_name="renewal_notices"
    )
    contract_end_date = models.DateField()
    sequence = models.PositiveSmallIntegerField()
    scheduled_for = models.DateField(db_index=True)
    channel = models.CharField(max_length=6, choices=Channel.choices)
    current_plan_code = models.CharField(max_length=30)
    default_plan_code = models.CharField(max_length=30, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    sent = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The language the notice went out in (PUCT Subst. R. 25.473), set when it is sent; and,
    # for staff, the language the customer asked for when no template existed in it.
    language = models.CharField(max_length=2, blank=True)
    language_fallback_from = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_end_date", "enrollment_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "contract_end_date", "sequence"],
                name="one_renewal_notice_per_slot",
            )
        ]
        indexes = [models.Index(fields=["status", "scheduled_for"])]
        permissions = [("export_renewalnotice", "Can export renewal notices to Excel")]

    def __str__(self) -> str:
        return f"Renewal notice {self.sequence} for enrollment {self.enrollment_id}"


class RenewalExport(models.Model):
    """A large Excel export built by a Celery task, with progress and the finished file."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filters = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file_path = models.CharField(max_length=200, blank=True)  # relative to MEDIA_ROOT
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0
