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

# The reference: every interval on its own, bucketed by date_trunc in America/Chicago
# (written out in full, independent of how HOURLY_SQL groups its intervals).
DATE_TRUNC_SQL = """
SELECT date_trunc('hour', d.day_start + (u.i - 1) * interval '15 minutes', 'America/Chicago')
           AS bucket,
       coalesce(sum(u.v) FILTER (WHERE d.channel = 'C'), 0),
       coalesce(sum(u.v) FILTER (WHERE d.channel = 'G'), 0),
       bool_or(substr(d.flags, u.i::int, 1) = 'E')
FROM usage_intervalday d CROSS JOIN LATERAL unnest(d.kwh) WITH ORDINALITY AS u(v, i)
WHERE d.service_account_id = %s AND d.day BETWEEN %s AND %s AND u.v IS NOT NULL
GROUP BY 1 ORDER BY 1
"""


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
    # generation on the fall-back day, with missing intervals (one a whole hour's worth):
    # both channels meet in the same hour buckets, a missing value counts as nothing
    n = intervals_in_day(days[-1])
    gen = [None if i in (5, 8, 9, 10, 11) else Decimal(f"{0.002 * (i % 7):.3f}") for i in range(n)]
    rows.append(DayRow(account.pk, "G", days[-1], gen, [i == 20 for i in range(n)], revised))
    intervals_ingest(rows=rows)
    with connection.cursor() as cursor:
        cursor.execute(HOURLY_SQL, [account.pk, days[0], days[-1]])
        ours = cursor.fetchall()
        cursor.execute(DATE_TRUNC_SQL, [account.pk, days[0], days[-1]])
        theirs = cursor.fetchall()
    assert ours == theirs
    assert sum(g for _, _, g, _ in ours) == sum(v for v in gen if v is not None)
    assert len(ours) == 24 + 23 + 24 + 25  # spring forward has 23 hours, fall back 25
    starts = [b for b, *_ in ours]
    assert len(set(starts)) == len(starts)  # the fall-back day's two 01:00 hours stay apart
    # March 9-11 are 71 consecutive elapsed hours across the spring-forward gap
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts[:70], starts[1:71], strict=True))
