"""Verbs of usage: store SMT intervals in bulk, pull one premise from SMT, store bills.

Usage owns the Smart Meter Texas adapter (``usage/adapters/smt.py``): other apps reach SMT
only through :func:`smt_session` and the port types re-exported here (an import-linter
contract keeps it so).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from enrollments.models import ServiceAccount
from opsadmin import clock
from opsadmin.errors import IntegrationError
from usage.adapters.smt import (
    Agreement,
    IntervalDayRecord,
    MonthlyRead,
    SmtAgreementPort,
    SmtClient,
    SmtPort,
    smt_client,
    smt_config,
)
from usage.models import (
    Bill,
    IntervalDay,
    UsageSyncState,
    intervals_in_day,
    local_day_start,
)

logger = logging.getLogger(__name__)

HISTORY_DAYS = 730  # SMT keeps 24 months of interval history
REFRESH_OVERLAP_DAYS = 4  # re-read recent days: TDSPs revise them after the first post


def smt_enabled() -> bool:
    """Smart Meter Texas is configured (Configuration > Third Party Providers)."""
    return smt_config() is not None


@contextlib.contextmanager
def smt_session() -> Iterator[SmtClient]:
    """One SMT connection (both the usage and the agreement ports), closed at the end of the
    block: ``with smt_session() as smt: agreement_check(..., client=smt)``."""
    with smt_client() as client:
        yield client


@dataclass(frozen=True)
class DayRow:
    """One row of the interval store, ready for COPY."""

    service_account_id: int
    channel: str
    day: date
    values: Sequence[Decimal | None]
    estimated: Sequence[bool]
    revised_at: datetime


@dataclass(frozen=True)
class SyncResult:
    service_account_id: int
    days_stored: int
    data_through: date | None


COLUMNS = (
    "service_account_id",
    "channel",
    "day",
    "day_start",
    "kwh",
    "flags",
    "total_kwh",
    "estimated_count",
    "missing_count",
    "revised_at",
    "ingested_at",
)


def copy_tuples(rows: Iterable[DayRow], *, now: datetime) -> Iterable[tuple]:
    """Rows as COPY tuples: fixed-length arrays for the day (92/96/100), NULL where missing."""
    for row in rows:
        n = intervals_in_day(row.day)
        values = list(row.values[:n])
        if len(values) < n:
            values.extend([None] * (n - len(values)))
        flags = []
        total = Decimal("0")
        estimated = missing = 0
        for i, value in enumerate(values):
            if value is None:
                flags.append("-")
                missing += 1
            elif i < len(row.estimated) and row.estimated[i]:
                flags.append("E")
                estimated += 1
                total += value
            else:
                flags.append("A")
                total += value
        yield (
            row.service_account_id,
            row.channel,
            row.day,
            local_day_start(row.day),
            values,
            "".join(flags),
            total,
            estimated,
            missing,
            row.revised_at,
            now,
        )


_STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS usage_stage (
    service_account_id bigint, channel varchar(1), day date, day_start timestamptz,
    kwh numeric(10,4)[], flags varchar(100), total_kwh numeric(12,4),
    estimated_count smallint, missing_count smallint, revised_at timestamptz,
    ingested_at timestamptz
) ON COMMIT DELETE ROWS
"""

# DISTINCT ON keeps the newest revision inside one batch; the WHERE keeps the newest
# revision against what is stored (an older revision arriving late changes nothing).
_UPSERT_SQL = """
INSERT INTO usage_intervalday (service_account_id, channel, day, day_start, kwh, flags, total_kwh, estimated_count, missing_count, revised_at, ingested_at)
SELECT DISTINCT ON (service_account_id, channel, day)
    service_account_id, channel, day, day_start, kwh, flags, total_kwh, estimated_count, missing_count, revised_at, ingested_at
FROM usage_stage
ORDER BY service_account_id, channel, day, revised_at DESC
ON CONFLICT (service_account_id, channel, day) DO UPDATE SET
    day_start = EXCLUDED.day_start, kwh = EXCLUDED.kwh, flags = EXCLUDED.flags,
    total_kwh = EXCLUDED.total_kwh, estimated_count = EXCLUDED.estimated_count,
    missing_count = EXCLUDED.missing_count, revised_at = EXCLUDED.revised_at,
    ingested_at = EXCLUDED.ingested_at
WHERE EXCLUDED.revised_at >= usage_intervalday.revised_at
"""


