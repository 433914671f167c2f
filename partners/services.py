"""Verbs of the partners app: partners and keys, Sales Importer batches, partner enrollments.

Every enrollment goes through ``enrollments.services.enrollment_submit`` (the same rules as
Quick Enrollment); this module only parses what a partner sent into an ``EnrollmentInput``
and records which partner it came from.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pghistory
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from enrollments.dates import start_date_problem
from enrollments.models import Customer, Enrollment
from enrollments.services import (
    EnrollmentInput,
    RescissionClosed,
    SubmitContext,
    enrollment_rescind,
    enrollment_submit,
    enrollments_submit_many,
)
from opsadmin.errors import ApplicationError
from partners.importfile import COLUMN_NAMES, read_import_file
from partners.models import (
    ImportBatch,
    ImportRowError,
    Partner,
    PartnerApiKey,
    PartnerEnrollment,
    PartnerProgramEnrollment,
)
from programs.models import ControllableAssetType, DeviceSpecification, Program, ProgramEnrollment
from programs.services import DeviceInput, program_enrollment_create, program_unenroll

logger = logging.getLogger(__name__)

KEY_PREFIX = "opk_"


# --- partners and keys -------------------------------------------------------------------


def partner_get_or_create(*, name: str) -> tuple[Partner, bool]:
    """The partner called ``name`` (case-insensitive), created if new."""
    name = name.strip()
    if not name:
        raise ApplicationError("Enter the partner's name.", field="partner")
    existing = Partner.objects.filter(name__iexact=name).first()
    if existing:
        return existing, False
    code = slugify(name)[:50] or "partner"
    base, n = code, 1
    while Partner.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return Partner.objects.create(name=name, code=code), True


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, partner: Partner, label: str = "", actor=None) -> tuple[PartnerApiKey, str]:
    """Create a key; returns the row and the key itself, which is never stored or shown again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = PartnerApiKey.objects.create(
        partner=partner,
        label=label[:100],
        prefix=raw[:12],
        key_hash=hash_key(raw),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    logger.info("partners.api_key_created", extra={"partner": partner.code, "key_id": key.pk})
    return key, raw


def api_key_revoke(*, key: PartnerApiKey, actor=None) -> PartnerApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = actor if getattr(actor, "pk", None) else None
        key.save(update_fields=["revoked_at", "revoked_by"])
        logger.info("partners.api_key_revoked", extra={"key_id": key.pk})
    return key


def api_key_authenticate(*, raw_key: str) -> PartnerApiKey | None:
    """The active key (and its active partner) for a presented key, or None."""
    if not raw_key or len(raw_key) > 200:
        return None
    key = (
        PartnerApiKey.objects.select_related("partner")
        .filter(key_hash=hash_key(raw_key), revoked_at__isnull=True, partner__active=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


# --- from what a partner sent to an EnrollmentInput --------------------------------------

# Lengths of the columns the values land in (enrollments.models), so a long value is a
# message for the partner, never a database error.
MAX_LENGTHS = {
    "partner_reference": 60,
    "zip_code": 5,
    "utility_code": 40,
    "customer_type_code": 30,
    "plan_code": 30,
    "first_name": 60,
    "last_name": 60,
    "company_name": 120,
    "email": 254,
    "phone": 20,
    "esiid": 30,
    "meter_number": 40,
    "address_line1": 120,
    "address_line2": 120,
    "city": 60,
    "state": 2,
    "enrollment_type": 8,
    "requested_start_date": 10,
    "language": 2,
    "notice_preference": 6,
    "date_of_birth": 10,
    "ssn": 11,
    "billing_address_line1": 120,
    "billing_city": 60,
    "billing_state": 2,
    "billing_zip": 10,
    "consent_method": 30,
    "promo_code": 30,
    "referral_source": 60,
    "affiliate_code": 40,
    "critical_care": 5,
}
REQUIRED = (
    "zip_code",
    "utility_code",
    "customer_type_code",
    "plan_code",
    "first_name",
    "last_name",
    "email",
    "esiid",
    "address_line1",
    "city",
)


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApplicationError("Enter a date as YYYY-MM-DD.", field=field) from None


def enrollment_input_from_values(values: dict[str, str]) -> tuple[EnrollmentInput, str]:
    """Parse one partner submission (importer row or API body, all strings) into an
    ``EnrollmentInput`` and the partner's reference. Raises ``ApplicationError`` with
    ``field`` for the first problem; business rules are enrollment_submit's."""
    v = {name: (values.get(name) or "").strip() for name in COLUMN_NAMES}
    for name, text in v.items():
        if any(ord(ch) < 32 for ch in text):
            raise ApplicationError("Remove control characters from this value.", field=name)
        if len(text) > MAX_LENGTHS[name]:
            raise ApplicationError(
                f"At most {MAX_LENGTHS[name]} characters (this has {len(text)}).", field=name
            )
    for name in REQUIRED:
        if not v[name]:
            raise ApplicationError("This value is required.", field=name)
    try:
        validate_email(v["email"])
    except ValidationError:
        raise ApplicationError("Enter a valid email address.", field="email") from None
    state = (v["state"] or "TX").upper()
    if not (len(state) == 2 and state.isalpha()):
        raise ApplicationError("Enter a 2-letter state.", field="state")
    enrollment_type = v["enrollment_type"].lower() or Enrollment.EnrollmentType.SWITCH
    if enrollment_type not in Enrollment.EnrollmentType.values:
        raise ApplicationError("Use switch or move_in.", field="enrollment_type")
    language = v["language"].lower() or Customer.Language.ENGLISH
    if language not in Customer.Language.values:
        raise ApplicationError("Use en or es.", field="language")
    notice = v["notice_preference"].lower() or Customer.NoticePreference.EMAIL
    if notice not in Customer.NoticePreference.values:
        raise ApplicationError("Use email or letter.", field="notice_preference")
    start = (
        _parse_date(v["requested_start_date"], "requested_start_date")
        if v["requested_start_date"]
        else None
    )
    if start is not None:
        problem = start_date_problem(start, enrollment_type)
        if problem:
            raise ApplicationError(problem, field="requested_start_date")
    critical = v["critical_care"].lower()
    if critical not in ("", "yes", "no", "y", "n", "true", "false", "1", "0"):
        raise ApplicationError("Use yes or no.", field="critical_care")
    dob = v["date_of_birth"]
    if dob:
        _parse_date(dob, "date_of_birth")
    ssn = v["ssn"].replace("-", "")
    if ssn and not (len(ssn) == 9 and ssn.isdigit()):
        raise ApplicationError("An SSN has 9 digits.", field="ssn")
    phone = "".join(ch for ch in v["phone"] if ch.isdigit())
    if v["phone"] and not 10 <= len(phone) <= 15:
        raise ApplicationError("Enter a phone number with 10 digits.", field="phone")
    data = EnrollmentInput(
        zip_code=v["zip_code"],
        utility_code=v["utility_code"].lower(),
        customer_type_code=v["customer_type_code"].lower(),
        plan_code=v["plan_code"].upper(),
        first_name=v["first_name"],
        last_name=v["last_name"],
        company_name=v["company_name"],
        email=v["email"],
        phone=phone,
        esiid=v["esiid"],
        meter_number=v["meter_number"],
        address_line1=v["address_line1"],
        address_line2=v["address_line2"],
        city=v["city"],
        state=state,
        enrollment_type=enrollment_type,
        requested_start_date=start,
        language=language,
        notice_preference=notice,
        date_of_birth=dob,
        ssn=ssn,
        billing_address_line1=v["billing_address_line1"],
        billing_city=v["billing_city"],
        billing_state=v["billing_state"].upper(),
        billing_zip=v["billing_zip"],
        consent_method=v["consent_method"].lower(),
        promo_code=v["promo_code"],
        referral_source=v["referral_source"],
        affiliate_code=v["affiliate_code"],
        critical_care=critical in ("yes", "y", "true", "1"),
    )
    return data, v["partner_reference"]


def submission_fingerprint(data: EnrollmentInput, reference: str) -> str:
    return hashlib.sha256(f"{data.fingerprint()}|{reference}".encode()).hexdigest()


def partner_enrollment_submit(
    *,
    partner: Partner,
    data: EnrollmentInput,
    channel: str,
    reference: str = "",
    actor=None,
    batch: ImportBatch | None = None,
    row_number: int | None = None,
    row_fingerprint: str = "",
    idempotency_key: str | None = None,
    context: SubmitContext | None = None,
) -> Enrollment:
    """Enroll through ``enrollment_submit`` and record the partner, in one transaction.

    ``context`` (the Sales Importer): reference data kept across the batch; the caller wraps
    each call in its own ``transaction.atomic()`` (the row's savepoint).
    """
    with transaction.atomic(savepoint=context is None):
        enrollment = enrollment_submit(
            data=data,
            channel=channel,
            actor=actor,
            source=f"{channel}:{partner.code}"[:40],
            idempotency_key=idempotency_key,
            context=context,
        )
        PartnerEnrollment.objects.create(
            partner=partner,
            enrollment=enrollment,
            batch=batch,
            row_number=row_number,
            row_fingerprint=row_fingerprint,
            partner_reference=reference,
        )
    return enrollment


# --- Sales Importer ----------------------------------------------------------------------


class DuplicateFileError(ApplicationError):
    def __init__(self, batch: ImportBatch):
        when = timezone.localtime(batch.created_at).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"This file was already imported for {batch.partner} (import #{batch.pk}, "
            f"{when}). Nothing was imported again.",
            field="file",
            code="duplicate_file",
        )
        self.batch = batch


@transaction.atomic
def import_batch_create(
    *, partner: Partner, file_name: str, content: bytes, actor=None
) -> ImportBatch:
    """Check the file (format, size, zip bomb, columns, formulas, encoding) and queue it.

    Raises ``ImportFileError`` / ``DuplicateFileError``; then nothing is created.
    """
    digest = hashlib.sha256(content).hexdigest()
    earlier = ImportBatch.objects.filter(partner=partner, file_sha256=digest).first()
    if earlier is not None:
        raise DuplicateFileError(earlier)
    parsed = read_import_file(name=file_name, content=content)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                partner=partner,
                file_name=file_name[:255],
                file_format=parsed.format,
                file_sha256=digest,
                file_size=len(content),
                content=content,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
                total_rows=parsed.row_count,
            )
    except IntegrityError:  # the same file uploaded twice at the same moment
        raise DuplicateFileError(
            ImportBatch.objects.get(partner=partner, file_sha256=digest)
        ) from None
    transaction.on_commit(lambda: _enqueue_batch(batch.pk))
    logger.info(
        "partners.import_queued",
        extra={"batch_id": batch.pk, "partner": partner.code, "rows": batch.total_rows},
    )
    return batch


def _enqueue_batch(batch_id: int) -> None:
    from partners.tasks import import_batch_process

    import_batch_process.delay(batch_id)


# Rows per transaction. Each row is a savepoint inside it (a refused or conflicting row is
# rolled back alone); progress, counts and row errors are written with the chunk, so what
# the progress bar shows is always committed. Under 64 rows keeps every savepoint's
# subtransaction in PostgreSQL's per-backend cache (no subxid overflow for other sessions).
CHUNK_ROWS = 50
GC_EVERY_CHUNKS = 20


def import_batch_process(*, batch_id: int) -> ImportBatch:
    """Import every row of a queued batch; safe to run again (rows already imported by this
    batch count as created, by another batch or file as duplicates).

    Rows go through ``enrollment_submit`` (the same rules as Quick Enrollment) with one
    ``SubmitContext`` for the batch, ``CHUNK_ROWS`` rows per transaction and a savepoint per
    row, under one audit context (who uploaded, which batch) for every row written.
    """
    batch = (
        ImportBatch.objects.select_related("partner", "uploaded_by")
        .defer("content")  # read once below, not kept on the batch for the whole import
        .get(pk=batch_id)
    )
    if batch.state == ImportBatch.State.DONE:
        return batch
    partner = batch.partner
    ImportBatch.objects.filter(pk=batch.pk).update(
        state=ImportBatch.State.RUNNING, started_at=timezone.now(), failure=""
    )
    ImportRowError.objects.filter(batch=batch).delete()
    try:
        content = ImportBatch.objects.values_list("content", flat=True).get(pk=batch.pk)
        parsed = read_import_file(
            name=batch.file_name, content=content if isinstance(content, bytes) else bytes(content)
        )
        del content
    except ApplicationError as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            state=ImportBatch.State.FAILED, failure=exc.message, finished_at=timezone.now()
        )
        batch.refresh_from_db()
        return batch
    counts = {"processed_rows": 0, "created_count": 0, "error_count": 0, "duplicate_count": 0}
    context = SubmitContext()
    audit = {
        "user": batch.uploaded_by_id,
        "url": reverse("partners:import_detail", args=[batch.pk]),
        "import_batch": batch.pk,
        "partner": partner.code,
    }
    rows = parsed.iter_rows()  # streamed: one chunk of rows in memory at a time
    with pghistory.context(**audit):
        for number, chunk in enumerate(iter(lambda: list(itertools.islice(rows, CHUNK_ROWS)), [])):
            if number and number % GC_EVERY_CHUNKS == 0:
                # A saved model with a FileField (Enrollment) is a reference cycle (its
                # FieldFile points back at it), so every chunk's objects outlive the chunk
                # until a full collection; collecting every ~1,000 rows keeps the import's
                # memory flat (bench/sales_import.py) for a few ms each time.
                gc.collect()
            with transaction.atomic():
                _import_chunk(batch=batch, rows=chunk, counts=counts, context=context)
                ImportBatch.objects.filter(pk=batch.pk).update(**counts)
            # the chunk is in the database now, which answers for its ESIIDs from here on:
            # the context keeps reference data only, not one entry per row of the file
            context.open_esiids.clear()
            context.checked_esiids.clear()
    ImportBatch.objects.filter(pk=batch.pk).update(
        **counts, state=ImportBatch.State.DONE, finished_at=timezone.now()
    )
    batch.refresh_from_db(fields=_BATCH_FIELDS_BUT_CONTENT)
    logger.info(
        "partners.import_done",
        extra={"batch_id": batch.pk, **counts},
    )
    return batch


