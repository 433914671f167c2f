"""Test data for enrollments: a small Texas catalogue and staff users."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group

from enrollments.models import Plan, PromoCode, TduCharge
from opsadmin.models import CustomerType, ServiceArea, User, Utility

CNP_ESIID = "1008901000000000000001"  # CenterPoint, 22 digits
ONCOR_ESIID = "10443720000000001"  # Oncor, 17 digits
TNMP_ESIID = "10400510000000001"


def ensure_reference_data() -> None:
    """Rows the migrations seed, again: a transactional test's flush deletes them."""
    from enrollments.models import ConsentMethod, ReferralSource
    from opsadmin.models import SystemSetup, UsageTierSet

    for code, name, doc in (
        ("web", "Web", False),
        ("phone", "Phone", False),
        ("signed_contract", "Signed Contract", True),
    ):
        ConsentMethod.objects.get_or_create(
            code=code, defaults={"name": name, "requires_document": doc}
        )
    for order, name in enumerate(["Internet search", "Friend or family", "Mailer", "Other"]):
        ReferralSource.objects.get_or_create(name=name, defaults={"sort_order": order})
    UsageTierSet.objects.get_or_create(state="TX", defaults={"tiers_kwh": [500, 1000, 2000]})
    SystemSetup.load()


def make_catalogue() -> dict:
    """CenterPoint (77002, 77494), TNMP (77494), Oncor (75201); plans; TDU charges; promo."""
    ensure_reference_data()
    cnp = Utility.objects.create(code="centerpoint", name="CenterPoint", esiid_prefixes=["1008901"])
    tnmp = Utility.objects.create(
        code="tnmp", name="TNMP", esiid_prefixes=["1040051"], meter_number_label="Meter ID"
    )
    oncor = Utility.objects.create(code="oncor", name="Oncor", esiid_prefixes=["1044372"])
    for utility, zips in ((cnp, ["77002", "77494"]), (tnmp, ["77494"]), (oncor, ["75201"])):
        for z in zips:
            ServiceArea.objects.create(utility=utility, zip_code=z)
    residential = CustomerType.objects.create(code="residential", name="Residential")
    commercial = CustomerType.objects.create(code="commercial", name="Commercial")
    TduCharge.objects.create(
        utility=cnp, monthly_charge=Decimal("4.39"), per_kwh_cents=Decimal("5.5")
    )
    TduCharge.objects.create(
        utility=oncor, monthly_charge=Decimal("3.42"), per_kwh_cents=Decimal("4.8")
    )
    plans = {}
    for code, name, web, term, energy, base in (
        ("SAVER12", "Saver 12", True, 12, "12.9", "9.95"),
        ("FIXED24", "Fixed Rate 24", True, 24, "13.4", "4.95"),
        ("COMM36", "Commercial Fixed 36", False, 36, "10.8", "25.00"),
    ):
        plan = Plan.objects.create(
            code=code,
            name=name,
            is_web_plan=web,
            term_months=term,
            energy_charge_cents=Decimal(energy),
            base_fee=Decimal(base),
            etf_type="flat",
            etf_amount=Decimal("150.00"),
        )
        plan.utilities.set([cnp, tnmp, oncor])
        plan.customer_types.set([residential, commercial])
        plans[code] = plan
    promo = PromoCode.objects.create(
        code="WELCOME50",
        valid_from=date(2020, 1, 1),
        channels=["quick", "wizard"],
        benefit="bill_credit",
        amount=Decimal("50"),
    )
    PromoCode.objects.create(
        code="OLDPROMO",
        valid_from=date(2020, 1, 1),
        valid_until=date(2020, 12, 31),
        channels=["quick", "wizard"],
        benefit="cents_off",
        amount=Decimal("1"),
    )
    return {
        "cnp": cnp,
        "tnmp": tnmp,
        "oncor": oncor,
        "residential": residential,
        "commercial": commercial,
        "plans": plans,
        "promo": promo,
    }


def make_staff(username: str, group: str, password: str = "pw-Agent-12345") -> User:  # noqa: S107
    from opsadmin.roles import sync_group_permissions

    user = User.objects.create_user(username=username, password=password, kind=User.Kind.STAFF)
    grp, created = Group.objects.get_or_create(name=group)
    if created or not grp.permissions.exists():
        sync_group_permissions()  # groups and grants are gone after a transactional flush
    user.groups.add(grp)
    return user
