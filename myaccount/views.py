"""My Account: the customer portal. Every read is scoped to request.user.customer."""

from __future__ import annotations

import csv
import hashlib
import html
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import dateformat, translation
from django.utils.html import conditional_escape
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollments.models import ServiceAccount
from myaccount import charts, greenbutton, sources
from myaccount import renewal as renewals
from myaccount.forms import (
    PERIOD_VALUES,
    PERIODS,
    BillAlertForm,
    CustomerPasswordResetForm,
    ProfileForm,
    UsageForm,
)
from myaccount.middleware import customer_language
from myaccount.selectors import (
    SESSION_KEY,
    bill_for_customer,
    current_enrollment,
    customer_for,
    selected_service_account,
    service_account_for_customer,
    service_accounts_for,
)
from myaccount.services import customer_language_set, customer_profile_update
from opsadmin import clock
from opsadmin.forms import CustomerLoginForm
from opsadmin.permissions import customer_required
from usage import services as usage_services

TABLE_MAX_ROWS = 744  # a month of hours; longer spans point at the CSV for the full table
# A chart of SMT data is cached under a stamp of its rows and source rule (see _chart_cached):
# new or revised intervals change the stamp, so the time limit only bounds Redis memory.
CHART_CACHE_SECONDS = 60 * 60

logger = logging.getLogger(__name__)


# --- language switch (public and My Account) ---------------------------------------------


@require_POST
def language_set(request):
    """The visible language switch: a cookie for everyone, the stored preference for a customer.

    Works without JavaScript (a plain form POST); ``next`` must be a path on this site.
    """
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unsupported language.")
    nxt = request.POST.get("next") or "/myaccount/"
    if not url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        nxt = "/myaccount/"
    if customer_language(request.user) is not None:
        customer_language_set(customer=request.user.customer, language=language)
    translation.activate(language)
    response = redirect(nxt)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    return response


# --- sign-in, password reset, set password ------------------------------------------------


class CustomerLoginView(auth_views.LoginView):
    template_name = "myaccount/login.html"
    authentication_form = CustomerLoginForm  # lockout: django-axes (settings.AXES_*)
    next_page = "/myaccount/"


class CustomerPasswordResetView(auth_views.PasswordResetView):
    form_class = CustomerPasswordResetForm
    template_name = "myaccount/password_reset.html"
    email_template_name = "myaccount/email/password_reset.txt"
    subject_template_name = "myaccount/email/password_reset_subject.txt"
    success_url = reverse_lazy("myaccount:password_reset_done")


class CustomerPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "myaccount/password_reset_done.html"


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The emailed link (reset, or an agent-enrolled customer's first password)."""

    template_name = "myaccount/set_password.html"
    success_url = reverse_lazy("myaccount:login")
    reset_url_token = "set-password"  # noqa: S105 - a URL segment, not a secret

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        if user is not None and not user.is_customer:
            return None  # staff reset their password elsewhere
        return user

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever holds the emailed link controls the login: lift a lockout on it.
        axes_reset(username=form.user.get_username())
        messages.success(self.request, _("Your password is set. Sign in with it now."))
        return response


# --- the portal shell ----------------------------------------------------------------------


def _portal(request, *, account_param: str | None = None):
    """(customer, accounts, selected account) for this request, scoped to the customer."""
    try:
        customer = customer_for(user=request.user)
    except Http404:
        if account_param:
            raise
        return None, [], None  # a login whose customer record is not linked (yet)
    accounts = service_accounts_for(customer=customer)
    selected: ServiceAccount | None
    if account_param:
        selected = service_account_for_customer(user=request.user, pk=account_param)
    else:
        selected = selected_service_account(request=request, accounts=accounts)
    return customer, accounts, selected


def _context(request, customer, accounts, selected, **extra) -> dict:
    return {
        "customer": customer,
        "portal_accounts": accounts,
        "selected_account": selected,
        "switch_next": request.get_full_path(),
        **extra,
    }


@customer_required
@require_POST
def account_switch(request):
    """Pick which service account the portal shows (kept in the session)."""
    account = service_account_for_customer(user=request.user, pk=request.POST.get("account"))
    request.session[SESSION_KEY] = account.pk
    target = request.POST.get("next") or reverse("myaccount:dashboard")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("myaccount:dashboard")
    # Drop any ?account= so the page follows the new selection.
    target = target.split("?")[0] if "account=" in target else target
    return redirect(target)


# --- dashboard -------------------------------------------------------------------------------


def _plan_summary(enrollment) -> dict | None:
    if enrollment is None:
        return None
    plan = enrollment.plan
    return {
        "plan": plan,
        "rate": plan.energy_charge_cents,
        "base_fee": plan.base_fee,
        "contract_end_date": enrollment.contract_end_date,
        "status": enrollment.get_status_display(),
        "life_cycle": _life_cycle_text(enrollment),
    }


def _life_cycle_text(enrollment) -> str:
    """One sentence on where the customer's service stands, in their words."""
    status = enrollment.status
    S = type(enrollment).Status
    if status in (S.SUBMITTED, S.PENDING):
        return _("We have your enrollment and are confirming it with the market.")
    if status == S.ACCEPTED:
        when = enrollment.requested_start_date
        return (
            _("Your service is scheduled to start on %(date)s.") % {"date": _fmt_long(when)}
            if when
            else _("Your service is scheduled to start soon.")
        )
    if status == S.ACTIVE and enrollment.service_start_date:
        return _("Active since %(date)s.") % {"date": _fmt_long(enrollment.service_start_date)}
    if status == S.REJECTED:
        return _("Your enrollment could not be completed: %(reason)s") % {
            "reason": enrollment.rejection_reason
        }
    if status in (S.DROPPED, S.MOVED_OUT) and enrollment.service_end_date:
        return _(
            "Your service with us ended on %(date)s. Your usage history and bills stay here "
            "for you."
        ) % {"date": _fmt_long(enrollment.service_end_date)}
    return enrollment.get_status_display()


def _next_bill(bills: list):
    unpaid = [b for b in bills if not b.paid]
    if unpaid:
        return min(unpaid, key=lambda b: (b.due_date or date.max, b.period_start))
    return None


@customer_required
def dashboard(request):
    customer, accounts, selected = _portal(request)
    ctx = _context(request, customer, accounts, selected)
    if selected is None:
        return render(request, "myaccount/dashboard.html", ctx)
    enrollment = current_enrollment(service_account=selected)
    bills = sources.bills_for(service_account=selected)
    today = clock.today()
    end = today
    y, m = divmod(end.year * 12 + end.month - 1 - 11, 12)
    start = date(y, m + 1, 1)  # the last 12 calendar months
    result, summary_chart = _summary_chart(selected=selected, start=start, end=end)
    notices = []
    days_left = renewals.renewal_days_left(enrollment=enrollment, today=today)
    if days_left is not None:
        notices.append(
            {
                "kind": "warn",
                "text": _(
                    "Your contract ends on %(date)s (%(days)s days). Renew to keep your rate plan."
                )
                % {"date": _fmt_long(today + timedelta(days=days_left)), "days": days_left},
                "link": reverse("myaccount:renewal"),
                "link_text": _("See renewal offers priced on your usage"),
            }
        )
    if result.data_through:
        notices.append(
            {
                "kind": "info",
                "text": _("Usage data through %(date)s.")
                % {"date": _fmt_long(result.data_through)},
            }
        )
    ctx.update(
        # the bill to date loads by itself (bill_cycle): the page never waits on the
        # billing system's cycle dates or the pricing of this cycle's intervals
        bill_cycle_pending=result.source == "smt",
        enrollment=enrollment,
        summary=_plan_summary(enrollment),
        billing_account_number=sources.billing_account_number(enrollment=enrollment),
        next_bill=_next_bill(bills),
        result=result,
        source_label=_source_label(result),
        notices=notices,
        summary_chart=summary_chart,
    )
    return render(request, "myaccount/dashboard.html", ctx)


def _summary_chart(*, selected, start: date, end: date) -> tuple:
    """(result, figure JSON or None) of the dashboard's 12-month chart, cached under the
    stamp of its SMT rows like the usage page's chart (``_usage_chart``)."""

    def build() -> tuple:
        result = sources.usage_for_chart(
            service_account=selected, period="monthly", start=start, end=end
        )
        figure = charts.to_json(charts.summary_figure(result)) if result.points else None
        return (result, figure), result.source == "smt"

    return _stamp_cached(
        selected=selected, kind="summary", period="monthly", start=start, end=end, build=build
    )


@customer_required
@require_GET
def bill_cycle(request):
    """This billing cycle so far and projected, with the alert form: the dashboard asks for
    it after the page is shown (htmx); without JavaScript it is a page of its own."""
    customer, accounts, selected = _portal(request)
    if selected is None:
        raise Http404("No service account.")
    projection = sources.bill_projection(service_account=selected, today=clock.today())
    alert = sources.bill_alert_for(service_account=selected) if projection else None
    ctx = _context(
        request,
        customer,
        accounts,
        selected,
        projection=projection,
        bill_alert=alert,
        bill_alert_form=BillAlertForm(
            initial={"threshold": alert.threshold if alert is not None else None}
        ),
    )
    if request.htmx:
        return render(request, "myaccount/_bill_cycle.html", ctx)
    return render(request, "myaccount/bill_cycle.html", ctx)


@customer_required
@require_POST
def bill_alert(request):
    """Opt in to (or out of) the projected-bill email for the selected service account."""
    customer, accounts, selected = _portal(request)
    if selected is None:
        raise Http404("No service account.")
    if request.POST.get("off"):
        usage_services.bill_alert_set(service_account=selected, threshold=None)
        messages.success(request, _("Projected-bill alert turned off."))
        return redirect("myaccount:dashboard")
    form = BillAlertForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("Alert not saved: %(error)s") % {"error": form.errors["threshold"][0]},
        )
        return redirect("myaccount:dashboard")
    threshold = form.cleaned_data["threshold"]
    usage_services.bill_alert_set(service_account=selected, threshold=threshold)
    messages.success(
        request,
        _("We will email you once a billing cycle when your bill is projected to pass $%(amount)s.")
        % {"amount": f"{threshold:.2f}"},
    )
    return redirect("myaccount:dashboard")


