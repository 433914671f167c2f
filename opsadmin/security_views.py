"""Audit trail pages: who changed what and when on one tracked object (Admin only)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.text import capfirst
from pghistory.core import event_models
from pghistory.models import Events

from opsadmin.permissions import staff_required

ADMIN_GROUP = "Admin"


def is_admin(user) -> bool:
    return user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists()


def tracked_model(app_label: str, model_name: str):
    """The model named in the URL, if the audit trail tracks it; else 404."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as exc:
        raise Http404("No such model.") from exc
    if not event_models(tracks_model=model):
        raise Http404("This model has no history.")
    return model


def field_labels(model) -> dict[str, str]:
    """Column or field name -> the label people read (the field's verbose_name)."""
    labels: dict[str, str] = {}
    for f in model._meta.concrete_fields:
        label = capfirst(str(f.verbose_name))
        labels[f.name] = label
        labels[f.attname] = label
    return labels


def _shown(model, name: str, value):
    """A stored choice as its label ("rest" -> "ESG REST API"); other values as stored."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    if getattr(field, "choices", None) and not isinstance(value, list | dict):
        return dict(field.flatchoices).get(value, value)
    return value


def object_history_rows(*, obj) -> list[dict]:
    """The object's events, newest first, with the acting user's name resolved and each
    changed field named by its label (verbose_name), not its column."""
    model = type(obj)
    labels = field_labels(model)
    events = list(Events.objects.tracks(obj).order_by("-pgh_created_at", "-pgh_id"))
    user_ids = {int(uid) for e in events if (uid := (e.pgh_context or {}).get("user")) is not None}
    users = {str(u.pk): u.get_username() for u in get_user_model().objects.filter(pk__in=user_ids)}
    rows = []
    for e in events:
        context = e.pgh_context or {}
        actor = users.get(str(context.get("user")), "") if context.get("user") else ""
        if e.pgh_label == "insert":
            raw = [(k, None, v) for k, v in (e.pgh_data or {}).items()]
        else:
            raw = [(k, old, new) for k, (old, new) in (e.pgh_diff or {}).items()]
        changes = sorted(
            (
                (labels.get(k, k), _shown(model, k, old), _shown(model, k, new))
                for k, old, new in raw
                if not k.startswith("pgh_")
            ),
            key=lambda change: change[0],
        )
        rows.append(
            {
                "at": e.pgh_created_at,
                "label": e.pgh_label,
                "actor": actor or "system (no signed-in user)",
                "url": context.get("url", ""),
                "changes": changes,
            }
        )
    return rows


@staff_required()
def object_history(request, app_label: str, model_name: str, pk: str):
    if not is_admin(request.user):
        raise PermissionDenied("Only Admin may read the audit trail.")
    model = tracked_model(app_label, model_name)
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        raise Http404("No such object.")
    return render(
        request,
        "opsadmin/security_history.html",
        {
            "obj": obj,
            "model_label": model._meta.verbose_name.capitalize(),
            "rows": object_history_rows(obj=obj),
        },
    )
