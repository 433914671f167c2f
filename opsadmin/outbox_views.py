"""The staff Outbox screen: every outbox's waiting rows in one place, with "Send now"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from opsadmin import outbox as engine
from opsadmin.errors import ApplicationError
from opsadmin.models import OutboxMessage, OutboxState
from opsadmin.permissions import staff_required


def _view_permission(outbox: engine.Outbox) -> str:
    meta = outbox.model._meta
    return f"{meta.app_label}.view_{meta.model_name}"


def _visible(user) -> list[engine.Outbox]:
    return [o for o in engine.outboxes() if user.has_perm(_view_permission(o))]


@staff_required()
@require_GET
def outbox_list(request):
    """Rows not acknowledged yet (queued, being sent, retrying, failed), oldest first, of
    every outbox the user may see; ``?outbox=billing`` shows one."""
    visible = _visible(request.user)
    if not visible:
        raise PermissionDenied("You do not have permission for this.")
    chosen = request.GET.get("outbox", "")
    shown = [o for o in visible if o.name == chosen] or visible
    sections = []
    for outbox in shown:
        rows = list(
            outbox.model._default_manager.filter(
                state__in=[*OutboxMessage.PENDING_STATES, OutboxState.FAILED]
            )
            .select_related(*outbox.select_related)
            .order_by("created_at", "pk")[:200]
        )
        sections.append(
            {
                "outbox": outbox,
                "may_retry": request.user.has_perm(outbox.permission),
                "rows": [
                    {
                        "row": row,
                        "subject": outbox.describe(row),
                        "waiting": row.state in OutboxMessage.WAITING_STATES,
                    }
                    for row in rows
                ],
            }
        )
    return render(
        request,
        "opsadmin/outbox.html",
        {"sections": sections, "outboxes": visible, "chosen": chosen},
    )


@staff_required()
@require_POST
def outbox_retry(request, name: str, pk: int):
    """Send one waiting row now (the outbox's own change permission)."""
    outbox = engine.get(name)
    if outbox is None:
        raise Http404
    if not request.user.has_perm(outbox.permission):
        raise PermissionDenied("You do not have permission for this.")
    if not outbox.model._default_manager.filter(pk=pk).exists():
        raise Http404
    try:
        outbox.retry_now(pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{outbox.label} request #{pk} will be sent now.")
    return redirect(f"/outbox/?outbox={name}")
