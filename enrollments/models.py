"""Customers, premises (service accounts), plans and enrollments."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Right, Upper

from opsadmin.crypto import EncryptedTextField
from opsadmin.i18n import Localized, spanish_text
from opsadmin.models import CustomerType, Utility, zip_validator
from opsadmin.phones import clean_phone_field

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
    # The phone's last 10 digits, whatever was typed ("(713) 555-0142", "+1 713.555.0142"):
    # Find an enrollment matches a phone typed in any format on this indexed column.
    phone_digits = models.GeneratedField(
        expression=Right(
            Func(
                F("phone"),
                Value(r"\D"),
                Value(""),
                Value("g"),
                function="REGEXP_REPLACE",
                output_field=models.CharField(),
            ),
            10,
        ),
        output_field=models.CharField(max_length=10),
        db_persist=True,
    )
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
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["email"]),
            # Find an enrollment: case-insensitive prefix searches (UPPER(col) LIKE 'X%')
            # need pattern ops under a non-C collation.
            models.Index(
                OpClass(Upper("last_name"), name="text_pattern_ops"), name="customer_last_upper"
            ),
            models.Index(
                OpClass(Upper("first_name"), name="text_pattern_ops"),
                name="customer_first_upper",
            ),
            models.Index(
                OpClass(Upper("company_name"), name="text_pattern_ops"),
                name="customer_company_upper",
            ),
            models.Index(
                OpClass(Upper("email"), name="text_pattern_ops"), name="customer_email_upper"
            ),
            models.Index(fields=["phone_digits"], name="customer_phone_digits"),
        ]

    def __str__(self) -> str:
        return self.company_name or f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        clean_phone_field(self)

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


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="PlanHistory",
)
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

    TRANSLATED_FIELDS = ("name", "description")

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    name_es = spanish_text("Name", max_length=100)
    local_name = Localized("name")
    description = models.CharField(
        max_length=200,
        blank=True,
        help_text="One line customers read under the plan's name (products table, renewal).",
    )
    description_es = spanish_text("Description", max_length=200)
    local_description = Localized("description")
    is_web_plan = models.BooleanField("Web plan", default=True)
    customer_types = models.ManyToManyField(CustomerType, related_name="plans")
    utilities = models.ManyToManyField(Utility, related_name="plans")
    rate_type = models.CharField(max_length=10, choices=RateType.choices, default=RateType.FIXED)
    term_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    month_to_month = models.BooleanField(
        "Month-to-month",
        default=False,
        help_text="No contract end date; customers whose contract ends without a renewal "
        "move to a month-to-month plan (PUCT 25.475(e)).",
    )
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
    # A bill credit when monthly usage reaches a threshold makes the EFL tiers non-linear
    # (the Electricity Facts Label, PUCT Subst. R. §25.475).
    bill_credit = models.DecimalField(
        "Bill credit ($)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    bill_credit_min_kwh = models.PositiveIntegerField(
        "Bill credit from (kWh)",
        null=True,
        blank=True,
        help_text="The credit applies in a month whose usage is at least this many kWh.",
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


class PlanEnergyTier(models.Model):
    """An energy charge for the kWh of a month above a threshold (EFL: "0-1,000 kWh: 12.9¢,
    above 1,000 kWh: 10.9¢"). The plan's ``energy_charge_cents`` prices the kWh below the
    lowest tier; with time-of-use periods, tiers price only the kWh outside every period."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="energy_tiers")
    above_kwh = models.PositiveIntegerField("Above (kWh in the month)")
    energy_charge_cents = models.DecimalField(
        "Energy charge (¢/kWh)",
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["plan_id", "above_kwh"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "above_kwh"], name="uniq_plan_energy_tier")
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}: above {self.above_kwh} kWh {self.energy_charge_cents}¢"


