"""Reference data for the partners tests: one ERCOT utility, customer types, web and
non-web plans, partners with keys, an Ops user."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from enrollments.models import Plan
from opsadmin.models import CustomerType, ServiceArea, User, Utility
from partners.importfile import COLUMN_NAMES
from partners.services import api_key_create, partner_get_or_create

ESIID_PREFIX = "1044372"


def esiid(n: int) -> str:
    """A valid Oncor ESIID (17 digits)."""
    return f"{ESIID_PREFIX}{n:010d}"


def row(n: int, **overrides) -> dict[str, str]:
    values = dict.fromkeys(COLUMN_NAMES, "")
    values.update(
        partner_reference=f"S-{n}",
        zip_code="75201",
        utility_code="oncor",
        customer_type_code="residential",
        plan_code="SAVER12",
        first_name=f"First{n}",
        last_name="Garcia",
        email=f"c{n}@example.com",
        phone="2145550100",
        esiid=esiid(n),
        address_line1=f"{n} Main St",
        city="Dallas",
        state="TX",
    )
    values.update(overrides)
    return values


def csv_bytes(rows: list[dict[str, str]], columns=COLUMN_NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict[str, str]], columns=COLUMN_NAMES) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(columns))
    for r in rows:
        ws.append([r.get(c, "") for c in columns])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def market(db):
    oncor = Utility.objects.create(
        code="oncor", name="Oncor", market=Utility.Market.ERCOT, esiid_prefixes=[ESIID_PREFIX]
    )
    ServiceArea.objects.create(utility=oncor, zip_code="75201")
    residential = CustomerType.objects.create(code="residential", name="Residential")
    commercial = CustomerType.objects.create(code="commercial", name="Commercial")
    saver = Plan.objects.create(
        code="SAVER12",
        name="Saver 12",
        is_web_plan=True,
        term_months=12,
        energy_charge_cents=Decimal("12.9000"),
    )
    comm = Plan.objects.create(
        code="COMM36",
        name="Commercial Fixed 36",
        is_web_plan=False,
        term_months=36,
        energy_charge_cents=Decimal("10.8000"),
    )
    saver.utilities.set([oncor])
    saver.customer_types.set([residential, commercial])
    comm.utilities.set([oncor])
    comm.customer_types.set([residential, commercial])
    return {"oncor": oncor, "saver": saver, "comm": comm, "residential": residential}


@pytest.fixture
def partner_a(db):
    return partner_get_or_create(name="Acme Sales")[0]


@pytest.fixture
def partner_b(db):
    return partner_get_or_create(name="Bravo TPV")[0]


@pytest.fixture
def key_a(partner_a):
    return api_key_create(partner=partner_a)[1]


@pytest.fixture
def key_b(partner_b):
    return api_key_create(partner=partner_b)[1]


@pytest.fixture
def ops_user(db):
    user = User.objects.create_user(username="ops1", password="pw-ops-1234567", kind="staff")
    user.groups.add(Group.objects.get(name="Ops"))
    return user


@pytest.fixture
def agent_user(db):
    user = User.objects.create_user(username="agent1", password="pw-agent-123456", kind="staff")
    user.groups.add(Group.objects.get(name="Agent"))
    return user


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client
