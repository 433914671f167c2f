"""Staff login, the staff home, and the configuration screens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from opsadmin.forms import (
    CustomerTypeForm,
    StaffLoginForm,
    SystemSetupForm,
    ThirdPartyProviderForm,
    UsageTierForm,
    UtilityForm,
)
from opsadmin.models import (
    CustomerType,
    ServiceArea,
    SystemSetup,
    ThirdPartyProvider,
    UsageTierSet,
    Utility,
)
from opsadmin.permissions import staff_required


class StaffLoginView(auth_views.LoginView):
    template_name = "opsadmin/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = False


@staff_required()
def home(request):
    return render(request, "opsadmin/home.html")


@staff_required("opsadmin.change_systemsetup")
@require_http_methods(["GET", "POST"])
def system_setup(request):
    setup = SystemSetup.load()
    form = SystemSetupForm(request.POST or None, instance=setup, prefix="setup")
    tier_forms = [
        UsageTierForm(request.POST or None, instance=tiers, prefix=f"tiers-{tiers.pk}")
        for tiers in UsageTierSet.objects.order_by("state")
    ]
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in tier_forms):
        with transaction.atomic():
            form.save()
            for f in tier_forms:
                f.save()
        messages.success(request, "System Setup saved.")
        return redirect("opsadmin:system_setup")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "opsadmin/system_setup.html",
        {"form": form, "tier_forms": tier_forms},
        status=status,
    )


@staff_required("opsadmin.change_thirdpartyprovider")
@require_http_methods(["GET", "POST"])
def third_party_providers(request):
    provider = ThirdPartyProvider.load()
    form = ThirdPartyProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Third Party Providers saved.")
        return redirect("opsadmin:third_party_providers")
    status = 422 if request.method == "POST" else 200
    return render(request, "opsadmin/third_party_providers.html", {"form": form}, status=status)


@staff_required("opsadmin.view_utility")
def utility_list(request):
    utilities = Utility.objects.order_by("name").prefetch_related("service_areas")
    return render(request, "opsadmin/utility_list.html", {"utilities": utilities})


@staff_required("opsadmin.change_utility")
@require_http_methods(["GET", "POST"])
def utility_edit(request, pk: int | None = None):
    utility = get_object_or_404(Utility, pk=pk) if pk else Utility()
    form = UtilityForm(request.POST or None, instance=utility)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            utility = form.save()
            zips = form.cleaned_data["zip_codes"]
            utility.service_areas.exclude(zip_code__in=zips).delete()
            existing = set(utility.service_areas.values_list("zip_code", flat=True))
            ServiceArea.objects.bulk_create(
                [ServiceArea(utility=utility, zip_code=z) for z in zips if z not in existing]
            )
        messages.success(request, f"Utility {utility.name} saved.")
        return redirect("opsadmin:utility_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "opsadmin/utility_form.html", {"form": form, "utility": utility}, status=status
    )


@staff_required("opsadmin.view_customertype")
def customer_type_list(request):
    return render(
        request, "opsadmin/customer_type_list.html", {"types": CustomerType.objects.all()}
    )


@staff_required("opsadmin.change_customertype")
@require_http_methods(["GET", "POST"])
def customer_type_edit(request, pk: int | None = None):
    ctype = get_object_or_404(CustomerType, pk=pk) if pk else CustomerType()
    form = CustomerTypeForm(request.POST or None, instance=ctype)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Customer type saved.")
        return redirect("opsadmin:customer_type_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "opsadmin/customer_type_form.html", {"form": form, "ctype": ctype}, status=status
    )


@staff_required("opsadmin.change_systemsetup")
def configuration(request):
    return render(request, "opsadmin/configuration.html")


def permission_denied(request, exception=None):
    """The 403 page (``handler403``): in the layout of who is asking, saying what to do.

    Staff see the reason the view gave (written for staff) and their role; customers a
    translated page that leads back to My Account; anyone else a sign-in link.
    """
    user = getattr(request, "user", None)
    context: dict = {"layout": None, "staff": False}
    if user is not None and user.is_authenticated and getattr(user, "is_staff_user", False):
        context.update(
            layout="staff_base.html",
            staff=True,
            reason=str(exception or ""),
            roles=", ".join(user.groups.order_by("name").values_list("name", flat=True)),
        )
    elif user is not None and user.is_authenticated and getattr(user, "is_customer", False):
        context["layout"] = "myaccount_base.html"
        # Outside /myaccount/ the page would be English: use the customer's own language.
        customer = getattr(user, "customer", None)
        language = getattr(customer, "language", None) or translation.get_language_from_request(
            request
        )
        with translation.override(language):
            return render(request, "403.html", context, status=403)
    return render(request, "403.html", context, status=403)