_BATCH_FIELDS_BUT_CONTENT = [
    f.attname for f in ImportBatch._meta.concrete_fields if f.name not in ("id", "content")
]


def _links_by_fingerprint(
    *, partner: Partner, fingerprints: set[str]
) -> dict[str, tuple[int | None, int | None]]:
    """The partner's stored rows among ``fingerprints``: (batch id, row number) by
    fingerprint (one indexed query per chunk; nothing is kept between chunks)."""
    if not fingerprints:
        return {}
    return {
        fingerprint: (batch_id, row_number)
        for fingerprint, batch_id, row_number in PartnerEnrollment.objects.filter(
            partner=partner, row_fingerprint__in=fingerprints
        )
        # the unique index on (partner, row_fingerprint) is partial (non-empty fingerprints):
        # its condition, repeated here, lets the planner use it
        .exclude(row_fingerprint="")
        .values_list("row_fingerprint", "batch_id", "row_number")
    }


def _stored_count_key(batch: ImportBatch, number: int, stored: tuple) -> str:
    """How a row already stored for the partner counts: this very row, imported by an
    earlier run of this batch (a redelivered task), as created; anything else (an earlier
    row of this file, another batch or file) as a duplicate."""
    return "created_count" if stored == (batch.pk, number) else "duplicate_count"


