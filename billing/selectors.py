"""Questions about the billing outbox, and the billing system's (ESG) answers to questions.

This module and ``billing.services`` are the only way other apps reach ESG: the adapter
(``billing/adapters/esg.py``) is billing's own (an import-linter contract keeps it so). The
answer types other apps read are re-exported here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from billing.adapters.esg import (
    AccountBalance,
    BillingCycle,
    BillRecord,
    EsgClient,
    ProspectAck,
    ProspectStatus,
    RequestAck,
    RequestStatus,
    esg_client,
)
from billing.models import BillingRequest

__all__ = [
    "AccountBalance",
    "BillingCycle",
    "BillRecord",
    "EsgClient",
    "ProspectAck",
    "ProspectStatus",
    "RequestAck",
    "RequestStatus",
    "esg_account_balance",
    "esg_bill_history",
    "esg_billing_cycle",
    "esg_billing_account_lookup",
    "esg_session",
]


def billing_exceptions(*, kind: str = "", limit: int = 200) -> list[BillingRequest]:
    """Rows that need a person: failed (permanent error or out of attempts), oldest first."""
    qs = BillingRequest.objects.filter(state=BillingRequest.State.FAILED)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("updated_at", "pk")[:limit])


def billing_retrying(*, limit: int = 50) -> list[BillingRequest]:
    """Rows waiting for their next automatic attempt (the vendor is failing)."""
    return list(
        BillingRequest.objects.filter(state=BillingRequest.State.RETRYING).order_by(
            "next_attempt_at", "pk"
        )[:limit]
    )


def billing_requests_for(*, subject_type: str, subject_id: int) -> QuerySet[BillingRequest]:
    return BillingRequest.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by(
        "created_at", "pk"
    )


# --- ESG questions (each raises ``IntegrationError`` subclasses; callers choose a fallback) ---


@contextlib.contextmanager
def esg_session() -> Iterator[EsgClient]:
    """One ESG connection for many questions (a batch job), closed at the end of the block.
    Pass it as ``client=`` to the questions below."""
    with esg_client() as client:
        yield client


@contextlib.contextmanager
def _client(client: EsgClient | None) -> Iterator[EsgClient]:
    if client is not None:
        yield client
    else:
        with esg_session() as own:
            yield own


def esg_billing_account_lookup(*, esiid: str, client: EsgClient | None = None) -> str | None:
    """The billing account number ESG holds for a premise (None: it has none yet)."""
    with _client(client) as esg:
        return esg.billing_account_lookup(esiid)


def esg_account_balance(
    *, billing_account_number: str, client: EsgClient | None = None
) -> AccountBalance:
    """The account's balance and due date."""
    with _client(client) as esg:
        return esg.account_balance(billing_account_number)


def esg_bill_history(
    *, billing_account_number: str, client: EsgClient | None = None
) -> list[BillRecord]:
    """The account's bills (period, kWh, amount, due date, paid), as ESG has them."""
    with _client(client) as esg:
        return esg.bill_history(billing_account_number)


def esg_billing_cycle(
    *, billing_account_number: str, client: EsgClient | None = None
) -> BillingCycle:
    """The account's open billing cycle (start and end dates), as ESG has it."""
    with _client(client) as esg:
        return esg.billing_cycle(billing_account_number)


# A request still queued after this long is waiting (the workers are behind or stopped);
# one that failed once (retrying) or needs staff (failed) is waiting at once.
WAITING_AFTER = timedelta(seconds=60)


def billing_request_waiting_among(rows: list[BillingRequest]) -> BillingRequest | None:
    """The oldest of ``rows`` the billing system has not acknowledged while it is failing
    (retrying, or failed: staff must act), or that has been queued longer than
    ``WAITING_AFTER``; None when nothing waits. No query: for rows a page already loaded."""
    stale = timezone.now() - WAITING_AFTER
    waiting = [
        r
        for r in rows
        if r.state in (BillingRequest.State.RETRYING, BillingRequest.State.FAILED)
        or (
            r.state in (BillingRequest.State.QUEUED, BillingRequest.State.SENDING)
            and r.created_at < stale
        )
    ]
    return min(waiting, key=lambda r: (r.created_at, r.pk)) if waiting else None
