"""Two writers changing one agreement at once: the second gets a conflict naming the agreement,
and nothing is lost. Real stores, real connections, real processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest

from domain.errors import ConcurrentChangeError, DuplicateEventIdError, LedgerError
from domain.ledger import Ledger
from infra.bootstrap import open_ledger
from tests.builders import award, basics, ev


def test_second_writer_gets_a_conflict_naming_the_agreement(ledger: Ledger, store_url: str) -> None:
    ledger.record([*basics(), award("g-1")])
    first, second = open_ledger(store_url), open_ledger(store_url)
    a = first.begin()
    a.add(
        ev(
            "Extended",
            "2007-03-01",
            agreement_id="g-1",
            new_end="2007-06-30",
            rationale="first writer",
        )
    )
    b = second.begin()
    b.add(
        ev(
            "Varied",
            "2007-01-01",
            agreement_id="g-1",
            annual_value="50000.00",
            event_id="second-writer",
        )
    )
    first.commit(a)
    with pytest.raises(ConcurrentChangeError) as caught:
        second.commit(b)
    assert "agreement 'g-1' was changed by another writer" in str(caught.value)
    # nothing lost: the first is stored whole, the second not at all and can be retried
    terms = ledger.agreement("g-1").terms()
    assert terms.end == "2007-06-30" and terms.annual_value_on("2007-02-01") == "40000.00"
    second.record(
        [
            ev(
                "Varied",
                "2007-01-01",
                agreement_id="g-1",
                annual_value="50000.00",
                event_id="second-writer",
            )
        ]
    )
    assert ledger.agreement("g-1").terms().annual_value_on("2007-02-01") == "50000.00"


def test_two_writers_of_one_event_id(ledger: Ledger, store_url: str) -> None:
    ledger.record(basics())
    first, second = open_ledger(store_url), open_ledger(store_url)
    a, b = first.begin(), second.begin()
    a.add(award("g-1", event_id="aw"))
    b.add(award("g-2", event_id="aw"))
    first.commit(a)
    with pytest.raises((DuplicateEventIdError, ConcurrentChangeError)) as caught:
        second.commit(b)
    assert "'aw'" in str(caught.value) or "portfolio of 'j.smith'" in str(caught.value)
    assert ledger.agreement("g-2") is None


def _extend_repeatedly(
    url: str, writer: int, rounds: int, queue: multiprocessing.Queue, ready: multiprocessing.Barrier
) -> None:
    try:
        ledger = open_ledger(url)
        ready.wait(timeout=60)  # both writers start together
        queue.put(_extend(ledger, writer, rounds))
    except Exception as err:  # report a crash rather than leave the test waiting
        queue.put(([], 0, [f"writer {writer} crashed: {err!r}"]))


def _extend(ledger: Ledger, writer: int, rounds: int) -> tuple[list[str], int, list[str]]:
    stored: list[str] = []
    conflicts, errors = 0, []
    for i in range(rounds):
        end = dt.date.fromisoformat(ledger.agreement("g-1").terms().end)
        event_id = f"w{writer}-{i}"
        try:
            ledger.record(
                [
                    ev(
                        "Extended",
                        "2007-03-01",
                        agreement_id="g-1",
                        new_end=(end + dt.timedelta(days=1)).isoformat(),
                        rationale=f"writer {writer}",
                        event_id=event_id,
                    )
                ]
            )
            stored.append(event_id)
        except ConcurrentChangeError:
            conflicts += 1
        except LedgerError as err:
            # the other writer committed between our read of the end and our own load: the
            # rule sees the new end and refuses ours; also told, also nothing stored
            errors.append(str(err))
    return stored, conflicts, errors


@pytest.mark.slow
def test_two_processes_extending_one_agreement_lose_nothing(ledger: Ledger, store_url: str) -> None:
    ledger.record([*basics(), award("g-1", end="2007-03-31")])
    ctx = multiprocessing.get_context("spawn")
    queue, ready = ctx.Queue(), ctx.Barrier(2)
    workers = [
        ctx.Process(target=_extend_repeatedly, args=(store_url, w, 40, queue, ready))
        for w in (1, 2)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    refused = [e for r in results for e in r[2]]
    assert all("not later than the current end" in e for e in refused), refused
    stored = [e for r in results for e in r[0]]
    conflicts = sum(r[1] for r in results)
    facts = ledger.agreement("g-1").facts
    # every extension a writer was told was stored is stored, and nothing else
    assert sorted(f.event.event_id for f in facts[1:]) == sorted(stored)
    assert len(stored) + conflicts + len(refused) == 80
    assert conflicts > 0  # the writers really did collide
    end = dt.date.fromisoformat(ledger.agreement("g-1").terms().end)
    assert end == dt.date(2007, 3, 31) + dt.timedelta(days=len(stored))
