"""Sending the outbox: rows claimed in batches with a lease, sent concurrently, retried with
backoff.

Life of a row: ``queued`` -> (claimed) ``sending`` -> ``sent``; on a transient error
``retrying`` (``next_attempt_at`` = now + exponential backoff); on a permanent error, or
after ``MAX_ATTEMPTS``, ``failed`` (the staff Billing exceptions queue).

A batch is claimed in one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
LOCKED LIMIT n) RETURNING``): it commits ``sending`` with a lease in ``next_attempt_at``
before any HTTP call, so no transaction stays open while the vendor thinks, and two workers
never claim the same row. The batch is sent concurrently (threads sharing one pooled httpx
client; no thread touches the database), then every answer is written in one transaction
that also calls the registered handlers, row by row. If the worker dies mid-send, the lease
runs out and the sweeper hands the rows to another worker; the idempotency key makes the
second send land on the same prospect. A result is written only if the claim is still ours
(same ``attempts``), so a late answer never overwrites a newer one.

If a handler raises something other than ``ApplicationError``, the batch's transaction is
rolled back and the answers are written again one row per transaction: the rows whose
handlers work are recorded; the failing one stays claimed and is tried again after its
lease (as a single send always did).
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing import registry
from billing.adapters.esg import EsgClient, default_timeout, shared_esg_client
from billing.models import BillingRequest
from opsadmin.errors import IntegrationError, PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 3600
SENDABLE = (BillingRequest.State.QUEUED, BillingRequest.State.RETRYING)

SUCCESS_FIELDS = [
    "state",
    "sent_at",
    "next_attempt_at",
    "last_error",
    "response",
    "prospect_id",
    "prospect_status",
    "order_id",
    "order_status",
    "updated_at",
]
FAILURE_FIELDS = ["state", "next_attempt_at", "last_error", "updated_at"]


def lease_seconds() -> int:
    """How long a claim holds a row: longer than the client's worst-case call."""
    return int(getattr(settings, "BILLING_SEND_LEASE_SECONDS", 60))


def batch_size() -> int:
    """Rows one task claims and sends (the after-commit enqueue cuts ids to this size)."""
    return max(1, int(getattr(settings, "BILLING_SEND_BATCH", 50)))


def send_threads() -> int:
    """Concurrent HTTP calls per task (per worker process)."""
    return max(1, int(getattr(settings, "BILLING_SEND_THREADS", 8)))


def backoff_seconds(attempts: int) -> int:
    """2, 4, 8, ... seconds after the n-th failed attempt, capped at an hour."""
    return min(BACKOFF_BASE_SECONDS ** max(attempts, 1), BACKOFF_MAX_SECONDS)


def _due(now) -> Q:
    # Queued/retrying rows that are due, and claims whose lease ran out (worker lost).
    return Q(state__in=SENDABLE, next_attempt_at__lte=now) | Q(
        state=BillingRequest.State.SENDING, next_attempt_at__lte=now
    )


_TABLE = BillingRequest._meta.db_table
# Identifiers come from the model; every value is a bound parameter.
_CLAIM_SQL = f"""
UPDATE {_TABLE} AS b
   SET state = %s, attempts = b.attempts + 1, next_attempt_at = %s, updated_at = %s
 WHERE b.id IN (
        SELECT c.id FROM {_TABLE} AS c
         WHERE ((c.state IN (%s, %s) AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %s))
                OR (c.state = %s AND c.next_attempt_at <= %s))
           {{only_ids}}
         ORDER BY c.next_attempt_at NULLS FIRST, c.id
         LIMIT %s
           FOR UPDATE SKIP LOCKED)
RETURNING b.*
"""  # noqa: S608


