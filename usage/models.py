"""Interval usage from Smart Meter Texas, billing-system bills, and the sync state per premise.

Storage layout (chosen by ``bench/usage_ingest.py``, see docs in ``usage/README.md``): one row
per premise, channel and America/Chicago day holding that day's 15-minute values in an
array (92 values on the spring-forward day, 100 on the fall-back day, 96 otherwise; a missing
interval is a NULL at its position). The logical key of a reading stays (premise, interval
start in UTC, channel): interval ``i`` (0-based) of a row starts at ``day_start + i * 15 min``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MinValueValidator
from django.db import models

from enrollments.models import ServiceAccount
from opsadmin import clock

CHICAGO = clock.CHICAGO  # market days
UTC = ZoneInfo("UTC")
INTERVAL = timedelta(minutes=15)


def local_day_start(day: date) -> datetime:
    """The aware instant of local midnight (America/Chicago) that starts market day ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=CHICAGO)


def intervals_in_day(day: date) -> int:
    """96 on an ordinary day, 92 on the spring-forward day, 100 on the fall-back day."""
    # aware datetimes sharing one tzinfo subtract as wall-clock times: go through UTC
    start = local_day_start(day).astimezone(UTC)
    end = local_day_start(day + timedelta(days=1)).astimezone(UTC)
    return int((end - start).total_seconds() // 900)


class Channel(models.TextChoices):
    CONSUMPTION = "C", "Consumption"
    GENERATION = "G", "Surplus generation"


class IntervalDay(models.Model):
    """One premise's 15-minute readings of one channel on one America/Chicago day.

    ``flags`` has one character per position: ``A`` actual, ``E`` estimated, ``-`` missing.
    ``revised_at`` is SMT's revision time of the day's record; a newer revision replaces it.
    """

    pk = models.CompositePrimaryKey("service_account", "channel", "day")
    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=1, choices=Channel.choices)
    day = models.DateField()
    day_start = models.DateTimeField(help_text="UTC instant of local midnight")
    kwh = ArrayField(models.DecimalField(max_digits=10, decimal_places=4, null=True))
    flags = models.CharField(max_length=100)
    total_kwh = models.DecimalField(max_digits=12, decimal_places=4)
    estimated_count = models.PositiveSmallIntegerField(default=0)
    missing_count = models.PositiveSmallIntegerField(default=0)
    revised_at = models.DateTimeField()
    ingested_at = models.DateTimeField()

    class Meta:
        indexes = [BrinIndex(fields=["day"], name="usage_intervalday_day_brin")]

    def __str__(self) -> str:
        return f"{self.service_account_id} {self.channel} {self.day}"


class Bill(models.Model):
    """A bill from the billing system (ESG), stored here because it is keyed to a premise."""

    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="bills"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    kwh = models.DecimalField(max_digits=12, decimal_places=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    due_date = models.DateField(null=True, blank=True)
    paid = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service_account", "period_start"], name="uniq_bill_period"
            )
        ]
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"{self.service_account_id} {self.period_start}..{self.period_end}"


class UsageSyncState(models.Model):
    """Per premise: when SMT last answered, which day the data reaches, the last error."""

    service_account = models.OneToOneField(
        ServiceAccount, on_delete=models.CASCADE, related_name="usage_sync_state"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    data_through = models.DateField(null=True, blank=True)
    data_from = models.DateField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_rows = models.PositiveIntegerField(default=0, help_text="day rows stored by the last pull")
    bills_fetched_at = models.DateTimeField(null=True, blank=True)
    bills_error = models.TextField(blank=True)

    class Meta:
        ordering = ["service_account_id"]

    def __str__(self) -> str:
        return f"sync {self.service_account_id}"


ZERO = Decimal("0")


class BillAlert(models.Model):
    """A customer's opt-in: email me once a billing cycle when my projected bill passes
    ``threshold`` dollars. ``last_sent_cycle_start`` is the cycle the email went out for."""

    service_account = models.OneToOneField(
        ServiceAccount, on_delete=models.CASCADE, related_name="bill_alert"
    )
    threshold = models.DecimalField(
        "Alert above ($)",
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("1"))],
    )
    active = models.BooleanField(default=True)
    last_sent_cycle_start = models.DateField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_sent_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_account_id"]

    def __str__(self) -> str:
        return f"bill alert {self.service_account_id} > ${self.threshold}"
