"""Demand-response programs: configuration, device enrollment, the DERMS outbox, events.

OpsAdmin plays the program-management role: it enrolls customers and
their controllable devices in programs and keeps the DERMS / head end in sync through an
outbox of sync requests (:class:`SyncRequest`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from enrollments.models import Customer, ServiceAccount
from opsadmin.i18n import Localized, spanish_text
from opsadmin.models import CustomerType, OutboxMessage, Utility

serial_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$",
    "A serial number is 3-60 letters, digits, dots, dashes or underscores.",
)


# --- configuration -------------------------------------------------------------------------
class ControllableAssetType(models.Model):
    """Thermostat, battery, EV charger, water heater..."""

    code = models.SlugField(max_length=30, unique=True)
    TRANSLATED_FIELDS = ("name",)

    name = models.CharField(max_length=80, unique=True)
    name_es = spanish_text("Name", max_length=80)
    local_name = Localized("name")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HeadEndSystem(models.Model):
    """The head end that talks to a family of devices (registered with the DERMS)."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeviceSpecification(models.Model):
    """A make/model of a controllable asset (its technical specification)."""

    code = models.SlugField(max_length=40, unique=True)
    asset_type = models.ForeignKey(
        ControllableAssetType, on_delete=models.PROTECT, related_name="specifications"
    )
    manufacturer = models.CharField(max_length=80)
    model_name = models.CharField("Model", max_length=80)
    capacity_kw = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["manufacturer", "model_name"]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model_name}"


class RateClass(models.Model):
    """A utility rate class (residential, small commercial, TOU...)."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "rate classes"

    def __str__(self) -> str:
        return self.name


class PremiseRateClass(models.Model):
    """The rate class of a premise (service account); programs may be limited by it."""

    service_account = models.OneToOneField(
        ServiceAccount, on_delete=models.CASCADE, related_name="program_rate_class"
    )
    rate_class = models.ForeignKey(RateClass, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.service_account.esiid}: {self.rate_class}"


class ProgramType(models.Model):
    """What customers of a program may do about events."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=80, unique=True)
    allows_opt_out = models.BooleanField(
        "Customers may opt out of events",
        default=True,
        help_text="Opt-out is accepted only before the event starts.",
    )
    allows_unavailability = models.BooleanField("Customers may report unavailability", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Program(models.Model):
    """A demand-response program and its eligibility rules (an empty rule means any)."""

    code = models.SlugField(max_length=40, unique=True)
    TRANSLATED_FIELDS = ("name", "description")

    name = models.CharField(max_length=120)
    name_es = spanish_text("Name", max_length=120)
    description = models.TextField(blank=True)
    description_es = spanish_text("Description")
    local_name = Localized("name")
    local_description = Localized("description")
    program_type = models.ForeignKey(ProgramType, on_delete=models.PROTECT, related_name="programs")
    head_end = models.ForeignKey(HeadEndSystem, on_delete=models.PROTECT, related_name="programs")
    customer_types = models.ManyToManyField(CustomerType, blank=True, related_name="+")
    utilities = models.ManyToManyField(Utility, blank=True, related_name="+")
    rate_classes = models.ManyToManyField(RateClass, blank=True, related_name="programs")
    asset_types = models.ManyToManyField(
        ControllableAssetType, blank=True, related_name="programs", verbose_name="device types"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EntityGroup(models.Model):
    """The DERMS group a device joins, picked by program, specification and rate class.

    A blank specification or rate class matches any; the most specific group wins.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="entity_groups")
    specification = models.ForeignKey(
        DeviceSpecification, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rate_class = models.ForeignKey(
        RateClass, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["program", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "specification", "rate_class"],
                nulls_distinct=False,
                name="uniq_entity_group_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.program})"


# --- enrollment ----------------------------------------------------------------------------
class ProgramEnrollment(models.Model):
    """A customer's premise enrolled in one program, with its devices."""

    class Status(models.TextChoices):
        PENDING_INSTALLATION = "pending_install", _("Pending installation (work order)")
        ACTIVE = "active", _("Enrolled")
        UNENROLLED = "unenrolled", _("Unenrolled")

    class Channel(models.TextChoices):
        AGENT = "agent", "Agent"
        MYACCOUNT = "myaccount", "My Account"
        API = "api", "Enrollment API (aggregator)"

    class RemovalMethod(models.TextChoices):
        KEEP = "keep", "Keep (customer keeps the device)"
        UTILITY_REMOVAL = "utility_removal", "Utility removal (work order)"

    OPEN_STATUSES = (Status.PENDING_INSTALLATION, Status.ACTIVE)

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="program_enrollments"
    )
    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.PROTECT, related_name="program_enrollments"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    channel_reference = models.CharField(
        max_length=80, blank=True, help_text="The aggregator's own reference (API channel)."
    )
    unenroll_reason = models.CharField(max_length=200, blank=True)
    removal_method = models.CharField(max_length=16, choices=RemovalMethod.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    unenrolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_account", "program"],
                condition=Q(status__in=["pending_install", "active"]),
                name="one_open_program_enrollment_per_premise",
            )
        ]

    def __str__(self) -> str:
        return f"{self.program} — {self.customer} ({self.get_status_display()})"