@transaction.atomic
def intervals_ingest(*, rows: Iterable[DayRow]) -> int:
    """Store day rows in bulk: COPY into a staging table, then one upsert (newest revision
    wins). Returns how many stored rows were written (inserted or replaced)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_SQL)
        with cursor.copy(f"COPY usage_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for values in copy_tuples(rows, now=now):
                copy.write_row(values)
        cursor.execute(_UPSERT_SQL)
        written = cursor.rowcount
        cursor.execute("DELETE FROM usage_stage")
    return written


def rows_from_records(
    *, service_account_id: int, records: Iterable[IntervalDayRecord]
) -> list[DayRow]:
    return [
        DayRow(
            service_account_id=service_account_id,
            channel=r.channel,
            day=r.day,
            values=r.values,
            estimated=r.estimated,
            revised_at=r.revised_at,
        )
        for r in records
    ]


today_chicago = clock.today  # the market day (one rule, opsadmin.clock)


def _state(service_account: ServiceAccount) -> UsageSyncState:
    state, _ = UsageSyncState.objects.get_or_create(service_account=service_account)
    return state


def smt_pull_window(*, service_account: ServiceAccount, full: bool = False) -> tuple[date, date]:
    """Which days to ask SMT for: 24 months on the first pull, else from a few days before
    the data we hold (recent days are revised) to yesterday (SMT lags a day)."""
    end = today_chicago() - timedelta(days=1)
    earliest = end - timedelta(days=HISTORY_DAYS - 1)
    state = UsageSyncState.objects.filter(service_account=service_account).first()
    if full or state is None or state.data_through is None:
        return earliest, end
    return max(earliest, state.data_through - timedelta(days=REFRESH_OVERLAP_DAYS)), end


def smt_sync(
    *,
    service_account: ServiceAccount,
    client: SmtPort,
    start: date | None = None,
    end: date | None = None,
) -> SyncResult:
    """Pull intervals (both channels) for one premise and store them; record the outcome.

    Integration errors are recorded on the sync state and re-raised (the task retries the
    transient ones).
    """
    if start is None or end is None:
        start, end = smt_pull_window(service_account=service_account)
    now = timezone.now()
    UsageSyncState.objects.get_or_create(service_account=service_account)
    UsageSyncState.objects.filter(service_account=service_account).update(last_attempt_at=now)
    try:
        records = client.interval_reads(esiid=service_account.esiid, start=start, end=end)
    except IntegrationError as exc:
        _record_failure(service_account, exc)
        raise
    records = [r for r in records if r.esiid == service_account.esiid]
    written = intervals_ingest(
        rows=rows_from_records(service_account_id=service_account.pk, records=records)
    )
    with transaction.atomic():
        state = UsageSyncState.objects.select_for_update().get(service_account=service_account)
        if records:
            through = max(r.day for r in records)
            first = min(r.day for r in records)
            state.data_through = max(state.data_through or through, through)
            state.data_from = min(state.data_from or first, first)
        state.last_success_at = timezone.now()
        state.last_error = ""
        state.consecutive_failures = 0
        state.last_rows = written
        state.save()
    logger.info(
        "usage.smt_synced",
        extra={
            "service_account_id": service_account.pk,
            "days": len(records),
            "written": written,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    return SyncResult(service_account.pk, written, state.data_through)


def _record_failure(service_account: ServiceAccount, exc: Exception) -> None:
    state = _state(service_account)
    state.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
    state.last_error_at = timezone.now()
    state.consecutive_failures += 1
    state.save(update_fields=["last_error", "last_error_at", "consecutive_failures"])
    logger.warning(
        "usage.smt_sync_failed",
        extra={"service_account_id": service_account.pk, "error": state.last_error},
    )


@dataclass(frozen=True)
class BillInput:
    period_start: date
    period_end: date
    kwh: Decimal
    amount: Decimal
    due_date: date | None
    paid: bool


@transaction.atomic
def bills_store(*, service_account: ServiceAccount, bills: Iterable[BillInput]) -> int:
    """Upsert the billing system's bill history for a premise (keyed by period start)."""
    count = 0
    for bill in bills:
        Bill.objects.update_or_create(
            service_account=service_account,
            period_start=bill.period_start,
            defaults={
                "period_end": bill.period_end,
                "kwh": bill.kwh,
                "amount": bill.amount,
                "due_date": bill.due_date,
                "paid": bill.paid,
            },
        )
        count += 1
    state = _state(service_account)
    state.bills_fetched_at = timezone.now()
    state.bills_error = ""
    state.save(update_fields=["bills_fetched_at", "bills_error"])
    return count


