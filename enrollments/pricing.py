"""Plan prices: EFL average prices (PUCT 16 TAC 25.475) and a month of a person's own usage.

One model prices every plan: energy charge (with tiers above monthly thresholds), base fee,
bill credits at usage thresholds, TDU delivery charges (monthly and per kWh) and time-of-use
periods with their own energy charges. A month is either a monthly total (kWh) or the
month's kWh in hour-of-week cells from 15-minute intervals (:class:`UsageMonth`). A
time-of-use plan priced on a monthly total spreads it by :data:`TOU_EFL_ASSUMPTION`, which
is also how its EFL averages are computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import holidays
from django.db import connection
from django.utils.translation import gettext_lazy as _

from enrollments.models import (
    Plan,
    PlanBillCredit,
    PlanEnergyTier,
    PromoCode,
    TduCharge,
    TouPeriod,
)
from opsadmin.i18n import Localized
from opsadmin.models import DEFAULT_TIERS, UsageTierSet

TENTH = Decimal("0.1")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
HOURS_OF_WEEK = 168

# A time-of-use plan's EFL average price needs a usage profile, and the EFL must say which
# (PUCT 16 TAC 25.475: the average price reflects all recurring charges at the stated usage).
TOU_EFL_ASSUMPTION = _(
    "Time-of-use plans: average prices assume the month's usage is spread evenly over every "
    "hour of the week (each of the 168 hours uses 1/168 of the month's kWh); holidays are "
    "not counted separately."
)

# The holidays Texas time-of-use EFLs commonly name for their holiday periods; the EFL of a
# plan with ``on_holidays`` periods lists them (PUCT 16 TAC 25.475, the EFL states the terms).
TOU_HOLIDAY_NAMES = frozenset(
    {
        "New Year's Day",
        "Memorial Day",
        "Independence Day",
        "Labor Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)

Cell = tuple[int, int, bool]  # (ISO day of week 1..7, America/Chicago hour 0..23, holiday)
ALL_CELLS: tuple[Cell, ...] = tuple(
    (dow, hour, holiday) for holiday in (False, True) for dow in range(1, 8) for hour in range(24)
)


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    us = holidays.US(years=year, observed=False)
    return frozenset(d for d, name in us.items() if name in TOU_HOLIDAY_NAMES)


def tou_holidays(years: Iterable[int]) -> list[date]:
    """The time-of-use holidays of ``years`` (on the day itself, not an observed Monday)."""
    return sorted(d for y in sorted(set(years)) for d in _holidays_of(y))


def period_hours(start_hour: int, end_hour: int) -> frozenset[int]:
    """Local hours a period covers: start <= hour < end, wrapping past midnight."""
    if start_hour == end_hour:
        return frozenset(range(24))
    if start_hour < end_hour:
        return frozenset(range(start_hour, end_hour))
    return frozenset(range(start_hour, 24)) | frozenset(range(0, end_hour))


@dataclass(frozen=True)
class PeriodRule:
    name: str
    cents: Decimal  # energy charge, ¢/kWh
    hours: frozenset[int]
    days: frozenset[int]
    on_holidays: bool
    name_es: str = ""
    # a customer reads the period's name in their language (opsadmin.i18n), English when blank
    local_name = Localized("name")

    def matches(self, cell: Cell) -> bool:
        dow, hour, holiday = cell
        return hour in self.hours and (dow in self.days or (holiday and self.on_holidays))


@dataclass(frozen=True)
class PriceStructure:
    """Everything that prices one plan for one utility, loaded once (no queries after)."""

    code: str
    energy_cents: Decimal
    base_cents: Decimal
    tiers: tuple[tuple[Decimal, Decimal], ...]  # (above kWh, ¢/kWh), ascending
    credits: tuple[tuple[Decimal, Decimal | None, Decimal], ...]  # (min kWh, max kWh, ¢)
    periods: tuple[PeriodRule, ...]
    tdu_monthly_cents: Decimal
    tdu_kwh_cents: Decimal
    promo_credit_cents: Decimal = ZERO
    # which period (index) prices each hour-of-week cell, -1 for none; same order as ALL_CELLS
    cell_periods: tuple[int, ...] = field(default=(), compare=False)
    profile_shares: tuple[Decimal, ...] = field(default=(), compare=False)

    @property
    def is_tou(self) -> bool:
        return bool(self.periods)


def _cell_periods(periods: Sequence[PeriodRule]) -> tuple[int, ...]:
    return _cell_periods_of(tuple((p.hours, p.days, p.on_holidays) for p in periods))


@lru_cache(maxsize=512)  # plans share their hours (free nights 21-6 ...): map each shape once
def _cell_periods_of(
    shapes: tuple[tuple[frozenset[int], frozenset[int], bool], ...],
) -> tuple[int, ...]:
    out = []
    for dow, hour, holiday in ALL_CELLS:
        out.append(
            next(
                (
                    i
                    for i, (hours, days, on_holidays) in enumerate(shapes)
                    if hour in hours and (dow in days or (holiday and on_holidays))
                ),
                -1,
            )
        )
    return tuple(out)


@lru_cache(maxsize=512)
def _profile_shares(cell_periods: tuple[int, ...], n: int) -> tuple[Decimal, ...]:
    """Each period's share of a month under :data:`TOU_EFL_ASSUMPTION` (non-holiday cells)."""
    counts = [0] * n
    for index in cell_periods[:HOURS_OF_WEEK]:
        if index >= 0:
            counts[index] += 1
    return tuple(Decimal(c) / HOURS_OF_WEEK for c in counts)


