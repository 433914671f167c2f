"""Drop codes, per-utility drop settings, change-of-terms notices and drop requests."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from enrollments.models import Customer, Enrollment, ServiceAccount
from opsadmin.i18n import Localized, spanish_text
from opsadmin.models import Utility, zip_validator


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="DropCodeHistory",
)
class DropCode(models.Model):
    """A reason code for a drop (Drops > Settings > Drop Codes).

    ``outbound`` codes are the ones we send to the billing system; ``available_in_myaccount``
    decides which of them a customer may pick in My Account (none -> an empty
    reason is sent, one -> that code is sent without asking, several -> a dropdown).
    """

    TRANSLATED_FIELDS = ("description",)

    utility = models.ForeignKey(Utility, on_delete=models.CASCADE, related_name="drop_codes")
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=120)
    description_es = spanish_text("Description", max_length=120)
    local_description = Localized("description")
    outbound = models.BooleanField(default=True, help_text="Sent to the billing system.")
    available_in_myaccount = models.BooleanField(
        "Available in My Account",
        default=False,
        help_text="Customers may choose this reason when they cancel or move out.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["utility__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["utility", "code"], name="uniq_drop_code_per_utility"),
            # Only a code we send out can be what a customer's request carries.
            models.CheckConstraint(
                condition=Q(available_in_myaccount=False) | Q(outbound=True),
                name="myaccount_drop_code_is_outbound",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.description}"

    def clean(self) -> None:
        if self.available_in_myaccount and not self.outbound:
            raise ValidationError(
                {"available_in_myaccount": "Only outbound codes can be offered in My Account."}
            )


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="DropSettingsHistory",
)
class DropSettings(models.Model):
    """Per-utility drop handling: the retention hold window and self-cancel option."""

    utility = models.OneToOneField(Utility, on_delete=models.CASCADE, related_name="drop_settings")
    hold_hours = models.PositiveSmallIntegerField(
        "Hold window (hours)",
        default=0,
        validators=[MaxValueValidator(24 * 14)],
        help_text="Hours a new drop waits for retention staff before it goes to billing. "
        "0 = released automatically.",
    )
    customer_may_cancel_during_hold = models.BooleanField(
        "Customers may cancel their drop during the hold", default=False
    )

    class Meta:
        verbose_name = "drop settings"
        verbose_name_plural = "drop settings"

    def __str__(self) -> str:
        return f"Drop settings for {self.utility}"


class ChangeOfTermsNotice(models.Model):
    """A change-in-terms notice sent for a premise. The ETF is waived for 14 days after it
    (PUCT 25.475(d)(3)-(4))."""

    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="change_of_terms_notices"
    )
    sent_on = models.DateField()

    class Meta:
        ordering = ["-sent_on"]

    def __str__(self) -> str:
        return f"Change of terms for {self.service_account_id} on {self.sent_on}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="DropRequestHistory",
)
class DropRequest(models.Model):
    """A customer's cancel (drop) or move-out request and where it is on its way to billing."""

    TRANSLATED_FIELDS = ("reason_description",)

    class Kind(models.TextChoices):
        DROP = "drop", _("Cancel service")
        MOVE_OUT = "move_out", _("Move out")

    class Status(models.TextChoices):
        HELD = "held", _("On hold (retention)")
        RELEASED = "released", _("Released to billing")
        SENT = "sent", _("Acknowledged by billing")
        COMPLETED = "completed", _("Completed (service ended)")
        FAILED = "failed", _("Billing failed (needs attention)")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.HELD, Status.RELEASED, Status.SENT)

    class ReleasedBy(models.TextChoices):
        AUTO = "auto", "Released automatically"
        HOLD_EXPIRED = "hold_expired", "Hold window ended"
        STAFF = "staff", "Released by staff"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="drop_requests")
    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.PROTECT, related_name="drop_requests"
    )
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, related_name="drop_requests"
    )
    utility = models.ForeignKey(Utility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    requested_date = models.DateField("Drop date")
    # The code as sent (a snapshot: drop codes can be edited later); "" = empty reason.
    reason_code = models.CharField(max_length=20, blank=True)
    reason_description = models.CharField(max_length=120, blank=True)
    reason_description_es = models.CharField(max_length=120, blank=True)
    local_reason_description = Localized("reason_description")
    meter_removal = models.BooleanField(default=False)
    forwarding_address_line1 = models.CharField(max_length=120, blank=True)
    forwarding_address_line2 = models.CharField(max_length=120, blank=True)
    forwarding_city = models.CharField(max_length=60, blank=True)
    forwarding_state = models.CharField(max_length=2, blank=True)
    forwarding_zip = models.CharField(
        "Forwarding ZIP code", max_length=5, blank=True, validators=[zip_validator]
    )
    etf_amount = models.DecimalField(
        "ETF ($)", max_digits=8, decimal_places=2, default=Decimal("0")
    )
    etf_waiver = models.CharField("ETF waiver", max_length=30, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.HELD, db_index=True
    )
    hold_until = models.DateTimeField(null=True, blank=True, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_how = models.CharField(max_length=12, choices=ReleasedBy.choices, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    billing_request_id = models.BigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("release_droprequest", "Can release a held drop request to billing"),
            ("cancel_droprequest", "Can cancel a held drop request (retention)"),
        ]
        constraints = [
            # One open drop per enrollment: a double submit cannot make two.
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(status__in=["held", "released", "sent"]),
                name="one_open_drop_per_enrollment",
            ),
        ]
        indexes = [models.Index(fields=["status", "hold_until"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.get_status_display()})"

    @property
    def has_forwarding_address(self) -> bool:
        return bool(self.forwarding_address_line1 and self.forwarding_city and self.forwarding_zip)

    @property
    def is_held(self) -> bool:
        return self.status == self.Status.HELD
