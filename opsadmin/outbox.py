"""The one outbox engine: rows claimed in batches with a lease, sent, retried with backoff,
every attempt recorded, failures waiting in the staff exception queue.

An app keeps its own outbox table (a concrete ``opsadmin.models.OutboxMessage``) and builds
one :class:`Outbox` with what only it knows: how to send a row, what an answer writes on the
row and what it changes elsewhere (in the same transaction), and how to queue a Celery task.
The billing requests (``billing/outbox.py``) and the DERMS sync requests
(``programs/outbox.py``) run on it.

Life of a row (``opsadmin.models.OutboxState``): ``queued`` -> (claimed) ``sending`` ->
``sent``; on a transient error ``retrying`` (``next_attempt_at`` = now + exponential
backoff, or the vendor's ``Retry-After`` when longer: RFC 9110 section 10.2.3); on a
permanent error (a malformed answer too), a negative acknowledgement, or after
``max_attempts``, ``failed`` (the staff Outbox screen). Staff may send any waiting row now
(:meth:`Outbox.retry_now`).

A batch is claimed in one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
LOCKED LIMIT n) RETURNING``): it commits ``sending`` with a lease in ``next_attempt_at``
before any call, so no transaction stays open while the vendor thinks, and two workers never
claim the same row. The batch is sent (concurrently where the app allows: threads sharing one
client, no thread touches the database), then every answer is written in one transaction that
also runs the app's in-transaction effects, row by row, and records the attempts. If the worker
dies mid-send, the lease runs out and the sweeper hands the row to another worker; the
idempotency key makes the second send land on what the vendor already did. A result is
written only if the claim is still ours (``sending`` with the attempts we claimed), so a late
answer never overwrites a newer one.

If an effect raises something other than ``ApplicationError``, the batch's transaction is
rolled back and the answers are written again one row per transaction: the rows whose
effects work are recorded; the failing one stays claimed and is tried again after its lease.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from opsadmin.errors import (
    ApplicationError,
    IntegrationError,
    PermanentIntegrationError,
    TransientIntegrationError,
)
from opsadmin.models import OutboxAttempt, OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

State = OutboxState
SENDABLE = (State.QUEUED, State.RETRYING)
NOT_ATTEMPTED = "Not sent: the batch ran out of time before this row (the vendor is slow)."
# Written on every answer, whatever the app adds.
BASE_SUCCESS_FIELDS = (
    "state",
    "sent_at",
    "next_attempt_at",
    "last_error",
    "response",
    "updated_at",
)
FAILURE_FIELDS = ("state", "next_attempt_at", "last_error", "updated_at")


def _setting(value: int | float | Callable[[], Any]) -> Any:
    return value() if callable(value) else value


@dataclass
class Outcome:
    """What the outside system said to one claimed row (``answer``) or what went wrong
    (``error``; ``transient`` tells whether to retry). An ``error`` that is not an
    IntegrationError means "unknown": nothing is recorded, the lease decides."""

    row: Any
    answer: object | None = None
    error: BaseException | None = None
    transient: bool = False

    @property
    def recordable(self) -> bool:
        return self.error is None or isinstance(self.error, IntegrationError)


@dataclass
class Outbox:
    """One outbox: a concrete ``OutboxMessage`` model and what its app does with a row.

    - ``deliver(client, row)`` sends one row and returns the answer (raises
      ``TransientIntegrationError`` / ``PermanentIntegrationError``);
    - ``apply_success(row, answer, now)`` sets the row's fields from the answer (the state
      is ``sent`` unless it says otherwise, e.g. ``failed`` for a negative acknowledgement);
      ``success_fields`` are the app's own fields it sets;
    - ``on_success(row, answer)`` / ``on_failure(row)`` change what the answer means elsewhere,
      in the transaction that records it (only for rows whose claim was still ours;
      ``on_failure`` only when the row ends ``failed``);
    - ``enqueue(ids)`` queues one Celery task sending those ids (``batch_size`` at most);
    - ``make_client()`` opens a client (``close_client``: close it after the batch);
    - ``threads``: concurrent calls per batch (1 when ``deliver`` reads the database);
    - ``subject(row)`` -> ``(label, url or "")`` for the staff screen (reading
      ``select_related``).
    """

    name: str
    label: str
    model: type[OutboxMessage]
    deliver: Callable[[Any, Any], Any]
    make_client: Callable[[], Any]
    enqueue: Callable[[list[int]], Any]
    permission: str
    apply_success: Callable[[Any, Any, Any], None] | None = None
    success_fields: Sequence[str] = ()
    on_success: Callable[[Any, Any], None] | None = None
    on_failure: Callable[[Any], None] | None = None
    subject: Callable[[Any], tuple[str, str]] | None = None
    select_related: Sequence[str] = ()  # what ``subject`` reads (the staff screen)
    close_client: bool = False
    max_attempts: int | Callable[[], int] = 12
    backoff_base_seconds: float | Callable[[], float] = 2
    backoff_max_seconds: float = 3600
    lease_seconds: int | Callable[[], int] = 60
    batch_size: int | Callable[[], int] = 50
    threads: int | Callable[[], int] = 1
    worst_call_seconds: float | Callable[[], float] = 0
    _pending: threading.local = field(default_factory=threading.local, repr=False)

    # -- settings -------------------------------------------------------------------
    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def batch(self) -> int:
        return max(1, int(_setting(self.batch_size)))

    def lease(self) -> int:
        return int(_setting(self.lease_seconds))

    def backoff_seconds(self, attempts: int) -> float:
        """``base``, ``2 * base``, ``4 * base``, ... after the n-th failed attempt, capped."""
        base = float(_setting(self.backoff_base_seconds))
        return min(base * 2 ** max(attempts - 1, 0), self.backoff_max_seconds)

    def retry_delay_seconds(self, attempts: int, exc: BaseException) -> float:
        """Our backoff, or longer when the vendor said so (``Retry-After`` on a 429/503):
        never sooner than asked."""
        wait = self.backoff_seconds(attempts)
        retry_after = getattr(exc, "retry_after", None)
        return max(wait, float(retry_after)) if retry_after is not None else wait

    # -- claim ----------------------------------------------------------------------
    def claim_batch(self, *, ids: list[int] | None = None, limit: int | None = None) -> list:
        """Claim up to ``limit`` due rows (only among ``ids`` when given) in one statement and
        one commit: ``sending``, ``attempts + 1``, a lease in ``next_attempt_at``. Due: queued
        or retrying rows whose time has come, and claims whose lease ran out (worker lost).
        Rows another worker holds are skipped, not waited for."""
        if ids is not None:
            ids = sorted({int(i) for i in ids})
            if not ids:
                return []
        if limit is None:
            limit = len(ids) if ids is not None else self.batch()
        now = timezone.now()
        only_ids = "AND c.id = ANY(%s)" if ids is not None else ""
        # Identifiers come from the model; every value is a bound parameter.
        # The picked ids are materialised first: a LIMIT … SKIP LOCKED subquery inside
        # ``WHERE id IN (…)`` may be run again by the planner and hand out more than the limit.
        sql = f"""
            WITH picked AS MATERIALIZED (
                    SELECT c.id FROM {self.table} AS c
                     WHERE ((c.state IN (%s, %s)
                             AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %s))
                            OR (c.state = %s AND c.next_attempt_at <= %s))
                       {only_ids}
                     ORDER BY c.next_attempt_at NULLS FIRST, c.id
                     LIMIT %s
                       FOR UPDATE SKIP LOCKED)
            UPDATE {self.table} AS b
               SET state = %s, attempts = b.attempts + 1, next_attempt_at = %s, updated_at = %s
              FROM picked
             WHERE b.id = picked.id
            RETURNING b.*
        """  # noqa: S608
        params: list = [State.QUEUED, State.RETRYING, now, State.SENDING, now]
        if ids is not None:
            params.append(ids)
        params.append(limit)
        params += [State.SENDING, now + timedelta(seconds=self.lease()), now]
        # One statement: in autocommit it is also the one commit of the claim.
        rows = list(self.model._default_manager.raw(sql, params))
        rows.sort(key=lambda r: r.pk)
        return rows

    def due_ids(self, *, limit: int = 5000) -> list[int]:
        """Rows the sweeper should hand to a worker: due queued / retrying rows, lost claims."""
        now = timezone.now()
        due = Q(state__in=SENDABLE, next_attempt_at__lte=now) | Q(
            state=State.SENDING, next_attempt_at__lte=now
        )
        return list(
            self.model._default_manager.filter(due)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )

    # -- send -----------------------------------------------------------------------
    def _attempt(self, client: Any, row: Any) -> Outcome:
        try:
            return Outcome(row, answer=self.deliver(client, row))
        except TransientIntegrationError as exc:
            return Outcome(row, error=exc, transient=True)
        except PermanentIntegrationError as exc:
            return Outcome(row, error=exc, transient=False)
        except Exception as exc:  # a bug or a surprise: leave the row to its lease
            logger.exception(f"{self.name}.send_crashed", extra={"request_id": row.pk})
            return Outcome(row, error=exc)

    def _send_all(self, client: Any, rows: list) -> list[Outcome]:
        """Send the claimed rows, up to ``threads`` calls at a time. The first wave (one row
        per thread) always goes; a later row whose call could outlive the batch's lease is not
        sent but recorded as a transient failure, so a slow vendor never lets a lease run out
        under a call still in flight."""
        own = client is None
        if own:
            try:
                client = self.make_client()
            except IntegrationError as exc:  # not configured / URL refused / unreachable
                transient = isinstance(exc, TransientIntegrationError)
                return [Outcome(row, error=exc, transient=transient) for row in rows]
        threads = max(1, min(int(_setting(self.threads)), len(rows)))
        deadline = time.monotonic() + self.lease() - float(_setting(self.worst_call_seconds))

        def attempt(index_row: tuple[int, Any]) -> Outcome:
            index, row = index_row
            if index >= threads and time.monotonic() > deadline:
                return Outcome(row, error=TransientIntegrationError(NOT_ATTEMPTED), transient=True)
            return self._attempt(client, row)

        try:
            if threads == 1:
                return [attempt(pair) for pair in enumerate(rows)]
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=self.name) as pool:
                return list(pool.map(attempt, enumerate(rows)))
        finally:
            if own and self.close_client:
                client.close()

    def send_batch(
        self, *, ids: list[int] | None = None, limit: int | None = None, client: Any = None
    ) -> dict[int, str]:
        """Claim due rows (among ``ids`` when given), send them, record every answer.
        Returns ``{id: outcome}`` for the rows claimed: ``sent``, ``retrying``, ``failed``,
        ``skipped`` (the claim was lost meanwhile) or ``error`` (left to the lease). Never
        raises for vendor errors."""
        rows = self.claim_batch(ids=ids, limit=limit)
        if not rows:
            return {}
        outcomes = self._send_all(client, rows)
        results = {o.row.pk: "error" for o in outcomes if not o.recordable}
        results.update(self.record_batch([o for o in outcomes if o.recordable]))
        return results

    def send(self, pk: int, *, client: Any = None) -> str:
        """Send one row if it is due and nobody else holds it. Returns what happened:
        ``skipped``, ``sent``, ``retrying``, ``failed`` (or ``error``)."""
        return self.send_batch(ids=[pk], client=client).get(pk, "skipped")

    # -- record ---------------------------------------------------------------------
    def _apply_success(self, row: Any, answer: Any, now: Any) -> None:
        row.state = State.SENT
        row.sent_at = now
        row.next_attempt_at = None
        row.last_error = ""
        row.updated_at = now
        if self.apply_success is not None:
            self.apply_success(row, answer, now)

    def _apply_failure(self, row: Any, exc: BaseException, transient: bool, now: Any) -> None:
        row.last_error = str(exc)[:2000]
        row.updated_at = now
        used = row.attempts - row.attempts_at_retry
        if transient and used < int(_setting(self.max_attempts)):
            row.state = State.RETRYING
            row.next_attempt_at = now + timedelta(seconds=self.retry_delay_seconds(used, exc))
        else:  # the staff screen shows the attempts next to the vendor's last word
            row.state = State.FAILED
            row.next_attempt_at = None

    def record_batch(self, outcomes: list[Outcome]) -> dict[int, str]:
        """Write the answers in one transaction; if that fails, one row per transaction."""
        if not outcomes:
            return {}
        try:
            with transaction.atomic():
                return self._record_all(outcomes)
        except Exception:
            if len(outcomes) == 1:
                raise
            # An effect (or the database) failed: record row by row, so one bad row does not
            # hold back the others. A row that fails again stays claimed until its lease ends.
            logger.exception(f"{self.name}.batch_record_failed", extra={"rows": len(outcomes)})
            results: dict[int, str] = {}
            for outcome in outcomes:
                try:
                    with transaction.atomic():
                        results.update(self._record_all([outcome]))
                except Exception:
                    logger.exception(
                        f"{self.name}.record_failed", extra={"request_id": outcome.row.pk}
                    )
                    results[outcome.row.pk] = "error"
            return results

    def record_success(self, row: Any, answer: Any) -> str:
        """Record one answer (its own transaction); ``skipped`` if the claim is not ours."""
        with transaction.atomic():
            return self._record_all([Outcome(row, answer=answer)])[row.pk]

    def record_failure(self, row: Any, exc: BaseException, *, transient: bool) -> str:
        with transaction.atomic():
            return self._record_all([Outcome(row, error=exc, transient=transient)])[row.pk]

    def _write_if_ours(self, rows: list, fields: Sequence[str]) -> set[int]:
        """One ``UPDATE ... FROM unnest(...)`` writing ``fields`` of every row whose claim is
        still ours (``sending`` with the attempts we claimed): a row claimed again after our
        lease ran out has more attempts and is left alone. Returns the ids written (locked
        until the caller's transaction ends)."""
        if not rows:
            return set()
        meta = self.model._meta
        quote = connection.ops.quote_name
        model_fields = [meta.get_field(name) for name in fields]
        columns = ["id", "attempts"]
        types = ["bigint", "integer"]
        sets = []
        params: list = [[r.pk for r in rows], [r.attempts for r in rows]]
        for f in model_fields:
            assert isinstance(f, models.Field) and f.column
            column = f"v_{f.column}"
            columns.append(column)
            values = [getattr(r, f.attname) for r in rows]
            if isinstance(f, models.JSONField):
                types.append("text")
                sets.append(f"{quote(f.column)} = v.{column}::jsonb")
                values = [
                    None if v is None else json.dumps(v, cls=DjangoJSONEncoder) for v in values
                ]
            else:
                types.append(f.db_type(connection) or "text")
                sets.append(f"{quote(f.column)} = v.{column}")
            params.append(values)
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        sql = (
            f"UPDATE {self.table} AS t SET {', '.join(sets)} "  # noqa: S608 (from the model)
            f"FROM unnest({unnest}) AS v({', '.join(columns)}) "
            "WHERE t.id = v.id AND t.state = %s AND t.attempts = v.attempts RETURNING t.id"
        )
        params.append(State.SENDING)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {pk for (pk,) in cursor.fetchall()}

    def _record_all(self, outcomes: list[Outcome]) -> dict[int, str]:
        """In the caller's transaction: write every answer whose claim is still ours (one
        statement for the answered rows, one for the failed ones), run the app's effects row
        by row, and record the attempts (one INSERT)."""
        now = timezone.now()
        started = {o.row.pk: o.row.updated_at for o in outcomes}
        answered: list[Outcome] = []
        failed: list = []
        for outcome in sorted(outcomes, key=lambda o: o.row.pk):
            if outcome.error is None:
                self._apply_success(outcome.row, outcome.answer, now)
                answered.append(outcome)
            else:
                self._apply_failure(outcome.row, outcome.error, outcome.transient, now)
                failed.append(outcome.row)
        success_fields = [*BASE_SUCCESS_FIELDS, *self.success_fields]
        ours = self._write_if_ours([o.row for o in answered], success_fields)
        ours |= self._write_if_ours(failed, FAILURE_FIELDS)
        results = {o.row.pk: str(o.row.state) if o.row.pk in ours else "skipped" for o in outcomes}
        for outcome in answered:
            row = outcome.row
            if row.pk in ours:
                if self.on_success is not None:
                    self.on_success(row, outcome.answer)
                logger.info(
                    f"{self.name}.request_sent",
                    extra={"request_id": row.pk, "state": row.state, "attempts": row.attempts},
                )
        for row in failed:
            if row.pk in ours:
                if row.state == State.FAILED and self.on_failure is not None:
                    self.on_failure(row)
                logger.warning(
                    f"{self.name}.request_failed",
                    extra={
                        "request_id": row.pk,
                        "attempts": row.attempts,
                        "state": row.state,
                        "error": row.last_error,
                    },
                )
        OutboxAttempt.objects.bulk_create(
            [
                OutboxAttempt(
                    outbox=self.name,
                    message_id=o.row.pk,
                    number=o.row.attempts,
                    started_at=started[o.row.pk] or now,
                    finished_at=now,
                    outcome=o.row.state,
                    error=o.row.last_error,
                )
                for o in outcomes
                if o.row.pk in ours
            ]
        )
        return results

    # -- after commit ---------------------------------------------------------------
    def enqueue_after_commit(self, *pks: int) -> None:
        """Queue the rows to be sent when the caller's transaction commits (at once outside
        one): one callback per transaction (Django's public ``transaction.on_commit``) that
        queues every row it collected in batches of ``batch_size``, one Celery message per
        batch instead of one per row.

        The thread remembers its transaction's callback only through a weak reference: when
        Django drops the callback (its savepoint or transaction rolled back), nothing else
        holds it, the reference dies and the next row registers a new one. An id whose row
        was rolled back in a savepoint is skipped by the claim (no such row)."""
        callback = self._pending.callback() if getattr(self._pending, "callback", None) else None
        if callback is None or callback.done or not transaction.get_connection().in_atomic_block:
            callback = _AfterCommit(self)
            callback.ids.extend(pks)
            self._pending.callback = weakref.ref(callback)
            transaction.on_commit(callback)
        else:
            callback.ids.extend(pks)

    def enqueue_ids(self, ids: list[int]) -> int:
        """Queue tasks for ``ids``, ``batch_size`` per task. Returns the number of tasks."""
        size = self.batch()
        ids = list(ids)
        for start in range(0, len(ids), size):
            self.enqueue(ids[start : start + size])
        return (len(ids) + size - 1) // size

    def sweep(self) -> int:
        """Enqueue every due row, in batches (retries whose backoff ran out, lost claims)."""
        ids = self.due_ids()
        self.enqueue_ids(ids)
        return len(ids)

    # -- staff ----------------------------------------------------------------------
    def retry_now(self, pk: int) -> Any:
        """Staff asked to send a waiting row (queued, retrying or failed) now: it is due at
        once and queued after commit, with the same idempotency key (the vendor never does it
        twice). A failed row gets a fresh set of attempts. Anything else (being sent right
        now, already acknowledged) is refused with ``ApplicationError``."""
        with transaction.atomic():
            row = self.model._default_manager.select_for_update().get(pk=pk)
            if row.state not in OutboxMessage.WAITING_STATES:
                raise ApplicationError(
                    "Only a waiting request can be sent now (this one is "
                    f"{row.get_state_display().lower()}).",
                    code="not_retryable",
                )
            if row.state == State.FAILED:
                row.attempts_at_retry = row.attempts
            row.state = State.QUEUED
            row.next_attempt_at = timezone.now()
            row.save(update_fields=["state", "attempts_at_retry", "next_attempt_at", "updated_at"])
            transaction.on_commit(lambda: self.enqueue_ids([pk]))
        logger.info(f"{self.name}.request_retry", extra={"request_id": pk})
        return row

    def describe(self, row: Any) -> tuple[str, str]:
        """``(label, url)`` of what the row is about ("" when there is no page)."""
        if self.subject is None:
            return (f"#{row.pk}", "")
        return self.subject(row)


class _AfterCommit:
    """The one after-commit callback of a transaction: queues the ids it collected."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.ids: list[int] = []
        self.done = False

    def __call__(self) -> int:
        from kombu.exceptions import OperationalError

        self.done = True
        try:
            return self.outbox.enqueue_ids(self.ids)
        except OperationalError:
            # Broker down: the rows are committed and wait in the outbox; the sweeper
            # enqueues them when it is back. The person who submitted sees no error.
            logger.warning(
                f"{self.outbox.name}.enqueue_deferred", extra={"request_count": len(self.ids)}
            )
            return 0


# -- the outboxes of the running process (for the staff screen) --------------------------
_OUTBOXES: dict[str, Outbox] = {}


def register(outbox: Outbox) -> Outbox:
    """Declare an outbox (from its app's ``outbox`` module, imported by ``AppConfig.ready``)."""
    _OUTBOXES[outbox.name] = outbox
    return outbox


def outboxes() -> list[Outbox]:
    return list(_OUTBOXES.values())


def get(name: str) -> Outbox | None:
    return _OUTBOXES.get(name)


# -- retention ------------------------------------------------------------------------------
PRUNE_BATCH = 5000


def attempts_prune(*, older_than_days: int, dry_run: bool = False) -> dict[str, int]:
    """Delete the attempt records of every outbox's ``sent`` rows older than
    ``older_than_days`` (finished before the cut-off); rows still waiting or failed keep
    their whole history for the staff screen. Deletes ``PRUNE_BATCH`` records per statement
    (short locks on a large backlog). Returns the records deleted (or, with ``dry_run``,
    that would be) per outbox name."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    counts: dict[str, int] = {}
    for box in outboxes():
        message_table = box.model._meta.db_table
        # Identifiers come from the models; every value is a bound parameter.
        where = f"""
              FROM {OutboxAttempt._meta.db_table} AS a
              JOIN {message_table} AS m ON m.id = a.message_id
             WHERE a.outbox = %s AND a.finished_at < %s AND m.state = %s
        """  # noqa: S608
        params: list[Any] = [box.name, cutoff, str(State.SENT)]
        with connection.cursor() as cursor:
            if dry_run:
                cursor.execute("SELECT count(*) " + where, params)
                counts[box.name] = cursor.fetchone()[0]
                continue
            total = 0
            while True:
                cursor.execute(
                    f"DELETE FROM {OutboxAttempt._meta.db_table} WHERE id IN "  # noqa: S608
                    f"(SELECT a.id {where} LIMIT %s)",
                    [*params, PRUNE_BATCH],
                )
                total += cursor.rowcount
                if cursor.rowcount < PRUNE_BATCH:
                    break
            counts[box.name] = total
    logger.info(
        "outbox.attempts_pruned",
        extra={"counts": counts, "older_than_days": older_than_days, "dry_run": dry_run},
    )
    return counts


def waiting_since(outbox: Outbox, *, filters: dict[str, Any]) -> Any | None:
    """The oldest row of ``outbox`` matching ``filters`` that is not acknowledged yet
    (queued, being sent, retrying or failed), or None."""
    return (
        outbox.model._default_manager.filter(**filters)
        .exclude(state=State.SENT)
        .order_by("created_at", "pk")
        .first()
    )
