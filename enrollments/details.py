"""Enrollment Details (staff): everything about one enrollment, its timeline and its billing
requests. For ESG REST utilities the legacy single Token is split into its own fields, each
editable and validated, including Billing Package Id."""

from __future__ import annotations

import logging
from typing import cast

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from billing.selectors import billing_request_waiting_among, billing_requests_for
from enrollments import selectors
from enrollments.dates import market_today
from enrollments.models import Enrollment, EnrollmentEvent
from opsadmin.permissions import staff_required

logger = logging.getLogger(__name__)

CHANGE_PERM = "enrollments.change_enrollment"

esg_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$",
    "Use letters, digits and dashes only (at most 40), starting with a letter or digit.",
)
ESG_REST_FIELDS = (
    "esg_prospect_id",
    "esg_customer_id",
    "billing_account_number",
    "esg_billing_package_id",
)


class EsgRestFieldsForm(forms.ModelForm):
    """The ESG identifiers of an enrollment on an ESG REST utility, one field each."""

    class Meta:
        model = Enrollment
        fields = ESG_REST_FIELDS
        labels = {
            "esg_prospect_id": "Prospect Id",
            "esg_customer_id": "Customer Id",
            "billing_account_number": "Billing Account Number",
            "esg_billing_package_id": "Billing Package Id",
        }
        help_texts = {
            "billing_account_number": "Shown to the customer in My Account's payment section.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.validators.append(esg_id_validator)
            cast(forms.CharField, field).strip = True


class EsgTokenForm(forms.ModelForm):
    """Legacy token utilities keep the single Token field."""

    class Meta:
        model = Enrollment
        fields = ("esg_token",)
        labels = {"esg_token": "Token"}

    def clean_esg_token(self) -> str:
        token = self.cleaned_data["esg_token"].strip()
        if token and not token.isprintable():
            raise forms.ValidationError("The token has characters that cannot be printed.")
        return token


def _form_class(enrollment: Enrollment) -> type[forms.ModelForm]:
    if enrollment.service_account.utility.has_billing_account_numbers:
        return EsgRestFieldsForm
    return EsgTokenForm


@transaction.atomic
def enrollment_esg_fields_update(
    *, enrollment: Enrollment, form: forms.ModelForm, actor
) -> list[str]:
    """Save the edited ESG fields and record who changed which (never the values: they are
    account identifiers). Returns the names of the fields that changed."""
    changed = [name for name in form.changed_data if name in form.fields]
    if not changed:
        return []
    form.save()
    labels = ", ".join(str(form.fields[name].label) for name in changed)
    EnrollmentEvent.objects.create(
        enrollment=enrollment,
        from_status=enrollment.status,
        to_status=enrollment.status,
        actor=actor,
        source="staff",
        note=f"Billing system fields edited: {labels}.",
    )
    logger.info(
        "enrollment.esg_fields_edited",
        extra={"enrollment_id": enrollment.pk, "fields": changed, "actor": actor.pk},
    )
    return changed


@staff_required("enrollments.view_enrollment")
@require_http_methods(["GET", "POST"])
def enrollment_detail(request, pk: int):
    enrollment = get_object_or_404(
        Enrollment.objects.select_related(
            "customer__customer_type", "service_account__utility", "plan", "created_by"
        ),
        pk=pk,
    )
    form_class = _form_class(enrollment)
    can_edit = request.user.has_perm(CHANGE_PERM)
    status = 200
    saved: list[str] | None = None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("You do not have permission for this.")
        form = form_class(request.POST, instance=enrollment, prefix="esg")
        if form.is_valid():
            saved = enrollment_esg_fields_update(
                enrollment=enrollment, form=form, actor=request.user
            )
            if not request.htmx:
                from django.contrib import messages

                messages.success(
                    request, "Billing system fields saved." if saved else "Nothing changed."
                )
                return redirect("enrollments:detail", pk=enrollment.pk)
            form = form_class(instance=enrollment, prefix="esg")
        else:
            status = 200 if request.htmx else 422
    else:
        form = form_class(instance=enrollment, prefix="esg")
    billing_requests = list(
        billing_requests_for(subject_type="enrollment", subject_id=enrollment.pk)
    )
    context = {
        "enrollment": enrollment,
        "form": form,
        "can_edit": can_edit,
        "is_rest": form_class is EsgRestFieldsForm,
        "saved": saved,
        "events": enrollment.events.select_related("actor"),
        "billing_requests": billing_requests,
        "billing_waiting": billing_request_waiting_among(billing_requests),
    }
    template = "enrollments/details.html#esg" if request.htmx else "enrollments/details.html"
    return render(request, template, context, status=status)


# htmx stops polling on this status (the billing system acknowledged everything).
STOP_POLLING = 286


@staff_required("enrollments.view_enrollment")
@require_GET
def enrollment_billing_waiting(request, pk: int):
    """The Quick Enrollment done screen asks, a few seconds after the submission and then
    now and again, whether it waits on the billing system: the "waiting" line, nothing, or
    (everything acknowledged) nothing and stop asking."""
    enrollment = get_object_or_404(Enrollment.objects.only("pk"), pk=pk)
    rows = list(billing_requests_for(subject_type="enrollment", subject_id=enrollment.pk))
    waiting = billing_request_waiting_among(rows)
    if waiting is not None:
        return render(request, "enrollments/_billing_waiting.html", {"waiting": waiting})
    done = all(r.state == r.State.SENT for r in rows)
    return HttpResponse("", status=STOP_POLLING if done else 200)


@staff_required("enrollments.view_enrollment")
@require_GET
def enrollments_stuck_view(request):
    """Staff: enrollments stuck in a life-cycle state longer than expected."""
    today = market_today()
    context = {
        "rows": selectors.enrollments_stuck(today=today),
        "today": today,
        "limits": {
            "submitted": selectors.STUCK_SUBMITTED_BUSINESS_DAYS,
            "pending": selectors.STUCK_PENDING_BUSINESS_DAYS,
            "accepted": selectors.STUCK_ACCEPTED_BUSINESS_DAYS,
        },
    }
    return render(request, "enrollments/stuck.html", context)
