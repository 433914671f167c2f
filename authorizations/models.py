"""Consent to read a person's Smart Meter Texas usage before they are our customer, and the
monthly usage we hold for them (from SMT, an upload, or typed in) to price plans on.

Storage choice (see README.md): shoppers and prospects have no ``ServiceAccount`` yet, and the
interval store (``usage.IntervalDay``) is keyed by one; inventing a customer and premise for
every shopper would pollute the customer book. Pricing needs months, not 15-minute values, so
we keep one row per authorization and month (``MonthlyUsage``) with the source of its data.
Once the person enrolls and is accepted, the usage app pulls their 24 months of intervals under
the REP-of-Record feed anyway.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from opsadmin.i18n import Localized
from opsadmin.models import CustomerType, Utility


class UsageAuthorization(models.Model):
    """One person's (or one prospect premise's) consent to share SMT usage, and its life."""

    class Status(models.TextChoices):
        NOT_REQUESTED = "not_requested", "Not requested (own data only)"
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    class Origin(models.TextChoices):
        SHOPPER = "shopper", "Shopper (Signup Wizard)"
        AGENT = "agent", "Agent (Quick Enrollment)"
        PROSPECT = "prospect", "Commercial prospect"

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Spanish"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    channel = models.CharField(
        max_length=10, help_text="Enrollment channel whose plans are priced (plans_available)."
    )
    utility = models.ForeignKey(Utility, on_delete=models.PROTECT, related_name="+")
    customer_type = models.ForeignKey(CustomerType, on_delete=models.PROTECT, related_name="+")
    esiid = models.CharField("ESIID", max_length=22)
    meter_number = models.CharField(max_length=40)
    email = models.EmailField()
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    prospect = models.ForeignKey(
        "prospects.Prospect",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_authorizations",
    )
    prospect_address = models.ForeignKey(
        "prospects.ProspectServiceAddress",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="usage_authorizations",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=14, choices=Status.choices, default=Status.NOT_REQUESTED, db_index=True
    )
    status_reason = models.CharField(max_length=200, blank=True)
    # the same reason in Spanish, for the person (PUCT Subst. R. 25.473); staff read English
    status_reason_es = models.CharField(max_length=200, blank=True)
    local_status_reason = Localized("status_reason")
    duration_months = models.PositiveSmallIntegerField(default=12)
    agreement_number = models.CharField(max_length=40, blank=True, db_index=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    expires_on = models.DateField(
        null=True, blank=True, help_text="Last day SMT shares data under the agreement."
    )
    # polling and follow-up: long waits live here, not in Celery countdowns
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    renewal_prompted_at = models.DateTimeField(null=True, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    data_source = models.CharField(max_length=12, blank=True)
    data_at = models.DateTimeField(null=True, blank=True, help_text="When usage last arrived.")
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self) -> str:
        return f"Authorization {self.pk} {self.esiid} ({self.get_status_display()})"


class AuthorizationEvent(models.Model):
    """What happened to an authorization: status changes, reminders, uploads, refreshes."""

    authorization = models.ForeignKey(
        UsageAuthorization, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=30)
    from_status = models.CharField(max_length=14, blank=True)
    to_status = models.CharField(max_length=14, blank=True)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]


class MonthlyUsage(models.Model):
    """One month of a person's consumption (kWh) and where it came from."""

    class Source(models.TextChoices):
        SMT = "smt", "Smart Meter Texas (data-sharing agreement)"
        SMT_CSV = "smt_csv", "Uploaded Smart Meter Texas CSV"
        GREEN_BUTTON = "green_button", "Uploaded Green Button file"
        MANUAL = "manual", "Entered by hand"

    authorization = models.ForeignKey(
        UsageAuthorization, on_delete=models.CASCADE, related_name="months"
    )
    month = models.DateField(help_text="First day of the month")
    kwh = models.DecimalField(max_digits=12, decimal_places=3)
    days = models.PositiveSmallIntegerField(help_text="Days of data in the month")
    source = models.CharField(max_length=12, choices=Source.choices)
    stored_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(fields=["authorization", "month"], name="uniq_auth_month")
        ]

    def __str__(self) -> str:
        return f"{self.authorization_id} {self.month:%Y-%m} {self.kwh} kWh ({self.source})"