class Device(models.Model):
    """A controllable device enrolled in a program, and its head-end registration flag."""

    class InstallationMethod(models.TextChoices):
        BYO = "byo", _("Bring your own")
        UTILITY = "utility", _("Utility installation")

    class Ownership(models.TextChoices):
        CUSTOMER = "customer", _("Customer owned")
        UTILITY = "utility", _("Utility owned")

    class Status(models.TextChoices):
        PENDING_INSTALLATION = "pending_install", _("Pending installation")
        ACTIVE = "active", _("Active")
        REPLACED = "replaced", _("Replaced")
        REMOVED = "removed", _("Removed (unenrolled)")

    class HeadEndStatus(models.TextChoices):
        NOT_SENT = "not_sent", _("Not sent")
        PENDING = "pending", _("Pending")
        REGISTERED = "registered", _("Registered")
        DE_REGISTERED = "de_registered", _("De-registered")
        ERROR = "error", _("Error")

    LIVE_STATUSES = (Status.PENDING_INSTALLATION, Status.ACTIVE)

    enrollment = models.ForeignKey(
        ProgramEnrollment, on_delete=models.CASCADE, related_name="devices"
    )
    asset_type = models.ForeignKey(
        ControllableAssetType, on_delete=models.PROTECT, related_name="+"
    )
    specification = models.ForeignKey(
        DeviceSpecification, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    serial_number = models.CharField(max_length=60, validators=[serial_validator])
    network_address = models.CharField(max_length=100)
    installation_method = models.CharField(max_length=8, choices=InstallationMethod.choices)
    ownership = models.CharField(max_length=8, choices=Ownership.choices)
    entity_group = models.ForeignKey(
        EntityGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    head_end_status = models.CharField(
        max_length=14, choices=HeadEndStatus.choices, default=HeadEndStatus.NOT_SENT
    )
    head_end_message = models.CharField(max_length=300, blank=True)
    head_end_updated_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One live device per serial number across every program.
            models.UniqueConstraint(
                fields=["serial_number"],
                condition=Q(status__in=["pending_install", "active"]),
                name="one_live_device_per_serial",
            )
        ]

    def __str__(self) -> str:
        return f"{self.asset_type} {self.serial_number}"

    @property
    def needs_work_order(self) -> bool:
        """Utility-owned or utility-installed devices pass through a site visit."""
        return (
            self.ownership == self.Ownership.UTILITY
            or self.installation_method == self.InstallationMethod.UTILITY
        )


class WorkOrder(models.Model):
    """A field visit: installation, removal, or a service call that may replace a device."""

    class Kind(models.TextChoices):
        INSTALLATION = "installation", "Installation"
        REMOVAL = "removal", "Removal"
        SERVICE_CALL = "service_call", "Service call"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    enrollment = models.ForeignKey(
        ProgramEnrollment, on_delete=models.CASCADE, related_name="work_orders"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="work_orders")
    scheduled_date = models.DateField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True)
    resolution = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


# --- the DERMS outbox ----------------------------------------------------------------------
class SyncRequest(OutboxMessage):
    """One message for the DERMS, written in the same transaction as the change.

    Enroll / unenroll / replace carry the devices (entity group, network address); the
    DERMS answers with a message-level acknowledgement and (current format) each device's
    head-end registration status. Opt-outs and unavailability windows travel the same way
    so that nothing a customer asked for is lost while the DERMS is down.
    """

    class Kind(models.TextChoices):
        ENROLL = "enroll", "Enroll"
        UNENROLL = "unenroll", "Unenroll"
        REPLACE = "replace", "Replace device"
        OPT_OUT = "opt_out", "Event opt-out"
        UNAVAILABILITY = "unavailability", "Unavailability"

    class AckFormat(models.TextChoices):
        CURRENT = "current", "Per-device acknowledgement"
        DEPRECATED = "deprecated", "Message-level only (deprecated)"

    DEVICE_KINDS = (Kind.ENROLL, Kind.UNENROLL, Kind.REPLACE)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    enrollment = models.ForeignKey(
        ProgramEnrollment, on_delete=models.CASCADE, related_name="sync_requests"
    )
    payload = models.JSONField()
    ack = models.CharField(max_length=10, blank=True, help_text="positive / negative")
    ack_format = models.CharField(max_length=10, choices=AckFormat.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_state_display()})"


class SyncRequestDevice(models.Model):
    """A device in a sync request and what the head end said about it."""

    class Action(models.TextChoices):
        REGISTER = "register", "Register"
        DEREGISTER = "deregister", "De-register"

    sync_request = models.ForeignKey(SyncRequest, on_delete=models.CASCADE, related_name="items")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="sync_items")
    action = models.CharField(max_length=10, choices=Action.choices)
    result = models.CharField(max_length=14, choices=Device.HeadEndStatus.choices, blank=True)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["sync_request", "device"], name="uniq_sync_item")
        ]


# --- events --------------------------------------------------------------------------------
class DemandResponseEvent(models.Model):
    """An event the DERMS announced for a program."""

    external_id = models.CharField(max_length=60, unique=True)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="events")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, default="scheduled")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"Event {self.external_id} ({self.program})"


class DeviceReservation(models.Model):
    """A device the DERMS reserved for an event; the customer is notified by email."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved")
        OPTED_OUT = "opted_out", _("Opted out")
        RELEASED = "released", _("Released by the DERMS")

    event = models.ForeignKey(
        DemandResponseEvent, on_delete=models.CASCADE, related_name="reservations"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="reservations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED)
    notified_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    opted_out_by = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["event__starts_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["event", "device"], name="uniq_reservation")]


class Unavailability(models.Model):
    """A window in which a device must not be reserved; overlapping windows are merged."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="unavailabilities")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=10, choices=ProgramEnrollment.Channel.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "unavailability windows"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="unavailability_ends_after"
            )
        ]

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError("The window must end after it starts.")

    def __str__(self) -> str:
        return f"{self.device} unavailable {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"