def _import_chunk(
    *,
    batch: ImportBatch,
    rows: Sequence[tuple[int, dict[str, str]]],
    counts: dict[str, int],
    context: SubmitContext,
) -> None:
    """One chunk of rows, inside the caller's transaction.

    Set-based first: the chunk's new rows go through ``enrollments_submit_many`` (the same
    rules per row, one multi-row INSERT per table) and their partner links in one more, in
    one savepoint. If that savepoint fails on a constraint (a concurrent batch or submit
    took a row's ESIID or fingerprint), it is rolled back whole and the chunk is imported
    row by row (one savepoint per row), which tells exactly which rows lost.
    """
    parsed: list[tuple[int, EnrollmentInput | None, str, ApplicationError | None]] = []
    for number, values in rows:
        try:
            row_input, reference = enrollment_input_from_values(values)
        except ApplicationError as exc:
            parsed.append((number, None, "", exc))
        else:
            parsed.append((number, row_input, reference, None))
    context.prefetch_open_esiids(data.esiid for _n, data, _r, _e in parsed if data is not None)
    # rows stored before this chunk (earlier chunks of this file, other batches, an earlier
    # run of this batch) are read from the database for this chunk's fingerprints only
    known = _links_by_fingerprint(
        partner=batch.partner,
        fingerprints={
            submission_fingerprint(data, reference)
            for _n, data, reference, _e in parsed
            if data is not None
        },
    )
    try:
        with transaction.atomic():  # the chunk's savepoint
            outcome = _import_chunk_set_based(
                batch=batch, parsed=parsed, known=known, context=context
            )
    except IntegrityError:
        for _n, data, _r, _e in parsed:
            if data is not None:
                context.forget_esiid(data.esiid)
        _import_chunk_row_by_row(
            batch=batch, parsed=parsed, known=known, counts=counts, context=context
        )
        return
    chunk_counts, errors = outcome
    for key, value in chunk_counts.items():
        counts[key] += value
    if errors:
        ImportRowError.objects.bulk_create(errors)


