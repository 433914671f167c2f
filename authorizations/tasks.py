"""Celery tasks of authorizations: thin wrappers that load a row and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from opsadmin.errors import PermanentIntegrationError, TransientIntegrationError

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (TransientIntegrationError,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


def retry_countdown(retries: int, exc: TransientIntegrationError) -> float:
    """Seconds before the next try: the usual backoff (as ``RETRY`` would wait, without
    jitter), or SMT's ``Retry-After`` when that is longer (RFC 9110 section 10.2.3)."""
    from celery.utils.time import get_exponential_backoff_interval

    wait = float(
        get_exponential_backoff_interval(
            factor=RETRY["retry_backoff"], retries=retries, maximum=RETRY["retry_backoff_max"]
        )
    )
    return max(wait, exc.retry_after) if exc.retry_after is not None else wait


def _honour_retry_after(task, exc: TransientIntegrationError) -> None:
    """Retry now with SMT's ``Retry-After`` as the floor; without one, autoretry decides."""
    if exc.retry_after is not None and task.request.retries < RETRY["max_retries"]:
        raise task.retry(exc=exc, countdown=retry_countdown(task.request.retries, exc))


def _load(authorization_id: int):
    from authorizations.models import UsageAuthorization

    return UsageAuthorization.objects.filter(pk=authorization_id).first()


@shared_task(name="authorizations.agreement_request", bind=True, **RETRY)
def agreement_request(self, authorization_id: int) -> dict:
    """Send the SMT NewAgreement request (once: a stored agreement number is kept)."""
    from authorizations.services import agreement_send
    from usage.services import smt_session

    auth = _load(authorization_id)
    if auth is None:
        return {"skipped": True}
    try:
        with smt_session() as client:
            agreement_send(authorization=auth, client=client)
    except TransientIntegrationError as exc:
        _honour_retry_after(self, exc)
        raise
    if auth.agreement_number:
        # the person is likely on the status page: look again shortly (and the page's own
        # polling and the beat sweeper look too; a claim keeps it to one SMT call)
        agreement_check.apply_async((auth.pk,), countdown=1)
    return {"agreement": auth.agreement_number, "status": auth.status}


@shared_task(name="authorizations.agreement_check", **RETRY)
def agreement_check(authorization_id: int) -> dict:
    """Ask SMT about one agreement; on approval pull the history at once."""
    from authorizations.services import agreement_check as check
    from usage.services import smt_session

    auth = _load(authorization_id)
    if auth is None:
        return {"skipped": True}
    with smt_session() as client:
        approved_now = check(authorization=auth, client=client)
        if not approved_now:
            return {"status": auth.status}
        try:
            return {"status": auth.status, "months": _pull(auth, client)}
        except TransientIntegrationError:
            # approval stands; the pull gets its own retries
            usage_refresh.apply_async((auth.pk,), countdown=5)
            return {"status": auth.status, "months": None}


def _pull(auth, client) -> int:
    from authorizations.services import usage_pull_smt

    return usage_pull_smt(authorization=auth, client=client)


@shared_task(name="authorizations.usage_refresh", acks_late=True, **RETRY)
def usage_refresh(authorization_id: int) -> dict:
    """Re-pull an approved person's months (daily while the agreement lasts; idempotent)."""
    from usage.services import smt_session

    auth = _load(authorization_id)
    if auth is None:
        return {"skipped": True}
    try:
        with smt_session() as client:
            return {"months": _pull(auth, client)}
    except PermanentIntegrationError as exc:
        from authorizations.models import UsageAuthorization

        UsageAuthorization.objects.filter(pk=auth.pk).update(last_error=str(exc)[:300])
        logger.warning("authorizations.refresh_failed", extra={"authorization_id": auth.pk})
        return {"failed": True}


@shared_task(name="authorizations.check_pending")
def check_pending() -> dict:
    """Beat: queue a status check of every pending agreement whose check is due."""
    from authorizations.services import check_due_ids

    ids = check_due_ids()
    for auth_id in ids:
        agreement_check.delay(auth_id)
    return {"queued": len(ids)}


@shared_task(name="authorizations.maintain")
def maintain() -> dict:
    """Beat: reminders, time-outs, renewal prompts, expiry, daily refreshes."""
    from authorizations.services import authorizations_maintain

    return authorizations_maintain(refresh=lambda pk: usage_refresh.delay(pk))
