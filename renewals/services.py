"""Verbs of renewals: schedule notices for expiring contracts, send the due ones, exports."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from enrollments.models import Customer, Enrollment, Plan
from notices.services import letter_queue_add, notice_email_send, notice_render
from opsadmin.errors import ApplicationError
from renewals.export import write_renewal_export
from renewals.models import RenewalExport, RenewalNotice, RenewalSetup
from renewals.schedule import notice_dates
from renewals.selectors import RenewalFilters, renewal_notice_rows, renewal_notices

logger = logging.getLogger(__name__)

# Contracts being served (service started: the contract end is known) get notices; anything
# else is cancelled.
NOTICE_STATUSES = (Enrollment.Status.ACTIVE,)
LETTER_SUBJECT = "renewal_notice"


def dates_for(*, enrollment: Enrollment, setup: RenewalSetup) -> list[date]:
    end_date = enrollment.contract_end_date
    if end_date is None:  # no contract end, nothing to renew
        return []
    plan = enrollment.plan
    return notice_dates(
        end_date=end_date,
        term_months=plan.term_months,
        start_date=enrollment.contract_start_date,
        fixed_rate=plan.rate_type == Plan.RateType.FIXED,
        count=setup.notice_count,
        final_days=setup.final_notice_days,
        short_term_months=setup.short_term_months,
        short_final_days=setup.short_term_final_notice_days,
        variable_days=setup.variable_notice_days,
    )


@transaction.atomic
def renewal_notices_schedule(*, today: date) -> int:
    """Create the notices of every contract ending within the look-ahead that has none yet.

    Idempotent (one row per enrollment, contract end date and sequence). Returns how many
    notices were created.
    """
    setup = RenewalSetup.load()
    already = RenewalNotice.objects.filter(
        enrollment=OuterRef("pk"), contract_end_date=OuterRef("contract_end_date")
    )
    expiring = (
        Enrollment.objects.filter(
            status__in=NOTICE_STATUSES,
            contract_end_date__gt=today,
            contract_end_date__lte=today + timedelta(days=setup.lookahead_days),
        )
        .filter(~Exists(already))
        .select_related("customer", "plan__renewal_plan")
        .order_by("pk")
    )
    created = 0
    batch: list[RenewalNotice] = []
    for enrollment in expiring.iterator(chunk_size=1000):
        end_date = enrollment.contract_end_date
        if end_date is None:  # excluded by the filter; narrows the type
            continue
        plan = enrollment.plan
        for sequence, day in enumerate(dates_for(enrollment=enrollment, setup=setup), start=1):
            batch.append(
                RenewalNotice(
                    enrollment=enrollment,
                    contract_end_date=end_date,
                    sequence=sequence,
                    scheduled_for=day,
                    channel=enrollment.customer.notice_preference,
                    current_plan_code=plan.code,
                    default_plan_code=plan.renewal_plan.code if plan.renewal_plan else "",
                )
            )
        if len(batch) >= 3000:
            created += len(RenewalNotice.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        created += len(RenewalNotice.objects.bulk_create(batch, ignore_conflicts=True))
    logger.info(
        "renewals.scheduled", extra={"notices_created": created, "today": today.isoformat()}
    )
    return created


def _address_lines(customer: Customer) -> list[str]:
    return [
        customer.billing_address_line1,
        getattr(customer, "billing_address_line2", ""),
        f"{customer.billing_city}, {customer.billing_state} {customer.billing_zip}".strip(", "),
    ]


def renewal_notice_dispatch(*, notice_id: int, setup: RenewalSetup | None = None) -> str:
    """Send one due notice: email now, or put the letter in the letter queue.

    Locks the row (skip if another worker has it) so a notice is never sent twice. The channel
    is the customer's preference at the time of sending. Returns the resulting status.
    """
    setup = setup or RenewalSetup.load()
    with transaction.atomic():
        notice = (
            RenewalNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "enrollment__customer",
                "enrollment__plan__renewal_plan",
                "enrollment__service_account__utility",
            )
            .filter(pk=notice_id, status=RenewalNotice.Status.SCHEDULED)
            .first()
        )
        if notice is None:
            return "skipped"
        enrollment = notice.enrollment
        if (
            enrollment.status not in NOTICE_STATUSES
            or enrollment.contract_end_date != notice.contract_end_date
        ):
            notice.status = RenewalNotice.Status.CANCELLED
            notice.save(update_fields=["status"])
            return notice.status
        customer = enrollment.customer
        notice.channel = customer.notice_preference
        template = (
            setup.email_template
            if notice.channel == RenewalNotice.Channel.EMAIL
            else setup.letter_template
        )
        notice.attempts += 1
        try:
            if template is None:
                raise ApplicationError(f"No {notice.get_channel_display().lower()} template set.")
            rendered = notice_render(
                template=template, record=enrollment, language=customer.language
            )
            notice.language = rendered.language
            notice.language_fallback_from = rendered.fallback_from
            if notice.channel == RenewalNotice.Channel.EMAIL:
                notice_email_send(rendered=rendered, to=customer.email)
                notice.status = RenewalNotice.Status.SENT
                notice.sent = True
                notice.sent_at = timezone.now()
            else:
                notice.letter = letter_queue_add(
                    template=template,
                    rendered=rendered,
                    subject_type=LETTER_SUBJECT,
                    subject_id=notice.pk,
                    recipient_name=customer.display_name,
                    address_lines=_address_lines(customer),
                )
                notice.status = RenewalNotice.Status.QUEUED
            notice.last_error = ""
        except Exception as exc:  # noqa: BLE001  kept scheduled; tomorrow's run retries it
            notice.last_error = f"{type(exc).__name__}: {exc}"[:500]
            logger.warning(
                "renewals.dispatch_failed",
                extra={"notice_id": notice.pk, "error": type(exc).__name__},
            )
        notice.save()
        return notice.status


def renewal_notices_send_due(*, today: date) -> dict[str, int]:
    """Dispatch every scheduled notice whose date has come (late ones included)."""
    setup = RenewalSetup.load()
    due = RenewalNotice.objects.filter(
        status=RenewalNotice.Status.SCHEDULED, scheduled_for__lte=today
    ).values_list("pk", flat=True)
    counts: dict[str, int] = {}
    for notice_id in list(due.order_by("scheduled_for", "pk")):
        status = renewal_notice_dispatch(notice_id=notice_id, setup=setup)
        counts[status] = counts.get(status, 0) + 1
    logger.info("renewals.sent_due", extra={"today": today.isoformat(), **counts})
    return counts


def renewal_letter_mailed(subject_id: int, mailed_at: datetime) -> None:
    """notices tells us a renewal letter was printed and mailed: the notice is sent."""
    RenewalNotice.objects.filter(pk=subject_id).update(
        status=RenewalNotice.Status.SENT, sent=True, sent_at=mailed_at
    )


# --- exports -----------------------------------------------------------------------------
# At most this many rows are built in the request; more go to a Celery task with progress.
SYNC_EXPORT_MAX_ROWS = 5000


def export_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "renewal_exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def renewal_export_request(*, filters: RenewalFilters, user=None) -> RenewalExport:
    """Record a large export and queue its task after commit."""
    export = RenewalExport.objects.create(
        requested_by=user if getattr(user, "pk", None) else None,
        filters=filters.to_json(),
        total=renewal_notices(filters=filters).count(),
    )
    from renewals.tasks import renewal_export_build

    transaction.on_commit(lambda: renewal_export_build.delay(export.pk))
    return export


def renewal_export_build(*, export_id: int) -> RenewalExport:
    """Write the export's file, saving progress as it goes."""
    export = RenewalExport.objects.get(pk=export_id)
    if export.state == RenewalExport.State.DONE:
        return export
    filters = RenewalFilters.from_json(export.filters)
    RenewalExport.objects.filter(pk=export.pk).update(
        state=RenewalExport.State.RUNNING,
        total=renewal_notices(filters=filters).count(),
        done=0,
    )
    relative = f"renewal_exports/renewal-notices-{export.pk}.xlsx"
    target = export_dir() / f"renewal-notices-{export.pk}.xlsx"

    def progress(done: int) -> None:
        RenewalExport.objects.filter(pk=export.pk).update(done=done)

    try:
        count = write_renewal_export(
            rows=renewal_notice_rows(filters=filters), out=str(target), progress=progress
        )
    except Exception as exc:
        RenewalExport.objects.filter(pk=export.pk).update(
            state=RenewalExport.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:500]
        )
        raise
    RenewalExport.objects.filter(pk=export.pk).update(
        state=RenewalExport.State.DONE,
        done=count,
        total=count,
        file_path=relative,
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    logger.info("renewals.export_done", extra={"export_id": export.pk, "rows": count})
    return export


# The Spanish contract expiration notice (PUCT Subst. R. 25.473 and 25.475(e)): staff may edit
# it under Notices like any template; seed_demo adds it next to the English defaults.
SPANISH_SUBJECT = "Aviso de vencimiento de contrato. Vea el documento adjunto."
SPANISH_BODY = """<p>Estimado/a [CUSTOMER_NAME]:</p>
<p>Su contrato de electricidad para [SERVICE_ADDRESS] (ESIID [ESIID]) con el plan [PLAN_NAME]
([PLAN_CODE]) vence el <strong><u>[CONTRACT_END_DATE]</u></strong>.</p>
<p>Si no hace nada, su servicio continúa con nuestro plan de renovación predeterminado
[RENEWAL_PLAN_NAME] ([RENEWAL_PLAN_CODE]); su Etiqueta de Datos de Electricidad se adjunta al
aviso final. No se cobra cargo por terminación anticipada si cambia de proveedor en los últimos
14 días de su contrato.</p>
<p>Para comparar, el precio de referencia de [UTILITY_NAME] es [UTILITY_PRICE_TO_COMPARE].</p>
<p>Número de cuenta de facturación: [BILLING_ACCOUNT_NUMBER]</p>
"""


@transaction.atomic
def renewal_templates_spanish_ensure() -> list:
    """Give the configured renewal email and letter templates a Spanish version when they
    have none (idempotent; an existing translation, edited by staff, is left alone)."""
    from notices.models import NoticeTemplate
    from notices.services import notice_template_save

    setup = RenewalSetup.load()
    made = []
    for base in (setup.email_template, setup.letter_template):
        if base is None or base.translations.filter(language="es").exists():
            continue
        letter = base.kind == NoticeTemplate.Kind.LETTER
        body = (f"<p><strong>{SPANISH_SUBJECT}</strong></p>\n" if letter else "") + SPANISH_BODY
        made.append(
            notice_template_save(
                template=NoticeTemplate(
                    code=f"{base.code}-es"[:60],
                    name=f"{base.name} (español)",
                    kind=base.kind,
                    record_kind=base.record_kind,
                    subject=SPANISH_SUBJECT,
                    body=body,
                    language="es",
                    translation_of=base,
                )
            )
        )
    return made
