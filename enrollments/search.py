"""Find an enrollment (staff): one search box and a few filters over every enrollment, and
the customer page with all of a customer's accounts. Reads only.

The box matches, whatever the agent types: the customer's name (prefix of first, last or
company name; "Maria Lopez" or "Lopez, Maria"), the ESIID (exact or prefix), the billing
account number (exact), the phone in any format (its last 10 digits, or the last 7-9), and
the email (prefix). None of these is encrypted (SSN, date of birth and driver's licence are,
and are never searched), so every match runs on an indexed column (migration
``0007_find_enrollment_indexes``): no row is decrypted or scanned in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db.models import F, Lookup, Q, QuerySet
from django.shortcuts import get_object_or_404

from enrollments.models import Customer, Enrollment
from opsadmin.clock import CHICAGO as MARKET_TZ

PAGE_SIZE = 25
_PHONE_CHARS = re.compile(r"^[\d\s().+\-]+$")


class EnrollmentFindForm(forms.Form):
    """The search box and filters (GET). Everything is optional: empty lists the newest."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Name, ESIID, billing account number, phone or email.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autofocus": True}),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *Enrollment.Status.choices],
        # a short fixed list: the native select (no type-ahead widget) is quicker here
        widget=forms.Select(attrs={"data-plain": ""}),
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *Enrollment.Channel.choices]
    )
    submitted_from = forms.DateField(
        label="Submitted from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_to = forms.DateField(
        label="Submitted to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("submitted_from"), cleaned.get("submitted_to")
        if start and end and start > end:
            self.add_error("submitted_to", "The end date is before the start date.")
        return cleaned


def search_condition(query: str) -> Q | None:
    """What the search box's text matches, as one condition on Enrollment (None: no text).

    The condition is ``id IN (a UNION of id lookups)``, each lookup on one table and one
    index (an ESIID, a billing account number, the customers with that phone, email or
    name): an ``OR`` across the customer join cannot use any index, and at a few hundred
    thousand enrollments became a scan of both tables on every search."""
    q = " ".join(query.split())
    if not q:
        return None
    enrollments = Enrollment.objects.values("pk")
    # billing account numbers and LDC account numbers (other markets) as typed
    lookups = [enrollments.filter(billing_account_number=q), enrollments.filter(esiid=q)]
    people: list[Q] = []
    digits = re.sub(r"\D", "", q)
    if digits and _PHONE_CHARS.match(q):
        if digits.startswith("10") and len(digits) >= 8:
            # ESIIDs are 17 or 22 digits starting with 10 (ERCOT); a prefix finds a premise
            # from the part an agent can read out.
            lookups.append(
                enrollments.filter(esiid=digits)
                if len(digits) in (17, 22)
                else enrollments.filter(esiid__startswith=digits)
            )
        if len(digits) >= 10:
            people.append(Q(phone_digits=digits[-10:]))
        elif len(digits) >= 7:
            people.append(Q(phone_digits__endswith=digits))
        lookups.append(enrollments.filter(billing_account_number=digits))
    elif "@" in q:
        people.append(Q(email__istartswith=q))
    else:
        name = q.replace(",", " ")
        parts = name.split()
        if "," in q and len(parts) >= 2:  # "Lopez, Maria"
            parts = [parts[-1], *parts[:-1]]
        people += [
            Q(last_name__istartswith=name),
            Q(first_name__istartswith=name),
            Q(company_name__istartswith=name),
        ]
        if len(parts) >= 2:
            first, last = parts[0], " ".join(parts[1:])
            people.append(Q(first_name__istartswith=first, last_name__istartswith=last))
    for cond in people:  # one branch per customer index
        lookups.append(
            enrollments.filter(customer_id__in=Customer.objects.filter(cond).values("pk"))
        )
    # ``id = ANY(ARRAY(...))``: the ids are gathered once, then read through the primary key
    # (``id IN (subquery)`` was planned as a hash join over a scan of every enrollment).
    return Q(InArray(F("pk"), ArraySubquery(lookups[0].union(*lookups[1:]))))


class InArray(Lookup):
    """``lhs = ANY(rhs)``, ``rhs`` an array expression (Django's lookups put a subquery in
    parentheses, which ``ANY`` does not take)."""

    lookup_name = "in_array"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _day_start(day: date) -> datetime:
    """Midnight of a market day (America/Chicago), as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=MARKET_TZ)


def enrollment_search(
    *,
    query: str = "",
    status: str = "",
    channel: str = "",
    submitted_from: date | None = None,
    submitted_to: date | None = None,
) -> QuerySet[Enrollment]:
    """Enrollments matching the box and the filters, newest submission first (lazy).

    Dates are market days (America/Chicago), both ends included.
    """
    qs = Enrollment.objects.select_related("customer", "service_account", "plan")
    cond = search_condition(query)
    if cond is not None:
        qs = qs.filter(cond)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if submitted_from:
        qs = qs.filter(submitted_at__gte=_day_start(submitted_from))
    if submitted_to:
        qs = qs.filter(submitted_at__lt=_day_start(submitted_to + timedelta(days=1)))
    # newest submission first (every enrollment row is written as submitted, with its time)
    return qs.order_by("-submitted_at", "-pk")


def enrollment_search_page(*, form: EnrollmentFindForm, page_number: str | int | None) -> Page:
    """One page of the search (``PAGE_SIZE`` rows): three queries, the count, the page's ids
    and its rows."""
    data = form.cleaned_data if form.is_valid() else {}
    qs = enrollment_search(
        query=data.get("q", ""),
        status=data.get("status", ""),
        channel=data.get("channel", ""),
        submitted_from=data.get("submitted_from"),
        submitted_to=data.get("submitted_to"),
    )
    # Page the ids alone, then read the page's 25 rows with their customer, premise and plan:
    # a deep page no longer joins every row it skips.
    id_page = Paginator(qs.values_list("pk", flat=True), PAGE_SIZE).get_page(page_number)
    ids = list(id_page.object_list)
    rows = Enrollment.objects.select_related("customer", "service_account", "plan")
    by_pk = rows.in_bulk(ids)
    return Page([by_pk[pk] for pk in ids if pk in by_pk], id_page.number, id_page.paginator)


@dataclass(frozen=True)
class CustomerAccount:
    """One premise of a customer with its enrollments, newest first."""

    service_account: object
    enrollments: list[Enrollment]


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    accounts: list[CustomerAccount]
    enrollments: list[Enrollment]
    billing_account_numbers: list[str]


def customer_overview(*, pk: int) -> CustomerOverview:
    """A customer, every premise and every enrollment they have (404 if none): three queries."""
    customer = get_object_or_404(Customer.objects.select_related("customer_type", "user"), pk=pk)
    enrollments = list(
        customer.enrollments.select_related("plan", "service_account__utility").order_by("-pk")
    )
    by_account: dict[int, list[Enrollment]] = {}
    for e in enrollments:
        by_account.setdefault(e.service_account_id, []).append(e)
    premises = list(customer.service_accounts.select_related("utility").order_by("-pk"))
    accounts = [CustomerAccount(sa, by_account.get(sa.pk, [])) for sa in premises]
    numbers = sorted({e.billing_account_number for e in enrollments if e.billing_account_number})
    return CustomerOverview(customer, accounts, enrollments, numbers)
