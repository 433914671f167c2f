"""Renewal offers in My Account, priced on the customer's own last 12 months."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from authorizations.tests.factories import reference
from myaccount.tests.factories import monthly_bills, portal_customer

pytestmark = pytest.mark.django_db

MONTHS = [800] * 6 + [1200] * 6


def _first_of_month_back(today: date, n: int) -> date:
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return date(y, m + 1, 1)


@pytest.fixture
def catalogue():
    ref = reference()  # CenterPoint: TDU $4.39 a month + 5.0¢/kWh; SAVER12, CREDIT12, ...
    saver = ref["plans"]["SAVER12"]
    saver.renewal_plan = ref["plans"]["BROKER24"]  # not a web plan: offered as the renewal
    saver.save()
    return ref


def _near_end(first_name="Ana", **kw):
    return portal_customer(
        first_name=first_name, contract_end_date=date.today() + timedelta(days=30), **kw
    )


def _rows(html: str) -> list[tuple[str, str, str]]:
    body = html.split('id="renewal-offers"')[1].split("</table>")[0].split("<tbody>")[1]
    out = []
    for tr in body.split("<tr>")[1:]:
        code = tr.split('<small class="muted">')[1].split("</small>")[0]
        cells = [c.split("</td>")[0] for c in tr.split('<td class="num">')[1:3]]
        out.append((code, *cells))
    return out


def test_renewal_offers_priced_on_the_last_12_bills(client, catalogue):
    portal = _near_end()
    today = date.today()
    first = _first_of_month_back(today, 13)
    # 13 bills: the oldest (5,000 kWh) is older than the last 12 and left out
    monthly_bills(
        portal.account, first=first, count=13, kwh=lambda i: 5000 if i == 0 else MONTHS[i - 1]
    )
    client.force_login(portal.user)
    dash = client.get("/myaccount/").content.decode()
    assert '<a href="/myaccount/renewal/">See renewal offers priced on your usage</a>' in dash
    html = client.get("/myaccount/renewal/").content.decode()
    # CenterPoint, 12,000 kWh a year (hand computed):
    #   CREDIT12  16¢ x 12,000 + 12 x 4.39 - 6 x $50 credit (1,200 kWh months) = 1,672.68
    #   SAVER12   14¢ x 12,000 + 12 x (9.95 + 4.39)                          = 1,852.08
    #   BROKER24  13¢ x 12,000 + 12 x (20 + 4.39)                            = 1,852.68
    #   SIMPLE12  17¢ x 12,000 + 12 x 4.39                                   = 2,092.68
    assert _rows(html) == [
        ("CREDIT12", "$1672.68", "13.9¢/kWh"),
        ("SAVER12", "$1852.08", "15.4¢/kWh"),
        ("BROKER24", "$1852.68", "15.4¢/kWh"),
        ("SIMPLE12", "$2092.68", "17.4¢/kWh"),
    ]
    assert html.count("Your renewal plan") == 1
    assert "BROKER24</small> <span" in html  # the badge sits on the renewal plan
    start = _first_of_month_back(today, 12)
    end = today.replace(day=1) - timedelta(days=1)
    assert (
        f"Priced on your last 12 bills ({start:%b} {start.day}, {start.year}–"
        f"{end:%b} {end.day}, {end.year}): 12,000 kWh a year." in html
    )
    assert "Excludes taxes, deposits, one-time fees and early termination fees." in html


def test_no_offers_far_from_the_contract_end(client, catalogue):
    portal = portal_customer(contract_end_date=date.today() + timedelta(days=90))
    monthly_bills(
        portal.account,
        first=_first_of_month_back(date.today(), 12),
        count=12,
        kwh=lambda i: MONTHS[i],
    )
    client.force_login(portal.user)
    assert "/myaccount/renewal/" not in client.get("/myaccount/").content.decode()
    html = client.get("/myaccount/renewal/").content.decode()
    assert "Renewal offers appear here in the 60 days before your contract ends" in html
    assert 'id="renewal-offers"' not in html


def test_another_customers_usage_is_never_used(client, catalogue):
    mine = _near_end("Ana")
    theirs = _near_end("Bo")
    monthly_bills(
        theirs.account,
        first=_first_of_month_back(date.today(), 12),
        count=12,
        kwh=lambda i: 2000,
    )
    client.force_login(mine.user)
    html = client.get("/myaccount/renewal/").content.decode()
    assert "We do not have your usage yet" in html and 'id="renewal-offers"' not in html
    assert client.get(f"/myaccount/renewal/?account={theirs.account.pk}").status_code == 404
    # with their own bills, the figures are theirs alone
    monthly_bills(
        mine.account,
        first=_first_of_month_back(date.today(), 12),
        count=12,
        kwh=lambda i: MONTHS[i],
    )
    html = client.get(f"/myaccount/renewal/?account={mine.account.pk}").content.decode()
    assert _rows(html)[0] == ("CREDIT12", "$1672.68", "13.9¢/kWh")
    assert "12,000 kWh a year" in html and "24,000" not in html


def test_renewal_needs_a_customer_login(client, catalogue):
    assert client.get("/myaccount/renewal/").status_code == 302


def test_renewal_plan_costs_include_plans_once(catalogue):
    from authorizations.selectors import plan_costs_for_usage

    costs = plan_costs_for_usage(
        monthly_kwh=[Decimal(1000)] * 12,
        utility=catalogue["cnp"],
        customer_type=catalogue["res"],
        channel="wizard",
        include=[catalogue["plans"]["SAVER12"], catalogue["plans"]["BROKER24"]],
    )
    assert sorted(c.plan.code for c in costs) == ["BROKER24", "CREDIT12", "SAVER12", "SIMPLE12"]
