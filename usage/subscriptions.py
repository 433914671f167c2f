"""What usage does when a customer's service starts or ends (``opsadmin.events``)."""

from __future__ import annotations

from opsadmin.events import Event, ServiceEnded, ServiceStarted


def on_service_started(event: Event) -> None:
    """Service started: the first SMT pull (24 months; SMT on, ERCOT premise) and the bill
    history. Not at acceptance: until ERCOT completes the switch the premise is another
    REP's."""
    assert isinstance(event, ServiceStarted)
    _pull_and_bills(event.service_account_id, full=True)


def on_service_ended(event: Event) -> None:
    """Service ended: one last pull up to the final day and the final bill (the daily
    refresh stops by itself: it visits active premises only); history stays readable."""
    assert isinstance(event, ServiceEnded)
    _pull_and_bills(event.service_account_id, full=False)


def _pull_and_bills(service_account_id: int, *, full: bool) -> None:
    from enrollments.models import ServiceAccount
    from usage.services import smt_enabled
    from usage.tasks import bills_refresh, smt_pull

    sa = ServiceAccount.objects.select_related("utility").filter(pk=service_account_id).first()
    if sa is None:
        return
    if smt_enabled() and sa.utility.is_ercot:
        smt_pull.delay(sa.pk, full)
    bills_refresh.delay(sa.pk)


SUBSCRIPTIONS = [
    (ServiceStarted, on_service_started),
    (ServiceEnded, on_service_ended),
]
