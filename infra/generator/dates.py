"""Date arithmetic the generator needs: financial years, months, inclusive term ends.

Why: the domain thinks in financial years (1 April - 31 March) and inclusive end dates; keeping
the arithmetic in one module stops off-by-one days leaking into every story.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random

DAY = dt.timedelta(days=1)


def fy_start(year: int) -> dt.date:
    """1 April of the financial year starting in `year`."""
    return dt.date(year, 4, 1)


def fy_end(year: int) -> dt.date:
    """31 March closing the financial year starting in `year`."""
    return dt.date(year + 1, 3, 31)


def fy_of(day: dt.date) -> int:
    """The start year of the financial year containing `day`."""
    return day.year if day.month >= 4 else day.year - 1


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_end(start: dt.date, months: int) -> dt.date:
    """Inclusive end of a term of `months` months beginning on `start`."""
    return add_months(start, months) - DAY


def next_month_start(day: dt.date, months_ahead: int = 1) -> dt.date:
    """The first day of the month `months_ahead` after `day`'s month."""
    return add_months(day.replace(day=1), months_ahead)


def between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    """A uniformly chosen day in [first, last] (first when the range is empty)."""
    span = (last - first).days
    return first + dt.timedelta(days=rng.randint(0, span)) if span > 0 else first


def in_window(day: dt.date, windows: tuple[tuple[dt.date, dt.date], ...]) -> bool:
    return any(a <= day <= b for a, b in windows)
