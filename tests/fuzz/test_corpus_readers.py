"""Each crafted file of ``tests/corpus/sessions`` gets its clean, bounded outcome from the
reader and the engine (``fuzz/corpus.py`` says how each file was made and what it attacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinema.model.session import Session
from fuzz import corpus
from recorder.payload import PayloadError, decode_payload
from recorder.session.format import ReadLimits, SessionFormatError
from recorder.session.reader import SessionReader

SESSIONS = corpus.CORPUS / "sessions"


def path(name: str) -> Path:
    return SESSIONS / f"{name}.cinema"


def test_every_recipe_has_its_file_in_the_corpus_and_no_file_is_unexplained() -> None:
    assert sorted(p.stem for p in SESSIONS.glob("*.cinema")) == sorted(corpus.SESSIONS)
    sidecars = corpus.CORPUS / "sidecars"
    assert sorted(p.stem for p in sidecars.glob("*.json")) == sorted(corpus.SIDECARS)
    assert max(p.stat().st_size for p in SESSIONS.glob("*.cinema")) < 256 << 10


def test_the_small_recipes_still_make_the_checked_in_files() -> None:
    for name, recipe in corpus.SESSIONS.items():
        if name not in ("zstd-bombs", "keyframe-1m-processes", "state-200-cubed"):  # slow
            assert recipe() == path(name).read_bytes(), f"{name}: run python -m fuzz corpus"


def walk(session: Session) -> None:
    """What the viewer touches: skeleton, refs, processes, every event, worlds."""
    _ = session.skeleton, session.refs, session.processes
    for _ in session.events():
        pass
    for seq in range(-1, session.event_count):
        w = session.world_at(seq)
        w.status_table()
        w.supervision_tree()
        for pid in w.processes:
            w.process(pid)


def test_a_footer_claiming_2e32_events_is_refused_and_the_frames_are_scanned(
    tmp_path: Path,
) -> None:
    with SessionReader(path("footer-2e32-events")) as r:  # frames 1 byte apart
        assert r.recovered and "offsets are out of order or range" in (r.recovery_note or "")
        assert r.event_count == 5 and len(r.skeleton().kind) == 5
    spaced = tmp_path / "spaced.cinema"  # each frame has room for its header: 256 KB
    spaced.write_bytes(corpus.footer_lies(spacing=64))
    with SessionReader(spaced) as r:
        assert r.recovered and "footer claims 4,294,967,296 events" in (r.recovery_note or "")
        assert r.event_count == 5 and len(r.skeleton().kind) == 5


def test_a_lying_footer_never_sizes_the_columns(tmp_path: Path) -> None:
    # the same lie with a budget so large that the claim alone passes: the frame headers are
    # checked (and found to disagree) before the columns are sized by them
    p = tmp_path / "big.cinema"
    p.write_bytes(corpus.footer_lies(spacing=64))
    r = SessionReader(p, ReadLimits(expansion_floor=1 << 40))
    assert not r.recovered and r.event_count == 1 << 32
    with pytest.raises(SessionFormatError, match="disagrees with the footer index"):
        r.skeleton()
    r.close()


def test_a_pid_of_0xfffffffe_is_refused_by_every_column_path() -> None:
    with SessionReader(path("pid-fffffffe")) as r:
        for read in (r.skeleton, lambda: r.event(0), lambda: r.columns(0, 3),
                     lambda: next(iter(r.scan())).pid):  # fmt: skip
            with pytest.raises(SessionFormatError, match="process ids must be below 4,194,304"):
                read()


def test_zstd_bombs_are_refused_before_anything_is_decompressed() -> None:
    with SessionReader(path("zstd-bombs")) as r:
        assert r.event_count == 25  # the footer is honest about counts: the sizes are not
        with pytest.raises(SessionFormatError, match="zstd bomb"):
            r.skeleton()
        with pytest.raises(SessionFormatError, match="zstd bomb"):
            r.event(3)
        # refused on the header's word: no bomb frame got as far as its body
        assert r._ix.declared < 1 << 20
        assert all(h is None for h in r._ix.headers[1:-1]) and not r._cache


def test_a_scan_stops_at_the_first_bomb_and_keeps_what_came_before(tmp_path: Path) -> None:
    data = path("zstd-bombs").read_bytes()
    cut = data.rfind(b"CFRM")  # drop the footer: the reader scans
    p = tmp_path / "scan.cinema"
    p.write_bytes(data[:cut])
    with SessionReader(p) as r:
        assert r.recovered and "zstd bomb" in (r.recovery_note or "")
        assert r.event_count == 1


def test_a_keyframe_with_a_million_processes_is_refused() -> None:
    with (
        Session.open(path("keyframe-1m-processes")) as s,
        pytest.raises(SessionFormatError, match="1,000,000 processes"),
    ):
        s.world_at(0)  # the keyframe at 1 holds the world after event 0
    with Session.open(path("keyframe-1m-processes")) as s:
        # A step forward from a world already made replays event 0 and never reads the
        # keyframe (a drag does not decode the keyframes it crosses): the world is the events'.
        s.world_at(-1)
        assert s.world_at(0).seq == 0


def test_colliding_map_keys_and_set_members_are_refused_in_linear_time() -> None:
    with SessionReader(path("hash-collisions")) as r:
        with pytest.raises(SessionFormatError, match="map keys chosen to collide"):
            r.event(1)
        with pytest.raises(SessionFormatError, match="set members chosen to collide"):
            r.event(2)
    import msgpack

    honest = msgpack.packb({i: i for i in range(5000)})
    assert len(decode_payload(honest)) == 5000


def test_collisions_below_the_threshold_still_decode() -> None:
    import msgpack

    from recorder.payload import EXT_TUPLE

    keys = [msgpack.ExtType(EXT_TUPLE, msgpack.packb([a, b])) for a, b in
            corpus.colliding_pairs(20)]  # fmt: skip
    value = decode_payload(msgpack.packb({k: 1 for k in keys}))
    assert len(value) == 20 and len({hash(k) for k in value}) == 1


def test_payloads_nested_past_256_levels_are_refused_and_250_levels_work() -> None:
    with (
        SessionReader(path("nested-1000")) as r,
        pytest.raises(SessionFormatError, match="nested deeper than 256 levels"),
    ):
        r.event(1)
    with pytest.raises(PayloadError, match="256"):
        decode_payload(b"\x91" * 257 + b"\x00")
    assert decode_payload(b"\x91" * 256 + b"\x00") is not None
    with Session.open(path("nested-250")) as s:
        walk(s)
        from cinema.model import history
        from cinema.model.present import to_json

        to_json(s.event(2).data)
        assert history.last_change(s, 1, 3)[1] == 3


def test_wide_integers_fall_back_to_defaults() -> None:
    from cinema.cli.info import summarize

    with Session.open(path("wide-integers")) as s:
        assert list(s.processes) == [1]  # the footer's 2^64 - 1 pid is not a process
        assert s.processes[1].parent == 0xFFFFFFFF
        walk(s)
        p = s.world_at(s.event_count - 1).process(2)
        assert p is not None and p.supervisor is None and p.cpu_ns == 0 and p.restarts == 0
        assert s.reader.lost == 0 and s.reader.kind_counts()[3] == 1
    info = summarize(str(path("wide-integers")))
    assert info["started"] is None and info["events"] == 6


def test_timestamps_past_2e62_are_refused() -> None:
    with SessionReader(path("time-2e63")) as r:
        assert r.recovered and r.event_count == 0
        assert "2^62" in (r.recovery_note or "")


@pytest.mark.parametrize("name", ["wrong-types", "wrong-types-table"])
def test_keyframe_fields_of_the_wrong_type_fall_back_to_defaults(name: str) -> None:
    with Session.open(path(name)) as s:
        walk(s)
        kf = s.reader.keyframe_before(s.event_count)
        assert kf is not None
        world = kf[1]
        assert world["registry"] == {} and world["dead"] == [] and world["time_ns"] == 0
        rows = world["processes"]
        assert all(isinstance(p.get("links") or [], list) for p in rows)


def test_a_session_with_no_events_is_walked() -> None:
    with Session.open(path("no-events")) as s:
        assert s.event_count == 0
        walk(s)