@customer_required
@require_GET
def renewal(request):
    """Renewal offers for the selected premise, priced on its own last 12 months, in the
    60 days before the contract ends."""
    customer, accounts, selected = _portal(request, account_param=request.GET.get("account"))
    ctx = _context(request, customer, accounts, selected, here="renewal")
    if selected is None:
        return render(request, "myaccount/renewal.html", ctx)
    enrollment = current_enrollment(service_account=selected)
    today = clock.today()
    is_open = renewals.renewal_window_open(enrollment=enrollment, today=today)
    ctx.update(
        enrollment=enrollment,
        window_open=is_open,
        window_days=renewals.RENEWAL_WINDOW_DAYS,
        offers=renewals.renewal_offers(
            customer=customer, service_account=selected, enrollment=enrollment, today=today
        )
        if is_open and enrollment is not None
        else None,
    )
    return render(request, "myaccount/renewal.html", ctx)


def _source_label(result) -> str:
    return "Smart Meter Texas" if result.source == "smt" else _("your bills (billing system)")


# --- usage -------------------------------------------------------------------------------------


def _fmt_date(value: date) -> str:
    """ "Jan 5, 2026" / "5 ene 2026": the active language's short date."""
    return dateformat.format(value, _("M j, Y"))


def _fmt_long(value: date) -> str:
    """ "January 5, 2026" / "5 de enero de 2026"."""
    return dateformat.format(value, _("F j, Y"))


def _chart_title(period: str, start: date, end: date) -> str:
    return _("%(period)s usage, %(start)s – %(end)s") % {
        "period": dict(PERIODS)[period],
        "start": _fmt_date(start),
        "end": _fmt_date(end),
    }


def _fmt_energy(value, unit: str) -> str:
    if value is None:
        return ""
    if unit == "MWh":
        return f"{Decimal(value) / 1000:,.6f}"
    return f"{Decimal(value):,.3f}"


# Formats of the table's "Period start" column; ISO dates and times read the same in every
# language (strftime: dateformat.format per row was a quarter of a year's request).
_TABLE_STRFTIME = {"hourly": "%Y-%m-%d %H:%M", "daily": "%Y-%m-%d"}


def _table_rows(points: list, period: str, limit: int, unit: str) -> list[dict]:
    # Point starts are America/Chicago already (usage.selectors); month names follow the
    # language.
    strf = _TABLE_STRFTIME.get(period)
    fmt = _("F Y")
    return [
        {
            "start": (
                p.start.astimezone(charts.CHICAGO).strftime(strf)
                if strf
                else dateformat.format(charts.local_naive(p.start), fmt)
            ),
            "consumption": _fmt_energy(p.consumption_kwh, unit),
            "generation": _fmt_energy(p.generation_kwh, unit),
            "estimated": p.estimated,
        }
        for p in points[:limit]
    ]


