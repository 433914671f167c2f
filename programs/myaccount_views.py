"""My Account > Manage > Programs: the customer's own enrollments, events, opt-out and
unavailability. Every read is scoped to request.user.customer (another id -> 404)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from enrollments.selectors import customer_for
from opsadmin.confirm import confirmation_response
from opsadmin.errors import ApplicationError
from opsadmin.permissions import customer_required
from programs import selectors, services
from programs.forms import DeviceEnrollForm, UnavailabilityForm
from programs.models import Device, ProgramEnrollment
from programs.views import _unavailability_message

CHANNEL = ProgramEnrollment.Channel.MYACCOUNT


def _customer(request):
    return customer_for(user=request.user)


@customer_required
def summary(request):
    customer = _customer(request)
    return render(
        request,
        "programs/myaccount/summary.html",
        {
            "customer": customer,
            "eligible": selectors.programs_eligible(customer=customer),
            "enrollments": selectors.customer_program_enrollments(customer=customer),
            "reservations": selectors.customer_reservations(customer=customer),
        },
    )


@customer_required
@require_http_methods(["GET", "POST"])
def enroll(request, program_id: int, account_id: int):
    """Customers enroll their own (bring-your-own, customer-owned) devices."""
    customer = _customer(request)
    eligible = {
        (e.program.pk, e.service_account.pk): e
        for e in selectors.programs_eligible(customer=customer)
    }
    item = eligible.get((program_id, account_id))
    if item is None:
        raise Http404
    form = DeviceEnrollForm(request.POST or None, program=item.program, customer_channel=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.program_enrollment_create(
                customer=customer,
                service_account=item.service_account,
                program=item.program,
                devices=[
                    services.DeviceInput(
                        asset_type_id=data["asset_type"].pk,
                        specification_id=data["specification"].pk
                        if data["specification"]
                        else None,
                        serial_number=data["serial_number"],
                        network_address=data["network_address"],
                    )
                ],
                channel=CHANNEL,
                actor=request.user,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                gettext("You are enrolled in %(name)s.") % {"name": item.program.local_name},
            )
            return redirect("programs_myaccount:summary")
    return render(
        request,
        "programs/myaccount/enroll.html",
        {"form": form, "item": item},
        status=422 if request.method == "POST" else 200,
    )


@customer_required
@require_POST
def opt_out(request, pk: int):
    reservation = selectors.reservation_for_customer(customer=_customer(request), pk=pk)
    asked = confirmation_response(
        request,
        question=gettext("Opt out of this event for %(serial)s?")
        % {"serial": reservation.device.serial_number},
        consequence=gettext("Your device will not take part in this event."),
        action_label=gettext("Yes, opt out"),
        back_url=reverse("programs_myaccount:summary"),
        template="myaccount/confirm.html",
    )
    if asked is not None:
        return asked
    try:
        services.reservation_opt_out(reservation=reservation, channel=CHANNEL)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Your device is opted out of the event."))
    if request.htmx:
        return HttpResponseClientRedirect("/myaccount/programs/")
    return redirect("programs_myaccount:summary")


@customer_required
@require_http_methods(["GET", "POST"])
def unavailability(request, pk: int):
    device = selectors.device_for_customer(customer=_customer(request), pk=pk)
    if device.status != Device.Status.ACTIVE:
        raise Http404
    form = UnavailabilityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.unavailability_schedule(
                device=device,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                reason=form.cleaned_data["reason"],
                channel=CHANNEL,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _unavailability_message(result))
            return redirect("programs_myaccount:summary")
    return render(
        request,
        "programs/myaccount/unavailability.html",
        {"form": form, "device": device},
        status=422 if request.method == "POST" else 200,
    )