def claim_batch(*, ids: list[int] | None = None, limit: int | None = None) -> list[BillingRequest]:
    """Claim up to ``limit`` due rows (only among ``ids`` when given) in one statement and
    one commit: ``sending``, ``attempts + 1``, a lease in ``next_attempt_at``. Rows another
    worker holds are skipped, not waited for. Returns the claimed rows (their new values)."""
    if ids is not None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return []
    limit = limit if limit is not None else (len(ids) if ids is not None else batch_size())
    now = timezone.now()
    State = BillingRequest.State
    params: list = [State.SENDING, now + timedelta(seconds=lease_seconds()), now]
    params += [State.QUEUED, State.RETRYING, now, State.SENDING, now]
    only_ids = ""
    if ids is not None:
        only_ids = "AND c.id = ANY(%s)"
        params.append(ids)
    params.append(limit)
    sql = _CLAIM_SQL.format(only_ids=only_ids)
    # One statement: in autocommit it is also the one commit of the claim.
    rows = list(BillingRequest.objects.raw(sql, params))
    rows.sort(key=lambda r: r.pk)
    return rows


def _claim(request_id: int) -> BillingRequest | None:
    rows = claim_batch(ids=[request_id])
    return rows[0] if rows else None


def _call(client: EsgClient, row: BillingRequest):
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        return client.create_prospect(row.payload, row.idempotency_key)
    if row.kind == BillingRequest.Kind.CANCEL:
        return client.submit_cancel(row.payload, row.idempotency_key)
    if row.kind in (BillingRequest.Kind.DROP, BillingRequest.Kind.MOVE_OUT):
        payload = {**row.payload, "kind": row.kind}
        return client.submit_drop(payload, row.idempotency_key)
    if row.kind == BillingRequest.Kind.PLAN_CHANGE:
        return client.submit_plan_change(row.payload, row.idempotency_key)
    raise PermanentIntegrationError(f"Unknown billing request kind {row.kind!r}.")


@dataclass
class Outcome:
    """What the billing system said to one claimed row (``answer``) or what went wrong
    (``error``; ``transient`` tells whether to retry). ``error`` that is not an
    IntegrationError means "unknown": nothing is recorded, the lease decides."""

    row: BillingRequest
    answer: object | None = None
    error: BaseException | None = None
    transient: bool = False

    @property
    def recordable(self) -> bool:
        return self.error is None or isinstance(self.error, IntegrationError)


def _attempt(client: EsgClient, row: BillingRequest) -> Outcome:
    try:
        return Outcome(row, answer=_call(client, row))
    except TransientIntegrationError as exc:
        return Outcome(row, error=exc, transient=True)
    except PermanentIntegrationError as exc:
        return Outcome(row, error=exc, transient=False)
    except Exception as exc:  # a bug or a surprise: leave the row to its lease
        logger.exception("billing.send_crashed", extra={"request_id": row.pk})
        return Outcome(row, error=exc)


NOT_ATTEMPTED = "Not sent: the batch ran out of time before this row (the vendor is slow)."


def worst_call_seconds() -> float:
    """The longest one ESG call may take (connect + write + read timeouts)."""
    timeout = default_timeout()
    return float((timeout.connect or 0) + (timeout.write or 0) + (timeout.read or 0))


def _send_all(client: EsgClient | None, rows: list[BillingRequest]) -> list[Outcome]:
    """Send the claimed rows with up to ``send_threads()`` calls at a time.

    The first wave (one row per thread) always goes. A later row whose call could outlive
    the batch's lease is not sent: it is recorded as a transient failure (it backs off like
    one), so a slow vendor never lets a lease run out under a call still in flight.
    """
    if client is None:
        try:
            client = shared_esg_client()
        except IntegrationError as exc:  # not configured / URL refused
            transient = isinstance(exc, TransientIntegrationError)
            return [Outcome(row, error=exc, transient=transient) for row in rows]
    threads = min(send_threads(), len(rows))
    deadline = time.monotonic() + lease_seconds() - worst_call_seconds()

    def attempt(index_row: tuple[int, BillingRequest]) -> Outcome:
        index, row = index_row
        if index >= threads and time.monotonic() > deadline:
            return Outcome(row, error=TransientIntegrationError(NOT_ATTEMPTED), transient=True)
        return _attempt(client, row)

    if threads == 1:
        return [attempt(pair) for pair in enumerate(rows)]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="billing-send") as pool:
        return list(pool.map(attempt, enumerate(rows)))


