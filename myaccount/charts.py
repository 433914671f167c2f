"""Plotly figures for My Account, built on the server and drawn by plotly.js in the page.

Figures are plain dicts in plotly.js's JSON schema (``{"data": [...], "layout": {...}}``),
serialised with orjson: plotly.py's figure objects validated every property on each request
and cost more than the query behind the chart. ``myaccount/tests/test_charts.py`` checks that
plotly.py accepts each figure unchanged, so a misspelt property still fails a test.

Payload discipline: hourly and daily series go out as ``x0``/``dx`` runs (one trace per run
of evenly spaced local times, so a DST change or a gap starts a new run) with numbers
rounded to what a meter resolves, never as one timestamp per point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import orjson
from django.utils import dateformat
from django.utils.translation import gettext as _

from opsadmin import clock

CHICAGO = clock.CHICAGO
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Colours meet 3:1 against white; patterns (textured view) make colour never the only cue.
COLOURS = {"consumption": "#0b5cad", "generation": "#16633a", "previous": "#8a5300"}
PATTERNS = {"consumption": "/", "generation": "x", "previous": "."}
STEP_MS = {"hourly": 3_600_000, "daily": 86_400_000}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": "#1b2430"}


@dataclass(frozen=True)
class ChartOptions:
    unit: str = "kWh"  # or "MWh"
    style: str = "columns"  # or "area"
    textured: bool = False


def local_naive(moment: datetime) -> datetime:
    return moment.astimezone(CHICAGO).replace(tzinfo=None)


def _num(value, unit: str) -> float | int | None:
    """A chart number: 10 Wh resolution (the table and CSV keep the meter's full precision),
    whole numbers without a trailing ".0"."""
    if value is None:
        return None
    number = float(value)
    number = round(number / 1000, 5) if unit == "MWh" else round(number, 2)
    return int(number) if number.is_integer() else number


def _nums(values, unit: str) -> list:
    """``_num`` of each value (one call for a whole series: a year of hours is 8,760)."""
    if unit == "MWh":
        return [_num(v, unit) for v in values]
    out: list = []
    append = out.append
    for value in values:
        if value is None:
            append(None)
            continue
        number = round(float(value), 2)
        append(int(number) if number.is_integer() else number)
    return out


def _x(moment: datetime, period: str) -> str:
    naive = local_naive(moment)
    if period == "hourly":
        return naive.strftime("%Y-%m-%d %H:%M")
    return naive.strftime("%Y-%m-%d")


def runs(points: list, period: str) -> list[tuple[int, int]]:
    """Split points into (start index, end index) runs of evenly spaced local times."""
    if not points:
        return []
    if period not in STEP_MS:
        return [(0, len(points))]
    step = timedelta(milliseconds=STEP_MS[period])
    out, begin = [], 0
    # Points are aware; their wall-clock time in Chicago decides evenness. Python subtracts
    # two datetimes with the same tzinfo as wall-clock times, so points already in Chicago
    # time (what the selectors return) need no conversion each.
    if all(p.start.tzinfo is CHICAGO for p in points):
        local = [p.start for p in points]
    else:
        local = [p.start.astimezone(CHICAGO).replace(tzinfo=None) for p in points]
    previous = local[0]
    for i in range(1, len(points)):
        here = local[i]
        if here - previous != step:
            out.append((begin, i))
            begin = i
        previous = here
    out.append((begin, len(points)))
    return out


def _series_traces(
    points: list,
    *,
    period: str,
    field: str,
    name: str,
    key: str,
    opts: ChartOptions,
    hover_unit: str,
    segments: list[tuple[int, int]],
) -> list:
    traces = []
    for n, (a, b) in enumerate(segments):
        chunk = points[a:b]
        y = _nums([getattr(p, field) for p in chunk], opts.unit)
        common = {
            "name": name,
            "legendgroup": key,
            "showlegend": n == 0,
            "hovertemplate": f"%{{y}} {hover_unit}<extra>{name}</extra>",
        }
        if period in STEP_MS:
            common |= {"x0": _x(chunk[0].start, period), "dx": STEP_MS[period]}
        else:
            common["x"] = [_x(p.start, period) for p in chunk]
        pattern = PATTERNS[key] if opts.textured else ""
        if opts.style == "area":
            traces.append(
                _trace(
                    "scatter",
                    y=y,
                    mode="lines",
                    line={"color": COLOURS[key], "width": 1.5, "shape": "hv"},
                    fill="tozeroy",
                    fillpattern={"shape": pattern, "fgcolor": COLOURS[key], "solidity": 0.4}
                    if pattern
                    else None,
                    **common,
                )
            )
        else:
            traces.append(
                _trace(
                    "bar",
                    y=y,
                    marker={
                        "color": COLOURS[key],
                        "pattern": {"shape": pattern, "fgcolor": "#ffffff", "solidity": 0.5}
                        if pattern
                        else None,
                    },
                    **common,
                )
            )
    return traces


def _estimated_traces(
    points: list, *, period: str, opts: ChartOptions, hover_unit: str, segments: list
) -> list:
    """Markers on estimated points: a run's x0/dx with nulls elsewhere, or explicit x when
    the run has few estimates (whichever is smaller)."""
    traces: list[dict] = []
    for a, b in segments:
        chunk = points[a:b]
        flagged = [p for p in chunk if p.estimated]
        if not flagged:
            continue
        common = {
            "name": _("Estimated"),
            "legendgroup": "estimated",
            "showlegend": not traces,
            "mode": "markers",
            "marker": {
                "symbol": "x-thin-open",
                "size": 9,
                "color": "#b3261e",
                "line": {"width": 2},
            },
            "hovertemplate": f"%{{y}} {hover_unit} ({_('estimated')})<extra></extra>",
        }
        if period in STEP_MS and len(flagged) * 4 >= len(chunk):
            y = [_num(p.consumption_kwh, opts.unit) if p.estimated else None for p in chunk]
            common |= {"x0": _x(chunk[0].start, period), "dx": STEP_MS[period]}
        else:
            y = _nums([p.consumption_kwh for p in flagged], opts.unit)
            common["x"] = [_x(p.start, period) for p in flagged]
        traces.append(_trace("scatter", y=y, **common))
    return traces


def _previous_trace(
    points: list, previous: list, *, period: str, opts: ChartOptions, hover_unit: str
):
    """The preceding equivalent period, drawn over the current one position by position."""
    n = min(len(points), len(previous))
    if n == 0:
        return None
    y = _nums([p.consumption_kwh for p in previous[:n]], opts.unit)
    label = _("Previous period (from %(date)s)") % {
        "date": dateformat.format(local_naive(previous[0].start), _("M d, Y"))
    }
    common: dict[str, object] = {
        "name": label,
        "mode": "lines",
        "line": {"color": COLOURS["previous"], "width": 2, "dash": "dot"},
        "hovertemplate": f"%{{y}} {hover_unit}<extra>{_('Previous period')}</extra>",
    }
    if period in STEP_MS:
        common |= {"x0": _x(points[0].start, period), "dx": STEP_MS[period]}
    else:
        common["x"] = [_x(p.start, period) for p in points[:n]]
    return _trace("scatter", y=y, **common)


def _layout(*, title: str, y_title: str, height: int = 420, barmode: str = "group") -> dict:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 16}},
        "font": FONT,
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "barmode": barmode,
        "bargap": 0.15,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "gridcolor": "#e3e8ee"},
        "xaxis": {"gridcolor": "#eef1f5"},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }


def usage_figure(result, *, period: str, opts: ChartOptions, title: str) -> dict:
    """The interactive SMT chart: consumption, generation beside it, previous, estimates."""
    unit = opts.unit
    points = list(result.points)
    segments = runs(points, period)
    traces = _series_traces(
        points,
        period=period,
        field="consumption_kwh",
        name=_("Consumption"),
        key="consumption",
        opts=opts,
        hover_unit=unit,
        segments=segments,
    )
    if result.has_generation:
        traces += _series_traces(
            points,
            period=period,
            field="generation_kwh",
            name=_("Generation"),
            key="generation",
            opts=opts,
            hover_unit=unit,
            segments=segments,
        )
    if result.previous:
        prev = _previous_trace(
            points, list(result.previous), period=period, opts=opts, hover_unit=unit
        )
        if prev is not None:
            traces.append(prev)
    traces += _estimated_traces(
        points, period=period, opts=opts, hover_unit=unit, segments=segments
    )
    layout = _layout(title=title, y_title=_("Energy (%(unit)s)") % {"unit": unit})
    if period == "monthly":
        layout["xaxis"] |= {"tickformat": "%b %Y", "dtick": "M1"}
    return figure_dict(traces, layout)


def _clean(attrs: dict) -> dict:
    """Drop unset (None) properties, in nested property dicts too, as plotly.py did; data
    arrays keep their None entries (gaps)."""
    return {k: _clean(v) if isinstance(v, dict) else v for k, v in attrs.items() if v is not None}


def _trace(kind: str, **attrs) -> dict:
    """A plotly.js trace of ``kind`` ("bar", "scatter") as the JSON plotly.js reads."""
    return {"type": kind, **_clean(attrs)}


def figure_dict(traces: list[dict], layout: dict) -> dict:
    return {"data": traces, "layout": _clean(layout)}


def to_json(figure: dict) -> str:
    """Compact JSON for a <script type="application/json"> block (safe inside HTML)."""
    text = orjson.dumps(figure, default=_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    # Inside <script>, "</" could end the element; escape it and the HTML-significant chars.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- the dashboard's small chart: same look whatever the source --------------------------


def summary_figure(result) -> dict:
    points = list(result.points)
    x = [local_naive(p.start).strftime("%Y-%m-%d") for p in points]
    y = _nums([p.consumption_kwh for p in points], "kWh")
    trace = _trace(
        "bar",
        x=x,
        y=y,
        name=_("Consumption"),
        marker={"color": COLOURS["consumption"]},
        hovertemplate="%{x|%b %Y}: %{y} kWh<extra></extra>",
    )
    layout = _layout(title=_("Monthly usage"), y_title="kWh", height=260)
    layout["margin"] = {"l": 50, "r": 10, "t": 40, "b": 40}
    layout["showlegend"] = False
    layout["xaxis"] |= {"tickformat": "%b", "dtick": "M1"}
    return figure_dict([trace], layout)


# --- the billing-system source: four charts --------------------------------------------


def bill_days(bill) -> int:
    """Days a bill covers (ESG sends inclusive periods: Jan 1 - Jan 31 is 31 days)."""
    return max((bill.period_end - bill.period_start).days + 1, 1)


def bill_rows(bills: list) -> list[dict]:
    """Oldest first, with what the four charts and their tables show."""
    rows = []
    for bill in sorted(bills, key=lambda b: b.period_start):
        days = bill_days(bill)
        rows.append(
            {
                "bill": bill,
                "label": f"{MONTHS[bill.period_end.month - 1]} {bill.period_end.year}",
                "month": bill.period_end.strftime("%Y-%m-01"),
                "days": days,
                "avg_daily_kwh": (Decimal(bill.kwh) / days).quantize(Decimal("0.01")),
            }
        )
    return rows


def billing_figures(bills: list, *, textured: bool = False) -> list[dict]:
    """Monthly kWh, monthly amount, average daily kWh per bill period, this year vs last."""
    rows = bill_rows(bills)
    x = [r["month"] for r in rows]
    pattern = (
        (lambda key: {"shape": PATTERNS[key], "fgcolor": "#ffffff", "solidity": 0.5})
        if textured
        else (lambda key: None)
    )

    def single(title, y, y_title, hover, key="consumption"):
        layout = _layout(title=title, y_title=y_title, height=320)
        layout["showlegend"] = False
        layout["xaxis"] |= {"tickformat": "%b %Y"}
        trace = _trace(
            "bar",
            x=x,
            y=y,
            name=title,
            marker={"color": COLOURS[key], "pattern": pattern(key)},
            hovertemplate=hover,
        )
        return figure_dict([trace], layout)

    charts = [
        {
            "id": "bill-kwh",
            "title": _("Monthly usage (kWh)"),
            "figure": single(
                _("Monthly usage (kWh)"),
                [float(r["bill"].kwh) for r in rows],
                "kWh",
                "%{x|%b %Y}: %{y} kWh<extra></extra>",
            ),
        },
        {
            "id": "bill-amount",
            "title": _("Monthly bill amount ($)"),
            "figure": single(
                _("Monthly bill amount ($)"),
                [float(r["bill"].amount) for r in rows],
                _("US dollars"),
                "%{x|%b %Y}: $%{y:.2f}<extra></extra>",
                key="generation",
            ),
        },
        {
            "id": "bill-avg-daily",
            "title": _("Average daily usage per bill period (kWh/day)"),
            "figure": single(
                _("Average daily usage per bill period (kWh/day)"),
                [float(r["avg_daily_kwh"]) for r in rows],
                _("kWh per day"),
                "%{x|%b %Y}: %{y} kWh/day<extra></extra>",
                key="previous",
            ),
        },
    ]
    this_year, last_year = year_over_year(bills)
    year = max((b.period_end.year for b in bills), default=clock.today().year)
    layout = _layout(title=_("This year vs last year (kWh)"), y_title="kWh", height=320)
    months = month_abbreviations()
    traces = [
        _trace(
            "bar",
            x=months,
            y=last_year,
            name=str(year - 1),
            marker={
                "color": COLOURS["previous"],
                "pattern": {"shape": ".", "fgcolor": "#ffffff", "solidity": 0.5},
            },
            hovertemplate=f"%{{x}} {year - 1}: %{{y}} kWh<extra></extra>",
        ),
        _trace(
            "bar",
            x=months,
            y=this_year,
            name=str(year),
            marker={
                "color": COLOURS["consumption"],
                "pattern": {"shape": "/", "fgcolor": "#ffffff", "solidity": 0.5},
            },
            hovertemplate=f"%{{x}} {year}: %{{y}} kWh<extra></extra>",
        ),
    ]
    charts.append(
        {
            "id": "bill-yoy",
            "title": _("This year vs last year (kWh)"),
            "figure": figure_dict(traces, layout),
        }
    )
    return charts


def month_abbreviations() -> list[str]:
    """Jan..Dec in the active language (Django's own month catalogue)."""
    return [dateformat.format(date(2000, m, 1), "M") for m in range(1, 13)]


def year_over_year(bills: list) -> tuple[list, list]:
    """kWh by calendar month (of the bill's end) for the latest bill's year and the one before."""
    if not bills:
        return [None] * 12, [None] * 12
    year = max(b.period_end.year for b in bills)
    this_year: list = [None] * 12
    last_year: list = [None] * 12
    for bill in bills:
        target = (
            this_year
            if bill.period_end.year == year
            else last_year
            if bill.period_end.year == year - 1
            else None
        )
        if target is None:
            continue
        i = bill.period_end.month - 1
        target[i] = round((target[i] or 0) + float(bill.kwh), 3)
    return this_year, last_year
