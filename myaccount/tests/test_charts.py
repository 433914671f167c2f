"""The chart figures are plain dicts: plotly.py must accept each one unchanged."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go
import pytest

from myaccount import charts
from usage.models import CHICAGO
from usage.selectors import UsagePoint, UsageResult


def _hours(start: datetime, n: int, *, gen: str = "0", every_estimated: int = 0) -> list:
    points = []
    for i in range(n):
        moment = (start + timedelta(hours=i)).astimezone(CHICAGO)
        points.append(
            UsagePoint(
                moment,
                Decimal(f"{1 + (i % 7) * 0.123:.3f}"),
                Decimal(gen),
                bool(every_estimated) and i % every_estimated == 0,
            )
        )
    return points


def _result(points, *, period: str, previous=None) -> UsageResult:
    return UsageResult(
        source="smt",
        reason="",
        data_through=None,
        points=points,
        previous=previous,
        has_generation=any(p.generation_kwh for p in points),
        period=period,
    )


def _validated(figure: dict) -> dict:
    """What plotly.py makes of the figure after validating every property and array."""
    out = go.Figure(data=figure["data"], layout=figure["layout"]).to_plotly_json()
    out["layout"].pop("template", None)
    return json.loads(json.dumps(out))


# Across spring-forward (two runs), with estimates, generation and the previous period.
SPRING = datetime(2024, 3, 9, 6, tzinfo=CHICAGO)
CASES = {
    "hourly columns": (
        _result(_hours(SPRING, 72, every_estimated=2), period="hourly"),
        "hourly",
        charts.ChartOptions(),
    ),
    "hourly textured area, generation, previous": (
        _result(
            _hours(SPRING, 72, gen="0.25", every_estimated=11),
            period="hourly",
            previous=_hours(SPRING - timedelta(days=3), 72),
        ),
        "hourly",
        charts.ChartOptions(style="area", textured=True),
    ),
    "monthly MWh textured columns": (
        _result(
            [
                UsagePoint(
                    datetime(2024, m, 1, tzinfo=CHICAGO), Decimal("712.345"), Decimal(0), m == 3
                )
                for m in range(1, 13)
            ],
            period="monthly",
        ),
        "monthly",
        charts.ChartOptions(unit="MWh", textured=True),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_usage_figure_is_what_plotly_would_send(case):
    result, period, opts = CASES[case]
    figure = charts.usage_figure(result, period=period, opts=opts, title="Usage")
    assert _validated(figure) == json.loads(charts.to_json(figure))
    assert figure["data"][0]["type"] == ("scatter" if opts.style == "area" else "bar")
    assert "template" not in figure["layout"]


def test_unset_properties_are_left_out_not_sent_as_null():
    result, period, _ = CASES["hourly columns"]
    figure = charts.usage_figure(result, period=period, opts=charts.ChartOptions(), title="U")
    bar = figure["data"][0]
    assert bar["marker"] == {"color": charts.COLOURS["consumption"]}  # no "pattern": null
    estimated = [t for t in figure["data"] if t["name"] == "Estimated"]
    assert estimated and None in estimated[0]["y"]  # gaps in data arrays stay null


def test_summary_and_billing_figures_are_what_plotly_would_send():
    result, _, _ = CASES["monthly MWh textured columns"]
    summary = charts.summary_figure(result)
    assert _validated(summary) == json.loads(charts.to_json(summary))

    class Bill:
        def __init__(self, month: int, year: int):
            self.period_start = date(year, month, 1)
            self.period_end = date(year, month, 28)
            self.kwh = Decimal("950.5") + month
            self.amount = Decimal("120.37")

    bills = [Bill(m, y) for y in (2023, 2024) for m in range(1, 13)]
    figures = charts.billing_figures(bills, textured=True)
    assert [c["id"] for c in figures] == ["bill-kwh", "bill-amount", "bill-avg-daily", "bill-yoy"]
    for chart in figures:
        assert _validated(chart["figure"]) == json.loads(charts.to_json(chart["figure"]))


def test_to_json_is_safe_inside_a_script_element():
    text = charts.to_json({"layout": {"title": {"text": "</script><b>&"}}})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["layout"]["title"]["text"] == "</script><b>&"


@pytest.mark.parametrize("generation", [False, True])
def test_table_body_is_what_the_template_loop_rendered(generation):
    from django.template import Context, Template

    from myaccount.views import _table_body

    rows = [
        {
            "start": "2024-03-10 01:00",
            "consumption": "1.250",
            "generation": "0.100",
            "estimated": True,
        },
        {"start": "2024-03-10 03:00", "consumption": "<b>&", "generation": "", "estimated": False},
    ]
    loop = Template(
        '{% for row in table_rows %}<tr><td>{{ row.start }}</td><td class="num">'
        '{{ row.consumption }}</td>{% if gen %}<td class="num">{{ row.generation }}</td>'
        "{% endif %}<td>{% if row.estimated %}Estimated{% endif %}</td></tr>{% endfor %}"
    )
    expected = loop.render(Context({"table_rows": rows, "gen": generation}))
    assert _table_body(rows, generation=generation) == expected
    assert "&lt;b&gt;&amp;" in expected  # escaped, both ways
