"""Text output of the commands over the demo recordings: one rendering everywhere, ranges bounded
by event number when given one, and searches that agree with what the event list shows."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from cinema.model import present
from cinema.model.session import Session
from recorder.events import EventKind

from .conftest import cinema


def _seqs(text: str) -> list[int]:
    return [int(line.split()[0][1:]) for line in text.splitlines()]


def test_events_text_is_the_json_rows_rendered(demo: str) -> None:
    code, text, _ = cinema("events", demo)
    _, js, _ = cinema("events", demo, "--json")
    assert code == 0
    lines, rows = text.splitlines(), [json.loads(x) for x in js.splitlines()]
    assert len(lines) == len(rows)
    with Session.open(demo) as s:
        for line, row in zip(lines, rows, strict=True):
            ev = s.event(row["seq"])
            head = f"#{ev.seq:<8} {present.seconds_text(s, ev.ts)}  {row['kind']:<11} "
            assert line.startswith(head)
            who = line[len(head) :]
            assert who.startswith(present.process_label(s, ev.pid))
            if row["peer"] is not None:
                assert f" {present.process_label(s, ev.peer)}" in who
            assert line.endswith(present.data_text(ev.data, present.BRIEF_LEN))
    assert "4294967295" not in text


def test_state_text_lists_every_process(demo: str) -> None:
    with Session.open(demo) as s:
        seq = s.event_count // 2
        world = s.world_at(seq)
        code, text, _ = cinema("state", demo, "--event", str(seq))
        assert code == 0 and text.startswith(f"after event #{seq} at +")
        heads = [line for line in text.splitlines() if not line.startswith(" ")][1:]
        assert len(heads) == len(world.processes)
        for head, p in zip(heads, world.processes.values(), strict=True):
            assert head.startswith(f"{present.process_label(s, p.pid)} ({p.behaviour}) {p.status}")


# ------------------------------------------------------------------ ranges


def test_event_number_bounds_are_event_numbers(demo: str) -> None:
    with Session.open(demo) as s:
        ts = s.skeleton.ts
        # the demos run on a virtual clock: event 52 shares its timestamp with its neighbours,
        # which is what made `--from '#52' --to '#52'` print #20-#52 when bounds were times
        assert ts[51] == ts[52] or ts[53] == ts[52]
        t52 = (int(ts[52]) - s.t_first) / 1e9
        same_time = np.flatnonzero(ts == ts[52]).tolist()
    code, out, _ = cinema("events", demo, "--from", "#52", "--to", "#52")
    assert code == 0 and _seqs(out) == [52]
    assert _seqs(cinema("events", demo, "--from", "#52", "--to", "#60")[1]) == list(range(52, 61))
    # a time bound keeps every event at that time; mixed bounds combine
    got = _seqs(cinema("events", demo, "--from", f"{t52 * 1e9:.0f}ns", "--to", "#52")[1])
    assert got == [q for q in same_time if q <= 52]
    got = _seqs(cinema("events", demo, "--from", "#52", "--to", f"{t52 * 1e9:.0f}ns")[1])
    assert got == [q for q in same_time if q >= 52]
    assert cinema("events", demo, "--from", "#60", "--to", "#52")[1] == ""


def test_state_and_graph_take_event_numbers(demo: str) -> None:
    assert (
        cinema("state", demo, "--at", "#52", "--json")[1]
        == cinema("state", demo, "--event", "52", "--json")[1]
    )
    with Session.open(demo) as s:
        sends = np.flatnonzero(s.skeleton.kind == EventKind.SEND)
    a, b = int(sends[len(sends) // 3]), int(sends[len(sends) // 2])
    _, out, _ = cinema("graph", demo, "--format", "json", "--from", f"#{a}", "--to", f"#{b}")
    counted = sum(e["count"] for e in json.loads(out)["edges"])
    assert counted == int(((sends >= a) & (sends <= b)).sum())


@pytest.mark.parametrize("command", ["events", "graph"])
def test_range_beyond_the_session_is_a_clean_error(demo: str, command: str) -> None:
    code, out, err = cinema(command, demo, "--from", "#99999999")
    assert code == 2 and out == "" and err.startswith("cinema: error: event #99999999 is out of")
    assert len(err.splitlines()) == 1


# ------------------------------------------------------------------ search agrees with the list


def _event_list_texts(s: Session) -> list[str]:
    """The "details" column of the event list for every event (its own model, Qt-free part)."""
    return [present.data_text(ev.data, present.BRIEF_LEN) for ev in s.events()]


def test_match_and_tilde_find_what_the_event_list_shows(demo: str) -> None:
    rng = random.Random(demo)
    with Session.open(demo) as s:
        texts = _event_list_texts(s)
        full = [present.data_text(ev.data) for ev in s.events()]
    shown = [i for i, t in enumerate(texts) if len(t) > 12]
    for seq in rng.sample(shown, 6):
        t = texts[seq].rstrip("…")
        start = rng.randrange(0, len(t) - 8)
        fragment = t[start : start + rng.randrange(6, min(30, len(t) - start) + 1)]
        want = [i for i, x in enumerate(full) if fragment.lower() in x.lower()]
        assert seq in want
        _, out, _ = cinema("events", demo, "--match", fragment)
        assert _seqs(out) == want, fragment
        if fragment.startswith("/") and fragment.endswith("/"):
            continue  # that would be a regular expression
        literal = re.escape(fragment).replace("\\", "\\\\").replace("'", "\\'")
        _, out, _ = cinema("breaks", demo, "--when", f"data ~ '(?i){literal}'", "--json")
        assert [h["seq"] for h in json.loads(out)["hits"]] == want, fragment


def test_state_says_why_each_process_ended(demo: str) -> None:
    """Every ended process's EXIT / CRASH reason, as the world holds it, in text and JSON."""
    with Session.open(demo) as s:
        seq = s.event_count - 1
        world = s.world_at(seq)
        ended = [p for p in world.processes.values() if not p.alive]
        assert ended
        code, text, _ = cinema("state", demo, "--event", str(seq))
        assert code == 0
        for p in ended:
            assert f"    exit reason: {present.brief(p.exit_reason, 300)}" in text
        code, out, _ = cinema("state", demo, "--event", str(seq), "--json")
        rows = {r["pid"]: r for r in json.loads(out)["processes"]}
        for p in world.processes.values():
            assert rows[p.pid]["exit_reason"] == (
                None if p.alive else present.to_json(p.exit_reason)
            )
        assert any(
            "exception" in json.dumps(rows[p.pid]["exit_reason"])
            for p in ended
            if p.status == "crashed"
        ) or not any(p.status == "crashed" for p in ended)
