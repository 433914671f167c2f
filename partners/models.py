"""Sales partners, their API keys, the enrollments they brought, and Sales Importer batches."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q


class Partner(models.Model):
    """A sales partner, TPV vendor or shopping site that sends enrollments (file or API)."""

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=60, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["key_hash"],
    model_name="PartnerApiKeyHistory",
)
class PartnerApiKey(models.Model):
    """One API key of one partner. Only the sha256 of the key is stored; the key is shown once.

    The key has 256 bits of randomness, so a fast hash is enough (no salt or KDF needed:
    nothing to brute-force).
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(
        max_length=16, help_text="The key's first characters, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner} key {self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ImportBatch(models.Model):
    """One uploaded Sales Importer file and the progress of its rows."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="import_batches")
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=4)  # csv | xlsx (sniffed from content)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveIntegerField()
    # The file itself, in the database: any worker on any host can read it.
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The same file (by content) is imported once per partner.
            models.UniqueConstraint(
                fields=["partner", "file_sha256"], name="uniq_import_file_per_partner"
            )
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.file_name})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state == self.State.DONE else 0
        return int(self.processed_rows * 100 / self.total_rows)

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class ImportRowError(models.Model):
    """A row of a batch that did not become an enrollment: where and why."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="Spreadsheet row number (header is row 1).")
    column = models.CharField(max_length=60, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["row_number", "pk"]


class PartnerEnrollment(models.Model):
    """Which partner brought an enrollment, through which channel, and the row/request it was."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="enrollments")
    enrollment = models.OneToOneField(
        "enrollments.Enrollment", on_delete=models.CASCADE, related_name="partner_link"
    )
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    # sha256 of the normalised row (importer): the same row is imported once per partner.
    row_fingerprint = models.CharField(max_length=64, blank=True)
    partner_reference = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "row_fingerprint"],
                condition=~Q(row_fingerprint=""),
                name="uniq_partner_row_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["partner", "created_at"])]


class IdempotencyRecord(models.Model):
    """The first result of an API create sent with an ``Idempotency-Key`` (per partner)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="uniq_idempotency_key")
        ]


class PartnerProgramEnrollment(models.Model):
    """Which partner (an aggregator) enrolled a customer's devices in a demand-response
    program through the API, and the partner's enrollment that identified the customer.

    The programs app knows nothing of partners (it sits below this channel app); every
    partner read of program enrollments is scoped through this link.
    """

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="program_enrollments"
    )
    program_enrollment = models.OneToOneField(
        "programs.ProgramEnrollment", on_delete=models.CASCADE, related_name="partner_link"
    )
    enrollment = models.ForeignKey(
        "enrollments.Enrollment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The partner's electricity enrollment through which the customer was found.",
    )
    partner_reference = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.partner} → program enrollment {self.program_enrollment_id}"