class PlanBillCredit(models.Model):
    """A bill credit in a month whose usage is within ``min_kwh``..``max_kwh`` (inclusive;
    no maximum: any usage from ``min_kwh``). Several may apply; they add up (PUCT 16 TAC
    25.475(b): recurring credits are part of the EFL average price)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="bill_credits")
    min_kwh = models.PositiveIntegerField("From (kWh)")
    max_kwh = models.PositiveIntegerField("Up to (kWh)", null=True, blank=True)
    amount = models.DecimalField(
        "Credit ($)", max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["plan_id", "min_kwh"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_kwh__isnull=True) | Q(max_kwh__gte=models.F("min_kwh")),
                name="plan_bill_credit_range",
            )
        ]

    def __str__(self) -> str:
        top = f"-{self.max_kwh}" if self.max_kwh is not None else "+"
        return f"{self.plan_id}: ${self.amount} at {self.min_kwh}{top} kWh"


def _all_days() -> list[int]:
    return [1, 2, 3, 4, 5, 6, 7]


class TouPeriod(models.Model):
    """A time-of-use period with its own energy charge ("free nights 9 pm-6 am", "free
    weekends"). Hours are America/Chicago wall-clock hours (ERCOT settles in Central
    Prevailing Time): ``start_hour`` <= hour < ``end_hour``; a start after the end wraps past
    midnight; equal start and end is the whole day. ``days_of_week`` are ISO days (1 Monday
    .. 7 Sunday) of the interval's own local date. ``on_holidays`` makes the period apply on
    a holiday (:func:`enrollments.pricing.tou_holidays`) whatever its day of the week. The
    lowest ``sort_order`` that matches an interval prices it; an interval no period matches
    is priced at the plan's energy charge (and tiers)."""

    TRANSLATED_FIELDS = ("name",)

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tou_periods")
    name = models.CharField(max_length=60)
    name_es = spanish_text("Name", max_length=60)
    local_name = Localized("name")
    energy_charge_cents = models.DecimalField(
        "Energy charge (¢/kWh)",
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    start_hour = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    end_hour = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(24)], help_text="Exclusive; 24 is midnight."
    )
    days_of_week = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)]),
        default=_all_days,
        help_text="ISO days: 1 Monday .. 7 Sunday.",
    )
    on_holidays = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan_id", "sort_order", "pk"]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.name}"


