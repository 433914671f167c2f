"""Verbs of the billing outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.adapters.esg import EsgClient, ProspectStatus, RequestStatus, esg_client
from billing.models import BillingRequest
from billing.outbox import OUTBOX
from opsadmin import clock, events
from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)


_INSERT_FIELDS = (
    "kind",
    "subject_type",
    "subject_id",
    "utility_code",
    "payload",
    "idempotency_key",
    "state",
    "attempts",
    "attempts_at_retry",
    "next_attempt_at",
    "last_error",
    "prospect_id",
    "prospect_status",
    "order_id",
    "order_status",
    "created_at",
    "updated_at",
)


def billing_request_create(
    *,
    kind: str,
    subject_type: str,
    subject_id: int,
    payload: dict,
    idempotency_key: str,
    utility_code: str = "",
) -> BillingRequest:
    """Write an outbox row in the caller's transaction; it is sent after commit.

    The same idempotency key returns the existing row (nothing is queued twice). One
    statement (``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING RETURNING id``), so a
    caller writing many rows in one transaction pays one round trip per row.
    """
    now = timezone.now()
    request = BillingRequest(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
        idempotency_key=idempotency_key,
        utility_code=utility_code,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    connection = transaction.get_connection()
    meta = BillingRequest._meta
    fields: list[models.Field[Any, Any]] = []
    for name in _INSERT_FIELDS:
        field = meta.get_field(name)
        if not isinstance(field, models.Field):  # a reverse relation has no column
            raise TypeError(f"BillingRequest.{name} is not a concrete field")
        fields.append(field)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(request, f.attname), connection) for f in fields]
    # Identifiers come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({connection.ops.quote_name('idempotency_key')}) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted is None:  # the key exists (maybe written by a concurrent transaction)
        return BillingRequest.objects.get(idempotency_key=idempotency_key)
    request.pk = inserted[0]
    request._state.adding = False
    request._state.db = connection.alias
    _enqueue_after_commit(request.pk)
    return request


def billing_requests_create(*, rows: list[dict[str, Any]]) -> list[BillingRequest]:
    """Write many new outbox rows in the caller's transaction with one multi-row INSERT;
    they are sent after commit, like ``billing_request_create``'s (one callback per
    transaction). For keys that cannot exist yet (keyed to rows this transaction created):
    an existing idempotency key raises ``IntegrityError`` instead of returning that row.
    """
    now = timezone.now()
    created = BillingRequest.objects.bulk_create(
        [BillingRequest(**row, next_attempt_at=now, created_at=now, updated_at=now) for row in rows]
    )
    OUTBOX.enqueue_after_commit(*[request.pk for request in created])
    return created


def _enqueue_after_commit(request_id: int) -> None:
    OUTBOX.enqueue_after_commit(request_id)


def billing_requests_enqueue(*, request_ids: list[int]) -> int:
    """Queue Celery tasks that send these rows, ``BILLING_SEND_BATCH`` ids per task (the
    tasks spread over the worker processes). Returns the number of tasks queued."""
    return OUTBOX.enqueue_ids(request_ids)


def billing_request_retry(*, request: BillingRequest) -> BillingRequest:
    """Staff asked to send a waiting row (queued, retrying or failed) now: it is queued and
    sent after commit (``opsadmin.outbox.Outbox.retry_now``)."""
    return OUTBOX.retry_now(request.pk)


# How far a prospect's status has come; an answer that is not further along (a duplicate, or
# an older status arriving after a newer one) changes nothing.
_PROSPECT_RANK: dict[str, int] = {
    BillingRequest.ProspectStatus.PENDING: 0,
    BillingRequest.ProspectStatus.ACCEPTED: 1,
    BillingRequest.ProspectStatus.ACTIVE: 2,
    BillingRequest.ProspectStatus.REJECTED: 2,
}
# ERCOT completes a switch on or after the requested date; a move-in may complete a few days
# early, so accepted prospects are asked about from this many days before their date.
EARLY_COMPLETION_DAYS = 7


@dataclass(frozen=True)
class _Followed:
    """One kind of answer the billing system is asked about until it is final."""

    name: str  # for the logs
    outcomes: tuple[str, ...]  # the statuses the billing system may answer
    ask: Callable[[EsgClient, BillingRequest], ProspectStatus | RequestStatus]
    record: Callable[..., None]  # record(request_id=..., status=...)


def _follow(followed: _Followed, rows: list[BillingRequest], client: EsgClient | None) -> dict:
    """Ask about each row (least recently checked first) and record each answer. A permanent
    error is noted on its row; the first transient error stops the poll (the vendor is down:
    the next poll tries again)."""
    counts = {"checked": 0, **dict.fromkeys(followed.outcomes, 0), "errors": 0}
    with _esg(client) as esg:
        for row in rows:
            try:
                status = followed.ask(esg, row)
            except TransientIntegrationError as exc:
                counts["errors"] += 1
                logger.warning(f"billing.{followed.name}_unavailable", extra={"error": str(exc)})
                break
            except PermanentIntegrationError as exc:
                counts["errors"] += 1
                _status_check_failed(row, exc)
                continue
            counts["checked"] += 1
            counts[status.status] += 1
            followed.record(request_id=row.pk, status=status)
    return counts


def prospect_statuses_poll(*, limit: int = 200, client: EsgClient | None = None) -> dict:
    """Ask the billing system about prospects not yet final (least recently checked first):
    pending ones, and accepted ones whose requested start is near or past. Record accepted,
    active (service started) and rejected (``ProspectStatusChanged``)."""
    horizon = (clock.today() + timedelta(days=EARLY_COMPLETION_DAYS)).isoformat()
    rows = list(
        BillingRequest.objects.filter(
            kind=BillingRequest.Kind.CREATE_PROSPECT, state=BillingRequest.State.SENT
        )
        .filter(
            Q(prospect_status=BillingRequest.ProspectStatus.PENDING)
            | Q(prospect_status=BillingRequest.ProspectStatus.ACCEPTED)
            & (
                Q(payload__requested_start_date__isnull=True)
                | Q(payload__requested_start_date__lte=horizon)
            )
        )
        .exclude(prospect_id="")
        .order_by(F("status_checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    return _follow(_PROSPECTS, rows, client)


def service_orders_poll(*, limit: int = 200, client: EsgClient | None = None) -> dict:
    """Follow acknowledged drops and move-outs until the billing system reports them
    completed (on their effective date): ``ServiceOrderCompleted``."""
    today = clock.today().isoformat()
    rows = list(
        BillingRequest.objects.filter(
            kind__in=BillingRequest.FOLLOWED_KINDS,
            state=BillingRequest.State.SENT,
            order_status=BillingRequest.OrderStatus.RECEIVED,
            payload__requested_date__lte=today,
        )
        .exclude(order_id="")
        .order_by(F("status_checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    return _follow(_ORDERS, rows, client)


@contextmanager
def _esg(client: EsgClient | None) -> Iterator[EsgClient]:
    """The caller's client, or one of our own closed at the end."""
    if client is not None:
        yield client
        return
    own = esg_client()
    try:
        yield own
    finally:
        own.close()


