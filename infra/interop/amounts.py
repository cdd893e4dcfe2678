"""Dates, money and the arithmetic of turning published amounts into annual values.

Published amounts are usually whole-life (OCDS `value`, a register's total value, a 360Giving
`amountAwarded`); the ledger keeps money per annum. The annual value of a whole-life amount over a
term is `amount × 365 / days in the term` (end inclusive). A later change of the whole-life amount
is read as the money added or removed over the rest of the term (see `rate_after_change`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from domain.values import FIRST_DAY, LAST_DAY
from infra.interop.report import BadValue, OutOfRange

PENNY = Decimal("0.01")
MAX_AMOUNT = Decimal(10**15)  # pounds: far above any public contract, far below Decimal's 28 digits
MAX_DAYS = 366 * 200  # a term or a duration: two centuries
YEAR = Decimal(365)
GBP = "GBP"
DAY_FIRST_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%Y/%m/%d",
)
_MONEY_NOISE = re.compile(r"[£,\s]")


def iso_day(field: str, value: Any) -> str | None:
    """The date part of an ISO date or date-time (as written, in its own zone); None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise BadValue(field, f"is {value!r}; expected an ISO date or date-time")
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise BadValue(field, f"is {value!r}; expected an ISO date or date-time") from None


def term_in_range(start: str, end: str, start_field: str, end_field: str) -> None:
    """A term the ledger can record, or Missing (the record is skipped and reported, the rest
    imported). Publishers write "no fixed end" as a far-future end (`9999-12-31`) and unknown
    starts as `1900-01-01` or earlier; the ledger keeps dates in FIRST_DAY..LAST_DAY, and one
    such record must not refuse a whole register."""
    for field, day, what in ((start_field, start, "start"), (end_field, end, "end")):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise OutOfRange(
                field,
                f"{what} {day} is outside the dates the ledger records ({FIRST_DAY} to "
                f"{LAST_DAY}); an agreement with no fixed end is recorded by hand with the end "
                "of its current term, then Extended or RolledOver (docs/format.md#agreements)",
            )


