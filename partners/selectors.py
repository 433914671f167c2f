"""Questions of the partners app. Every partner read is scoped to the asking partner."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from enrollments.models import Enrollment
from partners.models import ImportBatch, Partner, PartnerApiKey


def partner_enrollments(
    *,
    partner: Partner,
    status: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Enrollment]:
    """The partner's enrollments, newest first, optionally by status and creation date
    (America/Chicago days, inclusive)."""
    qs = Enrollment.objects.filter(partner_link__partner=partner).select_related(
        "plan", "service_account__utility", "partner_link"
    )
    if status:
        qs = qs.filter(status=status)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    return qs.order_by("-created_at", "-pk")


def partner_enrollment_get(*, partner: Partner, pk: int) -> Enrollment:
    """One of the partner's enrollments; another partner's id raises DoesNotExist (404)."""
    return partner_enrollments(partner=partner).get(pk=pk)


def import_batches(*, limit: int = 50) -> QuerySet[ImportBatch]:
    """Import history without the file contents."""
    return (
        ImportBatch.objects.defer("content")
        .select_related("partner", "uploaded_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def api_keys() -> QuerySet[PartnerApiKey]:
    return PartnerApiKey.objects.select_related("partner", "created_by").order_by(
        "partner__name", "-created_at"
    )
