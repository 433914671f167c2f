"""Rows the usage tests need: a premise with an enrollment, SMT configuration."""

from __future__ import annotations

import itertools

from enrollments.models import Customer, Enrollment, ServiceAccount
from opsadmin.management import journeys as lifecycle
from opsadmin.models import CustomerType, ThirdPartyProvider, Utility

DEMO_ESIID = "1008901023806680370100"
_seq = itertools.count(1)


def utility(market: str = "ERCOT", code: str = "centerpoint") -> Utility:
    obj, _ = Utility.objects.get_or_create(
        code=code,
        defaults={"name": code.title(), "market": market, "esiid_prefixes": ["1008901"]},
    )
    return obj


def premise(
    *,
    esiid: str = DEMO_ESIID,
    status: str = Enrollment.Status.ACTIVE,
    market: str = "ERCOT",
    billing_account_number: str = "",
) -> ServiceAccount:
    """A premise whose enrollment reached ``status`` through the product's flows."""
    util = utility(market, code="centerpoint" if market == "ERCOT" else "peco")
    ctype, _ = CustomerType.objects.get_or_create(code="residential", defaults={"name": "Res"})
    n = next(_seq)
    customer = Customer.objects.create(
        customer_type=ctype, first_name="Ana", last_name=f"Test{n}", email=f"ana{n}@example.com"
    )
    enrollment = lifecycle.enrolled(
        status,
        utility=util,
        plan=lifecycle.basic_plan("FIX12"),
        customer=customer,
        esiid=esiid,
        address_line1="1 Main St",
        ban=billing_account_number or None,
    )
    return enrollment.service_account


def smt_on(base_url: str = "http://127.0.0.1:9/smt", **fields) -> ThirdPartyProvider:
    provider = ThirdPartyProvider.load()
    provider.smt_enabled = True
    provider.smt_api_url = base_url
    provider.smt_username = "DEMOREP"
    provider.smt_password = "demo-smt-secret"
    provider.smt_duns_number = "123456789"
    provider.smt_requester_type = ThirdPartyProvider.RequesterType.RES
    for k, v in fields.items():
        setattr(provider, k, v)
    provider.save()
    return provider
