"""Questions about prospects."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from prospects.models import Prospect


def prospect_list(*, q: str = "", status: str = "") -> QuerySet[Prospect]:
    qs = Prospect.objects.select_related("broker", "customer_type").annotate(
        address_count=Count("addresses")
    )
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(
            Q(company_name__icontains=q)
            | Q(contacts__last_name__icontains=q)
            | Q(addresses__esiid__startswith=q)
            | Q(addresses__meter_number=q)
        ).distinct()
    return qs.order_by("company_name", "pk")


def prospect_detail(*, pk: int) -> Prospect | None:
    return (
        Prospect.objects.select_related("broker", "customer_type", "owner")
        .prefetch_related(
            "contacts", "addresses__utility", "addresses__enrollment", "notes__author"
        )
        .filter(pk=pk)
        .first()
    )
