"""Email and letter templates, and the queue of letters waiting to be printed and mailed."""

from __future__ import annotations

from django.db import models


class NoticeTemplate(models.Model):
    """A notice written by staff with ``[NAME]`` replacement values.

    ``body`` is HTML written by staff (trusted markup); values are escaped into it when it is
    rendered. ``record_kind`` says which record it is rendered for (enrollment, prospect...).
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    record_kind = models.CharField(
        max_length=30,
        default="enrollment",
        help_text="The record the notice is about; it decides which values have data.",
    )
    subject = models.CharField(
        max_length=200,
        blank=True,
        help_text="Email subject (plain text; replacement values allowed).",
    )
    body = models.TextField(help_text="HTML. Replacement values are written [NAME].")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Letter(models.Model):
    """A rendered letter waiting to be printed and mailed (the letter queue).

    ``subject_type``/``subject_id`` name the row it is about (e.g. ``renewal_notice``/7)
    without notices importing the app that owns it; that app registers a handler to hear
    when the letter was mailed (``notices.services.on_letter_mailed``).
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        MAILED = "mailed", "Mailed"
        CANCELLED = "cancelled", "Cancelled"

    template = models.ForeignKey(
        NoticeTemplate, null=True, on_delete=models.SET_NULL, related_name="letters"
    )
    subject_type = models.CharField(max_length=30)
    subject_id = models.BigIntegerField()
    recipient_name = models.CharField(max_length=200)
    address_lines = models.TextField(help_text="Mailing address, one line per line.")
    body_html = models.TextField()
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.QUEUED, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"], name="one_letter_per_subject"
            )
        ]

    def __str__(self) -> str:
        return f"Letter to {self.recipient_name} ({self.get_state_display()})"
