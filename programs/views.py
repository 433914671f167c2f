"""Staff screens of programs: Customer Program Summary, enrollment, work orders, sync
requests and configuration. Thin: parse -> service/selector -> render."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from enrollments.models import Customer, ServiceAccount
from opsadmin.confirm import confirmation_response
from opsadmin.errors import ApplicationError
from opsadmin.permissions import staff_required
from programs import selectors, services
from programs.forms import (
    CONFIG,
    CONFIG_FORMS,
    CustomerSearchForm,
    DeviceEnrollForm,
    ServiceCallForm,
    UnavailabilityForm,
    UnenrollForm,
    WorkOrderCompleteForm,
)
from programs.models import (
    Device,
    DeviceReservation,
    Program,
    ProgramEnrollment,
    SyncRequest,
    WorkOrder,
)

CHANNEL = ProgramEnrollment.Channel.AGENT


@staff_required("programs.view_programenrollment")
def index(request):
    form = CustomerSearchForm(request.GET or None)
    customers = []
    if form.is_valid() and (q := form.cleaned_data["q"].strip()):
        customers = list(
            Customer.objects.filter(
                Q(last_name__icontains=q)
                | Q(first_name__icontains=q)
                | Q(company_name__icontains=q)
                | Q(email__iexact=q)
                | Q(service_accounts__esiid=q)
            )
            .distinct()
            .order_by("last_name", "first_name")[:50]
        )
    return render(request, "programs/index.html", {"form": form, "customers": customers})


def _summary_context(customer: Customer) -> dict:
    return {
        "customer": customer,
        "eligible": selectors.programs_eligible(customer=customer),
        "enrollments": selectors.customer_program_enrollments(customer=customer),
        "reservations": selectors.customer_reservations(customer=customer),
    }


@staff_required("programs.view_programenrollment")
def customer_summary(request, customer_id: int):
    """Customer Program Summary: eligible programs, current enrollments, Opt Out and
    Schedule Unavailability."""
    customer = get_object_or_404(Customer, pk=customer_id)
    return render(request, "programs/customer_summary.html", _summary_context(customer))


@staff_required("programs.add_programenrollment")
@require_http_methods(["GET", "POST"])
def enroll(request, customer_id: int, program_id: int, account_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    account = get_object_or_404(ServiceAccount, pk=account_id, customer=customer)
    program = get_object_or_404(Program, pk=program_id)
    form = DeviceEnrollForm(request.POST or None, program=program)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.program_enrollment_create(
                customer=customer,
                service_account=account,
                program=program,
                devices=[
                    services.DeviceInput(
                        asset_type_id=data["asset_type"].pk,
                        specification_id=data["specification"].pk
                        if data["specification"]
                        else None,
                        serial_number=data["serial_number"],
                        network_address=data["network_address"],
                        installation_method=data["installation_method"],
                        ownership=data["ownership"],
                    )
                ],
                channel=CHANNEL,
                actor=request.user,
                installation_date=data["installation_date"],
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            # A premise already in the program gets the device added to that enrollment.
            messages.success(request, f"Device {data['serial_number']} enrolled in {program.name}.")
            return redirect("programs:customer_summary", customer_id=customer.pk)
    return render(
        request,
        "programs/enroll.html",
        {"form": form, "customer": customer, "program": program, "account": account},
        status=422 if request.method == "POST" else 200,
    )


@staff_required("programs.change_devicereservation")
@require_POST
def opt_out(request, pk: int):
    reservation = get_object_or_404(
        DeviceReservation.objects.select_related("device__enrollment", "event"), pk=pk
    )
    customer_id = reservation.device.enrollment.customer_id
    asked = confirmation_response(
        request,
        question=(
            f"Opt out device {reservation.device.serial_number} of event "
            f"{reservation.event.external_id}?"
        ),
        consequence="The device will not take part in this event; the opt-out is sent to "
        "the program's DERMS and cannot be taken back.",
        action_label="Opt Out",
        back_url=reverse("programs:customer_summary", args=[customer_id]),
    )
    if asked is not None:
        return asked
    try:
        reservation = services.reservation_opt_out(reservation=reservation, channel=CHANNEL)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Device {reservation.device.serial_number} is opted out of event "
            f"{reservation.event.external_id}.",
        )
    url = reverse("programs:customer_summary", args=[customer_id])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@staff_required("programs.add_unavailability")
@require_http_methods(["GET", "POST"])
def unavailability(request, pk: int):
    device = get_object_or_404(Device.objects.select_related("enrollment__customer"), pk=pk)
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
            return redirect("programs:customer_summary", customer_id=device.enrollment.customer_id)
    return render(
        request,
        "programs/unavailability.html",
        {
            "form": form,
            "device": device,
            "back": reverse("programs:customer_summary", args=[device.enrollment.customer_id]),
        },
        status=422 if request.method == "POST" else 200,
    )


def _unavailability_message(result: services.UnavailabilityResult) -> str:
    from django.utils import dateformat, timezone
    from django.utils.translation import gettext

    fmt = gettext("M j, Y g:i A")
    start = dateformat.format(timezone.localtime(result.window.starts_at), fmt)
    end = dateformat.format(timezone.localtime(result.window.ends_at), fmt)
    text = gettext("Unavailable from %(start)s to %(end)s.") % {"start": start, "end": end}
    if result.merged:
        text += " " + gettext("It overlapped an existing window, so the two were merged into one.")
    return text


@staff_required("programs.add_workorder")
@require_http_methods(["GET", "POST"])
def service_call(request, pk: int):
    device = get_object_or_404(Device.objects.select_related("enrollment"), pk=pk)
    form = ServiceCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.device_service_call_create(device=device, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Service call #{order.pk} opened.")
            return redirect("programs:customer_summary", customer_id=device.enrollment.customer_id)
    return render(
        request,
        "programs/simple_form.html",
        {
            "form": form,
            "title": f"Service call for {device}",
            "submit": "Open service call",
            "back": reverse("programs:customer_summary", args=[device.enrollment.customer_id]),
        },
        status=422 if request.method == "POST" else 200,
    )


@staff_required("programs.change_programenrollment")
@require_http_methods(["GET", "POST"])
def unenroll(request, pk: int):
    enrollment = get_object_or_404(ProgramEnrollment.objects.select_related("program"), pk=pk)
    form = UnenrollForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.program_unenroll(enrollment=enrollment, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Unenrolled from {enrollment.program.name}.")
            return redirect("programs:customer_summary", customer_id=enrollment.customer_id)
    return render(
        request,
        "programs/simple_form.html",
        {
            "form": form,
            "title": f"Unenroll from {enrollment.program.name}",
            "submit": "Unenroll",
            "back": reverse("programs:customer_summary", args=[enrollment.customer_id]),
        },
        status=422 if request.method == "POST" else 200,
    )


@staff_required("programs.view_workorder")
def work_orders(request):
    status = request.GET.get("status", WorkOrder.Status.OPEN)
    orders = WorkOrder.objects.select_related(
        "enrollment__customer", "enrollment__program", "device"
    ).filter(status=status if status in WorkOrder.Status.values else WorkOrder.Status.OPEN)[:200]
    return render(request, "programs/work_orders.html", {"orders": orders, "status": status})


@staff_required("programs.change_workorder")
@require_http_methods(["GET", "POST"])
def work_order_complete(request, pk: int):
    order = get_object_or_404(WorkOrder.objects.select_related("device"), pk=pk)
    form = WorkOrderCompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        replacement = (
            services.ReplacementInput(
                serial_number=data["replacement_serial"],
                network_address=data["replacement_network_address"],
            )
            if data["replacement_serial"]
            else None
        )
        try:
            services.work_order_complete(
                work_order=order, resolution=data["resolution"], replacement=replacement
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{order.get_kind_display()} #{order.pk} completed.")
            return redirect("programs:work_orders")
    return render(
        request,
        "programs/simple_form.html",
        {
            "form": form,
            "title": f"Complete {order}",
            "submit": "Complete",
            "back": reverse("programs:work_orders"),
        },
        status=422 if request.method == "POST" else 200,
    )


@staff_required("programs.view_syncrequest")
def sync_requests(request):
    state = request.GET.get("state") or None
    if state not in SyncRequest.State.values:
        state = None
    rows = selectors.sync_requests(state=state)[:200]
    return render(
        request,
        "programs/sync_requests.html",
        {"rows": rows, "state": state, "states": SyncRequest.State.choices},
    )


@staff_required("programs.change_syncrequest")
@require_POST
def sync_request_retry(request, pk: int):
    sync_request = get_object_or_404(SyncRequest, pk=pk)
    try:
        services.sync_request_retry(sync_request=sync_request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Sync request #{pk} will be sent now.")
    return redirect("programs:sync_requests")


# --- configuration ---------------------------------------------------------------------------
def _config(kind: str):
    if kind not in CONFIG:
        raise Http404
    return CONFIG[kind]


@staff_required("programs.view_programtype")
def config_index(request):
    return render(request, "programs/config_index.html", {"kinds": CONFIG.items()})


@staff_required("programs.view_program")
def config_list(request, kind: str):
    model, fields, title = _config(kind)
    if not request.user.has_perm(f"programs.view_{model._meta.model_name}"):
        raise Http404
    rows = model.objects.all()[:500]
    return render(
        request,
        "programs/config_list.html",
        {
            "kind": kind,
            "title": title,
            "rows": rows,
            "fields": fields[:4],
            "headers": [model._meta.get_field(f).verbose_name for f in fields[:4]],
        },
    )


@staff_required("programs.view_program")
@require_http_methods(["GET", "POST"])
def config_edit(request, kind: str, pk: int | None = None):
    model, _, title = _config(kind)
    perm = f"programs.{'change' if pk else 'add'}_{model._meta.model_name}"
    if not request.user.has_perm(perm):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("You do not have permission for this.")
    instance = get_object_or_404(model, pk=pk) if pk else model()
    form = CONFIG_FORMS[kind](request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"{title}: saved.")
        return redirect("programs:config_list", kind=kind)
    return render(
        request,
        "programs/simple_form.html",
        {
            "form": form,
            "title": f"{title}: {instance if pk else 'new'}",
            "submit": "Save",
            "back": reverse("programs:config_list", args=[kind]),
        },
        status=422 if request.method == "POST" else 200,
    )
