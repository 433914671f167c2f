"""Start-up registries through which higher apps hear of enrollment life-cycle events.

Enrollments sits below the domain apps (usage, drops, ...), so it cannot import them; an app
that must act when an enrollment is accepted registers a function here from its
``AppConfig.ready`` (no Django signals: domain flow stays explicit and greppable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

AcceptedHandler = Callable[[int], None]
_ON_ACCEPTED: list[AcceptedHandler] = []


def on_accepted(fn: AcceptedHandler) -> AcceptedHandler:
    """Register ``fn(enrollment_id)`` to run after the commit that makes an enrollment accepted."""
    if fn not in _ON_ACCEPTED:
        _ON_ACCEPTED.append(fn)
    return fn


def run_accepted(enrollment_id: int) -> None:
    """Schedule every registered handler for after the current transaction commits."""
    for fn in list(_ON_ACCEPTED):
        transaction.on_commit(partial(_safe, fn, enrollment_id))


def _safe(fn: AcceptedHandler, enrollment_id: int) -> None:
    # A handler failing (e.g. the broker is down) must not break the caller, whose
    # transition has already committed.
    try:
        fn(enrollment_id)
    except Exception:
        logger.exception(
            "enrollment.accepted_hook_failed",
            extra={"enrollment_id": enrollment_id, "hook": getattr(fn, "__name__", "?")},
        )
