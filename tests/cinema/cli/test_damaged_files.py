"""A file damaged in the middle: every command lists what it can read, says on stderr which
events it cannot read, and exits with status 1 (the window shows a banner and the rest; the
commands used to stop at the damage with exit 2 and print nothing after it)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recorder.session.format import FrameType
from recorder.session.reader import SessionReader

from .conftest import cinema

EXPR = 'msg_type == "transfer"'  # reads payloads, RECEIVEs read their SENDs


def _record_bank(path: Path) -> Path:
    """The bank demo (seed 5) recorded in frames of 500 events."""
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.scenarios import run_scenario

    rt = Runtime(
        deterministic=True,
        seed=5,
        record=str(path),
        recorder_options={"flush_interval": None, "frame_events": 500},
    )
    run_scenario("bank", rt)
    rt.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, int, int]:
    """(sound file, the same with one byte flipped in its third events frame, first, last)."""
    folder = tmp_path_factory.mktemp("damaged")
    sound = _record_bank(folder / "bank.cinema")
    with SessionReader(sound) as r:
        t = r.frame_table()
    ev = t["type"] == FrameType.EVENTS
    offsets, firsts, counts = t["offset"][ev], t["first_seq"][ev], t["count"][ev]
    data = bytearray(sound.read_bytes())
    data[int(offsets[3]) - 40] ^= 0xFF  # the end of the third frame: its payload block
    damaged = folder / "damaged.cinema"
    damaged.write_bytes(bytes(data))
    first = int(firsts[2])
    return str(sound), str(damaged), first, first + int(counts[2]) - 1


def _rows(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_the_warning_comes_where_the_damage_is(
    files: tuple[str, str, int, int], tmp_path: Path
) -> None:
    """Into a file, `events` writes its lines in batches; the warning about the damaged frame
    still follows the lines before the damage and precedes those after it (2>&1)."""
    _, damaged, first, last = files
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        done = subprocess.run(
            [sys.executable, "-m", "cinema", "events", damaged], stdout=f, stderr=f, check=False
        )
    assert done.returncode == 1
    lines = out.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("cinema: warning:"))
    seqs = [int(line.split()[0][1:]) for line in lines if line.startswith("#")]
    assert at == sum(1 for s in seqs if s < first) > 256  # more than one batch before it
    assert all(s > last for s in seqs[at:])


def test_events_lists_everything_but_the_damaged_frame(files: tuple[str, str, int, int]) -> None:
    sound, damaged, first, last = files
    code, out, err = cinema("events", damaged, "--json")
    assert code == 1
    _, whole, _ = cinema("events", sound, "--json")
    expected = [r for r in _rows(whole) if not first <= r["seq"] <= last]
    assert _rows(out) == expected  # everything before and after the damage, as it is
    assert f"events #{first:,}–#{last:,} cannot be read (frame checksum mismatch" in err
    assert f"{last - first + 1} events could not be read" in err
    assert "Traceback" not in err
    # text too, and a filter that never needs the damaged payloads reads a sound listing
    code, text, _ = cinema("events", damaged)
    assert code == 1 and len(text.splitlines()) == len(expected)
    code, crashes, err = cinema("events", damaged, "--kind", "crash")
    assert (code, err) == (0, "") and crashes == cinema("events", sound, "--kind", "crash")[1]


def test_breaks_gives_every_hit_it_can_and_says_what_it_left_out(
    files: tuple[str, str, int, int], validator: Callable[[str], Any]
) -> None:
    sound, damaged, first, last = files
    code, out, err = cinema("breaks", damaged, "--when", EXPR, "--json")
    assert code == 1 and "Traceback" not in err
    doc = json.loads(out)
    assert [e for e in validator("breaks").iter_errors(doc)] == []
    spans = [(u["first"], u["last"]) for u in doc["unreadable"]]
    assert (first, last) in spans
    _, whole, _ = cinema("breaks", sound, "--when", EXPR, "--json")
    every = [h["seq"] for h in json.loads(whole)["hits"]]
    left_out = [s for s in every if any(a <= s <= b for a, b in spans)]
    # nothing silently missing: each hit of the sound file is listed or said to be left out
    assert [h["seq"] for h in doc["hits"]] == [s for s in every if s not in left_out]
    assert any(first <= s <= last for s in left_out)
    # RECEIVEs outside the damaged frame whose SEND is inside it cannot be evaluated: said
    # (the bank's transfers cross the frame's edges), not dropped quietly
    assert any(span != (first, last) for span in spans)
    assert f"need events #{first:,}–#{last:,}, which cannot be read: not searched" in err


def test_graph_counts_the_readable_sizes_and_says_which_are_missing(
    files: tuple[str, str, int, int], validator: Callable[[str], Any]
) -> None:
    sound, damaged, first, last = files
    code, out, err = cinema("graph", damaged, "--format", "json")
    assert code == 1 and f"events #{first:,}–#{last:,} cannot be read" in err
    doc = json.loads(out)
    assert [e for e in validator("graph").iter_errors(doc)] == []
    assert [(u["first"], u["last"]) for u in doc["unreadable"]] == [(first, last)]
    whole = json.loads(cinema("graph", sound, "--format", "json")[1])
    assert whole["unreadable"] == []
    # the same messages; only the bytes of those sent in the damaged frame are missing
    assert sum(e["count"] for e in doc["edges"]) == sum(e["count"] for e in whole["edges"])
    assert 0 < sum(e["bytes"] for e in doc["edges"]) < sum(e["bytes"] for e in whole["edges"])
    code, dot, _ = cinema("graph", damaged)
    assert code == 1 and dot.startswith("digraph")


def test_state_shows_what_it_can_and_says_where_it_cannot(
    files: tuple[str, str, int, int],
) -> None:
    sound, damaged, first, last = files
    code, out, _ = cinema("state", damaged, "--event", str(first - 1))
    assert code == 0 and out == cinema("state", sound, "--event", str(first - 1))[1]
    code, out, err = cinema("state", damaged, "--event", str(last + 100))
    assert code == 2 and out == ""
    assert err.startswith(f"cinema: error: the world after event #{last + 100:,} cannot be shown")
    assert f"events #{first:,}–#{last:,} cannot be read" in err
    assert f"it can be shown up to event #{first - 1:,}" in err


def test_a_sound_file_says_nothing_and_exits_0(files: tuple[str, str, int, int]) -> None:
    sound, _, _, _ = files
    for args in (["events", sound], ["breaks", sound, "--when", EXPR], ["graph", sound]):
        code, _, err = cinema(*args)
        assert (code, err) == (0, ""), args


def _flip_block0(sound: str, folder: Path) -> tuple[str, int, int]:
    """The sound file with one byte flipped at the start of its third events frame's body
    (its skeleton block: it no longer decompresses)."""
    with SessionReader(sound) as r:
        t = r.frame_table()
    ev = t["type"] == FrameType.EVENTS
    offsets, firsts, counts = t["offset"][ev], t["first_seq"][ev], t["count"][ev]
    data = bytearray(Path(sound).read_bytes())
    data[int(offsets[2]) + 70] ^= 0xFF  # past the 64-byte frame header: block 0
    path = folder / "block0.cinema"
    path.write_bytes(bytes(data))
    return str(path), int(firsts[2]), int(firsts[2] + counts[2] - 1)


def test_analyze_reads_every_readable_frame_and_says_which_it_left_out(
    files: tuple[str, str, int, int], validator: Callable[[str], Any], tmp_path: Path
) -> None:
    sound, damaged, first, last = files
    whole = json.loads(cinema("analyze", sound, "--json")[1])
    assert whole["unreadable"] == []
    block0 = _flip_block0(sound, tmp_path)
    for path, a, b in ((damaged, first, last), block0):
        code, out, err = cinema("analyze", path, "--json")
        assert code == 1 and "Traceback" not in err, err
        doc = json.loads(out)
        assert [e for e in validator("analyze").iter_errors(doc)] == []
        assert [(u["first"], u["last"]) for u in doc["unreadable"]] == [(a, b)]
        assert f"events #{a:,}–#{b:,} cannot be read (" in err
        assert "left out of the analysis" in err
        assert f"{b - a + 1} events could not be read" in err
        # the findings still work: the ones the bank is built to show, none resting on the
        # damage, and none the sound file does not have
        found = {f["detector"] for f in doc["findings"]}
        assert {"supervisor_gave_up", "crash_loop", "call_timeout"} <= found
        assert found <= {f["detector"] for f in whole["findings"]}
        for f in doc["findings"]:
            assert not any(a <= e <= b for e in f["events"]), f
        code, text, err = cinema("analyze", path, "--fail-on", "error")
        assert code == 1 and "supervisor_gave_up" in text and "the file is damaged" in err


def test_info_check_says_which_events_a_damaged_file_cannot_show(
    files: tuple[str, str, int, int], validator: Callable[[str], Any]
) -> None:
    """`cinema info` reads the footer (a file damaged in the middle looks whole there);
    `--check` verifies every frame's checksum, says which events cannot be read, shows the
    rest of the summary and exits 1."""
    sound, damaged, first, last = files
    code, plain, err = cinema("info", damaged)
    assert (code, err) == (0, "") and plain == cinema("info", sound)[1].replace(sound, damaged)
    code, text, err = cinema("info", damaged, "--check")
    assert code == 1 and "Traceback" not in err
    assert f"events #{first:,}–#{last:,} cannot be read (frame checksum mismatch" in err
    assert "damaged     1 of " in text and f"{last - first + 1:,} events cannot be read" in text
    assert "kinds" in text and "events      " in text  # the rest of the summary is there
    code, out, json_err = cinema("info", damaged, "--check", "--json")
    doc = json.loads(out)
    validator("info").validate(doc)
    assert code == 1 and doc["checked"] is True and doc["events"] > last
    assert json_err == err  # said on stderr too, as every command's --json does (smoke run)
    assert [(u["first"], u["last"]) for u in doc["unreadable"]] == [(first, last)]
    assert "checksum" in doc["unreadable"][0]["reason"] and doc["unreadable"][0]["offset"] > 0
    code, out, err = cinema("info", sound, "--check", "--json")
    assert (code, err) == (0, "") and json.loads(out)["unreadable"] == []
    validator("info").validate(json.loads(out))
    code, text, _ = cinema("info", sound, "--check")
    assert code == 0 and "checked     every frame's checksum" in text


def test_a_damaged_file_that_lost_its_footer_reads_as_with_it(
    files: tuple[str, str, int, int], tmp_path: Path
) -> None:
    """A recording damaged in the middle and then killed (no footer): the index, rebuilt by
    scanning, steps over the damaged frame instead of stopping there, so every command reads
    what it reads with the footer (the events after the damage, with their numbers)."""
    from recorder.session.format import TRAILER

    _, damaged, first, last = files
    data = Path(damaged).read_bytes()
    footer_at, _ = TRAILER.unpack(data[-TRAILER.size :])
    cut = tmp_path / "killed.cinema"
    cut.write_bytes(data[:footer_at])
    code, text, _ = cinema("info", str(cut))
    assert code == 0 and "recovered   yes: no footer" in text
    assert "kept the damaged event frame at byte" in text
    assert f"(events {first}-{last} unreadable: frame checksum mismatch" in text
    for args in (["events", "--json"], ["graph", "--format", "json"], ["analyze", "--json"]):
        want = cinema(args[0], damaged, *args[1:])
        got = cinema(args[0], str(cut), *args[1:])
        assert got[0] == want[0] == 1, (args, got[2])
        assert got[1].replace(str(cut), damaged) == want[1], args


def test_breaks_on_a_kind_gives_the_hits_the_kind_index_keeps(
    files: tuple[str, str, int, int],
) -> None:
    """`breaks --when 'kind == "crash"'` found a damaged frame's crashes in its skeleton,
    then stopped with exit 2 reading their data from the frame (found by tools/smoke.py). The
    kind index keeps those events too, as `cinema events --kind crash` lists them."""
    sound, damaged, first, last = files
    when = 'kind == "drop" or kind == "marker" or kind == "breakpoint"'
    _, whole, _ = cinema("breaks", sound, "--when", when, "--json")
    hits = json.loads(whole)["hits"]
    assert any(first <= h["seq"] <= last for h in hits)  # the damaged frame has some
    code, out, err = cinema("breaks", damaged, "--when", when, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["hits"] == hits
    code, text, err = cinema("breaks", damaged, "--when", when)
    assert (code, err) == (0, "") and text == cinema("breaks", sound, "--when", when)[1]
    # a kind the index does not keep in that frame: its hits there are said to be left out
    code, out, err = cinema("breaks", damaged, "--when", 'kind == "send"', "--json")
    assert code == 1 and "Traceback" not in err
    doc = json.loads(out)
    assert (first, last) in [(u["first"], u["last"]) for u in doc["unreadable"]]
    _, whole, _ = cinema("breaks", sound, "--when", 'kind == "send"', "--json")
    sent = [h["seq"] for h in json.loads(whole)["hits"]]
    assert [h["seq"] for h in doc["hits"]] == [s for s in sent if not first <= s <= last]


def test_a_time_in_the_damaged_frame_is_found_from_its_timestamps(
    files: tuple[str, str, int, int],
) -> None:
    """`--at TIME` read the whole frame (payloads and all) to find the event at that time, so
    in a frame with damaged payloads `cinema state --at` failed with the bare checksum error
    instead of saying where the world can be shown (found by tools/smoke.py); the timestamps
    are in the frame's skeleton block, which is sound."""
    sound, damaged, first, _ = files
    with SessionReader(sound) as r:
        t = (int(r.skeleton().ts[first + 10]) - r.t_first) / 1e9
    at = f"{t * 1e6:.0f}us"
    code, out, err = cinema("state", damaged, "--at", at)
    assert code == 2 and out == "" and "Traceback" not in err
    _, sound_out, _ = cinema("state", sound, "--at", at)
    seq = int(sound_out.split()[2].lstrip("#"))  # "after event #N at ..."
    assert err.startswith(f"cinema: error: the world after event #{seq:,} cannot be shown")
    assert f"it can be shown up to event #{first - 1:,}" in err


