"""Calendar arithmetic shared by the rules: months and years on the calendar, never counts of days.

The month-end rule: N months after a day is the same day of the month N months later or, when
that month is shorter, its last day. So 31 January + 1 month is 28 February (29 in a leap year),
and 12 months after 29 February is 28 February. An interval is always counted from its own first
day, never month by month, so 31 January + 2 months is 31 March.

"Within N months" counts both ends: a record dated 1 March 2023 is within 12 months on every day
up to and including 1 March 2024, although a 29 February lies in between.
"""

from __future__ import annotations

import calendar
from datetime import date

# Dates a network file may hold; the rules add years and months to them without leaving `date`.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def add_months(day: date, months: int) -> date:
    """`months` calendar months after `day` (before it when negative), by the month-end rule."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """`years` years after `day`: 29 February becomes 28 February in a year without one."""
    return add_months(day, 12 * years)


def within_months(day: date, months: int, as_of: date) -> bool:
    """Whether `as_of` lies from `day` up to and including `months` months after it."""
    return day <= as_of <= add_months(day, months)
