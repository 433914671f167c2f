"""Drops screens: the customer's Cancel / Move Out flow and the staff queue and settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from drops import selectors, services
from drops.forms import DropCodeForm, DropRequestForm, DropSettingsForm
from drops.models import DropCode, DropRequest
from drops.rules import Waiver
from enrollments.selectors import customer_for
from opsadmin.confirm import confirmation_response
from opsadmin.errors import ApplicationError
from opsadmin.models import SystemSetup, Utility
from opsadmin.permissions import customer_required, staff_required

KIND_SLUGS = {"cancel": DropRequest.Kind.DROP, "move-out": DropRequest.Kind.MOVE_OUT}


def _customer(request):
    return customer_for(user=request.user)


def _kind(slug: str) -> str:
    try:
        return KIND_SLUGS[slug]
    except KeyError:
        raise Http404("Unknown option.") from None


def _require_visible(customer) -> None:
    if not selectors.drop_option_visible(customer=customer):
        raise PermissionDenied("Cancel / Move Out is not available online for your account.")


# --- My Account --------------------------------------------------------------------------


@customer_required
@require_GET
def myaccount_index(request):
    """Manage > Cancel / Move Out: the customer's active accounts and the two options."""
    customer = _customer(request)
    visible = selectors.drop_option_visible(customer=customer)
    rows = []
    if visible:
        for enrollment in selectors.droppable_enrollments(customer=customer):
            rows.append(
                {
                    "enrollment": enrollment,
                    "premise": enrollment.service_account,
                    "open": selectors.open_drop_request(enrollment=enrollment),
                }
            )
    recent = list(
        DropRequest.objects.filter(customer=customer)
        .select_related("service_account")
        .order_by("-created_at")[:10]
    )
    return render(
        request,
        "drops/myaccount/index.html",
        {"visible": visible, "rows": rows, "recent": recent},
    )


@customer_required
@require_GET
def myaccount_confirm(request, account_id: int, kind_slug: str):
    """Step 1: "Do you want to proceed?" with the ETF notice when configured and pending."""
    customer = _customer(request)
    kind = _kind(kind_slug)
    _require_visible(customer)
    enrollment = selectors.drop_target_for_customer(
        customer=customer, service_account_id=account_id
    )
    existing = selectors.open_drop_request(enrollment=enrollment)
    if existing is not None:
        return redirect("drops_myaccount:request_detail", pk=existing.pk)
    notice = selectors.etf_notice(enrollment=enrollment, kind=kind)
    return render(
        request,
        "drops/myaccount/confirm.html",
        {
            "enrollment": enrollment,
            "premise": enrollment.service_account,
            "kind": kind,
            "kind_slug": kind_slug,
            "kind_label": DropRequest.Kind(kind).label,
            "etf_notice": notice,
        },
    )


