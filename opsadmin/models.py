"""Configuration and market reference data (the core app)."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from opsadmin.crypto import EncryptedTextField
from opsadmin.i18n import Localized, spanish_text

zip_validator = RegexValidator(r"^\d{5}$", "Enter a 5-digit zip code.")


# django-otp ships no type stubs: its devices' reverse managers are unknown to mypy.
class User(AbstractUser):  # type: ignore[django-manager-missing]
    """Staff and customers are different kinds of user and never open each other's pages."""

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff"
        CUSTOMER = "customer", "Customer"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAFF)

    @property
    def is_customer(self) -> bool:
        return self.kind == self.Kind.CUSTOMER

    @property
    def is_staff_user(self) -> bool:
        return self.kind == self.Kind.STAFF


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="SystemSetupHistory",
)
class SystemSetup(models.Model):
    """The one row of system-wide settings (Configuration > System Setup)."""

    show_etf_message_on_drops = models.BooleanField(
        "Show ETF message on drops",
        default=True,
        help_text="Show the early termination fee notice when a customer drops.",
    )
    drop_days_in_advance = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(90)],
        help_text="How many days ahead of today the earliest drop date is.",
    )
    drop_max_days_ahead = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="How far ahead a customer may schedule a drop.",
    )
    abandoned_signup_hours = models.PositiveSmallIntegerField(
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Hours to keep a half-finished signup before it is purged.",
    )

    class Meta:
        verbose_name = "system setup"

    def save(self, *args, **kwargs):
        self.pk = 1  # one row only
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> SystemSetup:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def __str__(self) -> str:
        return "System Setup"


class UsageTierSet(models.Model):
    """Usage tiers (kWh) at which average prices are shown, per state (EFL, PUCT 25.475)."""

    state = models.CharField(max_length=2, unique=True)
    tiers_kwh = ArrayField(models.PositiveIntegerField(), size=6, verbose_name="Usage tiers (kWh)")

    def __str__(self) -> str:
        return f"{self.state}: {'/'.join(str(t) for t in self.tiers_kwh)} kWh"