def bills_record_failure(*, service_account: ServiceAccount, error: str) -> None:
    state = _state(service_account)
    state.bills_error = error[:1000]
    state.save(update_fields=["bills_error"])


__all__ = [
    "DayRow",
    "IntervalDay",
    "intervals_ingest",
    "smt_sync",
    "bills_store",
    # the SMT façade other apps use (usage owns the adapter)
    "Agreement",
    "MonthlyRead",
    "SmtAgreementPort",
    "SmtPort",
    "smt_enabled",
    "smt_session",
]


# --- projected-bill email alerts ------------------------------------------------------------


@transaction.atomic
def bill_alert_set(*, service_account: ServiceAccount, threshold: Decimal | None):
    """Opt in (or change the amount) for the projected-bill email; ``None`` opts out. A new
    amount may alert again in the same cycle; the same amount does not."""
    from usage.models import BillAlert

    alert = BillAlert.objects.select_for_update().filter(service_account=service_account).first()
    if threshold is None:
        if alert is not None and alert.active:
            alert.active = False
            alert.save(update_fields=["active", "updated_at"])
        return alert
    if alert is None:
        alert = BillAlert.objects.create(service_account=service_account, threshold=threshold)
    elif alert.threshold != threshold or not alert.active:
        if alert.threshold != threshold:
            alert.last_sent_cycle_start = None
        alert.threshold = threshold
        alert.active = True
        alert.save(update_fields=["threshold", "active", "last_sent_cycle_start", "updated_at"])
    logger.info(
        "usage.bill_alert.set",
        extra={"service_account_id": service_account.pk, "threshold": str(threshold)},
    )
    return alert


def bill_alerts_send(*, today: date | None = None) -> int:
    """Email each opted-in customer whose projected bill for the open cycle passed their
    amount, once per cycle (the row is locked while its email goes out, so two runs never
    both send). Returns how many emails were sent."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from usage.models import BillAlert
    from usage.projection import bill_projection

    if today is None:
        today = clock.today()
    sent = 0
    ids = list(BillAlert.objects.filter(active=True).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            alert = (
                BillAlert.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("service_account__customer")
                .filter(pk=pk, active=True)
                .first()
            )
            if alert is None:
                continue
            customer = alert.service_account.customer
            if not customer.email:
                continue
            # In the customer's document language (PUCT Subst. R. 25.473): the projection's
            # assumptions are worded in the active language.
            with translation.override(customer.language or "en"):
                projection = bill_projection(service_account=alert.service_account, today=today)
                if projection is None or projection.projected_bill <= alert.threshold:
                    continue
                if alert.last_sent_cycle_start == projection.cycle.start:
                    continue  # already told this cycle
                context = {"projection": projection, "alert": alert, "customer": customer}
                subject = gettext("Your projected bill is $%(amount)s") % {
                    "amount": projection.projected_bill
                }
                message = render_to_string("usage/email/bill_alert.txt", context)
            send_mail(
                subject=subject,
                message=message,
                from_email=None,
                recipient_list=[customer.email],
            )
            alert.last_sent_cycle_start = projection.cycle.start
            alert.last_sent_at = timezone.now()
            alert.last_sent_amount = projection.projected_bill
            alert.save(update_fields=["last_sent_cycle_start", "last_sent_at", "last_sent_amount"])
            sent += 1
            logger.info(
                "usage.bill_alert.sent",
                extra={
                    "service_account_id": alert.service_account_id,
                    "cycle": str(projection.cycle.start),
                },
            )
    return sent