def _table_body(rows: list[dict], *, generation: bool) -> str:
    """The data table's rows as HTML, built here rather than by a template loop (up to 744
    rows of 3-4 cells: the template engine's per-node cost was most of a year's request).
    Every cell is escaped (the words once, not per row)."""
    estimated = str(conditional_escape(_("Estimated")))
    esc = html.escape  # the stdlib's: a tenth of Django's per call, same output for str
    if generation:
        cells = (
            f'<tr><td>{esc(r["start"])}</td><td class="num">{esc(r["consumption"])}</td>'
            f'<td class="num">{esc(r["generation"])}</td>'
            f"<td>{estimated if r['estimated'] else ''}</td></tr>"
            for r in rows
        )
    else:
        cells = (
            f'<tr><td>{esc(r["start"])}</td><td class="num">{esc(r["consumption"])}</td>'
            f"<td>{estimated if r['estimated'] else ''}</td></tr>"
            for r in rows
        )
    return mark_safe("".join(cells))  # noqa: S308 - every value above is escaped


def _query(**params) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "", False)})


@dataclass(frozen=True)
class ChartResult:
    """What the usage page shows of a ``UsageResult`` besides its points (kept in the cache
    beside the chart built from them)."""

    source: str
    reason: str
    data_through: date | None
    has_generation: bool
    period: str


def _chart_cache_key(*, selected, kind, period, start, end, stamp, extra=()) -> str:
    raw = "|".join(
        (
            connection.settings_dict["NAME"],  # databases sharing one Redis never collide
            kind,
            str(selected.pk),
            period,
            start.isoformat(),
            end.isoformat(),
            *extra,
            translation.get_language() or "",
            stamp,
        )
    )
    return "myaccount:chart:v2:" + hashlib.blake2b(raw.encode(), digest_size=20).hexdigest()


def _stamp_cached(*, selected, kind, period, start, end, build, stamp_start=None, extra=()):
    """``build()`` -> (value, cacheable), answered from the chart cache while the stamp of
    the premise's SMT rows for the range (``usage_chart_stamp``, one indexed query) is the
    same: new or revised intervals give a new stamp. No stamp (not SMT data): no cache.
    Redis being down only costs the cache."""
    stamp = sources.usage_chart_stamp(service_account=selected, start=stamp_start or start, end=end)
    key = None
    if stamp is not None:
        key = _chart_cache_key(
            selected=selected,
            kind=kind,
            period=period,
            start=start,
            end=end,
            stamp=stamp,
            extra=extra,
        )
        try:
            hit = cache.get(key)
        except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
            logger.warning("myaccount.chart_cache.unavailable", exc_info=True)
            hit = None
        if hit is not None:
            return hit
    value, cacheable = build()
    if key is not None and cacheable:
        try:
            cache.set(key, value, CHART_CACHE_SECONDS)
        except Exception:  # noqa: BLE001 - as above
            logger.warning("myaccount.chart_cache.unavailable", exc_info=True)
    return value


def _usage_chart(*, selected, period, start, end, opts, compare) -> tuple:
    """(result, chart context) for the usage page; the chart context is None when the source
    is the billing system. An SMT chart (figure JSON, table, totals) is cached by
    ``_stamp_cached``, so a repeated request (Refresh, the Back button, a second tab) skips
    the aggregate and the figure."""

    def build() -> tuple:
        result = sources.usage_for_chart(
            service_account=selected,
            period=period,
            start=start,
            end=end,
            compare_previous=compare,
        )
        if result.source != "smt":
            return (result, None), False
        return _usage_chart_built(result, period=period, start=start, end=end, opts=opts), True

    stamp_start = (
        sources.previous_range(period=period, start=start, end=end)[0] if compare else start
    )
    return _stamp_cached(
        selected=selected,
        kind="usage",
        period=period,
        start=start,
        end=end,
        stamp_start=stamp_start,
        extra=(opts.unit, opts.style, str(int(opts.textured)), str(int(compare))),
        build=build,
    )


