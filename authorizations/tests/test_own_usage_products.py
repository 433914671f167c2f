"""Plans priced on the person's own usage in Quick Enrollment's and the Signup Wizard's
products table (the pricer this app registers with ``enrollments.products_extras``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from authorizations.models import UsageAuthorization
from authorizations.services import authorization_create, usage_manual
from authorizations.tests.factories import ESIID, reference
from enrollments.models import Customer, EnrollmentDraft, ServiceAccount
from enrollments.products_extras import SESSION_KEY
from enrollments.tests.factories import ensure_reference_data, make_staff
from opsadmin.models import ServiceArea
from usage.models import Bill

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
MONTHS = [Decimal(800)] * 6 + [Decimal(1200)] * 6
OWN_COLUMNS = "Est. annual cost (your usage)"
# CenterPoint in reference(): TDU $4.39/month + 5.0¢/kWh; 12,000 kWh a year.
#   CREDIT12  11¢ + 5¢ = 16¢ x 12,000 = 1,920.00 + 12 x 4.39 = 1,972.68 - 6 x $50 = 1,672.68
#             1,672.68 / 12,000 = 13.94¢ -> 13.9¢
#   SAVER12   14¢ x 12,000 = 1,680.00 + 12 x (9.95 + 4.39) = 1,852.08 -> 15.4¢
#   SIMPLE12  17¢ x 12,000 = 2,040.00 + 12 x 4.39 = 2,092.68 -> 17.4¢
EXPECTED = [
    ("CREDIT12", "$1672.68", "13.9¢"),
    ("SAVER12", "$1852.08", "15.4¢"),
    ("SIMPLE12", "$2092.68", "17.4¢"),
]


@pytest.fixture
def ref():
    data = reference()
    ServiceArea.objects.create(utility=data["cnp"], zip_code="77002")
    ensure_reference_data()
    return data


def _manual_auth(ref, *, esiid: str = ESIID, channel: str = "wizard") -> UsageAuthorization:
    auth = authorization_create(
        origin="shopper",
        channel=channel,
        esiid=esiid,
        meter_number="M1",
        email="a@example.com",
        language="en",
        customer_type=ref["res"],
        request_agreement=False,
    )
    usage_manual(
        authorization=auth,
        figures=[(date(2024, m, 1), MONTHS[m - 1]) for m in range(1, 13)],
    )
    return auth


def _to_products(client: Client, ns: str) -> EnrollmentDraft:
    resp = client.post(
        reverse(f"enrollments:{ns}_start"), {"zip_code": "77002", "customer_type": "residential"}
    )
    assert resp.status_code == 303
    draft = EnrollmentDraft.objects.order_by("-pk").first()
    consent = "phone" if ns == "quick" else "web"
    resp = client.post(
        reverse(f"enrollments:{ns}_step", kwargs={"token": draft.token, "step": "options"}),
        {"utility": "centerpoint", "consent_method": consent, "referral_source": ""},
    )
    assert resp.status_code == 303, resp.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.step == "products"
    return draft


def _own_rows(html: str) -> list[tuple[str, str, str]]:
    """(plan code, annual cost, average) for each products row, in table order."""
    body = html.split('<table class="table products">')[1].split("</table>")[0]
    out = []
    for tr in body.split("<tr>")[2:]:
        code = tr.split('<small class="muted">')[1].split("</small>")[0]
        annual = tr.split('class="num own-annual">')[1].split("</td>")[0]
        avg = tr.split('class="num own-average">')[1].split("</td>")[0]
        out.append((code, annual, avg))
    return out


@pytest.fixture
def agent_client(ref):
    c = Client()
    c.force_login(make_staff("agent1", "Agent"))
    return c


def test_quick_products_without_known_usage_show_no_own_columns(
    agent_client, ref, django_assert_max_num_queries
):
    _manual_auth(ref)  # exists, but nobody asked for this ESIID
    draft = _to_products(agent_client, "quick")
    # the lookup costs nothing when nothing is known; 16 + 1: the plans' price rows (tiers,
    # credits, time-of-use periods) in one query
    with django_assert_max_num_queries(17):
        html = agent_client.get(
            reverse("enrollments:quick_page", args=[draft.token])
        ).content.decode()
    assert "Saver 12" in html and OWN_COLUMNS not in html
    assert 'name="usage_esiid"' in html  # the agent can look one up


@pytest.mark.parametrize("htmx", [False, True])
def test_quick_products_priced_on_the_esiid_the_agent_types(
    agent_client, ref, htmx, django_assert_max_num_queries
):
    _manual_auth(ref)
    draft = _to_products(agent_client, "quick")
    url = reverse("enrollments:quick_page", args=[draft.token])
    # 17 without usage (above) + 5: the authorization, its months, and the plans, TDU
    # charges and price rows plan_costs_for_usage reads again
    with django_assert_max_num_queries(22):
        resp = agent_client.get(
            url, {"step": "products", "usage_esiid": ESIID}, **(HX if htmx else {})
        )
    html = resp.content.decode()
    assert resp.status_code == 200
    assert ("<html" in html) is (not htmx)
    assert OWN_COLUMNS in html and "Avg. price (your usage)" in html
    assert _own_rows(html) == EXPECTED  # cheapest on this usage first
    assert (
        "Your usage: 12 full months (Jan 2024–Dec 2024), 12,000 kWh a year; "
        "source: Entered by hand, ESIID ending 0100." in html
    )
    assert "TDU delivery charges (monthly and per kWh) as on file today" in html


def test_quick_products_ignore_smt_data_of_a_declined_agreement(agent_client, ref):
    auth = _manual_auth(ref)
    UsageAuthorization.objects.filter(pk=auth.pk).update(status="declined", data_source="smt")
    draft = _to_products(agent_client, "quick")
    html = agent_client.get(
        reverse("enrollments:quick_page", args=[draft.token]),
        {"step": "products", "usage_esiid": ESIID},
    ).content.decode()
    assert OWN_COLUMNS not in html


def test_quick_products_priced_on_an_existing_premise_bills(agent_client, ref):
    customer = Customer.objects.create(
        first_name="Ana", last_name="Diaz", email="ana@example.com", customer_type=ref["res"]
    )
    premise = ServiceAccount.objects.create(
        customer=customer,
        utility=ref["cnp"],
        esiid="10089010000000001",
        address_line1="1 Elm",
        city="Houston",
        zip_code="77002",
    )
    # 13 bills: the oldest (5,000 kWh) is left out, the newest 12 are MONTHS
    starts = [date(2023, 12, 5)] + [date(2024, m, 5) for m in range(1, 13)]
    for i, start in enumerate(starts):
        y, m = divmod(start.year * 12 + start.month, 12)
        Bill.objects.create(
            service_account=premise,
            period_start=start,
            period_end=date(y, m + 1, 4),
            kwh=Decimal(5000) if i == 0 else MONTHS[i - 1],
            amount=Decimal("100"),
        )
    draft = _to_products(agent_client, "quick")
    html = agent_client.get(
        reverse("enrollments:quick_page", args=[draft.token]),
        {"step": "products", "usage_esiid": "10089010000000001"},
    ).content.decode()
    assert _own_rows(html) == EXPECTED
    assert (
        "Your usage: the last 12 bills (Jan 5, 2024–Jan 4, 2025), 12,000 kWh a year; "
        "source: billing history, ESIID ending 0001." in html
    )


@pytest.mark.parametrize("htmx", [False, True])
def test_wizard_products_priced_on_the_shoppers_own_authorization(ref, htmx):
    auth = _manual_auth(ref)
    shopper = Client()
    draft = _to_products(shopper, "signup")
    page = reverse("enrollments:signup_page", args=[draft.token])
    html = shopper.get(page).content.decode()
    assert OWN_COLUMNS not in html and "/usage-authorization/start/?customer_type=residential" in (
        html
    )
    # An ESIID in the draft alone never finds someone's usage on the public flow.
    draft.data["esiid"] = ESIID
    draft.save()
    assert OWN_COLUMNS not in shopper.get(page, {"step": "products"}).content.decode()
    # Opening the status page (their link) makes it this shopper's.
    assert shopper.get(f"/usage-authorization/s/{auth.token}/").status_code == 200
    assert shopper.session[SESSION_KEY] == [str(auth.token)]
    resp = shopper.get(page, {"step": "products"}, **(HX if htmx else {}))
    html = resp.content.decode()
    assert ("<html" in html) is (not htmx)
    assert _own_rows(html) == EXPECTED
    assert "source: Entered by hand, ESIID ending 0100." in html
    assert "See what each plan would cost on your own usage" not in html
    # A second shopper's browser sees none of it.
    other = Client()
    draft2 = _to_products(other, "signup")
    html2 = other.get(reverse("enrollments:signup_page", args=[draft2.token])).content.decode()
    assert OWN_COLUMNS not in html2


def test_wizard_products_for_another_utility_ignore_the_authorization(ref):
    auth = _manual_auth(ref)
    ServiceArea.objects.create(utility=ref["oncor"], zip_code="75201")
    shopper = Client()
    shopper.get(f"/usage-authorization/s/{auth.token}/")
    shopper.post(
        reverse("enrollments:signup_start"), {"zip_code": "75201", "customer_type": "residential"}
    )
    draft = EnrollmentDraft.objects.order_by("-pk").first()
    shopper.post(
        reverse("enrollments:signup_step", kwargs={"token": draft.token, "step": "options"}),
        {"utility": "oncor", "consent_method": "web"},
    )
    html = shopper.get(reverse("enrollments:signup_page", args=[draft.token])).content.decode()
    assert "Saver 12" in html and OWN_COLUMNS not in html
