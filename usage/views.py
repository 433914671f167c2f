"""Ops screens of usage: the SMT sync state per premise."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from enrollments.models import ServiceAccount
from opsadmin.permissions import staff_required
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