# Secrets never go into history, not even as ciphertext.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["smt_password", "esg_api_key", "derms_api_key"],
    model_name="ThirdPartyProviderHistory",
)
class ThirdPartyProvider(models.Model):
    """Smart Meter Texas connection (Configuration > Third Party Providers); one row."""

    class RequesterType(models.TextChoices):
        RES = "RES", "Retail Electric Provider (RES)"
        CSP = "CSP", "Competitive Service Provider (CSP)"
        TDSP = "TDSP", "Utility (TDSP)"

    class AuthMode(models.TextChoices):
        TOKEN = "token", "Token (POST /v2/token/)"
        CERTIFICATE = "certificate", "Certificate (older mode)"

    smt_enabled = models.BooleanField("Obtain Smart Meter Texas Usage Information", default=False)
    smt_api_url = models.URLField("SMT API URL", blank=True)
    smt_username = models.CharField("SMT Username", max_length=100, blank=True)
    smt_password = EncryptedTextField("SMT Password", blank=True)
    smt_duns_number = models.CharField(
        "SMT DUNS Number",
        max_length=13,
        blank=True,
        validators=[
            RegexValidator(r"^\d{9}(\d{4})?$", "A DUNS number has 9 digits (or 13 with +4).")
        ],
    )
    smt_requester_type = models.CharField(
        "SMT Requester Type", max_length=4, choices=RequesterType.choices, default=RequesterType.RES
    )
    smt_certificate_name = models.CharField("SMT Certificate Name", max_length=200, blank=True)
    smt_auth_mode = models.CharField(
        "SMT auth mode", max_length=12, choices=AuthMode.choices, default=AuthMode.TOKEN
    )
    # DERMS / head end (programs issue) and ESG defaults live here too: one screen for the
    # outside world's connections.
    esg_api_url = models.URLField("ESG REST API URL", blank=True)
    esg_api_key = EncryptedTextField("ESG API key", blank=True)
    derms_api_url = models.URLField("DERMS sync URL", blank=True)
    derms_api_key = EncryptedTextField("DERMS API key", blank=True)

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ThirdPartyProvider:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def __str__(self) -> str:
        return "Third Party Providers"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="UtilityHistory",
)
class Utility(models.Model):
    """A utility (TDSP in ERCOT) with its market and billing-system relationship."""

    class Market(models.TextChoices):
        ERCOT = "ERCOT", "ERCOT"
        PJM = "PJM", "PJM"
        NYISO = "NYISO", "NYISO"
        ISONE = "ISO-NE", "ISO-NE"
        MISO = "MISO", "MISO"
        OTHER = "OTHER", "Other"

    class BillingSystem(models.TextChoices):
        ESG_REST = "esg_rest", "ESG REST API"
        ESG_TOKEN = "esg_token", "ESG legacy token"

    TRANSLATED_FIELDS = ("meter_number_label",)

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, unique=True)
    market = models.CharField(max_length=10, choices=Market.choices, default=Market.ERCOT)
    state = models.CharField(max_length=2, default="TX")
    esiid_prefixes = ArrayField(
        models.CharField(max_length=10),
        verbose_name="ESIID prefixes",
        default=list,
        blank=True,
        help_text="ESIID prefixes this utility issues (e.g. 1008901 for CenterPoint).",
    )
    meter_number_label = models.CharField(max_length=40, default="Meter Number")
    meter_number_label_es = spanish_text("Meter number label", max_length=40)
    local_meter_number_label = Localized("meter_number_label")
    billing_system = models.CharField(
        "Billing System",
        max_length=12,
        choices=BillingSystem.choices,
        default=BillingSystem.ESG_REST,
    )
    price_to_compare_cents = models.DecimalField(
        "Price to compare (¢/kWh)",
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Price to compare, cents per kWh, for notices.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "utilities"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ercot(self) -> bool:
        return self.market == self.Market.ERCOT

    @property
    def has_billing_account_numbers(self) -> bool:
        """Only ESG REST utilities expose the billing account number."""
        return self.billing_system == self.BillingSystem.ESG_REST


class ServiceArea(models.Model):
    """A zip code a utility serves."""

    utility = models.ForeignKey(Utility, on_delete=models.CASCADE, related_name="service_areas")
    zip_code = models.CharField("ZIP code", max_length=5, validators=[zip_validator], db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["utility", "zip_code"], name="uniq_service_area")
        ]
        ordering = ["zip_code"]

    def __str__(self) -> str:
        return f"{self.zip_code} ({self.utility})"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="CustomerTypeHistory",
)
class CustomerType(models.Model):
    """Residential, Commercial, ... (Customers > Settings > Customer Types)."""

    TRANSLATED_FIELDS = ("name",)

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60, unique=True)
    name_es = spanish_text("Name", max_length=60)
    local_name = Localized("name")
    drop_visible_in_myaccount = models.BooleanField(
        "Drop option visible in My Account",
        default=True,
        help_text="Whether customers of this type see Cancel / Move Out in My Account.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskHeartbeat(models.Model):
    """Last time the beat heartbeat ran through a worker (Configuration > Health)."""

    name = models.CharField(max_length=50, unique=True)
    last_seen = models.DateTimeField()


DEFAULT_TIERS = {"TX": [500, 1000, 2000]}
ZERO = Decimal("0")


class OutboxState(models.TextChoices):
    """The one set of states of every outbox (``opsadmin.outbox``)."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Acknowledged"
    FAILED = "failed", "Failed (needs attention)"


class OutboxMessage(models.Model):
    """Base of an outbox row: one request to an outside system, written in the same
    transaction as the change it reports, sent after commit by ``opsadmin.outbox.Outbox``.

    ``attempts`` counts every claim; ``attempts_at_retry`` is what it was when staff last
    asked to send a failed row again, so a retry gets a fresh set of attempts while
    ``attempts`` keeps growing (a late answer to an older claim never matches a newer one).
    """

    State = OutboxState
    WAITING_STATES = (OutboxState.QUEUED, OutboxState.RETRYING, OutboxState.FAILED)
    PENDING_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.RETRYING)

    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(
        max_length=12, choices=OutboxState.choices, default=OutboxState.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    attempts_at_retry = models.PositiveIntegerField(default=0)
    # Due time of a queued / retrying row; while ``sending``, the end of the claim's lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OutboxAttempt(models.Model):
    """The record of one attempt to send an outbox row (``outbox`` names the outbox, e.g.
    ``billing``; ``message_id`` its row): when it was claimed, when the answer was written,
    what came of it. A claim lost with its worker leaves no record (its lease runs out)."""

    outbox = models.CharField(max_length=20)
    message_id = models.BigIntegerField()
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=OutboxState.choices)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["outbox", "message_id"], name="outbox_attempt_message")]
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.outbox} #{self.message_id} attempt {self.number}: {self.outcome}"


# Two-factor recovery codes and the reset audit live in their own module.
from opsadmin.otp_models import (  # noqa: E402, F401
    RecoveryCode,
    RecoveryCodeDevice,
    TwoFactorReset,
)