def _status_check_failed(row: BillingRequest, exc: Exception) -> None:
    logger.warning("billing.status_poll_failed", extra={"request_id": row.pk, "error": str(exc)})
    BillingRequest.objects.filter(pk=row.pk).update(
        status_checked_at=timezone.now(), last_error=str(exc)[:2000]
    )


@transaction.atomic
def prospect_status_record(*, request_id: int, status: ProspectStatus) -> None:
    """Record one status answer; when it moves the prospect further along (pending ->
    accepted -> active, or -> rejected) call the handlers in the same transaction, so the
    enrollment and the outbox row never disagree. Duplicates and out-of-order answers only
    update the check time."""
    row = BillingRequest.objects.select_for_update().get(pk=request_id)
    row.status_checked_at = timezone.now()
    current = _PROSPECT_RANK.get(row.prospect_status, 0)
    if _PROSPECT_RANK.get(status.status, 0) > current:
        row.prospect_status = status.status
        row.response = {**(row.response or {}), "final_status": _jsonable(status)}
        row.save()
        events.dispatch(
            events.ProspectStatusChanged(
                subject_type=row.subject_type, subject_id=row.subject_id, status=status
            )
        )
        logger.info(
            "billing.prospect_status",
            extra={"request_id": row.pk, "status": status.status},
        )
    else:
        row.save(update_fields=["status_checked_at", "updated_at"])


def _jsonable(answer) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(answer).items()}


@transaction.atomic
def service_order_record(*, request_id: int, status: RequestStatus) -> None:
    """Record a service order's status; the first ``completed`` calls the handlers (in this
    transaction). A repeated completion changes nothing."""
    row = BillingRequest.objects.select_for_update().get(pk=request_id)
    row.status_checked_at = timezone.now()
    if (
        row.order_status != BillingRequest.OrderStatus.COMPLETED
        and status.status == BillingRequest.OrderStatus.COMPLETED
    ):
        row.order_status = BillingRequest.OrderStatus.COMPLETED
        row.response = {**(row.response or {}), "completed": _jsonable(status)}
        row.save()
        events.dispatch(
            events.ServiceOrderCompleted(
                kind=row.kind,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                status=status,
            )
        )
        logger.info("billing.order_completed", extra={"request_id": row.pk, "kind": row.kind})
    else:
        row.save(update_fields=["status_checked_at", "updated_at"])


_PROSPECTS = _Followed(
    name="status_poll",
    outcomes=("accepted", "active", "rejected", "pending"),
    ask=lambda esg, row: esg.prospect_status(row.prospect_id),
    record=prospect_status_record,
)
_ORDERS = _Followed(
    name="order_poll",
    outcomes=("completed", "received"),
    ask=lambda esg, row: esg.request_status(row.order_id),
    record=service_order_record,
)