def _import_chunk_set_based(
    *,
    batch: ImportBatch,
    parsed: list[tuple[int, EnrollmentInput | None, str, ApplicationError | None]],
    known: dict[str, tuple[int | None, int | None]],
    context: SubmitContext,
) -> tuple[dict[str, int], list[ImportRowError]]:
    """The chunk's counts and row errors, exactly as the row-by-row import would count them (a row repeated in the file is a duplicate once the
    first one was imported, and fails like the first when that one failed); writes only
    enrollments and partner links. Raises ``IntegrityError`` when a constraint refuses."""
    counts = dict.fromkeys(("processed_rows", "created_count", "error_count", "duplicate_count"), 0)
    # per row: (number, fingerprint or "", "error" | "counted" | "submit", detail)
    plan: list[tuple[int, str, str, object]] = []
    submit: list[EnrollmentInput] = []
    links: list[tuple[int, str, str]] = []  # (row number, reference, fingerprint) per submit
    pending: dict[str, int] = {}  # fingerprint -> its index in ``submit``
    counted: set[str] = set()  # rows of this chunk counted without a submit
    for number, data, reference, problem in parsed:
        if problem is not None:
            plan.append((number, "", "error", problem))
            continue
        assert data is not None
        fingerprint = submission_fingerprint(data, reference)
        if fingerprint in pending:  # the same row earlier in this chunk: decided below
            plan.append((number, fingerprint, "submit", pending[fingerprint]))
        elif fingerprint in counted:  # earlier in this chunk
            plan.append((number, fingerprint, "counted", "duplicate_count"))
        elif fingerprint in known:  # stored before this chunk
            key = _stored_count_key(batch, number, known[fingerprint])
            plan.append((number, fingerprint, "counted", key))
            counted.add(fingerprint)
        else:
            pending[fingerprint] = len(submit)
            plan.append((number, fingerprint, "submit", len(submit)))
            submit.append(data)
            links.append((number, reference, fingerprint))
    results: list[Enrollment | ApplicationError] = []
    if submit:
        results = enrollments_submit_many(
            rows=submit,
            channel=Enrollment.Channel.IMPORTER,
            context=context,
            actor=batch.uploaded_by,
            source=f"{Enrollment.Channel.IMPORTER}:{batch.partner.code}"[:40],
        )
        PartnerEnrollment.objects.bulk_create(
            [
                PartnerEnrollment(
                    partner=batch.partner,
                    enrollment=result,
                    batch=batch,
                    row_number=number,
                    row_fingerprint=fingerprint,
                    partner_reference=reference,
                )
                for result, (number, reference, fingerprint) in zip(results, links, strict=True)
                if isinstance(result, Enrollment)
            ]
        )
    errors: list[ImportRowError] = []
    first_use: set[int] = set()
    for number, _fingerprint, kind, detail in plan:
        if kind == "submit":
            index = detail
            assert isinstance(index, int)
            result = results[index]
            if isinstance(result, ApplicationError):
                kind, detail = "error", result
            elif index in first_use:  # a repeat of an imported row
                kind, detail = "counted", "duplicate_count"
            else:
                first_use.add(index)
                kind, detail = "counted", "created_count"
        if kind == "error":
            assert isinstance(detail, ApplicationError)
            counts["error_count"] += 1
            errors.append(
                ImportRowError(
                    batch=batch,
                    row_number=number,
                    column=detail.field or "",
                    message=detail.message,
                )
            )
        else:
            assert isinstance(detail, str)
            counts[detail] += 1
        counts["processed_rows"] += 1
    return counts, errors


