"""Questions about programs: eligibility, entity groups, a customer's program summary."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from enrollments.models import Customer, ServiceAccount
from programs.models import (
    Device,
    DeviceReservation,
    DeviceSpecification,
    EntityGroup,
    Program,
    ProgramEnrollment,
    RateClass,
    SyncRequest,
    Unavailability,
    WorkOrder,
)


def premise_rate_class(*, service_account: ServiceAccount) -> RateClass | None:
    link = getattr(service_account, "program_rate_class", None)
    return link.rate_class if link else None


def program_ineligibility_reason(
    *, program: Program, customer: Customer, service_account: ServiceAccount
) -> str | None:
    """Why this premise may not join ``program`` (None when it may). Empty rules mean any."""
    if not program.active:
        return gettext("%(program)s is not open for enrollment.") % {"program": program.local_name}
    type_ids = {t.pk for t in program.customer_types.all()}
    if type_ids and customer.customer_type_id not in type_ids:
        return gettext("%(program)s is not offered to %(customer_type)s customers.") % {
            "program": program.local_name,
            "customer_type": customer.customer_type.local_name,
        }
    utility_ids = {u.pk for u in program.utilities.all()}
    if utility_ids and service_account.utility_id not in utility_ids:
        return gettext("%(program)s is not offered in the %(utility)s service area.") % {
            "program": program.local_name,
            "utility": service_account.utility.name,
        }
    rate_class_ids = {r.pk for r in program.rate_classes.all()}
    if rate_class_ids:
        rate_class = premise_rate_class(service_account=service_account)
        if rate_class is None or rate_class.pk not in rate_class_ids:
            return gettext("%(program)s is limited to other rate classes.") % {
                "program": program.local_name
            }
    return None


@dataclass(frozen=True)
class EligibleProgram:
    program: Program
    service_account: ServiceAccount


def programs_eligible(*, customer: Customer) -> list[EligibleProgram]:
    """Programs each premise of the customer may join and is not already in."""
    programs = list(
        Program.objects.filter(active=True)
        .select_related("program_type")
        .prefetch_related("customer_types", "utilities", "rate_classes", "asset_types")
    )
    open_pairs = set(
        ProgramEnrollment.objects.filter(
            customer=customer, status__in=ProgramEnrollment.OPEN_STATUSES
        ).values_list("service_account_id", "program_id")
    )
    result = []
    for account in customer.service_accounts.select_related(
        "utility", "program_rate_class__rate_class"
    ).order_by("pk"):
        for program in programs:
            if (account.pk, program.pk) in open_pairs:
                continue
            if program_ineligibility_reason(
                program=program, customer=customer, service_account=account
            ):
                continue
            result.append(EligibleProgram(program=program, service_account=account))
    return result


def entity_group_for(
    *, program: Program, specification: DeviceSpecification | None, rate_class: RateClass | None
) -> EntityGroup | None:
    """The most specific entity group of the program for a device (spec, then rate class)."""
    groups = EntityGroup.objects.filter(program=program).filter(
        Q(specification__isnull=True) | Q(specification=specification),
        Q(rate_class__isnull=True) | Q(rate_class=rate_class),
    )

    def rank(group: EntityGroup) -> tuple[int, int]:
        return (group.specification_id is not None, group.rate_class_id is not None)

    ranked = sorted(groups, key=rank, reverse=True)
    return ranked[0] if ranked else None


def customer_program_enrollments(*, customer: Customer) -> QuerySet[ProgramEnrollment]:
    now = timezone.now()
    return (
        ProgramEnrollment.objects.filter(customer=customer)
        .select_related("program__program_type", "service_account")
        .prefetch_related(
            Prefetch(
                "devices",
                queryset=Device.objects.select_related(
                    "asset_type", "specification", "entity_group"
                ).prefetch_related(
                    Prefetch(
                        "unavailabilities",
                        queryset=Unavailability.objects.filter(ends_at__gt=now),
                        to_attr="upcoming_unavailability",
                    )
                ),
            ),
            Prefetch(
                "work_orders",
                queryset=WorkOrder.objects.filter(status=WorkOrder.Status.OPEN),
                to_attr="open_work_orders",
            ),
        )
        .order_by("status", "-created_at")
    )


def customer_reservations(*, customer: Customer) -> QuerySet[DeviceReservation]:
    """Reservations of the customer's devices for events that have not ended."""
    return (
        DeviceReservation.objects.filter(
            device__enrollment__customer=customer, event__ends_at__gt=timezone.now()
        )
        .select_related("event__program__program_type", "device__asset_type")
        .order_by("event__starts_at", "pk")
    )


def device_for_customer(*, customer: Customer, pk: int) -> Device:
    """A device of this customer, or 404 (never another customer's)."""
    return get_object_or_404(
        Device.objects.select_related("enrollment__program__program_type", "asset_type"),
        pk=pk,
        enrollment__customer=customer,
    )


def reservation_for_customer(*, customer: Customer, pk: int) -> DeviceReservation:
    return get_object_or_404(
        DeviceReservation.objects.select_related(
            "event__program__program_type", "device__enrollment"
        ),
        pk=pk,
        device__enrollment__customer=customer,
    )


def sync_requests(*, state: str | None = None) -> QuerySet[SyncRequest]:
    qs = SyncRequest.objects.select_related("enrollment__customer", "enrollment__program")
    if state:
        qs = qs.filter(state=state)
    return qs.prefetch_related("items__device")
