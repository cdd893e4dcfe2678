"""The projector's database without Kafka: batches of messages applied to the views database
(SQLite here; the broker tests use PostgreSQL) equal the rebuild, however the messages are split
and however often they come again; days pass; two members share one database; the views read
back from the tables equal the rebuilt ones. Messages are made by the relay's own encoder from
the demo conurbation's store. About 30 s."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from consumers.materialiser import Consumed, Materialiser
from consumers.messages import encode, frame_from_messages, frame_of, read_messages
from consumers.reading import Refusal, snapshot, usable
from consumers.store_log import StoreLog
from consumers.views_db import ViewsDB
from infra.store.frame_cache import load_event_frame
from projections import diversity
from projections.continuity import continuity
from projections.market import concentration, market
from projections.materialised import NotMaterialisedError
from projections.pipeline import pipeline
from tests.stream_harness import assert_views_equal_rebuild, build_demo, report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{build_demo(tmp_path_factory.mktemp('demo'))}"


def messages(store: str, partitions: int = 3) -> list[Consumed]:
    """Every event as the relay sends it: agreements on their key's partition, the rest on
    each partition, offsets counted per partition."""
    log = StoreLog(store)
    rows = log.page(0, 1_000_000)
    found: list[Consumed] = []
    offsets = dict.fromkeys(range(partitions), 0)
    for row in rows:
        kind, type_ = log.topics[row.topic]
        out = encode(row, kind, type_, 1)
        targets = [hash(out.key) % partitions] if out.agreement else list(range(partitions))
        for p in targets:
            found.append(Consumed(p, offsets[p], out.value, orjson.loads(out.value)))
            offsets[p] += 1
    log.close()
    return found


def _tables(views: str) -> dict[str, pl.DataFrame]:
    from projections.materialised import TABLES

    db = ViewsDB.open(views)
    try:
        return {t: (lambda d: d.sort(d.columns, nulls_last=True))(db.table(t)) for t in TABLES}
    finally:
        db.close()


def test_messages_decode_to_the_stores_own_frame(demo: str) -> None:
    found = messages(demo, 1)
    frame = frame_of([m.message for m in found], None)
    assert_frame_equal(
        frame.sort("notification_id"), load_event_frame(demo, cache=False).sort("notification_id")
    )


def test_a_batch_decoded_at_once_equals_each_message_decoded(demo: str) -> None:
    """The projector reads a whole batch in one parse and cuts the stored state's fields from
    the payload's text: the same frame as decoding message by message, with rationales and
    sources that need escaping, and a message in another field order (the slow way)."""
    found = [m.message for m in messages(demo, 1)]
    assert found[0] is not None
    tricky = 'said "no" \\ then\nleft \u00e9 \t{"x": 1}, "source": "y"'
    for i, message in enumerate(found[:400]):
        payload = dict(message["payload"])
        head = {k: payload.pop(k) for k in ("event_id", "type", "effective_on", "recorded_by")}
        payload.pop("rationale", None), payload.pop("source", None)
        extra = {"rationale": f"{tricky} {i}"} if i % 3 else {}
        extra |= {"source": f"file {tricky}"} if i % 2 else {}
        message["payload"] = {**head, **extra, **payload}
    values = [orjson.dumps(m) for m in found]
    by_one = frame_of(found, None)
    assert_frame_equal(frame_from_messages(read_messages(values), values, None), by_one)
    reordered = [{**m, "payload": dict(reversed(m["payload"].items()))} for m in found[:50]]
    values = [orjson.dumps(m) for m in reordered]
    assert_frame_equal(
        frame_from_messages(read_messages(values), values, None), frame_of(reordered, None)
    )


def test_any_split_any_redelivery_equals_the_rebuild(
    demo: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = random.randrange(1 << 31)
    rng = random.Random(seed)
    records = messages(demo)
    views = f"sqlite:///{tmp_path}/views.db"
    db = ViewsDB.open(views)
    db.ensure()
    state = Materialiser(db, "g", "t")
    at, batches, again = 0, 0, 0
    while at < len(records):
        size = rng.choice([1, 3, 20, 150, 600])
        batch = records[at : at + size]
        if rng.random() < 0.3 and at:  # a redelivery: some earlier messages come again
            start = rng.randrange(0, at)
            batch = records[start : start + rng.randint(1, 300)] + batch
            again += 1
        state.apply(batch)
        at += size
        batches += 1
    db.close()
    rows = assert_views_equal_rebuild(views, demo)
    before = _tables(views)
    db = ViewsDB.open(views)
    replayed = Materialiser(db, "g", "t")
    assert replayed.load() == state.frame.height  # a restart's state, from the database
    done = replayed.apply(records)  # everything again: nothing changes
    offsets = db.offsets("g")
    db.close()
    assert done.new == 0 and done.duplicates == len(records)
    for name, table in _tables(views).items():
        assert_frame_equal(table, before[name])
    assert offsets["next_offset"].to_list() == [
        max(r.offset for r in records if r.partition == p) + 1 for p in offsets["partition"]
    ]
    report(
        request,
        f"seed {seed}: {len(records)} messages in {batches} batches, {again} with redelivered "
        f"messages; {rows} rows equal the rebuild; everything again changed nothing",
    )


def test_two_members_sharing_one_database(demo: str, tmp_path: Path) -> None:
    records = messages(demo)
    views = f"sqlite:///{tmp_path}/views.db"
    dbs = [ViewsDB.open(views), ViewsDB.open(views)]
    dbs[0].ensure()
    members = [Materialiser(db, "g", "t") for db in dbs]
    mine = [[r for r in records if r.partition in owned] for owned in ({0}, {1, 2})]
    folded = 0
    for i in range(0, max(len(m) for m in mine), 300):
        for member, part in zip(members, mine, strict=True):
            folded += member.apply(part[i : i + 300]).others
    for db in dbs:
        db.close()
    assert folded > 0
    assert_views_equal_rebuild(views, demo)


def test_rows_left_for_later_are_written_by_a_later_batch_or_a_restart(
    demo: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A batch that would rewrite every row soon after one that did stores its events and
    offsets only; readers refuse the views meanwhile; the member's next batch (an empty one
    will do) writes the rows, and so does another member or a restart, which know nothing of
    what was left waiting and rewrite every row."""
    records = messages(demo)
    half = len(records) // 2
    for finish in ("same member", "restart"):
        views = f"sqlite:///{tmp_path}/{finish.replace(' ', '-')}.db"
        db = ViewsDB.open(views)
        db.ensure()
        state = Materialiser(db, "g", "t", whole_every=3600)
        first = state.apply(records[:300])
        assert first.agreement_rows == "all" and not first.deferred
        waiting = [state.apply(records[i : i + 600]) for i in range(300, half, 600)]
        assert all(w.agreement_rows == "later" for w in waiting) and state.deferred
        assert waiting[-1].deferred == state.frame.height - first.new  # every event since
        assert isinstance(usable(views, dt.date.today(), None), Refusal)
        if finish == "restart":
            db.close()
            db = ViewsDB.open(views)
            state = Materialiser(db, "g", "t", whole_every=3600)
            state.load()
        after = state.apply(records[half:])
        done = state.apply([])
        db.close()
        if finish == "restart":  # rows waiting for someone else's events: all, at once
            assert after.agreement_rows == "all" and not after.deferred
        else:  # still too soon: later again; then the empty batch writes them
            assert after.agreement_rows == "later" and done.agreement_rows == "all"
        assert not state.deferred
        assert_views_equal_rebuild(views, demo)
        assert not isinstance(usable(views, dt.date.today(), None), Refusal)
        report(request, f"{finish}: {len(waiting)} batches left their rows for later")


