"""The relay's reading of the notification log never skips an id a slower writer commits later.

Two writers record into one PostgreSQL store at once, in many small transactions; one of them is
slowed inside each transaction, after its notification ids are drawn and before it commits (a
trigger sleeps when the session's application name is `slow-writer`). Meanwhile the relay's
reader (`StoreLog.page`, what `cledger relay` reads with) tails the log as the relay does: each
read takes what is after the last id it passed. A late commit of a lower id is exactly what
would make such a reader skip it.

With the recorders' table lock (the library's, kept by `infra.store.recorders` and by the bulk
import), the reader never sees an id below one it has passed, and reads every event. Without the
lock (the second test's writers insert rows into the same table the same way, in transactions
of the same size, but take no lock), the same run shows lower ids committed late: the check can
fail, and does when the lock is gone. About 20 s.
"""

from __future__ import annotations

import threading
import time

import pytest

from consumers.store_log import StoreLog
from infra.bootstrap import open_ledger
from tests.stream_harness import native_identities, report, writer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SLOW = """
CREATE OR REPLACE FUNCTION slow_writer() RETURNS trigger AS $$
BEGIN
  IF current_setting('application_name') = 'slow-writer' THEN PERFORM pg_sleep(0.05); END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER slow_writer AFTER INSERT ON ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION slow_writer();
"""


def _tail(store: str, stop: threading.Event, seen: list[int], late: list[tuple[int, int]]) -> None:
    """Read as the relay does; note every id that appears at or below the position passed."""
    log = StoreLog(store)
    position = 0
    committed: set[int] = set()
    try:
        while not stop.is_set() or log.page(position, 1):
            rows = log.page(position, 500)
            if rows:
                seen.extend(r.notification_id for r in rows)
                position = rows[-1].notification_id
            # what a relay would never read again: ids now visible at or below its position
            for r in log.page(0, 1_000_000):
                if r.notification_id <= position and r.notification_id not in committed:
                    if r.notification_id not in set(seen):
                        late.append((r.notification_id, position))
                    committed.add(r.notification_id)
            time.sleep(0.005)
    finally:
        log.close()


def _run(pg_url: str, lock: bool) -> tuple[list[int], list[tuple[int, int]]]:
    open_ledger(pg_url).close()
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SLOW)
    stop = threading.Event()
    seen: list[int] = []
    late: list[tuple[int, int]] = []
    reader = threading.Thread(target=_tail, args=(pg_url, stop, seen, late))
    reader.start()
    writers = [
        writer(pg_url, "fast", 60, 3, lock=lock),
        writer(pg_url, "slow", 60, 3, lock=lock, env={"PGAPPNAME": "slow-writer"}),
    ]
    try:
        for w in writers:
            assert w.wait(240) == 0
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        stop.set()
        reader.join(120)
    return seen, late


def test_a_slower_writer_committing_later_is_never_skipped(
    pg_url: str, request: pytest.FixtureRequest
) -> None:
    seen, late = _run(pg_url, lock=True)
    stored = native_identities(pg_url)
    assert not late, f"ids committed below the reader's position: {late[:5]}"
    assert len(seen) == len(set(seen)) == len(stored) == 2 * (2 + 3 * 60)
    report(
        request,
        f"log tail with two writers (one slowed in its transactions): read {len(seen)} of "
        f"{len(stored)} events, none late",
    )


def test_without_the_table_lock_a_reader_would_skip(
    pg_url: str, request: pytest.FixtureRequest
) -> None:
    seen, late = _run(pg_url, lock=False)
    assert late, "without the lock no commit came late: the check above could not fail"
    report(
        request,
        f"log tail without the table lock: {len(late)} ids committed below the reader's "
        f"position (read {len(seen)}): the check catches a skip",
    )
