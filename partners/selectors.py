"""Questions of the partners app. Every partner read is scoped to the asking partner."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from enrollments.models import Enrollment
from opsadmin.errors import ApplicationError
from partners.importfile import COLUMN_NAMES, read_import_file
from partners.models import ImportBatch, Partner, PartnerApiKey
from programs.models import ControllableAssetType, Device, Program, ProgramEnrollment


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


# --- demand-response programs (aggregators) ----------------------------------------------


def partner_customer_enrollment(
    *, partner: Partner, enrollment_id: int | None = None, esiid: str | None = None
) -> Enrollment:
    """The partner's enrollment that identifies a customer: by its id, or by the ESIID of a
    premise whose open enrollment this partner brought. Anything else (another partner's
    enrollment or premise, an unknown ESIID) raises ``Enrollment.DoesNotExist`` (404)."""
    qs = partner_enrollments(partner=partner).select_related(
        "customer__customer_type", "service_account__utility"
    )
    if enrollment_id is not None:
        return qs.get(pk=enrollment_id)
    if not esiid:
        raise Enrollment.DoesNotExist
    found = qs.filter(service_account__esiid=esiid, status__in=Enrollment.OPEN_STATUSES).first()
    if found is None:
        raise Enrollment.DoesNotExist
    return found


def partner_programs() -> list[tuple[Program, list[ControllableAssetType]]]:
    """Programs an aggregator may enroll devices into (every active program), each with the
    device types it accepts (a program without a device-type rule accepts every type)."""
    all_types = list(ControllableAssetType.objects.prefetch_related("specifications"))
    programs = (
        Program.objects.filter(active=True)
        .select_related("program_type", "head_end")
        .prefetch_related(
            "customer_types",
            "utilities",
            "rate_classes",
            Prefetch(
                "asset_types",
                queryset=ControllableAssetType.objects.prefetch_related("specifications"),
            ),
        )
        .order_by("code")
    )
    return [(p, list(p.asset_types.all()) or all_types) for p in programs]


def partner_program_enrollment_get(*, partner: Partner, pk: int) -> ProgramEnrollment:
    """One program enrollment this partner created, with its devices; another partner's id
    (or one made in another channel) raises ``ProgramEnrollment.DoesNotExist`` (404)."""
    return (
        ProgramEnrollment.objects.filter(partner_link__partner=partner)
        .select_related("program", "service_account", "partner_link")
        .prefetch_related(
            Prefetch(
                "devices",
                queryset=Device.objects.select_related("asset_type", "specification").order_by(
                    "created_at", "pk"
                ),
            )
        )
        .get(pk=pk)
    )


# Columns never written back in full into a file we hand out (conventions: SSN last 4 only).
MASKED_COLUMNS = ("ssn",)


def import_error_rows(*, batch: ImportBatch) -> tuple[list[str], list[list[str]]]:
    """The error file: per failed row, where and why, then the row as it was uploaded.

    Header: ``row``, ``column``, ``message``, then the uploaded file's own columns in its
    order (the template's columns it holds), so the partner can fix the rows and upload
    them again. An SSN is shown as its last 4 digits only.
    """
    errors = list(batch.row_errors.all())
    original: dict[int, dict[str, str]] = {}
    columns: list[str] = []
    try:
        parsed = read_import_file(name=batch.file_name, content=bytes(batch.content))
    except ApplicationError:
        parsed = None  # the file failed as a whole: there are no row errors to pair
    if parsed is not None:
        columns = [c for c in parsed.header if c in COLUMN_NAMES]
        wanted = {e.row_number for e in errors}
        original = {number: values for number, values in parsed.iter_rows() if number in wanted}
    rows = []
    for e in errors:
        values = original.get(e.row_number, {})
        cells = []
        for c in columns:
            value = values.get(c, "")
            if c in MASKED_COLUMNS and value:
                value = f"*****{value[-4:]}"
            cells.append(value)
        rows.append([str(e.row_number), e.column, e.message, *cells])
    return ["row", "column", "message", *columns], rows
