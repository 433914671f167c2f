"""Staff screens of the billing outbox: the Billing exceptions queue."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from billing.models import BillingRequest
from billing.selectors import billing_exceptions, billing_retrying
from billing.services import billing_request_retry
from opsadmin.errors import ApplicationError
from opsadmin.permissions import staff_required

PERM = "billing.change_billingrequest"


@staff_required(PERM)
@require_GET
def exceptions(request):
    kind = request.GET.get("kind", "")
    if kind not in BillingRequest.Kind.values:
        kind = ""
    context = {
        "rows": billing_exceptions(kind=kind),
        "retrying": billing_retrying(),
        "kinds": BillingRequest.Kind.choices,
        "kind": kind,
    }
    return render(request, "billing/exceptions.html", context)


@staff_required(PERM)
@require_POST
def retry(request, pk: int):
    row = get_object_or_404(BillingRequest, pk=pk)
    try:
        row = billing_request_retry(request=row)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        status = 409
    else:
        messages.success(request, f"Request #{row.pk} queued to be sent again.")
        status = 200
    if request.htmx:
        row.refresh_from_db()
        return render(
            request,
            "billing/exceptions.html#row",
            {"row": row, "oob_messages": True},
            status=status,
        )
    return redirect("billing:exceptions")