class TduCharge(models.Model):
    """The utility's (TDSP's) delivery charges passed through on every bill (EFL: included)."""

    utility = models.OneToOneField(Utility, on_delete=models.CASCADE, related_name="tdu_charge")
    monthly_charge = models.DecimalField(
        "Monthly charge ($)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    per_kwh_cents = models.DecimalField(
        "Delivery charge (¢/kWh)",
        max_digits=8,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    effective_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["utility__name"]
        verbose_name = "TDU delivery charge"

    def __str__(self) -> str:
        return f"{self.utility}: ${self.monthly_charge}/month + {self.per_kwh_cents}¢/kWh"


class PromoCode(models.Model):
    """A promotional code: valid dates, channels where it may be used, and what it gives."""

    class Benefit(models.TextChoices):
        BILL_CREDIT = "bill_credit", "Bill credit ($)"
        CENTS_OFF = "cents_off", "Cents off per kWh"

    code = models.CharField(max_length=30, unique=True)
    description = models.CharField(max_length=200, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    channels = ArrayField(
        models.CharField(
            max_length=10,
            choices=[
                ("quick", "Quick Enrollment"),
                ("wizard", "Signup Wizard"),
                ("importer", "Sales Importer"),
                ("api", "Enrollment API"),
            ],
        ),
        default=list,
        help_text="Channels where the code is accepted.",
    )
    benefit = models.CharField(max_length=12, choices=Benefit.choices)
    amount = models.DecimalField(
        "Amount ($ or ¢/kWh)",
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def is_valid_on(self, day, channel: str) -> bool:
        return (
            self.active
            and channel in self.channels
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )

    @property
    def benefit_text(self) -> str:
        if self.benefit == self.Benefit.BILL_CREDIT:
            return f"${self.amount.quantize(Decimal('0.01'))} bill credit"
        return f"{self.amount.normalize():f}¢/kWh off"


class ReferralSource(models.Model):
    """An answer to "How did you hear about us?"."""

    TRANSLATED_FIELDS = ("name",)

    name = models.CharField(max_length=80, unique=True)
    name_es = spanish_text("Name", max_length=80)
    local_name = Localized("name")
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class ConsentMethod(models.Model):
    """How the customer authorised the switch (PUCT 25.474 proof of authorization)."""

    WEB = "web"
    PHONE = "phone"
    SIGNED_CONTRACT = "signed_contract"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60, unique=True)
    requires_document = models.BooleanField(
        default=False, help_text="A signed contract file must be uploaded."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="EnrollmentHistory",
    # "events" is the life-cycle log (EnrollmentEvent); field history is "history"
    obj_field=pghistory.ObjForeignKey(related_name="history"),
)
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
    # The premise's ESIID, copied on creation so the database itself refuses two open
    # enrollments for one ESIID (every submit creates its own ServiceAccount row).
    esiid = models.CharField(max_length=30, blank=True, default="", editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="enrollments")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    enrollment_type = models.CharField(
        max_length=8, choices=EnrollmentType.choices, default=EnrollmentType.SWITCH
    )
    requested_start_date = models.DateField(null=True, blank=True)
    # Life-cycle dates, set only by the billing system's answers (enrollments.services):
    # the day ERCOT completed the switch / move-in, the contract's term, the final day.
    service_start_date = models.DateField(null=True, blank=True)
    contract_start_date = models.DateField(null=True, blank=True)
    contract_end_date = models.DateField(
        null=True, blank=True, help_text="Empty for month-to-month plans."
    )
    service_end_date = models.DateField(null=True, blank=True)
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
    # What was sold with it.
    promo_code = models.ForeignKey(
        PromoCode, null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments"
    )
    referral_source = models.ForeignKey(
        ReferralSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    affiliate_code = models.CharField(max_length=40, blank=True)
    critical_care = models.BooleanField(
        "Critical care / chronic condition", default=False, help_text="PUCT 25.497"
    )
    deposit_alternative = models.CharField(max_length=20, blank=True)
    # Proof of authorization (PUCT 25.474): how, when, who (phone) or from where (web).
    consent_method = models.ForeignKey(
        ConsentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=400, blank=True)
    signed_contract = models.FileField(upload_to="signed_contracts/%Y/%m/", blank=True)
    acknowledgements = models.JSONField(default=list, blank=True)
    rescission_deadline = models.DateField(null=True, blank=True)
    # A form's idempotency token: the same token never makes a second enrollment.
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
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
            models.UniqueConstraint(
                fields=["esiid"],
                condition=Q(status__in=["submitted", "pending", "accepted", "active"])
                & ~Q(esiid=""),
                name="one_open_enrollment_per_esiid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            # Find an enrollment: ESIID exact or prefix, newest first, by channel or date.
            models.Index(
                OpClass("esiid", name="varchar_pattern_ops"), name="enrollment_esiid_prefix"
            ),
            models.Index(fields=["submitted_at"], name="enrollment_submitted_at"),
            models.Index(fields=["channel", "submitted_at"], name="enrollment_channel_submitted"),
        ]

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


class EnrollmentDraft(models.Model):
    """A Quick Enrollment or Signup Wizard in progress, kept server-side so nothing typed is
    lost. Wizard drafts nobody finishes are purged after System Setup's abandoned hours."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=Enrollment.Channel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    step = models.CharField(max_length=20, default="search")
    data = models.JSONField(default=dict, blank=True)
    # SSN, DOB, driver's licence and the wizard's password hash: encrypted JSON.
    secret = EncryptedTextField(blank=True)
    email = models.EmailField(blank=True)
    resume_sent_at = models.DateTimeField(null=True, blank=True)
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return f"Draft {self.token} ({self.channel}, {self.step})"