@dataclass(frozen=True)
class PriceRows:
    """A plan's tier, credit and time-of-use rows (loaded for many plans at once)."""

    tiers: list[PlanEnergyTier] = field(default_factory=list)
    credits: list[PlanBillCredit] = field(default_factory=list)
    periods: list[TouPeriod] = field(default_factory=list)


# The three child tables in one round trip (a products table prices every plan at once).
PRICE_ROWS_SQL = """
SELECT 't', plan_id, id, above_kwh, NULL::int, NULL::int, energy_charge_cents, NULL::text,
       NULL::smallint[], NULL::bool, NULL::int, NULL::text
FROM enrollments_planenergytier WHERE plan_id = ANY(%(ids)s)
UNION ALL
SELECT 'c', plan_id, id, min_kwh, max_kwh, NULL, amount, NULL, NULL, NULL, NULL, NULL
FROM enrollments_planbillcredit WHERE plan_id = ANY(%(ids)s)
UNION ALL
SELECT 'p', plan_id, id, start_hour, end_hour, NULL, energy_charge_cents, name,
       days_of_week::smallint[], on_holidays, sort_order, name_es
FROM enrollments_touperiod WHERE plan_id = ANY(%(ids)s)
"""


def price_rows(plan_ids: Sequence[int]) -> dict[int, PriceRows]:
    """Each plan's price rows by plan id (one query; plans without rows are absent)."""
    out: dict[int, PriceRows] = {}
    if not plan_ids:
        return out
    with connection.cursor() as cursor:
        cursor.execute(PRICE_ROWS_SQL, {"ids": list(plan_ids)})
        rows = cursor.fetchall()
    for kind, plan_id, pk, i1, i2, _i3, amount, name, days, flag, order, name_es in rows:
        bucket = out.setdefault(plan_id, PriceRows())
        if kind == "t":
            bucket.tiers.append(
                PlanEnergyTier(pk=pk, plan_id=plan_id, above_kwh=i1, energy_charge_cents=amount)
            )
        elif kind == "c":
            bucket.credits.append(
                PlanBillCredit(pk=pk, plan_id=plan_id, min_kwh=i1, max_kwh=i2, amount=amount)
            )
        else:
            bucket.periods.append(
                TouPeriod(
                    pk=pk,
                    plan_id=plan_id,
                    name=name,
                    name_es=name_es,
                    energy_charge_cents=amount,
                    start_hour=i1,
                    end_hour=i2,
                    days_of_week=list(days),
                    on_holidays=flag,
                    sort_order=order,
                )
            )
    return out


def _load_rows(plan: Plan) -> PriceRows:
    if plan.pk is None:  # an unsaved plan (a form preview, a unit test) has no rows yet
        return PriceRows()
    return price_rows([plan.pk]).get(plan.pk, PriceRows())