def _import_chunk_row_by_row(
    *,
    batch: ImportBatch,
    parsed: list[tuple[int, EnrollmentInput | None, str, ApplicationError | None]],
    known: dict[str, tuple[int | None, int | None]],
    counts: dict[str, int],
    context: SubmitContext,
) -> None:
    """One chunk of rows, one savepoint per row (the fallback of ``_import_chunk``)."""
    errors: list[ImportRowError] = []
    seen: set[str] = set()  # rows of this chunk imported or counted
    for number, data, reference, problem in parsed:
        try:
            if problem is not None:
                raise problem
            assert data is not None
            fingerprint = submission_fingerprint(data, reference)
            if fingerprint in seen:  # the same row earlier in this chunk
                counts["duplicate_count"] += 1
            elif fingerprint in known:  # stored before this chunk
                counts[_stored_count_key(batch, number, known[fingerprint])] += 1
            else:
                try:
                    with transaction.atomic():  # the row's savepoint
                        partner_enrollment_submit(
                            partner=batch.partner,
                            data=data,
                            channel=Enrollment.Channel.IMPORTER,
                            reference=reference,
                            actor=batch.uploaded_by,
                            batch=batch,
                            row_number=number,
                            row_fingerprint=fingerprint,
                            context=context,
                        )
                except IntegrityError:
                    # the same row committed by a concurrent batch of this partner
                    context.forget_esiid(data.esiid)
                    counts["duplicate_count"] += 1
                else:
                    counts["created_count"] += 1
            seen.add(fingerprint)
        except ApplicationError as exc:
            counts["error_count"] += 1
            errors.append(
                ImportRowError(
                    batch=batch, row_number=number, column=exc.field or "", message=exc.message
                )
            )
        counts["processed_rows"] += 1
    if errors:
        ImportRowError.objects.bulk_create(errors)


