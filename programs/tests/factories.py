"""Test data for programs: a customer with a premise, and a configured program."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from enrollments.models import Customer, ServiceAccount
from opsadmin.models import CustomerType, ThirdPartyProvider, Utility
from programs.models import (
    ControllableAssetType,
    DeviceSpecification,
    EntityGroup,
    HeadEndSystem,
    Program,
    ProgramType,
    RateClass,
)

_seq = itertools.count(1)


def customer_with_premise(
    *, email: str | None = None, user=None
) -> tuple[Customer, ServiceAccount]:
    n = next(_seq)
    ctype, _ = CustomerType.objects.get_or_create(
        code="residential", defaults={"name": "Residential"}
    )
    utility, _ = Utility.objects.get_or_create(
        code="oncor", defaults={"name": "Oncor", "esiid_prefixes": ["10443720"]}
    )
    customer = Customer.objects.create(
        user=user,
        customer_type=ctype,
        first_name="Ana",
        last_name=f"Lopez{n}",
        email=email or f"ana{n}@example.com",
    )
    account = ServiceAccount.objects.create(
        customer=customer,
        utility=utility,
        esiid=f"10443720{n:09d}",
        address_line1=f"{n} Elm St",
        city="Dallas",
        zip_code="75201",
    )
    return customer, account


@dataclass
class ProgramSetup:
    program: Program
    thermostat: ControllableAssetType
    battery: ControllableAssetType
    spec: DeviceSpecification
    group: EntityGroup
    spec_group: EntityGroup


def program_setup(*, code: str = "smart-stat", allows_opt_out: bool = True) -> ProgramSetup:
    ptype, _ = ProgramType.objects.get_or_create(
        code="bdr" if allows_opt_out else "mandatory",
        defaults={
            "name": "Behavioral DR" if allows_opt_out else "Mandatory DR",
            "allows_opt_out": allows_opt_out,
            "allows_unavailability": True,
        },
    )
    head_end, _ = HeadEndSystem.objects.get_or_create(
        code="lec", defaults={"name": "Live Energy Connect"}
    )
    thermostat, _ = ControllableAssetType.objects.get_or_create(
        code="thermostat", defaults={"name": "Smart thermostat"}
    )
    battery, _ = ControllableAssetType.objects.get_or_create(
        code="battery", defaults={"name": "Home battery"}
    )
    spec, _ = DeviceSpecification.objects.get_or_create(
        code="ecobee-3",
        defaults={"asset_type": thermostat, "manufacturer": "Ecobee", "model_name": "3 Lite"},
    )
    program = Program.objects.create(
        code=code, name=f"Smart Thermostat Rewards {code}", program_type=ptype, head_end=head_end
    )
    program.asset_types.set([thermostat])
    group = EntityGroup.objects.create(code=f"{code}-all", name="All thermostats", program=program)
    spec_group = EntityGroup.objects.create(
        code=f"{code}-ecobee", name="Ecobee", program=program, specification=spec
    )
    RateClass.objects.get_or_create(code="res", defaults={"name": "Residential"})
    return ProgramSetup(program, thermostat, battery, spec, group, spec_group)


def point_derms_at(base_url: str) -> None:
    provider = ThirdPartyProvider.load()
    provider.derms_api_url = f"{base_url}/derms"
    provider.derms_api_key = "derms-test-key"
    provider.save()


def staff_user(*, group: str = "Agent", username: str = "agent1", password: str = "pw-Agent-123"):  # noqa: S107
    from django.contrib.auth.models import Group

    from opsadmin.models import User
    from opsadmin.roles import sync_group_permissions

    sync_group_permissions()
    user = User.objects.create_user(username=username, password=password, kind=User.Kind.STAFF)
    user.groups.add(Group.objects.get(name=group))
    return user


def customer_user(*, email: str, password: str = "pw-Customer-123"):  # noqa: S107
    from opsadmin.models import User

    user = User.objects.create_user(
        username=email, email=email, password=password, kind=User.Kind.CUSTOMER
    )
    customer, premise = customer_with_premise(email=email, user=user)
    return user, customer, premise


def reserve(device, *, starts_in_hours: float, event_id: str = "EV-1", hours: float = 2):
    """An event the DERMS announced (as the poll stores it) with this device reserved."""
    from datetime import timedelta

    from django.utils import timezone

    from programs.models import DemandResponseEvent, DeviceReservation

    start = timezone.now() + timedelta(hours=starts_in_hours)
    event, _ = DemandResponseEvent.objects.get_or_create(
        external_id=event_id,
        defaults={
            "program": device.enrollment.program,
            "starts_at": start,
            "ends_at": start + timedelta(hours=hours),
        },
    )
    return DeviceReservation.objects.create(event=event, device=device)