def _usage_chart_built(result, *, period, start, end, opts) -> tuple:
    figure = charts.usage_figure(
        result, period=period, opts=opts, title=_chart_title(period, start, end)
    )
    payload = charts.to_json(figure)
    points = result.points
    table_rows = _table_rows(points, result.period, TABLE_MAX_ROWS, opts.unit)
    consumption = generation = Decimal(0)
    estimated_count = 0
    for p in points:
        consumption += p.consumption_kwh or 0
        generation += p.generation_kwh or 0
        estimated_count += p.estimated
    chart = {
        "chart_json": payload,
        "payload_bytes": len(payload.encode()),
        "table_shown": len(table_rows),
        "table_body": _table_body(table_rows, generation=result.has_generation),
        "table_truncated": len(points) > TABLE_MAX_ROWS,
        "point_count": len(points),
        "estimated_count": estimated_count,
        "total_consumption": _fmt_energy(consumption, opts.unit),
        "total_generation": _fmt_energy(generation, opts.unit),
    }
    summary = ChartResult(
        source=result.source,
        reason=result.reason,
        data_through=result.data_through,
        has_generation=result.has_generation,
        period=result.period,
    )
    return summary, chart


@customer_required
@require_GET
def usage(request):
    customer, accounts, selected = _portal(request, account_param=request.GET.get("account"))
    if selected is None:
        raise Http404("No service account.")
    if request.GET.get("account"):
        request.session[SESSION_KEY] = selected.pk
    available = sources.usage_available_range(service_account=selected)
    form = UsageForm(request.GET if "period" in request.GET else None, available=available)
    invalid = form.is_bound and not form.is_valid()
    values = form.values()
    if not invalid:  # show the effective values (defaults filled in, start clamped to the data)
        form = UsageForm(_usage_form_data(values), available=available)
        form.is_valid()
    period, start, end = values["period"], values["start"], values["end"]
    opts = charts.ChartOptions(
        unit=values.get("unit") or "kWh",
        style=values.get("style") or "columns",
        textured=bool(values.get("textured")),
    )
    result, chart = _usage_chart(
        selected=selected,
        period=period,
        start=start,
        end=end,
        opts=opts,
        compare=bool(values.get("compare")),
    )
    ctx = _context(
        request,
        customer,
        accounts,
        selected,
        form=form,
        invalid=invalid,
        result=result,
        period=period,
        period_label=dict(PERIODS)[period],
        period_values=PERIOD_VALUES[period],
        start=start,
        end=end,
        opts=opts,
        source_label=_source_label(result),
        smt_controls=result.source == "smt" or available is not None,
        csv_url=reverse("myaccount:usage_csv")
        + "?"
        + _query(period=period, start=start.isoformat(), end=end.isoformat(), account=selected.pk),
        xml_url=reverse("myaccount:usage_xml")
        + "?"
        + _query(start=start.isoformat(), end=end.isoformat(), account=selected.pk),
    )
    if chart is None:  # billing source
        bills = sources.bills_for(service_account=selected)
        ctx.update(
            billing_charts=[
                {**c, "json": charts.to_json(c["figure"])}
                for c in charts.billing_figures(bills, textured=opts.textured)
            ],
            bill_rows=list(reversed(charts.bill_rows(bills))),
        )
    else:
        ctx.update(chart)
    if request.htmx:
        return render(request, "myaccount/usage.html#chart", ctx)
    return render(request, "myaccount/usage.html", ctx)


def _usage_form_data(values: dict) -> dict:
    data = {
        "period": values["period"],
        "start": values["start"].isoformat(),
        "end": values["end"].isoformat(),
        "unit": values.get("unit") or "kWh",
        "style": values.get("style") or "columns",
    }
    if values.get("compare"):
        data["compare"] = "on"
    if values.get("textured"):
        data["textured"] = "on"
    return data


def _download_params(request) -> tuple:
    """Parse the stable download URL's query; raise ValueError on anything malformed."""
    period = request.GET.get("period", "daily")
    if period not in dict(PERIODS):
        raise ValueError("period must be hourly, daily or monthly")
    start = date.fromisoformat(request.GET["start"])
    end = date.fromisoformat(request.GET["end"])
    if start > end:
        raise ValueError("start must be on or before end")
    from myaccount.forms import MAX_SPAN_DAYS

    if (end - start).days + 1 > MAX_SPAN_DAYS[period]:
        raise ValueError(f"{period} allows at most {MAX_SPAN_DAYS[period]} days")
    return period, start, end


def _period_slug(period: str) -> str:
    """The period as a file name part in the reader's language (hourly -> por-hora)."""
    return {
        "hourly": pgettext("file name", "hourly"),
        "daily": pgettext("file name", "daily"),
        "monthly": pgettext("file name", "monthly"),
    }.get(period, period)


