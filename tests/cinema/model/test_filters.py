from __future__ import annotations

from pathlib import Path

import pytest

from cinema.model import ModelError, Session
from cinema.model.filters import EventFilter
from recorder import EventKind as K

from ._gen import generate


def test_filters_agree_with_a_plain_loop(tmp_path: Path) -> None:
    _, _events = generate(tmp_path / "s.cinema", 12, 300, 8)
    with Session.open(tmp_path / "s.cinema") as s:
        t_from, t_to = s.time_of(50), s.time_of(250)
        f = EventFilter(processes=[1], kinds=[K.SEND, K.RECEIVE], t_from=t_from, t_to=t_to)
        kinds = (K.SEND, K.RECEIVE)
        want = [
            e.seq for e in s.events()
            if 1 in (e.pid, e.peer) and e.kind in kinds and t_from <= e.ts <= t_to
        ]  # fmt: skip
        assert f.seqs(s).tolist() == want
        hello = EventFilter(match="HELLO, 1,")
        assert hello.seqs(s).tolist() == [
            e.seq for e in s.events() if e.kind == K.SEND and e.data[1] == 1
        ]  # fmt: skip
        regex = EventFilter(kinds=[K.SEND], match=r"/hello, 1\d, /")
        got = regex.seqs(s).tolist()
        assert got and all(10 <= s.event(q).data[1] <= 19 for q in got)
        assert (
            list(EventFilter(kinds=[K.SEND]).iter_seqs(s, chunk=7))
            == EventFilter(kinds=[K.SEND]).seqs(s).tolist()
        )
        assert len(EventFilter().seqs(s, limit=5)) == 5


def test_bad_regex(tmp_path: Path) -> None:
    generate(tmp_path / "s.cinema", 1, 10, 8)
    with (
        Session.open(tmp_path / "s.cinema") as s,
        pytest.raises(ModelError, match="bad regular expression"),
    ):
        EventFilter(match="/(/").seqs(s)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: EventFilter(),
        lambda s: EventFilter(kinds=[K.SEND, K.STATE]),
        lambda s: EventFilter(processes=[1, 3]),
        lambda s: EventFilter(processes=[]),
        lambda s: EventFilter(t_from=s.time_of(40), t_to=s.time_of(41)),
        lambda s: EventFilter(t_from=s.time_of(299) + 1),
        lambda s: EventFilter(seq_from=52, seq_to=52),
        lambda s: EventFilter(seq_from=30, t_to=s.time_of(200), kinds=[K.RECEIVE]),
        lambda s: EventFilter(match="/hello, [0-9]+, /", seq_to=120),
    ],
)
def test_the_frame_scan_agrees_with_the_skeleton(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    # small frames, so that the scan crosses many of them (and reads ahead on the pool)
    generate(tmp_path / "s.cinema", 12, 300, 8)
    with Session.open(tmp_path / "s.cinema") as fresh, Session.open(tmp_path / "s.cinema") as s:
        f = make(s)
        scanned = list(f.scan(fresh))  # before anything loaded the skeleton
        assert [e.seq for e in scanned] == f.seqs(s).tolist()
        assert scanned == [s.event(e.seq) for e in scanned]
        assert [e.seq for e in f.scan(s)] == [e.seq for e in scanned]  # skeleton loaded now
