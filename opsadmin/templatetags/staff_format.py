"""One date and time format for every staff screen (issue #23), loaded as a template builtin.

``{{ value|staff_date }}`` -> ``2026-03-31``; ``{{ value|staff_datetime }}`` ->
``2026-03-31 14:05 CDT`` (market time, America/Chicago, with its zone: CST or CDT);
``|staff_datetime:"seconds"`` adds seconds for event logs. The formats are the settings
``STAFF_DATE_FORMAT`` and ``STAFF_DATETIME_FORMAT``; customer pages use the locale formats.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.conf import settings
from django.utils import dateformat, timezone

register = template.Library()


def _as_local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def staff_date(value) -> str:
    if not isinstance(value, date):
        return ""
    return dateformat.format(_as_local(value), settings.STAFF_DATE_FORMAT)


@register.filter
def staff_datetime(value, precision: str = "") -> str:
    if not isinstance(value, datetime):
        return staff_date(value)
    fmt = settings.STAFF_DATETIME_FORMAT
    if precision == "seconds":
        fmt = fmt.replace("H:i", "H:i:s")
    return dateformat.format(_as_local(value), fmt)


@register.filter
def staff_month(value) -> str:
    """A month (a usage or bill row): ``2026-03``."""
    if not isinstance(value, date):
        return ""
    return dateformat.format(_as_local(value), settings.STAFF_MONTH_FORMAT)
