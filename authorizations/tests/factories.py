"""Rows the authorization tests need: an ERCOT utility with TDU charges, plans, SMT config."""

from __future__ import annotations

from decimal import Decimal

from enrollments.models import Plan, TduCharge
from opsadmin.models import CustomerType, ThirdPartyProvider, Utility

ESIID = "1008901023806680370100"  # CenterPoint, 22 digits
ESIID_B = "10443720001234567"  # Oncor, 17 digits


def reference() -> dict:
    """CenterPoint + Oncor, residential/commercial, three web plans and one non-web plan."""
    cnp, _ = Utility.objects.update_or_create(
        code="centerpoint",
        defaults={"name": "CenterPoint", "market": "ERCOT", "esiid_prefixes": ["1008901"]},
    )
    oncor, _ = Utility.objects.update_or_create(
        code="oncor", defaults={"name": "Oncor", "market": "ERCOT", "esiid_prefixes": ["10443720"]}
    )
    for util in (cnp, oncor):
        TduCharge.objects.update_or_create(
            utility=util,
            defaults={"monthly_charge": Decimal("4.39"), "per_kwh_cents": Decimal("5.0")},
        )
    res, _ = CustomerType.objects.get_or_create(
        code="residential", defaults={"name": "Residential"}
    )
    com, _ = CustomerType.objects.get_or_create(code="commercial", defaults={"name": "Commercial"})
    plans = {}
    for code, name, cents, base, credit, credit_min, web in [
        ("SAVER12", "Saver 12", "9.0", "9.95", "0", None, True),
        ("CREDIT12", "Credit 12", "11.0", "0", "50", 1000, True),
        ("SIMPLE12", "Simple 12", "12.0", "0", "0", None, True),
        ("BROKER24", "Broker 24", "8.0", "20", "0", None, False),
    ]:
        plan, _ = Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "term_months": 12,
                "energy_charge_cents": Decimal(cents),
                "base_fee": Decimal(base),
                "bill_credit": Decimal(credit),
                "bill_credit_min_kwh": credit_min,
                "is_web_plan": web,
            },
        )
        plan.utilities.set([cnp, oncor])
        plan.customer_types.set([res, com])
        plans[code] = plan
    return {"cnp": cnp, "oncor": oncor, "res": res, "com": com, "plans": plans}


def smt_on(base_url: str) -> ThirdPartyProvider:
    provider = ThirdPartyProvider.load()
    provider.smt_enabled = True
    provider.smt_api_url = base_url
    provider.smt_username = "DEMOREP"
    provider.smt_password = "demo-smt-secret"
    provider.smt_duns_number = "123456789"
    provider.save()
    return provider
