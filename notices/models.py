"""Email and letter templates, and the queue of letters waiting to be printed and mailed."""

from __future__ import annotations

from django.conf import settings
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
    # PUCT Subst. R. 25.473: a customer who asks for Spanish gets their notices in Spanish.
    # The English template is the one configured (e.g. in Renewal setup); each other language
    # is a template of its own that names it in ``translation_of``.
    language = models.CharField(max_length=2, choices=settings.LANGUAGES, default="en")
    translation_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="translations",
        help_text="The English template this one translates (leave empty for English).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["translation_of", "language"],
                condition=models.Q(translation_of__isnull=False),
                name="one_translation_per_language",
            )
        ]

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
