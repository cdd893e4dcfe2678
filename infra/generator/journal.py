"""The journal: native records with the time each was typed in, kept in a dependable order.

Why: the ledger checks references when an event is recorded (a provider must be registered
before an award names it, a successor agreement awarded before `Reprocured` names it, a lead's
portfolio complete before it is handed over). Stories are generated in the order things happened
in the world; the journal gives each record a realistic recorded time (a few days after the
decision, or years later for back-filled paper) and lifts it just after whatever it depends on,
so sorting by recorded time yields an order the ledger accepts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SECOND = dt.timedelta(seconds=1)

# Days between a decision and its being typed in: mostly days, sometimes a backlog of weeks.
_LAGS = (0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 10, 12, 14, 21, 30, 45)


@dataclass(frozen=True)
class GeneratedEvent:
    """One native-format record and the moment the ledger's clock should read when it is stored."""

    recorded_at: dt.datetime
    record: dict[str, Any]


class Journal:
    """Collects records; `events()` returns them in recording order."""

    def __init__(
        self, rng: random.Random, *, prefix: str, opened: dt.datetime, closes: dt.datetime
    ):
        self._rng = rng
        self._prefix = prefix
        self._opened = opened
        self._closes = closes
        self._rows: list[tuple[dt.datetime, int, dict[str, Any]]] = []
        self._last: dict[str, dt.datetime] = {}

    def typed_in(self, day: dt.date, *, lag_days: int | None = None) -> dt.datetime:
        """When a clerk would type in a decision of `day`: working hours, a few days later."""
        lag = self._rng.choice(_LAGS) if lag_days is None else lag_days
        when = dt.datetime.combine(day + dt.timedelta(days=lag), dt.time(0), dt.UTC)
        when += dt.timedelta(seconds=self._rng.randint(8 * 3600, 17 * 3600 + 1800))
        if when < self._opened:  # history older than the ledger was typed in when it opened
            when = self._opened + dt.timedelta(
                days=self._rng.randint(0, 20), seconds=self._rng.randint(0, 8 * 3600)
            )
        return min(when, self._closes)

    def write(
        self,
        type_: str,
        day: dt.date,
        by: str,
        fields: dict[str, Any],
        *,
        rationale: str | None = None,
        source: str | None = None,
        after: Iterable[str] = (),
        touch: Iterable[str] = (),
        at: dt.datetime | None = None,
        lag_days: int | None = None,
    ) -> str:
        """Add one record effective on `day`; return its event_id.

        `after` names subjects (``"p:mind"``, ``"a:KCC-2006-001"``, ``"l:lead"``) whose last
        record must be stored first; `touch` names the subjects this record updates.
        """
        event_id = f"{self._prefix}{len(self._rows) + 1:06d}"
        record: dict[str, Any] = {
            "event_id": event_id,
            "type": type_,
            "effective_on": day.isoformat(),
            "recorded_by": by,
        }
        if rationale is not None:
            record["rationale"] = rationale
        if source is not None:
            record["source"] = source
        record.update({k: v for k, v in fields.items() if v is not None})
        when = at if at is not None else self.typed_in(day, lag_days=lag_days)
        touched = list(touch)
        for key in (*after, *touched):
            last = self._last.get(key)
            if last is not None and when <= last:
                when = last + SECOND
        for key in touched:
            self._last[key] = when
        self._rows.append((when, len(self._rows), record))
        return event_id

    def records(self) -> list[dict[str, Any]]:
        """The records written so far, in the order they were written."""
        return [record for _, _, record in self._rows]

    def last_recorded(self, key: str) -> dt.datetime | None:
        return self._last.get(key)

    def events(self) -> list[GeneratedEvent]:
        """Every record in recording order (ties kept in the order they were written)."""
        return [
            GeneratedEvent(when, record)
            for when, _, record in sorted(self._rows, key=lambda r: r[:2])
        ]

    def __len__(self) -> int:
        return len(self._rows)
