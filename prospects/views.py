"""Prospects screens: list, detail (contacts, addresses, notes, pipeline), conversion."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from opsadmin.errors import ApplicationError
from opsadmin.models import Utility
from opsadmin.permissions import staff_required
from prospects.forms import (
    AddressForm,
    BrokerForm,
    ContactForm,
    ConvertForm,
    FilterForm,
    NoteForm,
    ProspectForm,
    StatusForm,
)
from prospects.models import Broker, Prospect, ProspectServiceAddress
from prospects.selectors import prospect_detail, prospect_list
from prospects.services import (
    prospect_address_save,
    prospect_convert,
    prospect_note_add,
    prospect_status_set,
)


def _prospect_or_404(pk: int) -> Prospect:
    prospect = prospect_detail(pk=pk)
    if prospect is None:
        raise Http404
    return prospect


@staff_required("prospects.view_prospect")
def prospect_index(request):
    form = FilterForm(request.GET or None)
    q = status = ""
    if form.is_valid():
        q, status = form.cleaned_data["q"], form.cleaned_data["status"]
    page = Paginator(prospect_list(q=q, status=status), 50).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    if request.htmx:
        return render(request, "prospects/list.html#results", context)
    return render(request, "prospects/list.html", context)


@staff_required("prospects.add_prospect")
@require_http_methods(["GET", "POST"])
def prospect_edit(request, pk: int | None = None):
    prospect = get_object_or_404(Prospect, pk=pk) if pk else Prospect(owner=request.user)
    form = ProspectForm(request.POST or None, instance=prospect)
    if request.method == "POST" and form.is_valid():
        prospect = form.save()
        messages.success(request, f"Prospect {prospect.company_name} saved.")
        return redirect("prospects:detail", pk=prospect.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "prospects/form.html", {"form": form, "prospect": prospect}, status=status
    )


@staff_required("prospects.view_prospect")
def prospect_show(request, pk: int):
    prospect = _prospect_or_404(pk)
    return render(
        request,
        "prospects/detail.html",
        {
            "prospect": prospect,
            "status_form": StatusForm(initial={"status": prospect.status}),
            "note_form": NoteForm(),
            "convert_form": ConvertForm(),
        },
    )


@staff_required("prospects.change_prospect")
@require_POST
def prospect_status(request, pk: int):
    prospect = _prospect_or_404(pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            prospect_status_set(
                prospect=prospect, status=form.cleaned_data["status"], actor=request.user
            )
            messages.success(request, f"Status set to {prospect.get_status_display()}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Choose a status.")
    return redirect("prospects:detail", pk=pk)


@staff_required("prospects.add_prospectnote")
@require_POST
def prospect_note(request, pk: int):
    prospect = _prospect_or_404(pk)
    try:
        prospect_note_add(prospect=prospect, text=request.POST.get("text", ""), author=request.user)
        messages.success(request, "Note added.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("prospects:detail", pk=pk)


@staff_required("prospects.add_prospectcontact")
@require_http_methods(["GET", "POST"])
def contact_new(request, pk: int):
    prospect = _prospect_or_404(pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = form.save(commit=False)
        contact.prospect = prospect
        contact.save()
        messages.success(request, f"Contact {contact} added.")
        return redirect("prospects:detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "prospects/sub_form.html",
        {"form": form, "prospect": prospect, "heading": "Add contact"},
        status=status,
    )


@staff_required("prospects.change_prospectserviceaddress")
@require_http_methods(["GET", "POST"])
def address_edit(request, pk: int, address_pk: int | None = None):
    prospect = _prospect_or_404(pk)
    address = (
        get_object_or_404(ProspectServiceAddress, pk=address_pk, prospect=prospect)
        if address_pk
        else ProspectServiceAddress(prospect=prospect)
    )
    utility = None
    if request.method == "GET" and request.GET.get("utility", "").isdigit():
        utility = Utility.objects.filter(pk=int(request.GET["utility"])).first()
    form = AddressForm(
        request.POST or None,
        instance=address,
        utility=utility,
        initial={"utility": utility} if utility else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            prospect_address_save(address=form.save(commit=False))
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Service address saved.")
            return redirect("prospects:detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "prospects/address_form.html",
        {"form": form, "prospect": prospect, "address": address},
        status=status,
    )


@staff_required(("prospects.change_prospect", "enrollments.add_enrollment"))
@require_POST
def prospect_convert_view(request, pk: int):
    prospect = _prospect_or_404(pk)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a plan to convert the prospect.")
        return redirect("prospects:detail", pk=pk)
    try:
        enrollments = prospect_convert(
            prospect=prospect,
            plan_code=form.cleaned_data["plan_code"],
            requested_start_date=form.cleaned_data["requested_start_date"],
            notice_preference=form.cleaned_data["notice_preference"],
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{prospect.company_name} converted into {len(enrollments)} enrollment(s)."
        )
    return redirect("prospects:detail", pk=pk)


@staff_required("prospects.view_broker")
@require_http_methods(["GET", "POST"])
def broker_index(request):
    form = BrokerForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("prospects.add_broker"):
            raise PermissionDenied("You do not have permission for this.")
        if form.is_valid():
            broker = form.save()
            messages.success(request, f"Broker {broker} added.")
            return redirect("prospects:brokers")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "prospects/brokers.html",
        {"form": form, "brokers": Broker.objects.all()},
        status=status,
    )
