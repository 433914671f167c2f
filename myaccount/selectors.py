"""Questions My Account asks, always scoped to the customer who is signed in."""

from __future__ import annotations

from django.http import Http404

from enrollments.models import Customer, Enrollment, ServiceAccount
from enrollments.selectors import customer_for

SESSION_KEY = "myaccount_service_account_id"

# Which enrollment of a premise the portal talks about: the live one first.
_STATUS_RANK: dict[str, int] = {
    Enrollment.Status.ACTIVE: 0,
    Enrollment.Status.ACCEPTED: 1,
    Enrollment.Status.PENDING: 2,
    Enrollment.Status.SUBMITTED: 3,
    # service ended: the customer keeps reading their history and final bills
    Enrollment.Status.DROPPED: 4,
    Enrollment.Status.MOVED_OUT: 4,
}


def service_accounts_for(*, customer: Customer) -> list[ServiceAccount]:
    return list(customer.service_accounts.select_related("utility").order_by("pk"))


def service_account_for_customer(*, user, pk: int | str) -> ServiceAccount:
    """One of the user's own service accounts, else 404 (never another customer's)."""
    customer = customer_for(user=user)
    try:
        pk_int = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such service account.") from exc
    try:
        return ServiceAccount.objects.select_related("utility").get(pk=pk_int, customer=customer)
    except ServiceAccount.DoesNotExist as exc:
        raise Http404("No such service account.") from exc


def selected_service_account(
    *, request, accounts: list[ServiceAccount] | None = None
) -> ServiceAccount | None:
    """The service account chosen in this session, or the customer's first one."""
    if accounts is None:
        accounts = service_accounts_for(customer=customer_for(user=request.user))
    if not accounts:
        return None
    wanted = request.session.get(SESSION_KEY)
    for account in accounts:
        if account.pk == wanted:
            return account
    return accounts[0]


def current_enrollment(*, service_account: ServiceAccount) -> Enrollment | None:
    """The enrollment the portal shows for a premise: active before pending, newest first."""
    enrollments = list(
        service_account.enrollments.select_related("plan").order_by("-created_at", "-pk")
    )
    if not enrollments:
        return None
    return min(enrollments, key=lambda e: _STATUS_RANK.get(e.status, 9))


def bill_for_customer(*, customer: Customer, pk: int):
    """One of the customer's own bills, else 404."""
    from usage.models import Bill

    try:
        return Bill.objects.select_related("service_account").get(
            pk=pk, service_account__customer=customer
        )
    except Bill.DoesNotExist as exc:
        raise Http404("No such bill.") from exc