def price_structure(
    plan: Plan,
    tdu: TduCharge | None,
    *,
    promo: PromoCode | None = None,
    rows: PriceRows | None = None,
) -> PriceStructure:
    """The plan's charges (and the promo's) as one immutable structure; ``rows`` are its
    child rows when the caller loaded them (:func:`price_rows`), else one query loads them."""
    if rows is None:
        rows = _load_rows(plan)
    off = ZERO
    promo_credit = ZERO
    if promo is not None and promo.benefit == PromoCode.Benefit.CENTS_OFF:
        off = promo.amount
    elif promo is not None and promo.benefit == PromoCode.Benefit.BILL_CREDIT:
        promo_credit = promo.amount * HUNDRED

    def less(cents: Decimal) -> Decimal:
        return max(ZERO, cents - off)

    tiers = tuple(
        (Decimal(t.above_kwh), less(t.energy_charge_cents))
        for t in sorted(rows.tiers, key=lambda t: t.above_kwh)
    )
    credits = [
        (
            Decimal(c.min_kwh),
            Decimal(c.max_kwh) if c.max_kwh is not None else None,
            c.amount * HUNDRED,
        )
        for c in rows.credits
    ]
    if plan.bill_credit and plan.bill_credit_min_kwh is not None:
        credits.append((Decimal(plan.bill_credit_min_kwh), None, plan.bill_credit * HUNDRED))
    periods = tuple(
        PeriodRule(
            name=p.name,
            name_es=p.name_es,
            cents=less(p.energy_charge_cents),
            hours=period_hours(p.start_hour, p.end_hour),
            days=frozenset(p.days_of_week),
            on_holidays=p.on_holidays,
        )
        for p in sorted(rows.periods, key=lambda p: (p.sort_order, p.pk))
    )
    cells = _cell_periods(periods) if periods else ()
    return PriceStructure(
        code=plan.code,
        energy_cents=less(plan.energy_charge_cents),
        base_cents=plan.base_fee * HUNDRED,
        tiers=tiers,
        credits=tuple(credits),
        periods=periods,
        tdu_monthly_cents=tdu.monthly_charge * HUNDRED if tdu is not None else ZERO,
        tdu_kwh_cents=tdu.per_kwh_cents if tdu is not None else ZERO,
        promo_credit_cents=promo_credit,
        cell_periods=cells,
        profile_shares=_profile_shares(cells, len(periods)) if periods else (),
    )


@dataclass(frozen=True)
class UsageMonth:
    """One month (or billing cycle) of consumption: its total, and where known its kWh by
    hour-of-week cell from 15-minute intervals (America/Chicago)."""

    month: date
    kwh: Decimal
    cells: Mapping[Cell, Decimal] | None = None

    @property
    def from_intervals(self) -> bool:
        return self.cells is not None


def _tiered_energy(s: PriceStructure, kwh: Decimal) -> Decimal:
    if not s.tiers:
        return s.energy_cents * kwh
    cents = ZERO
    floor, rate = ZERO, s.energy_cents
    for above, tier_rate in s.tiers:
        if kwh <= above:
            break
        cents += (above - floor) * rate
        floor, rate = above, tier_rate
    return cents + (kwh - floor) * rate


def cost_cents(s: PriceStructure, *, kwh: Decimal, period_kwh: Sequence[Decimal] = ()) -> Decimal:
    """One month's cost in cents, unrounded: ``period_kwh[i]`` kWh in time-of-use period
    ``i``, the rest of ``kwh`` at the energy charge and its tiers; base fee, TDU charges,
    bill credits (on the month's total kWh) and a promo credit."""
    if kwh < 0:
        raise ValueError("kwh must not be negative")
    cents = ZERO
    in_periods = ZERO
    for amount, period in zip(period_kwh, s.periods, strict=False):
        cents += amount * period.cents
        in_periods += amount
    cents += _tiered_energy(s, kwh - in_periods)
    cents += s.base_cents + s.tdu_monthly_cents + s.tdu_kwh_cents * kwh
    for low, high, credit in s.credits:
        if kwh >= low and (high is None or kwh <= high):
            cents -= credit
    return cents - s.promo_credit_cents


def profile_period_kwh(s: PriceStructure, kwh: Decimal) -> list[Decimal]:
    """kWh per period when only the month's total is known (:data:`TOU_EFL_ASSUMPTION`)."""
    return [kwh * share for share in s.profile_shares]


