"""Catalogue screens: plans, TDU delivery charges, promo codes, referral sources, consent
methods. One list and one edit view, driven by a small table of what each kind shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from enrollments.forms import (
    PRICE_FORMSETS,
    ConsentMethodForm,
    PlanForm,
    PromoCodeForm,
    ReferralSourceForm,
    TduChargeForm,
)
from enrollments.models import ConsentMethod, Plan, PromoCode, ReferralSource, TduCharge
from enrollments.pricing import TOU_EFL_ASSUMPTION, average_price_cents, usage_tiers
from opsadmin.i18n import translation_fields
from opsadmin.permissions import staff_required


def _with_translations(
    form_class: type[forms.ModelForm], *, after: dict[str, str] | None = None
) -> type[forms.ModelForm]:
    """The catalogue form plus the Spanish of each customer-facing text (``name_es``...),
    placed after its English field (opsadmin.i18n); ``after`` adds a model field the form
    does not list yet after the one named (``{"name": "description"}``)."""
    meta = form_class.Meta  # type: ignore[attr-defined]
    listed: list[str] = []
    for name in meta.fields:
        listed.append(name)
        if after and name in after:
            listed.append(after[name])
    fields = translation_fields(listed, meta.model)
    if fields == list(meta.fields):
        return form_class
    return forms.models.modelform_factory(meta.model, form=form_class, fields=fields)


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    singular: str
    model: type[Any]  # one of several catalogue models, used generically
    form: type[forms.ModelForm]
    columns: tuple[tuple[str, str], ...]  # (header, attribute)


KINDS = {
    k.slug: k
    for k in (
        Kind(
            "plans",
            "Plans",
            "plan",
            Plan,
            _with_translations(PlanForm, after={"name": "description"}),
            (
                ("Code", "code"),
                ("Name", "name"),
                ("Spanish name", "name_es"),
                ("Web plan", "is_web_plan"),
                ("Rate type", "get_rate_type_display"),
                ("Term (months)", "term_months"),
                ("Energy (¢/kWh)", "energy_charge_cents"),
                ("Base fee ($)", "base_fee"),
                ("ETF", "get_etf_type_display"),
                ("ETF ($)", "etf_amount"),
                ("Active", "active"),
            ),
        ),
        Kind(
            "tdu-charges",
            "TDU delivery charges",
            "TDU delivery charge",
            TduCharge,
            TduChargeForm,
            (
                ("Utility", "utility"),
                ("Monthly ($)", "monthly_charge"),
                ("Delivery (¢/kWh)", "per_kwh_cents"),
                ("Effective", "effective_date"),
            ),
        ),
        Kind(
            "promo-codes",
            "Promo codes",
            "promo code",
            PromoCode,
            PromoCodeForm,
            (
                ("Code", "code"),
                ("Gives", "benefit_text"),
                ("From", "valid_from"),
                ("Until", "valid_until"),
                ("Channels", "channels_text"),
                ("Active", "active"),
            ),
        ),
        Kind(
            "referral-sources",
            "Referral sources",
            "referral source",
            ReferralSource,
            _with_translations(ReferralSourceForm),
            (
                ("Name", "name"),
                ("Spanish name", "name_es"),
                ("Order", "sort_order"),
                ("Active", "active"),
            ),
        ),
        Kind(
            "consent-methods",
            "Consent methods",
            "consent method",
            ConsentMethod,
            ConsentMethodForm,
            (
                ("Code", "code"),
                ("Name", "name"),
                ("Needs signed contract", "requires_document"),
                ("Active", "active"),
            ),
        ),
    )
}


def _kind(slug: str) -> Kind:
    try:
        return KINDS[slug]
    except KeyError:
        raise Http404("No such catalogue.") from None


def _perm(kind: Kind, verb: str) -> str:
    return f"enrollments.{verb}_{kind.model._meta.model_name}"


def _cell(obj, attr: str):
    if attr == "channels_text":
        return ", ".join(obj.channels)
    value = getattr(obj, attr)
    return value() if callable(value) else value


@staff_required("enrollments.view_plan")
def index(request):
    kinds = [k for k in KINDS.values() if request.user.has_perm(_perm(k, "view"))]
    return render(request, "enrollments/catalogue_index.html", {"kinds": kinds})


@staff_required()
def item_list(request, kind: str):
    k = _kind(kind)
    if not request.user.has_perm(_perm(k, "view")):
        raise PermissionDenied("You do not have permission for this.")
    qs = k.model.objects.all()
    if k.model is TduCharge:
        qs = qs.select_related("utility")
    rows = [(obj, [_cell(obj, attr) for _, attr in k.columns]) for obj in qs]
    ctx = {
        "kind": k,
        "headers": [h for h, _ in k.columns],
        "rows": rows,
        "can_add": request.user.has_perm(_perm(k, "add")),
        "can_change": request.user.has_perm(_perm(k, "change")),
    }
    return render(request, "enrollments/catalogue_list.html", ctx)


def _section(request, prefix: str):
    if request.method == "POST" and f"{prefix}-TOTAL_FORMS" in request.POST:
        return request.POST
    return None


@staff_required()
@require_http_methods(["GET", "POST"])
def item_edit(request, kind: str, pk: int | None = None):
    k = _kind(kind)
    verb = "change" if pk else "add"
    if not request.user.has_perm(_perm(k, verb)):
        raise PermissionDenied("You do not have permission for this.")
    obj = get_object_or_404(k.model, pk=pk) if pk else k.model()
    form = k.form(request.POST or None, instance=obj)
    # a plan's price structure (tiers, bill credits, time-of-use periods) is edited with it
    formsets = (
        [
            # a POST without a section (no management form) leaves those rows as they are
            (title, fs_class(_section(request, prefix), instance=obj, prefix=prefix))
            for prefix, title, fs_class in PRICE_FORMSETS
        ]
        if k.model is Plan
        else []
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and all(fs.is_valid() for _, fs in formsets if fs.is_bound)
    ):
        with transaction.atomic():
            obj = form.save()
            for _, fs in formsets:
                if fs.is_bound:
                    fs.instance = obj
                    fs.save()
        messages.success(request, f"{k.singular.capitalize()} {obj} saved.")
        return redirect("enrollments:catalogue_list", kind=k.slug)
    ctx = {"kind": k, "form": form, "obj": obj, "formsets": formsets}
    if k.model is Plan:
        ctx["tou_note"] = TOU_EFL_ASSUMPTION
    if k.model is Plan and obj.pk:
        ctx["averages"] = [
            (
                t.utility,
                [(kwh, average_price_cents(obj, t, kwh)) for kwh in usage_tiers(t.utility.state)],
            )
            for t in TduCharge.objects.select_related("utility").filter(
                utility__in=obj.utilities.all()
            )
        ]
    status = 422 if request.method == "POST" else 200
    return render(request, "enrollments/catalogue_form.html", ctx, status=status)
