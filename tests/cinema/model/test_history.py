from __future__ import annotations

from pathlib import Path

from cinema.model import Session
from cinema.model.history import Change, diff, state_history
from recorder.payload import Record

from ._gen import generate


def test_state_history_lists_every_state_event(tmp_path: Path) -> None:
    _, events = generate(tmp_path / "s.cinema", 8, 300, 8)
    with Session.open(tmp_path / "s.cinema") as s:
        pid = next(e[1] for e in events if e[0] == 9)
        hist = state_history(s, pid)
        expected = [e[4]["state"] for e in events if e[0] == 9 and e[1] == pid]
        assert [h.state for h in hist] == expected
        assert all(h.trigger == "cast" for h in hist)
        assert [h.ts for h in hist] == sorted(h.ts for h in hist)


def test_diff_paths() -> None:
    old = {"a": 1, "b": [1, 2, 3], "c": {"x": (1, 2)}, "r": Record("P", (("x", 1), ("y", 2)))}
    new = {"a": 2, "b": [1, 2], "c": {"x": (1, 3), "y": 0}, "r": Record("P", (("x", 1), ("y", 5)))}
    assert diff(old, new) == [
        Change(("a",), "changed", 1, 2),
        Change(("b", 2), "removed", 3, None),
        Change(("c", "x", 1), "changed", 2, 3),
        Change(("c", "y"), "added", None, 0),
        Change(("r", "y"), "changed", 2, 5),
    ]
    assert diff({"k": 1}, {}) == [Change(("k",), "removed", 1, None)]
    assert diff([1], (1,)) == [Change((), "changed", [1], (1,))]
    assert diff(5, 5) == []
