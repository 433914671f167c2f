"""``{% history_link obj %}``: the link to an audited object's History, for who may read it.

Renders nothing for an object the audit trail does not track, an unsaved one, or a user who
may not open the History page (Admin only, see ``opsadmin.security_views``), so a shown link
never ends on a 403.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from pghistory.core import event_models

register = template.Library()


def _may_read_history(request) -> bool:
    if request is None:
        return False
    cached = getattr(request, "_may_read_history", None)
    if cached is None:
        from opsadmin.security_views import is_admin

        user = request.user
        cached = bool(
            user.is_authenticated and getattr(user, "is_staff_user", False) and is_admin(user)
        )
        request._may_read_history = cached
    return cached


def _tracked(model) -> bool:
    return bool(event_models(tracks_model=model))


@register.simple_tag(takes_context=True)
def history_link(context, obj, label: str = "History"):
    if obj is None or getattr(obj, "pk", None) is None or not _tracked(type(obj)):
        return ""
    if not _may_read_history(context.get("request")):
        return ""
    meta = obj._meta
    url = reverse("history:object", args=[meta.app_label, meta.model_name, obj.pk])
    return format_html(
        '<a class="history-link" href="{}">{}<span class="visually-hidden"> of {} {}</span></a>',
        url,
        label,
        meta.verbose_name,
        obj,
    )