def cell_period_kwh(s: PriceStructure, cells: Mapping[Cell, Decimal]) -> list[Decimal]:
    """kWh per period from a month's hour-of-week cells."""
    sums = [ZERO] * len(s.periods)
    index = _CELL_INDEX
    mapping = s.cell_periods
    for cell, kwh in cells.items():
        period = mapping[index[cell]]
        if period >= 0:
            sums[period] += kwh
    return sums


_CELL_INDEX = {cell: i for i, cell in enumerate(ALL_CELLS)}


def usage_month_cost_cents(s: PriceStructure, month: UsageMonth) -> Decimal:
    """A month priced exactly from its intervals, or on its total (profile for TOU)."""
    if not s.periods:
        return cost_cents(s, kwh=month.kwh)
    if month.cells is not None:
        return cost_cents(s, kwh=month.kwh, period_kwh=cell_period_kwh(s, month.cells))
    return cost_cents(s, kwh=month.kwh, period_kwh=profile_period_kwh(s, month.kwh))


def months_cost_cents(
    structures: Sequence[PriceStructure], months: Sequence[UsageMonth]
) -> list[list[Decimal]]:
    """Every structure priced on every month (``[structure][month]`` cents). Plans that share
    time-of-use hours share one pass over each month's cells."""
    split: dict[tuple, list[list[Decimal]]] = {}
    out = []
    for s in structures:
        if not s.periods:
            out.append([cost_cents(s, kwh=m.kwh) for m in months])
            continue
        key = s.cell_periods
        per_month = split.get(key)
        if per_month is None:
            per_month = split[key] = [
                cell_period_kwh(s, m.cells) if m.cells is not None else [] for m in months
            ]
        row = []
        for m, by_period in zip(months, per_month, strict=True):
            if m.cells is None:
                by_period = profile_period_kwh(s, m.kwh)
            row.append(cost_cents(s, kwh=m.kwh, period_kwh=by_period))
        out.append(row)
    return out


def average_price_cents(
    plan: Plan, tdu: TduCharge | None, kwh: int, *, promo: PromoCode | None = None
) -> Decimal:
    """Average price in ¢/kWh for a month of ``kwh``, rounded to 0.1¢ as the EFL shows it.

    Includes every recurring charge and credit (energy charge and its tiers, time-of-use
    charges under :data:`TOU_EFL_ASSUMPTION`, base fee, TDU monthly and per-kWh delivery
    charges, bill credits at their thresholds, a promo code's ¢/kWh off or bill credit);
    excludes taxes and one-time fees. ``tdu=None`` means the utility has no delivery charges
    on file (then only the REP charges count).
    """
    return structure_average_cents(price_structure(plan, tdu, promo=promo), kwh)


def structure_average_cents(s: PriceStructure, kwh: int) -> Decimal:
    """:func:`average_price_cents` of an already loaded structure."""
    if kwh <= 0:
        raise ValueError("kwh must be positive")
    cents = usage_month_cost_cents(s, UsageMonth(month=date.min, kwh=Decimal(kwh)))
    return (cents / Decimal(kwh)).quantize(TENTH, rounding=ROUND_HALF_UP)


def price_structures(
    plans: Sequence[Plan], tdu: TduCharge | None, *, promo: PromoCode | None = None
) -> list[PriceStructure]:
    """Structures for many plans with one query in all (:data:`PRICE_ROWS_SQL`)."""
    loaded = price_rows([p.pk for p in plans if p.pk is not None])
    return [
        price_structure(plan, tdu, promo=promo, rows=loaded.get(plan.pk, PriceRows()))
        for plan in plans
    ]


def month_cost_cents(
    plan: Plan, tdu: TduCharge | None, kwh: Decimal, *, promo: PromoCode | None = None
) -> Decimal:
    """What one month of ``kwh`` costs in cents, unrounded (the charges of
    :func:`average_price_cents`; also used to price a person's own monthly totals)."""
    if kwh < 0:
        raise ValueError("kwh must not be negative")
    s = price_structure(plan, tdu, promo=promo)
    return usage_month_cost_cents(s, UsageMonth(month=date.min, kwh=Decimal(kwh)))


def usage_tiers(state: str) -> list[int]:
    """The state's EFL tiers from System Setup (Texas: 500/1,000/2,000 kWh)."""
    row = UsageTierSet.objects.filter(state=state).first()
    if row is not None:
        return list(row.tiers_kwh)
    return list(DEFAULT_TIERS.get(state, [500, 1000, 2000]))
