"""What usage does when a customer's service starts or ends (``opsadmin.events``)."""

from __future__ import annotations

from opsadmin.events import Event, ServiceEnded, ServiceStarted


def on_service_started(event: Event) -> None:
    """Service started: the first SMT pull (SMT on, ERCOT premise) and the bill history.

    Not at acceptance: until ERCOT completes the switch the premise is another REP's.
    """
    assert isinstance(event, ServiceStarted)
    from enrollments.models import ServiceAccount
    from usage.adapters.smt import smt_config
    from usage.tasks import bills_refresh, smt_pull

    sa = (
        ServiceAccount.objects.select_related("utility").filter(pk=event.service_account_id).first()
    )
    if sa is None:
        return
    if smt_config() is not None and sa.utility.is_ercot:
        smt_pull.delay(sa.pk, True)
    bills_refresh.delay(sa.pk)


def on_service_ended(event: Event) -> None:
    """Service ended: one last pull up to the final day (the daily refresh stops by itself,
    it only visits active premises) and the final bill; history stays readable."""
    assert isinstance(event, ServiceEnded)
    from enrollments.models import ServiceAccount
    from usage.adapters.smt import smt_config
    from usage.tasks import bills_refresh, smt_pull

    sa = (
        ServiceAccount.objects.select_related("utility").filter(pk=event.service_account_id).first()
    )
    if sa is None:
        return
    if smt_config() is not None and sa.utility.is_ercot:
        smt_pull.delay(sa.pk, False)
    bills_refresh.delay(sa.pk)


SUBSCRIPTIONS = [
    (ServiceStarted, on_service_started),
    (ServiceEnded, on_service_ended),
]
