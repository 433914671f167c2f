"""Typed life-cycle events: what happened to a customer, published after the commit that did it.

A lower app publishes (enrollments: an enrollment was accepted, service started, a contract
rolled over; drops: service ended); a higher app that must act subscribes in its own
``subscriptions.py`` (listed in ``SUBSCRIPTIONS`` and registered from ``AppConfig.ready``).
Reading the event classes below and the ``subscriptions.py`` files answers "who reacts to
what" completely (``subscribers_by_event`` lists it; docs/architecture.md shows the table and a
test keeps the two equal).

Subscribers run after the publishing transaction commits (Django's public
``transaction.on_commit``), each on its own: one failing (e.g. the broker is down) is logged
and does not stop the others or undo the committed change. Subscribers are meant to be thin:
enqueue a Celery task or write a row.

Some events must change state in the same transaction as the change that reports them: the
billing system's answers, recorded with their outbox row (``InTransactionEvent``). They are
listed the same way but delivered by :func:`dispatch`, at once, inside the caller's
transaction: a subscriber raising ``ApplicationError`` is logged and skipped (the answer is
still recorded); any other exception rolls the transaction back so the work is tried again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, ClassVar

from django.db import transaction

from opsadmin.errors import ApplicationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every life-cycle event."""

    in_transaction: ClassVar[bool] = False


@dataclass(frozen=True)
class InTransactionEvent(Event):
    """Base of the events delivered inside the transaction that records them
    (:func:`dispatch`)."""

    in_transaction: ClassVar[bool] = True


@dataclass(frozen=True)
class ProspectAcknowledged(InTransactionEvent):
    """The billing system acknowledged a Create Prospect (``ack``: ``ProspectAck``)."""

    subject_type: str
    subject_id: int
    ack: Any


@dataclass(frozen=True)
class ProspectStatusChanged(InTransactionEvent):
    """A prospect moved further along in the billing system: accepted, active (service
    started) or rejected (``status``: ``ProspectStatus``)."""

    subject_type: str
    subject_id: int
    status: Any


@dataclass(frozen=True)
class BillingRequestAcknowledged(InTransactionEvent):
    """The billing system acknowledged a cancel, drop, move-out or plan change."""

    kind: str
    subject_type: str
    subject_id: int
    response: dict | None


@dataclass(frozen=True)
class ServiceOrderCompleted(InTransactionEvent):
    """A drop / move-out took effect in the billing system (``status``: ``RequestStatus``)."""

    kind: str
    subject_type: str
    subject_id: int
    status: Any


@dataclass(frozen=True)
class EnrollmentAccepted(Event):
    """The billing system accepted the enrollment (the switch / move-in is scheduled)."""

    enrollment_id: int
    service_account_id: int


@dataclass(frozen=True)
class ServiceStarted(Event):
    """ERCOT completed the switch / move-in: we serve the premise from ``service_start_date``."""

    enrollment_id: int
    service_account_id: int
    service_start_date: date


@dataclass(frozen=True)
class ServiceRejected(Event):
    """The billing system rejected the enrollment (before or after acceptance)."""

    enrollment_id: int
    reason: str


@dataclass(frozen=True)
class ContractRolledOver(Event):
    """The contract ended without a renewal: the customer is now on ``to_plan_code``."""

    enrollment_id: int
    from_plan_code: str
    to_plan_code: str


@dataclass(frozen=True)
class ServiceEnded(Event):
    """A drop or move-out took effect: ``service_end_date`` was the last day we served."""

    enrollment_id: int
    service_account_id: int
    service_end_date: date
    kind: str  # "drop" | "move_out"


EVENT_TYPES: tuple[type[Event], ...] = (
    ProspectAcknowledged,
    ProspectStatusChanged,
    BillingRequestAcknowledged,
    ServiceOrderCompleted,
    EnrollmentAccepted,
    ServiceStarted,
    ServiceRejected,
    ContractRolledOver,
    ServiceEnded,
)

Subscriber = Callable[[Event], None]
_SUBSCRIBERS: dict[type[Event], list[Subscriber]] = defaultdict(list)


def subscribe(event_type: type[Event], fn: Subscriber) -> None:
    """Register ``fn(event)`` for ``event_type`` (the same function twice is kept once)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if fn not in _SUBSCRIBERS[event_type]:
        _SUBSCRIBERS[event_type].append(fn)


def unsubscribe(event_type: type[Event], fn: Subscriber) -> None:
    """Remove ``fn`` (tests that listen for a while)."""
    if fn in _SUBSCRIBERS.get(event_type, ()):
        _SUBSCRIBERS[event_type].remove(fn)


def register(subscriptions: Iterable[tuple[type[Event], Subscriber]]) -> None:
    """Register an app's ``SUBSCRIPTIONS`` list."""
    for event_type, fn in subscriptions:
        subscribe(event_type, fn)


def subscribers(event_type: type[Event]) -> list[Subscriber]:
    return list(_SUBSCRIBERS.get(event_type, ()))


def subscribers_by_event() -> dict[str, list[str]]:
    """``{"ServiceStarted": ["usage.subscriptions.on_service_started", ...], ...}``."""
    return {
        t.__name__: [f"{fn.__module__}.{fn.__qualname__}" for fn in subscribers(t)]
        for t in EVENT_TYPES
    }


def publish(event: Event) -> None:
    """Run every subscriber of ``event`` after the current transaction commits (at once when
    there is none)."""
    if event.in_transaction:
        raise TypeError(f"{type(event).__name__} is delivered in the transaction: dispatch() it")
    for fn in subscribers(type(event)):
        transaction.on_commit(partial(_deliver, fn, event))


def _deliver(fn: Subscriber, event: Event) -> None:
    try:
        fn(event)
    except Exception:
        logger.exception(
            "event.subscriber_failed",
            extra={"event": type(event).__name__, "subscriber": fn.__qualname__},
        )


def dispatch(event: InTransactionEvent) -> None:
    """Run every subscriber of ``event`` now, in the caller's transaction. A subscriber that
    refuses (``ApplicationError``) is logged and skipped; anything else propagates."""
    if not event.in_transaction:
        raise TypeError(f"{type(event).__name__} is published after commit: publish() it")
    for fn in subscribers(type(event)):
        try:
            fn(event)
        except ApplicationError as exc:
            logger.warning(
                "event.subscriber_refused",
                extra={
                    "event": type(event).__name__,
                    "subscriber": fn.__qualname__,
                    "error": exc.message,
                },
            )
