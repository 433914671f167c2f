"""Customers, premises (service accounts), plans and enrollments."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from opsadmin.crypto import EncryptedTextField
from opsadmin.models import CustomerType, Utility, zip_validator

esiid_validator = RegexValidator(
    r"^10\d{15}(\d{5})?$", "An ESIID is 17 or 22 digits starting with 10."
)


class Customer(models.Model):
    """A person or company we serve (or are enrolling)."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Spanish"

    class NoticePreference(models.TextChoices):
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    customer_type = models.ForeignKey(CustomerType, on_delete=models.PROTECT)
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    company_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    notice_preference = models.CharField(
        max_length=6, choices=NoticePreference.choices, default=NoticePreference.EMAIL
    )
    # Sensitive identifiers: encrypted at rest; SSN reduced to last 4 once billing has it.
    date_of_birth = EncryptedTextField(blank=True)
    ssn = EncryptedTextField(blank=True)
    ssn_last4 = models.CharField(max_length=4, blank=True)
    drivers_license = EncryptedTextField(blank=True)
    billing_address_line1 = models.CharField(max_length=120, blank=True)
    billing_address_line2 = models.CharField(max_length=120, blank=True)
    billing_city = models.CharField(max_length=60, blank=True)
    billing_state = models.CharField(max_length=2, blank=True)
    billing_zip = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["last_name", "first_name"]), models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.company_name or f"{self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        return str(self)


class ServiceAccount(models.Model):
    """A premise we serve for a customer: ESIID (or LDC account), address, meter."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="service_accounts"
    )
    utility = models.ForeignKey(Utility, on_delete=models.PROTECT)
    esiid = models.CharField("ESIID / LDC account", max_length=30, db_index=True)
    meter_number = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField(max_length=120)
    address_line2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60)
    state = models.CharField(max_length=2, default="TX")
    zip_code = models.CharField(max_length=5, validators=[zip_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.esiid} — {self.address_line1}, {self.city}"


class Plan(models.Model):
    """A product (rate plan) as shown in the products table and on the EFL."""

    class RateType(models.TextChoices):
        FIXED = "fixed", "Fixed"
        VARIABLE = "variable", "Variable"
        INDEXED = "indexed", "Indexed"

    class EtfType(models.TextChoices):
        NONE = "none", "None"
        FLAT = "flat", "Flat"
        PER_MONTH = "per_month", "Per remaining month"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    is_web_plan = models.BooleanField("Web plan", default=True)
    customer_types = models.ManyToManyField(CustomerType, related_name="plans")
    utilities = models.ManyToManyField(Utility, related_name="plans")
    rate_type = models.CharField(max_length=10, choices=RateType.choices, default=RateType.FIXED)
    term_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    energy_charge_cents = models.DecimalField(
        "Energy charge (¢/kWh)",
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    base_fee = models.DecimalField(
        "Base fee ($/month)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    etf_type = models.CharField("ETF", max_length=10, choices=EtfType.choices, default=EtfType.FLAT)
    etf_amount = models.DecimalField(
        "ETF amount ($)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    renewal_plan = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Default renewal plan offered when this contract expires.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Enrollment(models.Model):
    """One premise enrolled on one plan, from any channel, and its life cycle."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        ACTIVE = "active", "Active"
        DROPPED = "dropped", "Dropped"
        MOVED_OUT = "moved_out", "Moved out"
        RESCINDED = "rescinded", "Rescinded"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        QUICK = "quick", "Quick Enrollment"
        WIZARD = "wizard", "Signup Wizard"
        IMPORTER = "importer", "Sales Importer"
        API = "api", "Enrollment API"

    class EnrollmentType(models.TextChoices):
        SWITCH = "switch", "Switch"
        MOVE_IN = "move_in", "Move-in"

    # Statuses in which a premise counts as taken: a second enrollment is refused.
    OPEN_STATUSES = (Status.SUBMITTED, Status.PENDING, Status.ACCEPTED, Status.ACTIVE)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="enrollments")
    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.PROTECT, related_name="enrollments"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="enrollments")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    enrollment_type = models.CharField(
        max_length=8, choices=EnrollmentType.choices, default=EnrollmentType.SWITCH
    )
    requested_start_date = models.DateField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    contract_end_date = models.DateField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    # Billing system (ESG) identifiers: opaque strings.
    billing_account_number = models.CharField(max_length=40, blank=True, db_index=True)
    esg_prospect_id = models.CharField(max_length=40, blank=True)
    esg_customer_id = models.CharField(max_length=40, blank=True)
    esg_billing_package_id = models.CharField("Billing Package Id", max_length=40, blank=True)
    esg_token = models.CharField("Token (legacy)", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One open enrollment per premise (ESIID), enforced by the database too.
            models.UniqueConstraint(
                fields=["service_account"],
                condition=Q(status__in=["submitted", "pending", "accepted", "active"]),
                name="one_open_enrollment_per_service_account",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"Enrollment {self.pk} ({self.get_status_display()})"


class EnrollmentEvent(models.Model):
    """One recorded transition of an enrollment: from, to, who or what, when, why."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(
        max_length=40, help_text="Who or what: 'agent', 'billing-status', 'api:partner'..."
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
