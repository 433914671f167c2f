"""Staff screens of usage: the SMT sync state per premise; a premise's bill to date."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from enrollments.models import ServiceAccount
from opsadmin import clock
from opsadmin.permissions import staff_required
from usage.projection import bill_projection, live_enrollment, premise_months_on_plan
from usage.selectors import sync_states


@staff_required("usage.view_usagesyncstate")
def sync_list(request):
    """Per ESIID: last success, data through, last error (failing first, then stalest)."""
    search = request.GET.get("q", "").strip()[:30]
    rows = sync_states(search=search)
    can_pull = request.user.has_perm("usage.change_usagesyncstate")
    template = "usage/sync.html#rows" if request.htmx else "usage/sync.html"
    return render(request, template, {"rows": rows, "q": search, "can_pull": can_pull})


@require_POST
@staff_required("usage.change_usagesyncstate")
def sync_pull(request, service_account_id: int):
    """Queue an SMT pull of one premise now."""
    from usage.tasks import smt_pull

    sa = get_object_or_404(ServiceAccount, pk=service_account_id)
    smt_pull.delay(sa.pk)
    messages.success(request, f"SMT pull queued for ESIID {sa.esiid}.")
    return redirect("usage:sync")


@staff_required("usage.view_usagesyncstate")
def premise_bill(request, service_account_id: int):
    """For a call ("why is my bill high?"): the premise's bill to date and projection, as the
    customer sees them, and its last 12 months priced on its current plan."""
    sa = get_object_or_404(
        ServiceAccount.objects.select_related("customer", "utility"), pk=service_account_id
    )
    today = clock.today()
    projection = bill_projection(service_account=sa, today=today)
    enrollment = live_enrollment(service_account=sa)
    months = premise_months_on_plan(
        service_account=sa, plan=enrollment.plan if enrollment else None, today=today
    )
    return render(
        request,
        "usage/premise_bill.html",
        {"sa": sa, "projection": projection, "enrollment": enrollment, "months": months},
    )
