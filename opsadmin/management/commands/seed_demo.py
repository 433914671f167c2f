"""Load demo data (idempotent): utilities, zips, customer types, plans, users, a customer."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from enrollments.models import Enrollment, Plan
from opsadmin import clock
from opsadmin.models import CustomerType, ServiceArea, ThirdPartyProvider, User, Utility

# ERCOT TDSPs with their ESIID prefixes (ERCOT Retail Market Guide) and zip codes they serve.
UTILITIES = [
    (
        "oncor",
        "Oncor",
        ["1044372", "1017699"],
        "Meter Number",
        "3.9000",
        [
            "75201",
            "75202",
            "75204",
            "75205",
            "75206",
            "75214",
            "76102",
            "76104",
            "76107",
            "75701",
            "76701",
            "79701",
        ],
    ),
    (
        "centerpoint",
        "CenterPoint",
        ["1008901"],
        "Meter Number",
        "4.1000",
        [
            "77002",
            "77003",
            "77004",
            "77005",
            "77006",
            "77007",
            "77008",
            "77019",
            "77024",
            "77057",
            "77379",
            "77494",
        ],
    ),
    (
        "aep-central",
        "AEP Texas Central",
        ["1003278"],
        "Meter Number",
        "4.3000",
        ["78401", "78404", "78411", "78412", "78501", "78504", "78520", "78550", "77901", "78336"],
    ),
    (
        "aep-north",
        "AEP Texas North",
        ["1020404"],
        "Meter Number",
        "4.2000",
        ["79601", "79602", "79603", "79605", "76901", "76903", "76904", "79556"],
    ),
    (
        "tnmp",
        "TNMP",
        ["1040051"],
        "Meter ID",
        "4.0000",
        ["77510", "77511", "77546", "77573", "76528", "79739", "75069", "77590"],
    ),
]
# A zip served by two TDSPs, so the utility choice appears in Quick Enrollment.
SHARED_ZIPS = {"77494": ["centerpoint", "tnmp"]}

# Demo TDU delivery charges: $/month, ¢/kWh (illustrative, not a tariff).
DEMO_TDU_CHARGES = {
    "oncor": ("4.23", "5.5833"),
    "centerpoint": ("4.39", "5.5200"),
    "aep-central": ("4.79", "5.6700"),
    "aep-north": ("3.24", "5.3200"),
    "tnmp": ("7.85", "6.2300"),
}

# The Spanish a customer reads (PUCT Subst. R. 25.473), kept beside the English in the
# catalogue (``*_es`` fields, opsadmin.i18n).
METER_LABEL_ES = {"Meter Number": "Número de medidor", "Meter ID": "Identificador del medidor"}
PLAN_NAMES_ES = {
    "SAVER12": "Ahorro 12",
    "FIXED24": "Tarifa fija 24",
    "FREEWKND12": "Fines de semana gratis 12",
    "MTM": "Mes a mes",
    "COMM36": "Comercial fija 36",
}
PLAN_DESCRIPTIONS = {  # English, Spanish
    "SAVER12": ("Our lowest 12-month fixed rate.", "Nuestra tarifa fija de 12 meses más baja."),
    "FIXED24": ("Lock in your rate for two years.", "Asegure su tarifa por dos años."),
    "FREEWKND12": ("A 12-month fixed rate.", "Una tarifa fija de 12 meses."),
    "MTM": (
        "No contract: leave any time without a fee.",
        "Sin contrato: cancele cuando quiera sin cargo.",
    ),
    "COMM36": (
        "A 36-month fixed rate for businesses.",
        "Una tarifa fija de 36 meses para negocios.",
    ),
}
PLANS = [
    # code, name, web, term, energy ¢, base $, etf type, etf $
    ("SAVER12", "Saver 12", True, 12, "12.9000", "9.95", "flat", "150.00"),
    ("FIXED24", "Fixed Rate 24", True, 24, "13.4000", "4.95", "per_month", "15.00"),
    ("FREEWKND12", "Free Weekends 12", True, 12, "15.2000", "0.00", "flat", "150.00"),
    ("MTM", "Month to Month", True, 1, "16.5000", "9.95", "none", "0.00"),
    ("COMM36", "Commercial Fixed 36", False, 36, "10.8000", "25.00", "flat", "500.00"),
]


DEMO_ESIID = "1008901023806680370100"


class Command(BaseCommand):
    help = "Load demo data (safe to run twice). --password sets every demo user's password."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", help="Password for every demo user (default: random each)"
        )

    @transaction.atomic
    def handle(self, *args, password: str | None = None, **options):
        utilities = {}
        for code, name, prefixes, label, ptc, zips in UTILITIES:
            utility, _ = Utility.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "market": Utility.Market.ERCOT,
                    "state": "TX",
                    "esiid_prefixes": prefixes,
                    "meter_number_label": label,
                    "meter_number_label_es": METER_LABEL_ES[label],
                    "billing_system": Utility.BillingSystem.ESG_REST,
                    "price_to_compare_cents": Decimal(ptc),
                },
            )
            utilities[code] = utility
            for zip_code in zips:
                ServiceArea.objects.get_or_create(utility=utility, zip_code=zip_code)
        for zip_code, codes in SHARED_ZIPS.items():
            for code in codes:
                ServiceArea.objects.get_or_create(utility=utilities[code], zip_code=zip_code)
        # TNMP still bills through the legacy token interface in the demo: no billing account numbers.
        Utility.objects.filter(code="tnmp").update(billing_system=Utility.BillingSystem.ESG_TOKEN)

        # TDU delivery charges, so the products table's EFL averages include them.
        from enrollments.models import TduCharge

        for code, (monthly, cents) in DEMO_TDU_CHARGES.items():
            TduCharge.objects.update_or_create(
                utility=utilities[code],
                defaults={"monthly_charge": Decimal(monthly), "per_kwh_cents": Decimal(cents)},
            )

        residential, _ = CustomerType.objects.update_or_create(
            code="residential", defaults={"name": "Residential", "name_es": "Residencial"}
        )
        commercial, _ = CustomerType.objects.update_or_create(
            code="commercial",
            defaults={
                "name": "Commercial",
                "name_es": "Comercial",
                "drop_visible_in_myaccount": False,
            },
        )

        plans = {}
        for code, name, web, term, energy, base, etf_type, etf in PLANS:
            plan, _ = Plan.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_es": PLAN_NAMES_ES[code],
                    "description": PLAN_DESCRIPTIONS[code][0],
                    "description_es": PLAN_DESCRIPTIONS[code][1],
                    "is_web_plan": web,
                    "term_months": term,
                    "energy_charge_cents": Decimal(energy),
                    "base_fee": Decimal(base),
                    "etf_type": etf_type,
                    "etf_amount": Decimal(etf),
                    "month_to_month": code == "MTM",
                },
            )
            plan.utilities.set(utilities.values())
            plan.customer_types.set(
                [commercial] if code.startswith("COMM") else [residential, commercial]
            )
            plans[code] = plan
        for code in ("SAVER12", "FIXED24", "FREEWKND12"):
            Plan.objects.filter(code=code).update(renewal_plan=plans["MTM"])

        sim = settings.SIMULATORS_URL.rstrip("/")
        provider = ThirdPartyProvider.load()
        provider.smt_enabled = True
        provider.smt_api_url = f"{sim}/smt"
        provider.smt_username = "DEMOREP"
        provider.smt_password = "demo-smt-secret"  # noqa: S105 - simulator credential
        provider.smt_duns_number = "123456789"
        provider.smt_requester_type = ThirdPartyProvider.RequesterType.RES
        provider.esg_api_url = f"{sim}/esg"
        provider.esg_api_key = "demo-esg-key"
        provider.derms_api_url = f"{sim}/derms"
        provider.derms_api_key = "demo-derms-key"
        provider.save()

        logins = []
        for username, group in (("agent", "Agent"), ("ops", "Ops"), ("admin", "Admin")):
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"kind": User.Kind.STAFF, "first_name": username.title()},
            )
            user.kind = User.Kind.STAFF
            user.is_staff = username == "admin"  # Django admin for the Admin demo user only
            user.is_superuser = False
            pw = password or secrets.token_urlsafe(12)
            user.set_password(pw)
            user.save()
            user.groups.set([Group.objects.get(name=group)])
            logins.append((username, pw))

        # Renewal notices in Spanish for customers who asked for it (PUCT Subst. R. 25.473).
        from renewals.services import renewal_templates_spanish_ensure

        renewal_templates_spanish_ensure()

        email = "demo@customer.example"
        self._demo_customer(utilities["centerpoint"], plans["SAVER12"], email)
        cuser = User.objects.get(username=email)
        pw = password or secrets.token_urlsafe(12)
        cuser.set_password(pw)
        cuser.save()
        logins.append((email, pw))
        self._drops(utilities)
        self._programs(utilities, residential)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        for username, pw in logins:
            self.stdout.write(f"  login {username} / {pw}")

    def _demo_customer(self, utility, plan, email: str) -> None:
        """Dana signed up in the Signup Wizard; the billing system accepted the switch and
        service started ~10 months ago, so her 12-month contract ends in about 7 weeks (the
        renewal notices are scheduled). Built through the product's flows: the enrollment is
        submitted with ``enrollment_submit`` on that day's rules and the billing system's
        answers are recorded by billing's own functions (``opsadmin.management.journeys``);
        service start then queues her first SMT pull and bill history (usage subscribes).
        Runs once: a second run finds her enrollment and leaves it alone."""
        from enrollments.services import customer_login_create
        from opsadmin.management import journeys
        from renewals.services import renewal_notices_schedule

        if Enrollment.objects.filter(esiid=DEMO_ESIID).exists():
            return
        enrollment = journeys.enrolled(
            Enrollment.Status.ACTIVE,
            utility=utility,
            plan=plan,
            channel=Enrollment.Channel.WIZARD,
            esiid=DEMO_ESIID,
            meter_number="134567890LG",
            first_name="Dana",
            last_name="Demo",
            email=email,
            phone="713-555-0100",
            address_line1="1400 Smith St",
            zip_code="77002",
            service_start=clock.today() - timedelta(days=320),
            ban="BA1008901023",  # what ESG answered with the acceptance
        )
        customer_login_create(customer=enrollment.customer)
        renewal_notices_schedule(today=clock.today())

    def _drops(self, utilities):
        """Drop codes: CenterPoint offers a choice, Oncor sends one code, TNMP none."""
        from drops.models import DropCode, DropSettings

        codes = {
            "centerpoint": [
                ("CR", "Customer requested", "Solicitado por el cliente", True),
                ("MO", "Moving out of the area", "Me mudo fuera del área", True),
                ("PR", "Found a better price", "Encontré un mejor precio", True),
            ],
            "oncor": [
                ("CR", "Customer requested", "Solicitado por el cliente", True),
                ("NP", "Non-payment (REP initiated)", "Falta de pago (iniciado por el REP)", False),
            ],
        }
        for utility_code, rows in codes.items():
            for code, description, description_es, in_myaccount in rows:
                DropCode.objects.update_or_create(
                    utility=utilities[utility_code],
                    code=code,
                    defaults={
                        "description": description,
                        "description_es": description_es,
                        "outbound": True,
                        "available_in_myaccount": in_myaccount,
                    },
                )
        # Retention gets 24 hours on CenterPoint drops; others are released automatically.
        DropSettings.objects.update_or_create(
            utility=utilities["centerpoint"],
            defaults={"hold_hours": 24, "customer_may_cancel_during_hold": True},
        )

    def _programs(self, utilities, residential):
        """A bring-your-own thermostat program on the DERMS simulator."""
        from programs.models import (
            ControllableAssetType,
            DeviceSpecification,
            EntityGroup,
            HeadEndSystem,
            Program,
            ProgramType,
            RateClass,
        )

        ptype, _ = ProgramType.objects.update_or_create(
            code="bdr",
            defaults={
                "name": "Behavioral demand response",
                "allows_opt_out": True,
                "allows_unavailability": True,
            },
        )
        head_end, _ = HeadEndSystem.objects.get_or_create(
            code="derms", defaults={"name": "DERMS head end"}
        )
        thermostat, _ = ControllableAssetType.objects.update_or_create(
            code="thermostat",
            defaults={"name": "Smart thermostat", "name_es": "Termostato inteligente"},
        )
        battery, _ = ControllableAssetType.objects.update_or_create(
            code="battery", defaults={"name": "Home battery", "name_es": "Batería doméstica"}
        )
        DeviceSpecification.objects.get_or_create(
            code="ecobee-3",
            defaults={"asset_type": thermostat, "manufacturer": "Ecobee", "model_name": "3 Lite"},
        )
        RateClass.objects.get_or_create(code="res", defaults={"name": "Residential"})
        program, _ = Program.objects.update_or_create(
            code="smart-stat",
            defaults={
                "name": "Smart Thermostat Rewards",
                "name_es": "Recompensas por termostato inteligente",
                "program_type": ptype,
                "head_end": head_end,
                "description": "Let us nudge your thermostat a few degrees during grid peaks; "
                "earn a bill credit each summer.",
                "description_es": "Permítanos ajustar su termostato unos grados en las horas "
                "pico de la red; gane un crédito en su factura cada verano.",
            },
        )
        program.asset_types.set([thermostat, battery])
        program.customer_types.set([residential])
        program.utilities.set(utilities.values())
        EntityGroup.objects.get_or_create(
            code="smart-stat-all", defaults={"name": "All devices", "program": program}
        )