@pytest.mark.parametrize(
    "args",
    [
        ("why", "--event", "{seq}"),
        ("export", "-o", "{out}.cinema"),
        ("sql", "SELECT count(text) FROM events"),
    ],
)
def test_a_command_that_needs_the_damaged_events_says_which_they_are(
    files: tuple[str, str, int, int], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """why, a bundle export and sql (and top, verify) stop at a damaged frame they need; they said
    only "<file> at byte N: frame checksum mismatch" (found by tools/smoke.py). They say which
    events, in the words of the commands that read the rest."""
    _, damaged, first, last = files
    filled = [a.format(seq=first + 5, out=tmp_path / "out") for a in args]
    code, out, err = cinema(filled[0], damaged, *filled[1:])
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(
        f"cinema: error: {damaged}: events #{first:,}–#{last:,} cannot be read (frame checksum "
        "mismatch (corrupt data) at byte "
    )
    assert "this command needs them" in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())  # an export that stops leaves nothing half-written


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "chrome-trace"])
def test_an_export_leaves_out_the_damaged_frame_and_says_so(
    files: tuple[str, str, int, int], tmp_path: Path, fmt: str
) -> None:
    """An export to jsonl, parquet or chrome-trace writes every event it can read, like
    `cinema events` (it stopped with exit 2 at the damaged frame); a bundle still stops."""
    _, damaged, first, last = files
    out = tmp_path / f"out.{fmt}"
    code, text, err = cinema("export", damaged, "-o", str(out), "--format", fmt)
    assert code == 1 and "Traceback" not in err and text.startswith(f"wrote {out}")
    assert f"events #{first:,}–#{last:,} cannot be read (frame checksum mismatch" in err
    assert "left out of the export" in err and "everything else is exported" in err
    _, listed, _ = cinema("events", damaged, "--json")
    rows = [json.loads(line) for line in listed.splitlines()]
    if fmt == "jsonl":
        assert out.read_text().splitlines() == listed.splitlines()
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(out, columns=["seq"]).column("seq").to_pylist() == [
            r["seq"] for r in rows
        ]
    else:
        doc = json.loads(out.read_text())
        assert doc["traceEvents"] and f"{len(rows):,} events" in text