def send_batch(
    *, ids: list[int] | None = None, limit: int | None = None, client: EsgClient | None = None
) -> dict[int, str]:
    """Claim due rows (among ``ids`` when given), send them concurrently, record every
    answer. Returns ``{request_id: outcome}`` for the rows claimed, outcome being ``sent``,
    ``retrying``, ``failed``, ``skipped`` (the claim was lost meanwhile) or ``error`` (left
    to the lease). Never raises for vendor errors."""
    rows = claim_batch(ids=ids, limit=limit)
    if not rows:
        return {}
    outcomes = _send_all(client, rows)
    results = {o.row.pk: "error" for o in outcomes if not o.recordable}
    results.update(_record_batch([o for o in outcomes if o.recordable]))
    return results


def send(request_id: int, *, client: EsgClient | None = None) -> str:
    """Send one outbox row if it is due and nobody else holds it. Returns what happened:
    ``skipped``, ``sent``, ``retrying``, ``failed`` (or ``error``, see :func:`send_batch`)."""
    return send_batch(ids=[request_id], client=client).get(request_id, "skipped")


# -- recording answers ------------------------------------------------------------------
def _apply_success(row: BillingRequest, answer, now) -> None:
    row.state = BillingRequest.State.SENT
    row.sent_at = now
    row.next_attempt_at = None
    row.last_error = ""
    row.response = asdict(answer)
    row.updated_at = now
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        row.prospect_id = answer.prospect_id
        row.prospect_status = BillingRequest.ProspectStatus.PENDING
    elif row.kind in BillingRequest.FOLLOWED_KINDS:
        row.order_id = answer.request_id
        row.order_status = BillingRequest.OrderStatus.RECEIVED


def _apply_failure(row: BillingRequest, exc: BaseException, transient: bool, now) -> None:
    row.last_error = str(exc)[:2000]
    row.updated_at = now
    if transient and row.attempts < MAX_ATTEMPTS:
        row.state = BillingRequest.State.RETRYING
        row.next_attempt_at = now + timedelta(seconds=backoff_seconds(row.attempts))
    else:
        row.state = BillingRequest.State.FAILED
        row.next_attempt_at = None


def _report_success(row: BillingRequest, answer) -> None:
    """Tell the registered handlers (inside the caller's transaction)."""
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        registry.dispatch(
            registry.PROSPECT_ACKNOWLEDGED,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            ack=answer,
        )
    else:
        registry.dispatch(
            registry.REQUEST_ACKNOWLEDGED,
            kind=row.kind,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            response=row.response,
        )
    logger.info(
        "billing.request_sent",
        extra={"request_id": row.pk, "kind": row.kind, "attempts": row.attempts},
    )


def _log_failure(row: BillingRequest) -> None:
    logger.warning(
        "billing.request_failed",
        extra={
            "request_id": row.pk,
            "kind": row.kind,
            "attempts": row.attempts,
            "state": row.state,
            "error": row.last_error,
        },
    )


def _record_batch(outcomes: list[Outcome]) -> dict[int, str]:
    if not outcomes:
        return {}
    try:
        with transaction.atomic():
            return _record_all(outcomes)
    except Exception:
        if len(outcomes) == 1:
            raise
        # A handler (or the database) failed: record row by row, so one bad row does not
        # hold back the others. A row that fails again stays claimed until its lease ends.
        logger.exception("billing.batch_record_failed", extra={"rows": len(outcomes)})
        results: dict[int, str] = {}
        for outcome in outcomes:
            try:
                with transaction.atomic():
                    results.update(_record_all([outcome]))
            except Exception:
                logger.exception("billing.record_failed", extra={"request_id": outcome.row.pk})
                results[outcome.row.pk] = "error"
        return results