def import_batch_fail(*, batch_id: int, reason: str) -> None:
    ImportBatch.objects.filter(pk=batch_id).exclude(state=ImportBatch.State.DONE).update(
        state=ImportBatch.State.FAILED, failure=reason[:500], finished_at=timezone.now()
    )


# --- rescission and cancel ---------------------------------------------------------------


@transaction.atomic
def partner_enrollment_cancel(
    *, partner: Partner, enrollment: Enrollment, reason: str = ""
) -> Enrollment:
    """The customer's rescission, asked by the partner that enrolled them: enrollments' one
    rule (``enrollment_rescind``). The API reports an enrollment the billing system has not
    acknowledged yet as ``cancelled``, later ones as ``rescinded``; after the deadline it
    answers ``rescission_over`` with the deadline in the message (its published contract)."""
    if not PartnerEnrollment.objects.filter(partner=partner, enrollment=enrollment).exists():
        raise Enrollment.DoesNotExist
    try:
        return enrollment_rescind(
            enrollment=enrollment,
            source=f"api:{partner.code}"[:40],
            note=reason[:500],
            submitted_becomes=Enrollment.Status.CANCELLED,
        )
    except RescissionClosed as exc:
        ended = f" on {exc.deadline:%Y-%m-%d}" if exc.deadline else ""
        raise ApplicationError(
            f"The rescission period ended{ended}; ask the customer to drop service instead.",
            code="rescission_over",
        ) from exc


