"""Plan prices on own usage (exact figures), manual entry, staff and prospect pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from authorizations.models import MonthlyUsage, UsageAuthorization
from authorizations.selectors import plan_costs_for_usage
from authorizations.services import authorization_create
from authorizations.tests.factories import ESIID, ESIID_B, reference
from opsadmin.models import User
from prospects.models import Prospect, ProspectContact, ProspectServiceAddress

pytestmark = pytest.mark.django_db

MONTHS = [Decimal(800)] * 6 + [Decimal(1200)] * 6


def test_plans_priced_month_by_month_with_credit_thresholds():
    ref = reference()
    costs = plan_costs_for_usage(
        monthly_kwh=MONTHS, utility=ref["cnp"], customer_type=ref["res"], channel="wizard"
    )
    assert [(c.plan.code, c.annual_cost, c.average_cents, c.credit_months) for c in costs] == [
        # 11¢ energy, TDU $4.39 + 5¢, $50 credit only in the six 1,200 kWh months
        ("CREDIT12", Decimal("1672.68"), Decimal("13.9"), 6),
        ("SAVER12", Decimal("1852.08"), Decimal("15.4"), 0),
        ("SIMPLE12", Decimal("2092.68"), Decimal("17.4"), 0),
    ]
    credit = costs[0]
    assert credit.advertised_1000_cents == Decimal("11.4")  # the EFL figure hides the threshold
    assert credit.monthly_costs[:1] + credit.monthly_costs[-1:] == (
        Decimal("132.39"),
        Decimal("146.39"),
    )
    assert credit.annual_kwh == Decimal("12000")


def test_non_web_plans_priced_for_staff_channels_and_short_histories_scaled():
    ref = reference()
    codes = [
        c.plan.code
        for c in plan_costs_for_usage(
            monthly_kwh=MONTHS, utility=ref["cnp"], customer_type=ref["com"], channel="importer"
        )
    ]
    assert codes == ["CREDIT12", "SAVER12", "BROKER24", "SIMPLE12"]
    six = plan_costs_for_usage(
        monthly_kwh=[Decimal(1000)] * 6,
        utility=ref["cnp"],
        customer_type=ref["res"],
        channel="wizard",
    )
    simple = next(c for c in six if c.plan.code == "SIMPLE12")
    assert (simple.annual_cost, simple.annual_kwh, simple.months_priced) == (
        Decimal("2092.68"),
        Decimal("12000"),
        6,
    )
    assert (
        plan_costs_for_usage(
            monthly_kwh=[], utility=ref["cnp"], customer_type=ref["res"], channel="wizard"
        )
        == []
    )


def _auth(ref, **kw) -> UsageAuthorization:
    return authorization_create(
        origin="shopper",
        channel="wizard",
        esiid=kw.pop("esiid", ESIID),
        meter_number="M1",
        email="a@example.com",
        language="en",
        customer_type=ref["res"],
        request_agreement=False,
        **kw,
    )


def test_manual_entry_stores_twelve_months_and_prices_them(client):
    ref = reference()
    auth = _auth(ref)
    page = client.get(f"/usage-authorization/s/{auth.token}/").content.decode()
    assert "Enter 12 months by hand" in page
    data = {f"m{i}": str(MONTHS[i]) for i in range(12)}
    response = client.post(f"/usage-authorization/s/{auth.token}/manual/", data)
    assert response.status_code == 302
    rows = list(MonthlyUsage.objects.filter(authorization=auth))
    assert [r.kwh for r in rows] == MONTHS and {r.source for r in rows} == {"manual"}
    html = client.get(f"/usage-authorization/s/{auth.token}/").content.decode()
    assert "Entered by hand" in html
    assert "$1672.68" in html and "13.9¢/kWh" in html
    # typed figures are monthly totals: the table says so
    assert 'data-testid="priced-from">Months priced from monthly totals: ' in html
    # a missing month re-renders with its error and changes nothing
    bad = dict(data, m3="")
    response = client.post(
        f"/usage-authorization/s/{auth.token}/manual/", bad, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert MonthlyUsage.objects.filter(authorization=auth).count() == 12


def test_start_page_validates_and_unknown_token_is_404(client):
    reference()
    html = client.get("/usage-authorization/start/").content.decode()
    assert "What is shared" in html and "With whom" in html and "For how long" in html
    response = client.post(
        "/usage-authorization/start/",
        {"esiid": "12345", "meter_number": "", "email": "x", "language": "en"},
    )
    assert response.status_code == 422
    assert UsageAuthorization.objects.count() == 0
    assert (
        client.get("/usage-authorization/s/00000000-0000-0000-0000-000000000000/").status_code
        == 404
    )


def _staff(group: str) -> Client:
    user = User.objects.create_user(username=f"u-{group}", password="x-Password-123", kind="staff")
    user.groups.add(Group.objects.get(name=group))
    c = Client()
    c.force_login(user)
    return c


def test_staff_pages_need_permission(client):
    ref = reference()
    auth = _auth(ref)
    assert client.get("/usage-authorization/").status_code == 302  # to login
    customer = User.objects.create_user(username="cust", password="x-Password-123", kind="customer")
    c = Client()
    c.force_login(customer)
    assert c.get("/usage-authorization/").status_code == 403
    agent = _staff("Agent")
    html = agent.get("/usage-authorization/").content.decode()
    assert f">{auth.pk}</a>" in html and "Not requested (own data only)" in html
    assert agent.get(f"/usage-authorization/staff/{auth.pk}/").status_code == 200
    assert (
        agent.get("/usage-authorization/?status=requested")
        .content.decode()
        .count("/usage-authorization/staff/")
        == 1
    )  # only the "new" link


def test_agent_requests_for_a_caller(django_capture_on_commit_callbacks):
    ref = reference()
    agent = _staff("Agent")
    response = agent.post(
        "/usage-authorization/staff/new/",
        {
            "esiid": ESIID_B,
            "meter_number": "M9",
            "email": "caller@example.com",
            "language": "es",
            "customer_type": ref["res"].pk,
            "consent": "on",
        },
    )
    auth = UsageAuthorization.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/usage-authorization/staff/{auth.pk}/"
    assert (auth.origin, auth.channel, auth.utility, auth.language, auth.status) == (
        "agent",
        "quick",
        ref["oncor"],
        "es",
        "requested",
    )
    assert auth.created_by.username == "u-Agent"


def test_prospect_page_requests_per_address_and_prices_commercial_plans():
    ref = reference()
    prospect = Prospect.objects.create(company_name="Acme Tacos", customer_type=ref["com"])
    ProspectContact.objects.create(
        prospect=prospect, first_name="Jo", last_name="Ng", email="jo@acme.example", is_primary=True
    )
    address = ProspectServiceAddress.objects.create(
        prospect=prospect,
        utility=ref["cnp"],
        esiid=ESIID,
        meter_number="MTR-1",
        address_line1="1 Main",
        city="Houston",
        zip_code="77002",
    )
    ops = _staff("Ops")
    url = f"/usage-authorization/prospects/{prospect.pk}/"
    html = ops.get(url).content.decode()
    assert 'value="jo@acme.example"' in html and "Request SMT agreement" in html
    response = ops.post(
        url, {"address": address.pk, "email": "jo@acme.example", "language": "en", "consent": "on"}
    )
    assert response.status_code == 302
    auth = UsageAuthorization.objects.get(prospect=prospect)
    assert (auth.origin, auth.channel, auth.customer_type, auth.prospect_address) == (
        "prospect",
        "importer",
        ref["com"],
        address,
    )
    MonthlyUsage.objects.bulk_create(
        MonthlyUsage(authorization=auth, month=date(2025, i + 1, 1), kwh=k, days=30, source="smt")
        for i, k in enumerate(MONTHS)
    )
    html = ops.get(url).content.decode()
    assert "Sharing: <strong>Requested</strong>" in html
    assert "Broker 24" in html and "$1852.68" in html  # non-web plans for a commercial prospect
    assert "source: Smart Meter Texas (data-sharing agreement)" in html
    assert ops.get("/usage-authorization/prospects/999999/").status_code == 404


def test_prospect_page_without_any_customer_type_reports_instead_of_failing():
    """No type on the prospect and no "commercial" type: a message, not an IntegrityError."""
    from opsadmin.models import CustomerType

    ref = reference()
    CustomerType.objects.filter(code="commercial").update(code="business")
    prospect = Prospect.objects.create(company_name="No Type LLC")
    address = ProspectServiceAddress.objects.create(
        prospect=prospect,
        utility=ref["cnp"],
        esiid=ESIID,
        meter_number="MTR-1",
        address_line1="1 Main",
        city="Houston",
        zip_code="77002",
    )
    ops = _staff("Ops")
    url = f"/usage-authorization/prospects/{prospect.pk}/"
    response = ops.post(
        url, {"address": address.pk, "email": "jo@acme.example", "language": "en", "consent": "on"}
    )
    assert response.status_code == 422  # as for any refused request on this page
    assert [str(m) for m in response.context["messages"]] == [
        f"{address.one_line}: set the prospect's customer type first."
    ]
    assert not UsageAuthorization.objects.filter(prospect=prospect).exists()