@customer_required
@require_http_methods(["GET", "POST"])
def myaccount_form(request, account_id: int, kind_slug: str):
    """Step 2: date, reason (when there is a choice), meter removal, forwarding address."""
    customer = _customer(request)
    kind = _kind(kind_slug)
    _require_visible(customer)
    enrollment = selectors.drop_target_for_customer(
        customer=customer, service_account_id=account_id
    )
    existing = selectors.open_drop_request(enrollment=enrollment)
    if existing is not None:  # a double submit lands on the request already made
        return _go(request, reverse("drops_myaccount:request_detail", args=[existing.pk]))
    utility = enrollment.service_account.utility
    codes = selectors.myaccount_drop_codes(utility=utility)
    earliest, latest = selectors.drop_date_window()
    form = DropRequestForm(
        request.POST or None,
        kind=kind,
        codes=codes,
        earliest=earliest,
        latest=latest,
        initial={"requested_date": earliest},
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.drop_request_create(
                customer=customer,
                enrollment=enrollment,
                kind=kind,
                requested_date=form.cleaned_data["requested_date"],
                reason_code=form.reason_code,
                meter_removal=form.cleaned_data["meter_removal"],
                forwarding_address=form.forwarding_address,
                actor=request.user,
            )
        except ApplicationError as exc:
            if exc.code == "not_allowed":
                raise PermissionDenied(exc.message) from exc
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if result.created:
                messages.success(request, gettext("Your request has been received."))
            return _go(
                request,
                reverse("drops_myaccount:request_detail", args=[result.drop_request.pk]),
            )
    status = 422 if request.method == "POST" and not request.htmx else 200
    return render(
        request,
        "drops/myaccount/form.html",
        {
            "form": form,
            "enrollment": enrollment,
            "premise": enrollment.service_account,
            "kind": kind,
            "kind_slug": kind_slug,
            "kind_label": DropRequest.Kind(kind).label,
            "single_code": codes[0] if len(codes) == 1 else None,
        },
        status=status,
    )


def _go(request, url: str):
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@customer_required
@require_GET
def myaccount_request_detail(request, pk: int):
    """Step 3: the confirmation page (also where a customer may cancel during the hold)."""
    customer = _customer(request)
    drop_request = selectors.drop_request_for_customer(customer=customer, pk=pk)
    return render(
        request,
        "drops/myaccount/request_detail.html",
        {
            "drop": drop_request,
            "show_etf": SystemSetup.load().show_etf_message_on_drops,
            "waiver_label": Waiver.LABELS.get(drop_request.etf_waiver, ""),
            "can_cancel": selectors.drop_request_customer_may_cancel(drop_request=drop_request),
        },
    )


@customer_required
@require_POST
def myaccount_request_cancel(request, pk: int):
    customer = _customer(request)
    drop_request = selectors.drop_request_for_customer(customer=customer, pk=pk)
    try:
        services.drop_request_cancel(
            drop_request=drop_request, actor=request.user, by_customer=True
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Your request was cancelled. Your service continues."))
    return _go(request, reverse("drops_myaccount:request_detail", args=[pk]))


# --- staff -------------------------------------------------------------------------------


@staff_required("drops.view_droprequest")
@require_GET
def queue(request):
    """Drops: every request with customer, utility, date, reason, ETF and status."""
    status = request.GET.get("status", "")
    if status not in DropRequest.Status.values:
        status = ""
    rows = list(selectors.drop_queue(status=status)[:200])
    context = {
        "rows": rows,
        "status": status,
        "statuses": DropRequest.Status.choices,
        "can_release": request.user.has_perm("drops.release_droprequest"),
        "can_cancel": request.user.has_perm("drops.cancel_droprequest"),
    }
    template = "drops/queue.html#table" if request.htmx else "drops/queue.html"
    return render(request, template, context)


def _staff_action(request, pk: int, action, *, confirm: tuple[str, str, str]):
    drop_request = get_object_or_404(
        DropRequest.objects.select_related("customer", "utility"), pk=pk
    )
    question, consequence, label = confirm
    asked = confirmation_response(
        request,
        question=question.format(r=drop_request),
        consequence=consequence.format(r=drop_request),
        action_label=label,
        back_url=reverse("drops:queue"),
    )
    if asked is not None:
        return asked
    try:
        drop_request = action(drop_request=drop_request, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Drop request {pk}: {drop_request.get_status_display()}.")
    if request.htmx:
        drop_request.refresh_from_db()
        return render(
            request,
            "drops/queue.html#row",
            {
                "row": drop_request,
                "can_release": request.user.has_perm("drops.release_droprequest"),
                "can_cancel": request.user.has_perm("drops.cancel_droprequest"),
                "oob_messages": True,
            },
        )
    return redirect("drops:queue")


@staff_required("drops.release_droprequest")
@require_POST
def release(request, pk: int):
    return _staff_action(
        request,
        pk,
        services.drop_request_release,
        confirm=(
            "Release drop request {r.pk} for {r.customer}?",
            "The request is sent to {r.utility.name} for its requested date; a released "
            "request cannot be held again.",
            "Release request",
        ),
    )


@staff_required("drops.cancel_droprequest")
@require_POST
def cancel(request, pk: int):
    return _staff_action(
        request,
        pk,
        services.drop_request_cancel,
        confirm=(
            "Cancel drop request {r.pk} for {r.customer}?",
            "The customer's service continues; a cancelled request cannot be reopened (the "
            "customer would have to ask again).",
            "Cancel request",
        ),
    )


@staff_required("drops.view_dropcode")
def settings_index(request):
    return render(request, "drops/settings_index.html")


@staff_required("drops.view_dropcode")
@require_GET
def drop_code_list(request):
    codes = DropCode.objects.select_related("utility").order_by("utility__name", "code")
    return render(request, "drops/drop_code_list.html", {"codes": codes})


@require_http_methods(["GET", "POST"])
def _drop_code_edit(request, pk: int | None = None):
    code = get_object_or_404(DropCode, pk=pk) if pk else DropCode()
    form = DropCodeForm(request.POST or None, instance=code)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Drop code saved.")
        return redirect("drops:drop_code_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "drops/drop_code_form.html", {"form": form, "code": code}, status=status)


drop_code_new = staff_required("drops.add_dropcode")(_drop_code_edit)
drop_code_edit = staff_required("drops.change_dropcode")(_drop_code_edit)


@staff_required("drops.view_dropsettings")
@require_GET
def hold_list(request):
    utilities = Utility.objects.filter(active=True).select_related("drop_settings").order_by("name")
    return render(request, "drops/hold_list.html", {"utilities": utilities})


@staff_required(("drops.change_dropsettings", "drops.add_dropsettings"))
@require_http_methods(["GET", "POST"])
def hold_edit(request, utility_id: int):
    utility = get_object_or_404(Utility, pk=utility_id)
    instance = selectors.drop_settings_for(utility=utility)
    form = DropSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Drop settings for {utility.name} saved.")
        return redirect("drops:hold_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "drops/hold_form.html", {"form": form, "utility": utility}, status=status
    )