def test_rows_follow_the_day(demo: str, tmp_path: Path) -> None:
    """Rows are of one day: the first batch (even an empty one) of a new day computes them
    all again as of that day, and a reader refuses rows of another day."""
    records = messages(demo)
    views = f"sqlite:///{tmp_path}/views.db"
    day = dt.date.today() - dt.timedelta(days=400)
    db = ViewsDB.open(views)
    db.ensure()
    state = Materialiser(db, "g", "t", clock=lambda: day)
    state.apply(records)
    assert_views_equal_rebuild(views, demo, day)
    assert isinstance(usable(views, dt.date.today(), None), Refusal)
    state.clock = dt.date.today
    done = state.apply([])
    db.close()
    assert done.agreement_rows == "all" and done.spend_agreements == "all"
    assert_views_equal_rebuild(views, demo)
    assert not isinstance(usable(views, dt.date.today(), None), Refusal)
    assert isinstance(usable(views, day, None), Refusal)
    assert isinstance(usable(views, dt.date.today(), dt.datetime.now(dt.UTC)), Refusal)


def test_views_read_from_the_tables_equal_the_rebuilt(demo: str, tmp_path: Path) -> None:
    views = f"sqlite:///{tmp_path}/views.db"
    db = ViewsDB.open(views)
    db.ensure()
    Materialiser(db, "g", "t").apply(messages(demo))
    today = dt.date.today()
    read = snapshot(db, today)
    frame = load_event_frame(demo, cache=False)
    pairs = {
        "market": (market(read, today), market(frame, today)),
        "concentration": (concentration(read, today), concentration(frame, today)),
        "mix": (diversity.mix(read, today), diversity.mix(frame.lazy(), today)),  # type: ignore[arg-type]
        "at_risk": (diversity.at_risk(read, today), diversity.at_risk(frame.lazy(), today)),  # type: ignore[arg-type]
        "continuity": (continuity(read, today), continuity(frame, today)),
        "pipeline": (pipeline(read, today, 30), pipeline(frame, today, 30)),
    }
    for got, want in pairs.values():
        got_rows, want_rows = got.collect(), want.collect()
        keys = [c for c in got_rows.columns if got_rows.schema[c] != pl.Float64]
        assert_frame_equal(
            got_rows.sort(keys, nulls_last=True),
            want_rows.sort(keys, nulls_last=True),
            check_exact=True,
        )
    with pytest.raises(NotMaterialisedError):
        read.events  # noqa: B018 - every agreement's events are not in the tables
    db.close()
