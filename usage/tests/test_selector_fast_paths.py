"""The chart selector's fast paths keep results identical: prepared statements really are
prepared (and only ours), the fast point constructor, and points equal to the bare SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from usage.selectors import SQL_BY_PERIOD, UsagePoint, _point, usage_for_chart
from usage.services import DayRow, intervals_ingest
from usage.tests.factories import premise, smt_on

pytestmark = pytest.mark.django_db
CHI = ZoneInfo("America/Chicago")
D = Decimal
FALL = date(2025, 11, 2)  # 100 intervals, two 01:00 hours


def _ingest(sa, day: date, n: int, *, channel: str = "C", value: str = "0.25") -> None:
    values = [D(value)] * n
    values[3] = None  # one missing interval
    intervals_ingest(
        rows=[
            DayRow(
                service_account_id=sa.pk,
                channel=channel,
                day=day,
                values=values,
                estimated=[i == 5 for i in range(n)],
                revised_at=datetime(day.year, day.month, day.day, 12, tzinfo=CHI)
                + timedelta(days=1),
            )
        ]
    )


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [r[0] for r in cursor.fetchall()]


def test_chart_statements_are_prepared_and_the_connection_setting_is_restored():
    sa = premise()
    smt_on()
    _ingest(sa, FALL, 100)
    connection.ensure_connection()
    before = connection.connection.prepare_threshold
    for period in ("hourly", "daily", "monthly"):
        result = usage_for_chart(service_account=sa, period=period, start=FALL, end=FALL)
        assert result.source == "smt"
    assert connection.connection.prepare_threshold == before
    statements = _prepared()
    assert sum("WITH ctx AS" in s for s in statements) == 2  # daily and monthly, combined
    assert sum("FROM opsadmin_thirdpartyprovider" in s for s in statements) == 3
    # a plain Django query on the same connection is not prepared
    with connection.cursor() as cursor:
        for _ in range(8):
            cursor.execute("SELECT count(*) FROM usage_intervalday WHERE day = %s", [FALL])
    assert not any("count(*) FROM usage_intervalday" in s for s in _prepared())


def test_fast_point_equals_the_dataclass():
    at = datetime(2025, 11, 2, 1, fold=1, tzinfo=CHI)
    fast = _point(at, D("1.5"), D("0.25"), True)
    regular = UsagePoint(at, D("1.5"), D("0.25"), True)
    assert fast == regular and hash(fast) == hash(regular)
    assert fast.net_kwh == D("1.25") and fast.start.utcoffset() == timedelta(hours=-6)
    assert repr(fast) == repr(regular)
    with pytest.raises(AttributeError):
        fast.estimated = False


@pytest.mark.parametrize("period", ["hourly", "daily", "monthly"])
@pytest.mark.parametrize("unit", ["kWh", "MWh"])
def test_points_equal_the_bare_aggregate(period, unit):
    sa = premise()
    smt_on()
    for day in (FALL - timedelta(days=1), FALL, FALL + timedelta(days=1)):
        _ingest(sa, day, 100 if day == FALL else 96)
    _ingest(sa, FALL, 100, channel="G", value="0.1")
    start, end = FALL - timedelta(days=1), FALL + timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(SQL_BY_PERIOD[period], [sa.pk, start, end])
        rows = cursor.fetchall()
    scale = D("1000") if unit == "MWh" else D("1")
    expected = [
        (
            b.astimezone(CHI)
            if period == "hourly"
            else datetime(b.year, b.month, b.day, tzinfo=CHI),
            c / scale,
            g / scale,
            e,
        )
        for b, c, g, e in rows
    ]
    result = usage_for_chart(service_account=sa, period=period, start=start, end=end, unit=unit)
    got = [(p.start, p.consumption_kwh, p.generation_kwh, p.estimated) for p in result.points]
    assert got == expected
    # same instants and the same wall clock (fold included) as the bare rows
    assert [(p.start.utcoffset(), p.start.fold) for p in result.points] == [
        (e[0].utcoffset(), e[0].fold) for e in expected
    ]
    assert len(got) == {"hourly": 24 + 25 + 24, "daily": 3, "monthly": 1}[period]
    assert result.has_generation


def test_without_prepared_statements_the_points_are_the_same(settings):
    sa = premise()
    smt_on()
    _ingest(sa, FALL, 100)
    prepared = usage_for_chart(service_account=sa, period="hourly", start=FALL, end=FALL)
    settings.USAGE_PREPARED_STATEMENTS = False
    for period in ("hourly", "daily"):
        plain = usage_for_chart(service_account=sa, period=period, start=FALL, end=FALL)
        assert plain.source == "smt" and plain.reason.startswith("Showing Smart Meter Texas")
    plain = usage_for_chart(service_account=sa, period="hourly", start=FALL, end=FALL)
    assert plain.points == prepared.points and len(plain.points) == 25
    assert [p.start.fold for p in plain.points if p.start.hour == 1] == [0, 1]
