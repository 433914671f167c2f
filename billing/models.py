"""The billing outbox: every request to the billing system (ESG), until it is acknowledged
(states, attempts and the lease are the core outbox's: ``opsadmin.models.OutboxMessage``)."""

from __future__ import annotations

from django.db import models

from opsadmin.models import OutboxMessage


class BillingRequest(OutboxMessage):
    """One request for the billing system, written in the same transaction as the change.

    ``subject_type``/``subject_id`` name the domain row it is about (e.g.
    ``enrollment``/42) without billing importing the app that owns it.
    """

    class Kind(models.TextChoices):
        CREATE_PROSPECT = "create_prospect", "Create Prospect"
        CANCEL = "cancel", "Cancel"
        DROP = "drop", "Drop"
        MOVE_OUT = "move_out", "Move out"
        PLAN_CHANGE = "plan_change", "Plan change"

    class ProspectStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        ACTIVE = "active", "Service started"
        REJECTED = "rejected", "Rejected"

    class OrderStatus(models.TextChoices):
        RECEIVED = "received", "Received"
        COMPLETED = "completed", "Completed"

    # Drops and move-outs are service orders: after the acknowledgement the status poll
    # follows them until the billing system reports them completed (effective).
    FOLLOWED_KINDS = (Kind.DROP, Kind.MOVE_OUT)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject_type = models.CharField(max_length=30)
    subject_id = models.BigIntegerField()
    utility_code = models.CharField(max_length=40, blank=True)
    payload = models.JSONField()
    # Create Prospect only: the billing system's prospect and its last known status, so the
    # status poll can find the ones still pending without knowing who the subject is.
    prospect_id = models.CharField(max_length=40, blank=True)
    prospect_status = models.CharField(
        max_length=10, choices=ProspectStatus.choices, blank=True, db_index=True
    )
    status_checked_at = models.DateTimeField(null=True, blank=True)
    # Drops and move-outs: the billing system's service order and whether it took effect.
    order_id = models.CharField(max_length=40, blank=True)
    order_status = models.CharField(
        max_length=10, choices=OrderStatus.choices, blank=True, db_index=True
    )

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_type}:{self.subject_id} ({self.state})"
