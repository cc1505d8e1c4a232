"""Finding the SEND of a message: the table of every SEND answers as the window scans do, and as
a plain search of the events does, in a file and in a live session that grows."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model import Session, present
from cinema.model._sends import SendFinder
from cinema.model.condition import Condition
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER

from . import bp_sessions

_KINDS = [K.SEND, K.RECEIVE, K.STATE, K.DROP]


def _record(
    path: Path, events: list[tuple[int, int]], frame_events: int = 5
) -> list[tuple[int, int]]:
    """Record ``(kind index, message id)`` events after two SPAWNs; the (kind, ref) of each."""
    clock = iter(range(1000, 10**9, 100))
    out = [(int(K.SPAWN), 0), (int(K.SPAWN), 0)]
    with Recorder(
        path, clock=lambda: next(clock), flush_interval=None, frame_events=frame_events
    ) as rec:
        rec.emit(K.SPAWN, 0, NO_PEER, 0, {"name": "a"})
        rec.emit(K.SPAWN, 1, NO_PEER, 0, {"name": "b"})
        for k, ref in events:
            kind = _KINDS[k]
            rec.emit(kind, 0, 1, ref, {"i": len(out)})
            out.append((int(kind), ref))
    return out


def _latest_send(events: list[tuple[int, int]], msg_id: int, before: int) -> int:
    sends = [i for i, (k, r) in enumerate(events[:before]) if k == K.SEND and r == msg_id]
    return sends[-1] if sends else -1


_EVENTS = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(_EVENTS)
def test_the_table_answers_as_the_scans_and_a_plain_search(
    tmp_path_factory: object, events: list[tuple[int, int]]
) -> None:
    path = tmp_path_factory.mktemp("sends") / "s.cinema"  # type: ignore[attr-defined]
    recorded = _record(path, events)
    with Session.open(path) as s:
        scans = SendFinder(s.reader, table_after=None)
        table = SendFinder(s.reader, table_after=0)
        for before in range(len(recorded) + 2):
            for msg_id in range(0, 8):
                want = _latest_send(recorded, msg_id, before)
                assert scans.seq_of(msg_id, before) == want, (msg_id, before)
                assert table.seq_of(msg_id, before) == want, (msg_id, before)
        assert table._table is not None and scans._table is None  # both paths were taken


def test_a_live_session_finds_sends_made_after_the_table(tmp_path: Path) -> None:
    events = [(i % 4, 1 + (i * 7) % 5) for i in range(3000)]  # ids sent again and again
    recorded = _record(tmp_path / "s.cinema", events, frame_events=32)
    latest = [{}]  # latest[before][msg_id]: the plain answer, for every ``before``
    for i, (k, r) in enumerate(recorded):
        latest.append({**latest[i], r: i} if k == K.SEND else latest[i])
    whole = (tmp_path / "s.cinema").read_bytes()
    live = Session.live()
    finder = SendFinder(live.reader, table_after=0)
    built = set()
    step = max(len(whole) // 9, 1)
    for i in range(0, len(whole), step):
        live.feed(whole[i : i + step])
        n = live.event_count
        for before in [*range(0, n + 1, 97), n - 1, n]:
            for msg_id in range(1, 7):
                assert finder.seq_of(msg_id, before) == latest[before].get(msg_id, -1)
        built.add(finder._table_n)
    assert len(built) >= 2  # built, then rebuilt as the session grew (scans in between)


def test_breakpoint_hits_and_rows_are_the_same_either_way(tmp_path: Path) -> None:
    """``msg`` of a RECEIVE is its SEND's data: with the table (what ``cinema breaks`` over a
    whole session uses) the hits and their JSON rows are those of the window scans."""
    path = bp_sessions.random_session(tmp_path / "r.cinema", seed=3, n_events=3000)
    results = []
    for table_after in (None, 0):
        with Session.open(path) as s:
            s.index.sends = SendFinder(s.reader, table_after=table_after)
            hits = Condition('msg ~ "a" or msg != none and kind == "receive"').hits(s).tolist()
            rows = [present.event_row(s, s.event(q)) for q in hits]
            results.append((hits, rows))
    assert results[0][0] and results[0] == results[1]