# Column types of what a result writes (arrays of these are unnested into one UPDATE).
_RESULT_TYPES = {
    "state": "text",
    "sent_at": "timestamptz",
    "next_attempt_at": "timestamptz",
    "last_error": "text",
    "response": "jsonb",
    "prospect_id": "text",
    "prospect_status": "text",
    "order_id": "text",
    "order_status": "text",
    "updated_at": "timestamptz",
}


def _write_if_ours(rows: list[BillingRequest], fields: list[str]) -> set[int]:
    """One ``UPDATE ... FROM unnest(...)`` writing ``fields`` of every row whose claim is
    still ours (``sending`` with the attempts we claimed): a row claimed again after our
    lease ran out has more attempts and is left alone. Returns the ids written (now locked
    until the caller's transaction ends)."""
    if not rows:
        return set()
    columns = ["id", "attempts", *fields]
    types = ["bigint", "integer"] + [
        "text" if _RESULT_TYPES[f] == "jsonb" else _RESULT_TYPES[f] for f in fields
    ]
    sets = ", ".join(
        f"{f} = v.{f}::jsonb" if _RESULT_TYPES[f] == "jsonb" else f"{f} = v.{f}" for f in fields
    )
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    sql = (
        f"UPDATE {_TABLE} AS t SET {sets} "  # noqa: S608 (identifiers from the model)
        f"FROM unnest({unnest}) AS v({', '.join(columns)}) "
        "WHERE t.id = v.id AND t.state = %s AND t.attempts = v.attempts RETURNING t.id"
    )
    params: list = [[r.pk for r in rows], [r.attempts for r in rows]]
    for field in fields:
        values = [getattr(r, field) for r in rows]
        if _RESULT_TYPES[field] == "jsonb":
            values = [None if v is None else json.dumps(v) for v in values]
        params.append(values)
    params.append(BillingRequest.State.SENDING)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def _record_all(outcomes: list[Outcome]) -> dict[int, str]:
    """In the caller's transaction: write every answer whose claim is still ours (one
    statement for the acknowledged rows, one for the failed ones), then call the handlers
    row by row for the acknowledged ones."""
    now = timezone.now()
    sent: list[Outcome] = []
    failed: list[BillingRequest] = []
    for outcome in sorted(outcomes, key=lambda o: o.row.pk):
        if outcome.error is None:
            _apply_success(outcome.row, outcome.answer, now)
            sent.append(outcome)
        else:
            _apply_failure(outcome.row, outcome.error, outcome.transient, now)
            failed.append(outcome.row)
    ours = _write_if_ours([o.row for o in sent], SUCCESS_FIELDS)
    ours |= _write_if_ours(failed, FAILURE_FIELDS)
    results = {o.row.pk: str(o.row.state) if o.row.pk in ours else "skipped" for o in outcomes}
    for outcome in sent:
        if outcome.row.pk in ours:
            _report_success(outcome.row, outcome.answer)
    for row in failed:
        if row.pk in ours:
            _log_failure(row)
    return results


def _record_success(row: BillingRequest, answer) -> str:
    """Record one answer (its own transaction); ``skipped`` if the claim is no longer ours."""
    with transaction.atomic():
        return _record_all([Outcome(row, answer=answer)])[row.pk]


def _record_failure(row: BillingRequest, exc: Exception, *, transient: bool) -> str:
    with transaction.atomic():
        return _record_all([Outcome(row, error=exc, transient=transient)])[row.pk]


def due_request_ids(*, limit: int = 5000) -> list[int]:
    """Rows the sweeper should hand to a worker: due retries, and lost claims."""
    now = timezone.now()
    return list(
        BillingRequest.objects.filter(_due(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