# --- demand-response programs (aggregators) ----------------------------------------------


@dataclass(frozen=True)
class AggregatorDevice:
    """A device as an aggregator names it: by codes, not database ids."""

    asset_type_code: str
    serial_number: str
    network_address: str
    installation_method: str = "byo"
    ownership: str = "customer"
    specification_code: str = ""


def _device_inputs(devices: list[AggregatorDevice]) -> list[DeviceInput]:
    types = {t.code: t.pk for t in ControllableAssetType.objects.all()}
    specs = {s.code: s.pk for s in DeviceSpecification.objects.all()}
    out = []
    for n, device in enumerate(devices):
        if device.asset_type_code not in types:
            raise ApplicationError(
                f"Unknown device type {device.asset_type_code!r}.",
                field=f"devices.{n}.asset_type_code",
            )
        spec_id = None
        if device.specification_code:
            if device.specification_code not in specs:
                raise ApplicationError(
                    f"Unknown device model {device.specification_code!r}.",
                    field=f"devices.{n}.specification_code",
                )
            spec_id = specs[device.specification_code]
        out.append(
            DeviceInput(
                asset_type_id=types[device.asset_type_code],
                specification_id=spec_id,
                serial_number=device.serial_number,
                network_address=device.network_address,
                installation_method=device.installation_method,
                ownership=device.ownership,
            )
        )
    return out


@transaction.atomic
def partner_program_enrollment_create(
    *,
    partner: Partner,
    enrollment: Enrollment,
    program_code: str,
    devices: list[AggregatorDevice],
    partner_reference: str = "",
    installation_date: date | None = None,
) -> ProgramEnrollment:
    """Enroll the devices of a customer this partner brought in a program (the programs
    app's one enroll service: eligibility, entity groups, work orders, DERMS outbox) and
    record the partner. ``enrollment`` must be the partner's own (see
    ``selectors.partner_customer_enrollment``)."""
    if not PartnerEnrollment.objects.filter(partner=partner, enrollment=enrollment).exists():
        raise Enrollment.DoesNotExist
    if enrollment.status not in Enrollment.OPEN_STATUSES:
        raise ApplicationError(
            f"The customer's enrollment is {enrollment.get_status_display().lower()}; "
            "only customers we serve (or are about to) can join a program.",
            code="customer_not_served",
        )
    program = Program.objects.filter(code=program_code, active=True).first()
    if program is None:
        raise ApplicationError("Unknown program.", field="program_code")
    program_enrollment = program_enrollment_create(
        customer=enrollment.customer,
        service_account=enrollment.service_account,
        program=program,
        devices=_device_inputs(devices),
        channel=ProgramEnrollment.Channel.API,
        channel_reference=partner_reference or f"partner:{partner.code}",
        installation_date=installation_date,
    )
    PartnerProgramEnrollment.objects.create(
        partner=partner,
        program_enrollment=program_enrollment,
        enrollment=enrollment,
        partner_reference=partner_reference[:80],
    )
    logger.info(
        "partners.program_enrollment.created",
        extra={"partner": partner.code, "program_enrollment": program_enrollment.pk},
    )
    return program_enrollment


@transaction.atomic
def partner_program_unenroll(
    *,
    partner: Partner,
    program_enrollment: ProgramEnrollment,
    removal_method: str,
    reason: str = "",
) -> ProgramEnrollment:
    """Unenroll a program enrollment this partner created (devices are de-registered)."""
    if not PartnerProgramEnrollment.objects.filter(
        partner=partner, program_enrollment=program_enrollment
    ).exists():
        raise ProgramEnrollment.DoesNotExist
    locked = ProgramEnrollment.objects.select_for_update().get(pk=program_enrollment.pk)
    if locked.status == ProgramEnrollment.Status.UNENROLLED:
        raise ApplicationError("This program enrollment has already ended.", code="bad_transition")
    return program_unenroll(enrollment=locked, removal_method=removal_method, reason=reason)
