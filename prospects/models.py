"""Commercial prospects (leads, often from brokers) and their service addresses."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from opsadmin.models import CustomerType, Utility, zip_validator
from opsadmin.phones import clean_phone_field


class Broker(models.Model):
    """An energy broker who brings commercial leads."""

    name = models.CharField(max_length=120)
    company = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    def clean(self) -> None:
        clean_phone_field(self)


class Prospect(models.Model):
    """A company we are selling to, from first contact to enrollment."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        PROPOSAL = "proposal", "Proposal sent"
        WON = "won", "Won"
        CONVERTED = "converted", "Converted"
        LOST = "lost", "Lost"

    company_name = models.CharField(max_length=120)
    customer_type = models.ForeignKey(
        CustomerType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    broker = models.ForeignKey(
        Broker, null=True, blank=True, on_delete=models.SET_NULL, related_name="prospects"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["company_name", "pk"]

    def __str__(self) -> str:
        return self.company_name

    @property
    def primary_contact(self) -> ProspectContact | None:
        contacts = list(self.contacts.all())
        return next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)


class ProspectContact(models.Model):
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    title = models.CharField(max_length=80, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "last_name", "pk"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        clean_phone_field(self)


class ProspectServiceAddress(models.Model):
    """A premise of the prospect: utility, ESIID or LDC account, and its meter number.

    The meter number belongs here, not to the prospect; its label comes from the utility
    (``Utility.meter_number_label``). It replaced the old Service Reference Id.
    """

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="addresses")
    utility = models.ForeignKey(Utility, on_delete=models.PROTECT, related_name="+")
    esiid = models.CharField("ESIID / LDC account", max_length=30)
    meter_number = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField(max_length=120)
    address_line2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60)
    state = models.CharField(max_length=2, default="TX")
    zip_code = models.CharField(max_length=5, validators=[zip_validator])
    # Set when the prospect converts: the enrollment this address became.
    enrollment = models.OneToOneField(
        "enrollments.Enrollment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prospect_address",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.address_line1}, {self.city}"

    @property
    def meter_label(self) -> str:
        return self.utility.meter_number_label or "Meter Number"

    @property
    def one_line(self) -> str:
        parts = [
            self.address_line1,
            self.address_line2,
            f"{self.city}, {self.state} {self.zip_code}",
        ]
        return ", ".join(p for p in parts if p)


class ProspectNote(models.Model):
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
