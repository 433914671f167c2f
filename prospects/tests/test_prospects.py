"""Prospects: meter numbers per address with the utility's label, values, conversion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from enrollments.models import Enrollment, Plan
from notices import registry
from opsadmin.errors import ApplicationError
from opsadmin.models import CustomerType, ServiceArea, User, Utility
from prospects.models import Prospect, ProspectContact, ProspectServiceAddress
from prospects.services import prospect_convert

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    oncor = Utility.objects.create(
        code="oncor",
        name="Oncor",
        esiid_prefixes=["10443720"],
        meter_number_label="Oncor Meter #",
        price_to_compare_cents=Decimal("10.5"),
    )
    ServiceArea.objects.create(utility=oncor, zip_code="75201")
    commercial = CustomerType.objects.create(code="commercial", name="Commercial")
    plan = Plan.objects.create(
        code="BIZ12", name="Business 12", term_months=12, energy_charge_cents=Decimal("9.1")
    )
    plan.utilities.add(oncor)
    plan.customer_types.add(commercial)
    prospect = Prospect.objects.create(company_name="Acme <Ice> & Co", customer_type=commercial)
    ProspectContact.objects.create(
        prospect=prospect,
        first_name="Dana",
        last_name="Ruiz",
        email="dana@acme.example",
        is_primary=True,
    )
    a1 = ProspectServiceAddress.objects.create(
        prospect=prospect,
        utility=oncor,
        esiid="10443720000000001",
        meter_number="MTR-1",
        address_line1="1 Elm St",
        city="Dallas",
        zip_code="75201",
    )
    a2 = ProspectServiceAddress.objects.create(
        prospect=prospect,
        utility=oncor,
        esiid="10443720000000002",
        meter_number="MTR-2",
        address_line1="2 Elm St",
        city="Dallas",
        zip_code="75201",
    )
    return {"utility": oncor, "plan": plan, "prospect": prospect, "addresses": (a1, a2)}


def ops_client() -> Client:
    user = User.objects.create_user(username="ops", password="x-Password-123", kind="staff")
    user.groups.add(Group.objects.get(name="Ops"))
    client = Client()
    client.force_login(user)
    return client


def render(text: str, prospect, html: bool = False) -> str:
    return registry.render(text, record_kind="prospect", record=prospect, html=html)


def test_no_service_reference_id_and_meter_number_belongs_to_the_address():
    fields = {f.name for f in Prospect._meta.get_fields()}
    assert "meter_number" not in fields
    assert not any("reference" in name for name in fields)
    assert "meter_number" in {f.name for f in ProspectServiceAddress._meta.get_fields()}


def test_prospect_replacement_values(world):
    p = world["prospect"]
    assert render("[PROSPECT_SERVICE_ACCOUNTS]", p) == (
        "1 Elm St, Dallas, TX 75201 — Oncor — 10443720000000001 — Oncor Meter #: MTR-1\n"
        "2 Elm St, Dallas, TX 75201 — Oncor — 10443720000000002 — Oncor Meter #: MTR-2"
    )
    assert render("[PROSPECT_SERVICE_ACCOUNTS]", p, html=True) == (
        "1 Elm St, Dallas, TX 75201 — Oncor — 10443720000000001 — Oncor Meter #: MTR-1<br>\n"
        "2 Elm St, Dallas, TX 75201 — Oncor — 10443720000000002 — Oncor Meter #: MTR-2"
    )
    assert render("[PROSPECT_METER_NUMBER]|[PROSPECT_LDC]", p) == "MTR-1|10443720000000001"
    assert render("[UTILITY_PRICE_TO_COMPARE]", p) == "10.50¢/kWh"
    assert render("[PROSPECT_CONTACT_NAME]", p) == "Dana Ruiz"
    assert render("[PROSPECT_COMPANY]", p, html=True) == "Acme &lt;Ice&gt; &amp; Co"
    # An enrollment-only value has nothing for a prospect.
    assert render("[[BILLING_ACCOUNT_NUMBER]]", p) == "[]"


def test_single_meter_values_are_empty_without_addresses(world):
    p = Prospect.objects.create(company_name="Empty")
    assert render("[PROSPECT_METER_NUMBER][PROSPECT_LDC][PROSPECT_SERVICE_ACCOUNTS]", p) == ""


def test_convert_makes_one_enrollment_per_address_for_one_customer(world):
    enrollments = prospect_convert(prospect=world["prospect"], plan_code="BIZ12")
    assert len(enrollments) == 2
    assert len({e.customer_id for e in enrollments}) == 1
    rows = Enrollment.objects.order_by("pk").values_list(
        "service_account__esiid",
        "service_account__meter_number",
        "channel",
        "status",
        "customer__company_name",
        "customer__email",
    )
    assert list(rows) == [
        (
            "10443720000000001",
            "MTR-1",
            "quick",
            "submitted",
            "Acme <Ice> & Co",
            "dana@acme.example",
        ),
        (
            "10443720000000002",
            "MTR-2",
            "quick",
            "submitted",
            "Acme <Ice> & Co",
            "dana@acme.example",
        ),
    ]
    world["prospect"].refresh_from_db()
    assert world["prospect"].status == Prospect.Status.CONVERTED
    a1, a2 = world["addresses"]
    a1.refresh_from_db()
    assert a1.enrollment_id == enrollments[0].pk
    with pytest.raises(ApplicationError, match="cannot be converted"):
        prospect_convert(prospect=world["prospect"], plan_code="BIZ12")


def test_convert_is_all_or_nothing(world):
    a1, a2 = world["addresses"]
    a2.esiid = "10443720000000001"  # the same premise twice: the second is refused
    a2.save()
    with pytest.raises(ApplicationError) as info:
        prospect_convert(prospect=world["prospect"], plan_code="BIZ12")
    assert info.value.message.startswith("2 Elm St, Dallas, TX 75201: ")
    assert Enrollment.objects.count() == 0
    world["prospect"].refresh_from_db()
    assert world["prospect"].status == Prospect.Status.NEW


def test_address_form_labels_meter_by_utility_and_convert_view(world):
    client = ops_client()
    p = world["prospect"]
    page = client.get(f"/prospects/{p.pk}/addresses/new/", {"utility": world["utility"].pk})
    assert page.status_code == 200
    assert b">Oncor Meter #</label>" in page.content or b"Oncor Meter #" in page.content
    detail = client.get(f"/prospects/{p.pk}/")
    assert b"Oncor Meter #:</span> MTR-2" in detail.content

    bad = client.post(
        f"/prospects/{p.pk}/addresses/new/",
        {
            "utility": world["utility"].pk,
            "esiid": "123",
            "address_line1": "3 Elm",
            "city": "Dallas",
            "state": "TX",
            "zip_code": "75201",
        },
    )
    assert bad.status_code == 422
    assert ProspectServiceAddress.objects.filter(prospect=p).count() == 2

    response = client.post(
        f"/prospects/{p.pk}/convert/", {"plan_code": "BIZ12", "notice_preference": "letter"}
    )
    assert response.status_code == 302
    assert Enrollment.objects.filter(customer__notice_preference="letter").count() == 2


def test_list_filters_and_agent_is_refused(world):
    client = ops_client()
    assert b"Acme &lt;Ice&gt; &amp; Co" in client.get("/prospects/", {"q": "MTR-2"}).content
    assert (
        b"No prospects match"
        in client.get("/prospects/", {"status": "won"}, HTTP_HX_REQUEST="true").content
    )
    agent = User.objects.create_user(username="agent", password="x-Password-123", kind="staff")
    agent.groups.add(Group.objects.get(name="Agent"))
    c = Client()
    c.force_login(agent)
    assert c.get("/prospects/").status_code == 403
