"""Authorization screens: the shopper's start and status pages (token link), the agent's
Quick Enrollment page, the staff list and detail, and a prospect's pricing page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from authorizations import forms, services
from authorizations.models import UsageAuthorization
from authorizations.parsers import UploadRefused
from authorizations.selectors import ASSUMPTIONS, authorization_list, usage_picture
from enrollments.models import Enrollment
from enrollments.products_extras import remember_authorization
from opsadmin.errors import ApplicationError, IntegrationError
from opsadmin.models import CustomerType
from opsadmin.permissions import staff_required
from prospects.models import Prospect

Status = UsageAuthorization.Status


def _panel_context(request, auth: UsageAuthorization, *, staff: bool) -> dict:
    if auth.status == Status.REQUESTED and services.check_claim(authorization=auth):
        # the page's polling doubles as the fast path to approval: one SMT check per claim
        from authorizations.tasks import agreement_check

        agreement_check.delay(auth.pk)
    picture = usage_picture(auth)
    base = (
        reverse("authorizations:staff_detail", args=[auth.pk])
        if staff
        else reverse("authorizations:status", args=[auth.token])
    )
    months = forms.last_twelve_months(services.today_chicago())
    return {
        "auth": auth,
        "picture": picture,
        "assumptions": ASSUMPTIONS,
        "staff": staff,
        "base_url": base,
        "poll": auth.status == Status.REQUESTED
        or (auth.status == Status.APPROVED and not picture.months),
        "renewal_due": services.renewal_due(auth),
        "upload_form": forms.UploadForm(),
        "manual_form": forms.ManualForm(months=months),
    }


def _act_url(auth: UsageAuthorization, staff: bool) -> str:
    if staff:
        return reverse("authorizations:staff_detail", args=[auth.pk])
    return reverse("authorizations:status", args=[auth.token])


def _render_panel(request, auth, *, staff: bool, status: int = 200, **extra):
    context = _panel_context(request, auth, staff=staff) | extra
    if request.htmx:
        return render(request, "authorizations/_panel.html", context, status=status)
    template = "authorizations/staff_detail.html" if staff else "authorizations/status.html"
    return render(request, template, context, status=status)


# --- shopper (public) ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def start(request):
    """The explanation and the four fields; reached from the Signup Wizard."""
    ctype_code = (
        request.GET.get("customer_type") or request.POST.get("customer_type") or "residential"
    )
    customer_type = CustomerType.objects.filter(code=ctype_code, active=True).first()
    if customer_type is None:
        customer_type = CustomerType.objects.filter(active=True).order_by("pk").first()
    form = forms.AuthorizeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and customer_type is not None:
        data = form.cleaned_data
        try:
            auth = services.authorization_create(
                origin=UsageAuthorization.Origin.SHOPPER,
                channel=Enrollment.Channel.WIZARD,
                esiid=data["esiid"],
                meter_number=data["meter_number"],
                email=data["email"],
                language=data["language"],
                customer_type=customer_type,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            remember_authorization(request.session, str(auth.token))
            url = reverse("authorizations:status", args=[auth.token])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "authorizations/start.html",
        {"form": form, "customer_type": customer_type},
        status=status,
    )


def _by_token(token: UUID) -> UsageAuthorization:
    auth = (
        UsageAuthorization.objects.select_related("utility", "customer_type")
        .filter(token=token)
        .first()
    )
    if auth is None:
        raise Http404
    return auth


@require_http_methods(["GET"])
def status_page(request, token: UUID):
    auth = _by_token(token)
    # whoever holds the link may see plans priced on this usage in the Signup Wizard
    remember_authorization(request.session, str(auth.token))
    return _render_panel(request, auth, staff=False)


@require_POST
def status_action(request, token: UUID, action: str):
    return _act(request, _by_token(token), action, staff=False)


# --- shared actions ------------------------------------------------------------------------


def _act(request, auth: UsageAuthorization, action: str, *, staff: bool):
    actor = request.user if request.user.is_authenticated else None
    extra: dict = {}
    try:
        if action == "upload":
            upload_form = forms.UploadForm(request.POST, request.FILES)
            if not upload_form.is_valid():
                extra["upload_form"] = upload_form
                return _render_panel(request, auth, staff=staff, status=422, **extra)
            upload = upload_form.cleaned_data["file"]
            result = services.usage_upload(
                authorization=auth,
                kind=upload_form.cleaned_data["kind"],
                data=upload.read(),
                usage_point=upload_form.cleaned_data.get("usage_point"),
                actor=actor,
            )
            messages.success(request, result.message)
        elif action == "manual":
            months = forms.last_twelve_months(services.today_chicago())
            manual_form = forms.ManualForm(request.POST, months=months)
            if not manual_form.is_valid():
                extra["manual_form"] = manual_form
                return _render_panel(request, auth, staff=staff, status=422, **extra)
            services.usage_manual(authorization=auth, figures=manual_form.figures(), actor=actor)
            messages.success(request, gettext("Your 12 months of usage are stored."))
        elif action in ("renew", "request"):
            services.authorization_renew(authorization=auth, actor=actor)
            messages.success(
                request, gettext("Request sent: approve it from Smart Meter Texas's email.")
            )
        elif action == "revoke":
            from usage.services import smt_session

            with smt_session() as client:
                services.authorization_revoke(authorization=auth, client=client, actor=actor)
            messages.success(request, gettext("Sharing ended; we no longer refresh your usage."))
        else:
            raise Http404
    except UploadRefused as exc:
        form = forms.UploadForm(request.POST, request.FILES)
        form.is_valid()
        form.add_error("file", exc.message)
        extra["upload_form"] = form
        extra["upload_errors"] = exc.errors
        return _render_panel(request, auth, staff=staff, status=422, **extra)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    except IntegrationError:
        messages.error(
            request, gettext("Smart Meter Texas did not answer; please try again in a few minutes.")
        )
    auth.refresh_from_db()
    url = _act_url(auth, staff)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- staff ------------------------------------------------------------------------------------


@staff_required("authorizations.view_usageauthorization")
def staff_list(request):
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    q = request.GET.get("q", "")[:40]
    page = Paginator(authorization_list(status=status, q=q), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "authorizations/staff_list.html",
        {"page": page, "status": status, "q": q, "statuses": Status.choices},
    )


@staff_required("authorizations.add_usageauthorization")
@require_http_methods(["GET", "POST"])
def staff_new(request):
    """Quick Enrollment: the agent reads the explanation and requests the agreement."""
    form = forms.StaffAuthorizeForm(
        request.POST or None,
        initial={"customer_type": CustomerType.objects.filter(code="residential").first()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            auth = services.authorization_create(
                origin=UsageAuthorization.Origin.AGENT,
                channel=Enrollment.Channel.QUICK,
                esiid=data["esiid"],
                meter_number=data["meter_number"],
                email=data["email"],
                language=data["language"],
                customer_type=data["customer_type"],
                actor=request.user,
            )
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            remember_authorization(request.session, str(auth.token))
            return redirect("authorizations:staff_detail", pk=auth.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "authorizations/staff_new.html", {"form": form}, status=status)


def _staff_auth(pk: int) -> UsageAuthorization:
    return get_object_or_404(
        UsageAuthorization.objects.select_related("utility", "customer_type", "prospect"), pk=pk
    )


@staff_required("authorizations.view_usageauthorization")
def staff_detail(request, pk: int):
    auth = _staff_auth(pk)
    remember_authorization(request.session, str(auth.token))  # Quick Enrollment prices on it
    return _render_panel(request, auth, staff=True, events=list(auth.events.all()))


@staff_required("authorizations.change_usageauthorization")
@require_POST
def staff_action(request, pk: int, action: str):
    return _act(request, _staff_auth(pk), action, staff=True)


# --- prospects ---------------------------------------------------------------------------------


@staff_required(("authorizations.view_usageauthorization", "prospects.view_prospect"))
@require_http_methods(["GET", "POST"])
def prospect_page(request, prospect_id: int):
    """Per service address of the prospect: its authorization, its usage, plan prices."""
    prospect = get_object_or_404(
        Prospect.objects.select_related("customer_type").prefetch_related(
            "addresses__utility", "contacts"
        ),
        pk=prospect_id,
    )
    contact = prospect.primary_contact
    initial = {"email": contact.email if contact else ""}
    posted_address = None
    form = None
    if request.method == "POST":
        if not request.user.has_perm("authorizations.add_usageauthorization"):
            raise Http404
        address = prospect.addresses.filter(pk=request.POST.get("address")).first()
        if address is None:
            raise Http404
        posted_address = address.pk
        form = forms.ProspectAuthorizeForm(request.POST, auto_id=f"a{address.pk}_%s")
        if form.is_valid():
            ctype = prospect.customer_type or CustomerType.objects.filter(code="commercial").first()
            if ctype is None:  # the FK is required: without a type the insert would fail (500)
                messages.error(
                    request,
                    f"{address.one_line}: set the prospect's customer type first.",
                )
            else:
                try:
                    services.authorization_create(
                        origin=UsageAuthorization.Origin.PROSPECT,
                        # staff sell to prospects: every plan, web-only or not (Sales channel)
                        channel=Enrollment.Channel.IMPORTER,
                        esiid=address.esiid,
                        meter_number=address.meter_number,
                        email=form.cleaned_data["email"],
                        language=form.cleaned_data["language"],
                        customer_type=ctype,
                        utility=address.utility,
                        prospect=prospect,
                        prospect_address=address,
                        actor=request.user,
                    )
                except ApplicationError as exc:
                    messages.error(request, f"{address.one_line}: {exc.message}")
                else:
                    messages.success(request, f"SMT agreement requested for {address.one_line}.")
                    return redirect("authorizations:prospect", prospect_id=prospect.pk)
    rows = []
    latest = {
        a.prospect_address_id: a
        for a in reversed(
            list(
                UsageAuthorization.objects.filter(prospect=prospect)
                .select_related("utility", "customer_type")
                .order_by("-created_at", "-pk")
            )
        )
    }
    for address in prospect.addresses.all():
        auth = latest.get(address.pk)
        rows.append(
            {
                "address": address,
                "auth": auth,
                "picture": usage_picture(auth) if auth else None,
                "renewal_due": services.renewal_due(auth) if auth else False,
                "form": form
                if posted_address == address.pk
                else forms.ProspectAuthorizeForm(initial=initial, auto_id=f"a{address.pk}_%s"),
            }
        )
    return render(
        request,
        "authorizations/prospect.html",
        {"prospect": prospect, "rows": rows, "assumptions": ASSUMPTIONS},
        status=422 if request.method == "POST" else 200,
    )
