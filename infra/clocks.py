"""Clocks for recorded time: the real one, and a simulated one the generator moves forward."""

from __future__ import annotations

import datetime as dt


class SimulatedClock:
    """Recorded time under the generator's control, so a demo has twenty years of recording.

    Each reading is at least a microsecond after the last, so events recorded "at the same time"
    keep their order.
    """

    def __init__(self, start: dt.datetime):
        self._now = _utc(start)
        self._last: dt.datetime | None = None

    def set(self, when: dt.datetime) -> None:
        self._now = _utc(when)

    def __call__(self) -> dt.datetime:
        reading = self._now
        if self._last is not None and reading <= self._last:
            reading = self._last + dt.timedelta(microseconds=1)
        self._last = reading
        return reading


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
