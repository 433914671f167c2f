"""Ingest (COPY + upsert), aggregation in America/Chicago, and the source rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from enrollments.models import Enrollment
from usage.models import Bill, IntervalDay, UsageSyncState
from usage.selectors import (
    bills_for,
    previous_range,
    sync_state_for,
    usage_available_range,
    usage_for_chart,
)
from usage.services import DayRow, intervals_ingest
from usage.tests.factories import premise, smt_on

pytestmark = pytest.mark.django_db
CHI = ZoneInfo("America/Chicago")
D = Decimal
SPRING = date(2025, 3, 9)  # 92 intervals
FALL = date(2025, 11, 2)  # 100 intervals


def rev(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHI) + timedelta(days=1)


def row(sa, day, values, channel="C", estimated=None, revised=None) -> DayRow:
    return DayRow(
        service_account_id=sa.pk,
        channel=channel,
        day=day,
        values=values,
        estimated=estimated or [False] * len(values),
        revised_at=revised or rev(day),
    )


def flat(n, v="0.25"):
    return [D(v)] * n


def test_dst_days_hourly_buckets():
    sa = premise()
    smt_on()
    intervals_ingest(rows=[row(sa, SPRING, flat(92)), row(sa, FALL, flat(100))])
    spring = usage_for_chart(service_account=sa, period="hourly", start=SPRING, end=SPRING)
    assert spring.source == "smt"
    assert len(spring.points) == 23
    assert [p.start.hour for p in spring.points[:3]] == [0, 1, 3]  # no 02:00 that day
    assert all(p.consumption_kwh == D("1.0000") for p in spring.points)
    fall = usage_for_chart(service_account=sa, period="hourly", start=FALL, end=FALL)
    assert len(fall.points) == 25
    ones = [p for p in fall.points if p.start.hour == 1]
    assert len(ones) == 2 and ones[0].start.fold == 0 and ones[1].start.fold == 1
    assert ones[0].start.utcoffset() == timedelta(hours=-5)
    assert ones[1].start.utcoffset() == timedelta(hours=-6)
    daily = usage_for_chart(service_account=sa, period="daily", start=SPRING, end=FALL)
    assert [(p.start.date(), p.consumption_kwh) for p in daily.points] == [
        (SPRING, D("23.0000")),
        (FALL, D("25.0000")),
    ]
    stored = {r.day: r for r in IntervalDay.objects.filter(service_account=sa)}
    assert (len(stored[SPRING].kwh), len(stored[FALL].kwh)) == (92, 100)


def test_missing_intervals_are_null_and_counted():
    sa = premise()
    smt_on()
    day = date(2025, 6, 10)
    values = flat(96, "0.5")
    values[4] = None
    intervals_ingest(rows=[row(sa, day, values[:90])])  # 6 lost at the end, 1 in the middle
    stored = IntervalDay.objects.get(service_account=sa, day=day, channel="C")
    assert len(stored.kwh) == 96
    assert stored.missing_count == 7
    assert stored.flags[4] == "-" and stored.flags[90:] == "------"
    assert stored.total_kwh == D("44.5000")  # 89 * 0.5
    hourly = usage_for_chart(service_account=sa, period="hourly", start=day, end=day).points
    assert len(hourly) == 23  # positions 90..95 (22:30..23:45) lost: hour 23 is gone
    assert hourly[1].consumption_kwh == D("1.5000")  # 01:00 lost one quarter
    assert hourly[-1].start.hour == 22 and hourly[-1].consumption_kwh == D("1.0000")


def test_revisions_newest_wins_older_ignored():
    sa = premise()
    smt_on()
    day = date(2025, 6, 10)
    intervals_ingest(rows=[row(sa, day, flat(96, "0.1"), revised=rev(day, 12))])
    written = intervals_ingest(rows=[row(sa, day, flat(96, "0.2"), revised=rev(day, 23))])
    assert written == 1
    late_old = intervals_ingest(rows=[row(sa, day, flat(96, "0.9"), revised=rev(day, 1))])
    assert late_old == 0
    stored = IntervalDay.objects.get(service_account=sa, day=day, channel="C")
    assert stored.total_kwh == D("19.2000") and stored.revised_at == rev(day, 23)
    # two revisions of one day in the same batch: the newest one is kept
    intervals_ingest(
        rows=[
            row(sa, day, flat(96, "0.4"), revised=rev(day, 23) + timedelta(days=2)),
            row(sa, day, flat(96, "0.3"), revised=rev(day, 23) + timedelta(days=1)),
        ]
    )
    stored.refresh_from_db()
    assert stored.total_kwh == D("38.4000")


def test_estimated_flags_and_both_channels():
    sa = premise()
    smt_on()
    day = date(2025, 7, 1)
    est = [False] * 96
    est[50] = True
    gen = [D("0")] * 40 + [D("0.3")] * 16 + [D("0")] * 40
    intervals_ingest(
        rows=[row(sa, day, flat(96, "0.5"), estimated=est), row(sa, day, gen, channel="G")]
    )
    hourly = usage_for_chart(service_account=sa, period="hourly", start=day, end=day)
    assert hourly.has_generation is True
    assert [p.start.hour for p in hourly.points if p.estimated] == [12]  # interval 50 = 12:30
    noon = hourly.points[12]
    assert (noon.consumption_kwh, noon.generation_kwh, noon.net_kwh) == (
        D("2.0000"),
        D("1.2000"),
        D("0.8000"),
    )
    daily = usage_for_chart(service_account=sa, period="daily", start=day, end=day).points
    assert (daily[0].consumption_kwh, daily[0].generation_kwh, daily[0].estimated) == (
        D("48.0000"),
        D("4.8000"),
        True,
    )
    stored = IntervalDay.objects.get(service_account=sa, day=day, channel="C")
    assert stored.estimated_count == 1 and stored.flags[50] == "E"


def test_monthly_mwh_and_compare_previous():
    sa = premise()
    smt_on()
    rows = []
    for month, v in ((1, "0.5"), (2, "1.0"), (3, "0.25")):
        rows.append(row(sa, date(2026, month, 15), flat(96, v)))
    rows.append(row(sa, date(2025, 12, 31), flat(96, "2.0")))
    intervals_ingest(rows=rows)
    result = usage_for_chart(
        service_account=sa,
        period="monthly",
        start=date(2026, 2, 1),
        end=date(2026, 3, 31),
        compare_previous=True,
        unit="MWh",
    )
    assert result.unit == "MWh"
    assert [(p.start.date(), p.consumption_kwh) for p in result.points] == [
        (date(2026, 2, 1), D("0.096")),
        (date(2026, 3, 1), D("0.024")),
    ]
    assert [(p.start.date(), p.consumption_kwh) for p in result.previous] == [
        (date(2025, 12, 1), D("0.192")),
        (date(2026, 1, 1), D("0.048")),
    ]
    assert previous_range(period="daily", start=date(2026, 3, 1), end=date(2026, 3, 31)) == (
        date(2026, 1, 29),
        date(2026, 2, 28),
    )
    assert usage_available_range(service_account=sa) == (date(2025, 12, 31), date(2026, 3, 15))


def _bills(sa):
    Bill.objects.create(
        service_account=sa,
        period_start=date(2026, 9, 1),
        period_end=date(2026, 9, 30),
        kwh=D("1200.000"),
        amount=D("170.55"),
        due_date=date(2026, 10, 21),
        paid=True,
    )
    Bill.objects.create(
        service_account=sa,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        kwh=D("900.500"),
        amount=D("135.12"),
        due_date=date(2026, 11, 21),
        paid=False,
    )


def test_source_rule_smt_disabled_is_billing():
    sa = premise()
    _bills(sa)
    intervals_ingest(rows=[row(sa, date(2026, 10, 5), flat(96))])
    result = usage_for_chart(
        service_account=sa, period="daily", start=date(2026, 9, 1), end=date(2026, 10, 31)
    )
    assert result.source == "billing"
    assert result.reason == "Showing billing data: Smart Meter Texas usage is not enabled."
    assert [(p.start.date(), p.consumption_kwh) for p in result.points] == [
        (date(2026, 9, 1), D("1200.000")),
        (date(2026, 10, 1), D("900.500")),
    ]
    assert result.data_through == date(2026, 10, 31)
    assert [b.period_start for b in bills_for(service_account=sa)] == [
        date(2026, 10, 1),
        date(2026, 9, 1),
    ]


def test_source_rule_non_ercot_or_inactive_is_billing():
    smt_on()
    for sa in (
        premise(market="PJM", esiid="PECO123456"),
        # accepted: the switch has not completed, the premise is not ours yet
        premise(status=Enrollment.Status.ACCEPTED, esiid="1008901000000000000001"),
    ):
        intervals_ingest(rows=[row(sa, date(2026, 10, 5), flat(96))])
        result = usage_for_chart(
            service_account=sa, period="daily", start=date(2026, 10, 1), end=date(2026, 10, 31)
        )
        assert result.source == "billing"
        assert "only used for active ERCOT premises" in result.reason


def test_history_stays_on_smt_after_service_ended():
    smt_on()
    sa = premise(status=Enrollment.Status.DROPPED)
    intervals_ingest(rows=[row(sa, date(2026, 10, 5), flat(96))])
    result = usage_for_chart(
        service_account=sa, period="daily", start=date(2026, 10, 1), end=date(2026, 10, 31)
    )
    assert result.source == "smt"
    assert [p.consumption_kwh for p in result.points] == [D("24.0000")]


def test_source_rule_no_data_and_failure_fall_back():
    smt_on()
    sa = premise()
    _bills(sa)
    args = {
        "service_account": sa,
        "period": "daily",
        "start": date(2026, 10, 1),
        "end": date(2026, 10, 31),
    }
    first = usage_for_chart(**args)
    assert (first.source, first.reason) == (
        "billing",
        "Showing billing data: Smart Meter Texas data has not arrived yet.",
    )
    UsageSyncState.objects.create(
        service_account=sa,
        last_error="TransientIntegrationError: SMT answered 503",
        consecutive_failures=2,
    )
    failed = usage_for_chart(**args)
    assert failed.reason == "Showing billing data: Smart Meter Texas is unavailable."
    assert [p.consumption_kwh for p in failed.points] == [D("900.500")]
    UsageSyncState.objects.filter(service_account=sa).update(
        last_error="", consecutive_failures=0, last_success_at=datetime(2026, 11, 1, tzinfo=CHI)
    )
    empty = usage_for_chart(**args)
    assert (
        empty.reason == "Showing billing data: Smart Meter Texas has no usage data for this period."
    )
    intervals_ingest(rows=[row(sa, date(2026, 10, 5), flat(96))])
    UsageSyncState.objects.filter(service_account=sa).update(data_through=date(2026, 10, 5))
    smt = usage_for_chart(**args)
    assert (smt.source, smt.data_through) == ("smt", date(2026, 10, 5))
    assert smt.reason == "Showing Smart Meter Texas interval data through October 5, 2026."
    assert sync_state_for(service_account=sa).data_through == date(2026, 10, 5)


def test_active_smt_premises_for_the_daily_refresh():
    from usage.selectors import active_smt_service_account_ids

    premise(status=Enrollment.Status.DROPPED, esiid="1008901000000000000003")
    active = premise()
    premise(status=Enrollment.Status.ACCEPTED, esiid="1008901000000000000002")
    premise(market="PJM", esiid="PECO999")
    # only premises we serve now: not before service starts, not after it ended
    assert active_smt_service_account_ids() == [active.pk]


def test_savepoint_keeps_a_callers_transaction_usable():
    from django.db import transaction

    sa = premise()
    smt_on()
    intervals_ingest(rows=[row(sa, date(2026, 10, 5), flat(96))])
    with transaction.atomic():
        result = usage_for_chart(
            service_account=sa, period="daily", start=date(2026, 10, 5), end=date(2026, 10, 5)
        )
        assert result.points[0].consumption_kwh == D("24.0000")
        assert Bill.objects.count() == 0  # the transaction still answers
