"""The query parameters every page takes, parsed into one plain-line error when wrong.

`as_of` (a date) and `known_at` (an ISO timestamp, no zone meaning UTC) mean what `--as-of` and
`--known-at` mean to the CLI. A bad one is a `BadParam` (answered 400), never a server error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from domain.errors import LedgerError

MAX_ROWS = 500  # rows of a table shown on a page (the CSV holds every row)


class BadParam(LedgerError):
    """A query parameter that cannot be what it names."""

    def __init__(self, name: str, expected: str, got: str) -> None:
        super().__init__(f"parameter '{name}' is {got!r}; expected {expected}")


class NotFound(LedgerError):
    """A page about something the ledger does not hold."""


@dataclass(frozen=True)
class When:
    """The date the page shows the world on, and the time of the knowledge it shows."""

    as_of: dt.date
    known_at: dt.datetime | None
    as_of_given: str | None = None
    known_at_given: str | None = None

    @classmethod
    def parse(cls, as_of: str | None, known_at: str | None) -> When:
        return cls(_date(as_of), _time(known_at), as_of or None, known_at or None)

    def query(self) -> dict[str, str]:
        """The parameters to carry in every link, so a reader stays on the same date."""
        out = {}
        if self.as_of_given:
            out["as_of"] = self.as_of.isoformat()
        if self.known_at_given:
            out["known_at"] = self.known_at_given
        return out

    def link(self, path: str, **extra: str | int | None) -> str:
        """`path` with this date's parameters and `extra` (None values left out)."""
        params = {**self.query(), **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
        return path + ("?" + urlencode(params) if params else "")


def _date(value: str | None) -> dt.date:
    if value is None or value == "":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadParam("as_of", "a date YYYY-MM-DD", value) from None


def _time(value: str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadParam(
            "known_at", "an ISO timestamp such as 2014-04-01T12:00:00 (no zone: UTC)", value
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def months(value: int | None) -> int:
    if value is None:
        return 6
    if value < 0 or value > 600:
        raise BadParam("months", "a number of months from 0 to 600", str(value))
    return value


def page_number(value: int | None) -> int:
    if value is None:
        return 1
    if value < 1:
        raise BadParam("page", "a page number, 1 or more", str(value))
    return value
