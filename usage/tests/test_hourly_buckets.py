"""The hourly aggregate's buckets (whole hours from the local midnight) are the local hours
date_trunc(..., 'America/Chicago') gives, on DST days too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from myaccount.tests.factories import portal_customer
from usage.models import intervals_in_day
from usage.selectors import HOURLY_SQL
from usage.services import DayRow, intervals_ingest

pytestmark = pytest.mark.django_db

DATE_TRUNC_SQL = HOURLY_SQL.replace(
    "d.day_start + ((u.i - 1) / 4) * interval '1 hour' AS bucket",
    "date_trunc('hour', d.day_start + (u.i - 1) * interval '15 minutes', 'America/Chicago') "
    "AS bucket",
)


def test_hourly_buckets_match_date_trunc_in_chicago_across_both_dst_changes():
    assert DATE_TRUNC_SQL != HOURLY_SQL
    account = portal_customer(first_name="Dst").account
    days = [date(2024, 3, 9), date(2024, 3, 10), date(2024, 3, 11), date(2024, 11, 3)]
    revised = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for day in days:
        n = intervals_in_day(day)
        values = [Decimal(f"{0.01 * (i % 17) + 0.1:.3f}") for i in range(n)]
        flags = [i % 9 == 0 for i in range(n)]
        rows.append(DayRow(account.pk, "C", day, values, flags, revised))
    intervals_ingest(rows=rows)
    with connection.cursor() as cursor:
        cursor.execute(HOURLY_SQL, [account.pk, days[0], days[-1]])
        ours = cursor.fetchall()
        cursor.execute(DATE_TRUNC_SQL, [account.pk, days[0], days[-1]])
        theirs = cursor.fetchall()
    assert ours == theirs
    assert len(ours) == 24 + 23 + 24 + 25  # spring forward has 23 hours, fall back 25
    starts = [b for b, *_ in ours]
    assert len(set(starts)) == len(starts)  # the fall-back day's two 01:00 hours stay apart
    # March 9-11 are 71 consecutive elapsed hours across the spring-forward gap
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts[:70], starts[1:71], strict=True))
