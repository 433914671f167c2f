"""Spanish formats for Texas customers (US Spanish, as on their bills).

Django's own ``es`` formats are Spain's (decimal comma); Spanish speakers in Texas read
amounts and kWh with a decimal point and comma thousands, like the English bill. Dates keep
the Spanish day-month order. Anything not set here falls back to Django's ``es`` module.
"""

from __future__ import annotations

DATE_FORMAT = r"j \d\e F \d\e Y"
SHORT_DATE_FORMAT = "d/m/Y"
YEAR_MONTH_FORMAT = r"F \d\e Y"
MONTH_DAY_FORMAT = r"j \d\e F"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
# ISO first: it is what <input type="date"> sends and shows (the browser displays it in the
# customer's own format); Spanish typed forms are still accepted.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
