"""The billing outbox on the core engine (``opsadmin.outbox``): what only billing knows.

How a row goes to ESG (one call per kind), what an acknowledgement writes on the row (the
prospect or service order to follow), and who is told, in the transaction that records it:
``opsadmin.events.ProspectAcknowledged`` / ``BillingRequestAcknowledged`` (handlers listed
in the apps' ``subscriptions.py``). Claim, lease, backoff (2, 4, 8 ... seconds, capped at an
hour, at most ``MAX_ATTEMPTS``), attempt records and retry-now are the engine's.
"""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings

from billing.adapters.esg import EsgClient, default_timeout, shared_esg_client
from billing.models import BillingRequest
from opsadmin import events
from opsadmin import outbox as engine
from opsadmin.errors import PermanentIntegrationError

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 2
NOT_ATTEMPTED = engine.NOT_ATTEMPTED
Outcome = engine.Outcome


def lease_seconds() -> int:
    """How long a claim holds a row: longer than the client's worst-case call."""
    return int(getattr(settings, "BILLING_SEND_LEASE_SECONDS", 60))


def batch_size() -> int:
    """Rows one task claims and sends (the after-commit enqueue cuts ids to this size)."""
    return max(1, int(getattr(settings, "BILLING_SEND_BATCH", 50)))


def send_threads() -> int:
    """Concurrent HTTP calls per task (per worker process)."""
    return max(1, int(getattr(settings, "BILLING_SEND_THREADS", 8)))


def worst_call_seconds() -> float:
    """The longest one ESG call may take (connect + write + read timeouts)."""
    timeout = default_timeout()
    return float((timeout.connect or 0) + (timeout.write or 0) + (timeout.read or 0))


def _deliver(client: EsgClient, row: BillingRequest):
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


def _apply_success(row: BillingRequest, answer, now) -> None:
    row.response = asdict(answer)
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        row.prospect_id = answer.prospect_id
        row.prospect_status = BillingRequest.ProspectStatus.PENDING
    elif row.kind in BillingRequest.FOLLOWED_KINDS:
        row.order_id = answer.request_id
        row.order_status = BillingRequest.OrderStatus.RECEIVED


def _on_success(row: BillingRequest, answer) -> None:
    """Tell the subscribers, inside the transaction that marks the row acknowledged."""
    if row.kind == BillingRequest.Kind.CREATE_PROSPECT:
        events.dispatch(
            events.ProspectAcknowledged(
                subject_type=row.subject_type, subject_id=row.subject_id, ack=answer
            )
        )
    else:
        events.dispatch(
            events.BillingRequestAcknowledged(
                kind=row.kind,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                response=row.response,
            )
        )


def _enqueue(ids: list[int]) -> None:
    from billing.tasks import billing_requests_send

    billing_requests_send.delay(ids)


def _subject(row: BillingRequest) -> tuple[str, str]:
    if row.subject_type == "enrollment":
        return (f"Enrollment {row.subject_id}", f"/enrollments/{row.subject_id}/")
    if row.subject_type == "drop_request":
        return (f"Drop request {row.subject_id}", "/drops/")  # the drops queue
    return (f"{row.subject_type} {row.subject_id}", "")


OUTBOX = engine.register(
    engine.Outbox(
        name="billing",
        label="Billing system (ESG)",
        model=BillingRequest,
        deliver=_deliver,
        make_client=shared_esg_client,  # process-wide: never closed here
        enqueue=_enqueue,
        permission="billing.change_billingrequest",
        apply_success=_apply_success,
        success_fields=("prospect_id", "prospect_status", "order_id", "order_status"),
        on_success=_on_success,
        subject=_subject,
        max_attempts=MAX_ATTEMPTS,
        backoff_base_seconds=BACKOFF_BASE_SECONDS,
        lease_seconds=lease_seconds,
        batch_size=batch_size,
        threads=send_threads,
        worst_call_seconds=worst_call_seconds,
    )
)

# The verbs the tasks, the services, the journeys and the tests use.
claim_batch = OUTBOX.claim_batch
send_batch = OUTBOX.send_batch
send = OUTBOX.send
due_request_ids = OUTBOX.due_ids
backoff_seconds = OUTBOX.backoff_seconds
retry_delay_seconds = OUTBOX.retry_delay_seconds
_record_all = OUTBOX._record_all
_record_success = OUTBOX.record_success
_record_failure = OUTBOX.record_failure


def _claim(request_id: int) -> BillingRequest | None:
    rows = claim_batch(ids=[request_id])
    return rows[0] if rows else None