class _Echo:
    def write(self, value):
        return value


@customer_required
@require_GET
def usage_csv(request):
    """CSV of what the chart shows. A stable URL that scripts may call."""
    _customer, _accounts, selected = _portal(request, account_param=request.GET.get("account"))
    if selected is None:
        raise Http404("No service account.")
    try:
        period, start, end = _download_params(request)
    except (KeyError, ValueError) as exc:
        return HttpResponseBadRequest(
            f"Bad request: {exc}. Use ?period=hourly|daily|monthly&start=YYYY-MM-DD&end=YYYY-MM-DD",
            content_type="text/plain",
        )
    result = sources.usage_for_chart(service_account=selected, period=period, start=start, end=end)
    writer = csv.writer(_Echo())

    def rows():
        # Column names in the customer's language (a person opens this in a spreadsheet);
        # English for everyone else, so a script's columns stay put.
        yield writer.writerow(
            [
                pgettext("usage CSV column", "period_start"),
                pgettext("usage CSV column", "consumption_kwh"),
                pgettext("usage CSV column", "generation_kwh"),
                pgettext("usage CSV column", "source"),
                pgettext("usage CSV column", "estimated"),
            ]
        )
        for p in result.points:
            yield writer.writerow(
                [
                    p.start.astimezone(charts.CHICAGO).isoformat(),
                    "" if p.consumption_kwh is None else p.consumption_kwh,
                    "" if p.generation_kwh is None else p.generation_kwh,
                    result.source,
                    "true" if p.estimated else "false",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    name = pgettext("file name", "usage")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{selected.esiid}-{_period_slug(period)}-{start}-{end}.csv"'
    )
    return response


@customer_required
@require_GET
def usage_xml(request):
    """Green Button (ESPI) XML: 15-minute readings where SMT has them, else bill periods."""
    _customer, _accounts, selected = _portal(request, account_param=request.GET.get("account"))
    if selected is None:
        raise Http404("No service account.")
    try:
        start = date.fromisoformat(request.GET["start"])
        end = date.fromisoformat(request.GET["end"])
        if start > end or (end - start).days > 366:
            raise ValueError("start..end must be at most 366 days")
    except (KeyError, ValueError) as exc:
        return HttpResponseBadRequest(f"Bad request: {exc}", content_type="text/plain")
    channels = sources.green_button_readings(service_account=selected, start=start, end=end)
    body = greenbutton.espi_feed(
        base=request.build_absolute_uri("/espi/1_1/resource"),
        # the feed's title is read by a person; the ESPI element names stay standard
        title=_("Electricity usage, %(address)s") % {"address": selected.address_line1},
        channels=channels,
    )
    response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="green-button-{selected.esiid}-{start}-{end}.xml"'
    )
    return response


# --- payments ----------------------------------------------------------------------------------


@customer_required
def payments(request):
    customer, accounts, selected = _portal(request)
    if selected is None:
        raise Http404("No service account.")
    enrollment = current_enrollment(service_account=selected)
    ban = sources.billing_account_number(enrollment=enrollment)
    bills = sources.bills_for(service_account=selected)
    ctx = _context(
        request,
        customer,
        accounts,
        selected,
        enrollment=enrollment,
        billing_account_number=ban,
        balance=sources.account_balance(billing_account_number=ban),
        bills=bills,
    )
    return render(request, "myaccount/payments.html", ctx)


@customer_required
def bill_detail(request, pk: int):
    customer, accounts, selected = _portal(request)
    if customer is None:
        raise Http404("No such bill.")
    bill = bill_for_customer(customer=customer, pk=pk)
    ctx = _context(
        request,
        customer,
        accounts,
        selected,
        bill=bill,
        days=charts.bill_days(bill),
        avg_daily=(Decimal(bill.kwh) / charts.bill_days(bill)).quantize(Decimal("0.01")),
    )
    return render(request, "myaccount/bill.html", ctx)


# --- profile -----------------------------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "POST"])
def profile(request):
    customer, accounts, selected = _portal(request)
    if customer is None:
        raise Http404("No customer record for this login.")
    form = ProfileForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        customer_profile_update(customer=customer, data=form.cleaned_data)
        messages.success(request, _("Your profile is saved."))
        return redirect("myaccount:profile")
    ctx = _context(request, customer, accounts, selected, form=form)
    return render(request, "myaccount/profile.html", ctx)