def instant(field: str, value: Any) -> str:
    """An ISO date-time as a UTC string that sorts in time order (a date alone is its midnight)."""
    if not isinstance(value, str) or not value.strip():
        raise BadValue(field, f"is {value!r}; expected the release's date-time")
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(field, f"is {value!r}; expected an ISO date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat()


def day_first_date(
    field: str, value: Any, formats: tuple[str, ...] = DAY_FIRST_FORMATS
) -> str | None:
    """A spreadsheet date (`01/04/2015`, `1 April 2015`, `2015-04-01`...) as ISO; None if empty."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if "T" in text and text[:4].isdigit():
        text = text.split("T", 1)[0]
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise BadValue(field, f"is {value!r}; expected a date such as 2015-04-01 or 01/04/2015")


def decimal_amount(field: str, value: Any) -> Decimal | None:
    """A number from JSON (int, float) or a spreadsheet (`£1,234.50`); None if empty."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise BadValue(field, f"is {value!r}; expected an amount")
        return None
    if isinstance(value, int | float):
        amount = Decimal(repr(value))
        if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
            raise BadValue(field, f"is {value!r}; expected an amount under {MAX_AMOUNT:,}")
        return amount
    text = _MONEY_NOISE.sub("", str(value))
    if not text or text in ("-", "n/a", "N/A"):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadValue(field, f"is {value!r}; expected an amount") from None
    if not amount.is_finite():
        raise BadValue(field, f"is {value!r}; expected an amount")
    if abs(amount) >= MAX_AMOUNT:
        raise BadValue(field, f"is {value!r}; expected an amount under {MAX_AMOUNT:,}")
    return amount


def pounds(field: str, amount: Decimal) -> str:
    """Money as the native format writes it: pounds with two decimals, half up."""
    if amount < 0:
        raise BadValue(field, f"is {amount}; expected an amount that is not negative")
    return f"{amount.quantize(PENNY, rounding=ROUND_HALF_UP):.2f}"


def days_inclusive(start: str, end: str) -> int:
    return (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1


def annualise(amount: Decimal, start: str, end: str) -> Decimal:
    """A whole-life amount over [start, end] as an annual rate."""
    return amount * YEAR / days_inclusive(start, end)


def whole_life(rate: Decimal, start: str, end: str) -> Decimal:
    """What an annual rate costs over [start, end]: the inverse of `annualise`."""
    return rate * days_inclusive(start, end) / YEAR


def rate_after_change(current: Decimal, added: Decimal, since: str, end: str) -> Decimal:
    """The annual rate from `since` to `end` once `added` (whole-life money, may be negative) is
    spread over those days on top of the `current` rate."""
    return current + added * YEAR / days_inclusive(since, end)


def revalue(
    basis: str,
    *,
    old_amount: Decimal,
    new_amount: Decimal,
    rate: Decimal,
    start: str,
    old_end: str,
    end: str,
    decided: str,
) -> tuple[Decimal, str] | None:
    """The new annual rate and the day it applies from, after a published amount changed from
    `old_amount` to `new_amount` (None when it did not change), given the `rate` in force and a
    term from `start` that has just moved from `old_end` to `end` (or not).

    With annual amounts the new amount is the rate, from the day after the old end when the
    term was extended, else from `decided`. With whole-life amounts the money added pays for the
    extension (from the day after the old end), or, with no extension, is spread over the rest of
    the term from `decided`; a result below zero falls back to the new amount over the term."""
    added = new_amount - old_amount
    if abs(added) < Decimal("0.005"):
        return None
    since = min(max(decided, start), end)
    if end > old_end:
        since = add_days(old_end, 1)
    if basis == "annual":
        return new_amount, since
    if end > old_end:
        new_rate = added * YEAR / days_inclusive(since, end)
    else:
        new_rate = rate_after_change(rate, added, since, end)
    if new_rate < 0:
        return annualise(new_amount, start, end), min(max(decided, start), end)
    return new_rate, since


def value_on(values: Sequence[tuple[str, str]], day: str) -> str:
    """The annual value in force on `day` among `(applies_from, value)` entries in timeline
    order: the latest `applies_from` on or before `day` (the later entry on a tie), else the
    first value (the awarded value before the term starts). As the ledger computes it."""
    value = values[0][1] if values else "0.00"
    best = ""
    for applies_from, amount in values:
        if best <= applies_from <= day:
            value, best = amount, applies_from
    return value


def whole_life_of(values: Sequence[tuple[str, str]], start: str, end: str) -> Decimal:
    """What an agreement costs over [start, end] under its values in time: the sum over each
    stretch of one annual value of value x days / 365. The exporter writes this as the OCDS
    whole-life amount; the importer's `rate_after_change` inverts it."""
    points = sorted({start, *(a for a, _ in values if start < a <= end)})
    total = Decimal(0)
    for i, point in enumerate(points):
        last = add_days(points[i + 1], -1) if i + 1 < len(points) else end
        total += Decimal(value_on(values, point)) * days_inclusive(point, last) / YEAR
    return total


def add_days(day: str, n: int, field: str = "duration") -> str:
    """`day` plus `n` days, or refused (naming `field`) past the calendar's years 1..9999."""
    try:
        return (dt.date.fromisoformat(day) + dt.timedelta(days=n)).isoformat()
    except (OverflowError, ValueError):
        raise BadValue(field, f"{n} days from {day} is past the calendar") from None


def in_pounds(
    field: str, amount: Decimal, currency: Any, rates: Mapping[str, Decimal]
) -> tuple[Decimal, str | None]:
    """The amount in pounds and a note saying how, or refused: an unknown currency is never
    guessed. A missing currency is taken as GBP (and noted)."""
    if currency is None or (isinstance(currency, str) and not currency.strip()):
        return amount, "currency not stated, taken as GBP"
    code = str(currency).strip().upper()
    if code == GBP:
        return amount, None
    rate = rates.get(code)
    if rate is None:
        raise BadValue(
            field,
            f"is {currency!r}; expected GBP, or a rate for {code} in the --fx file "
            "(CSV: currency,rate in pounds per unit)",
        )
    return amount * rate, f"converted from {code} at {rate} GBP per {code}"
