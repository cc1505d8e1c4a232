"""Legend and colours: each kind in one category named for it, hues far apart."""

from __future__ import annotations

import itertools

from PySide6.QtGui import QColor

from cinema.ui.theme import CATEGORIES, KIND_CATEGORY
from cinema.ui.timeline import TimelineWidget
from recorder.events import EventKind


def test_every_kind_has_exactly_one_category() -> None:
    seen = [k for _c, (_col, kinds) in CATEGORIES.items() for k in kinds]
    assert sorted(seen) == sorted(EventKind) and len(seen) == len(set(seen))


def test_categories_are_named_for_their_kinds() -> None:
    assert KIND_CATEGORY[EventKind.EXIT_SIGNAL] != "crash"
    assert CATEGORIES[KIND_CATEGORY[EventKind.EXIT_SIGNAL]][0] != CATEGORIES["crash"][0]
    assert KIND_CATEGORY[EventKind.PROFILE] == "profile"
    for kind in (EventKind.INTERCEPT, EventKind.DELAY):
        assert "intercept" in KIND_CATEGORY[kind] or "delay" in KIND_CATEGORY[kind]
    for kind in (EventKind.TIMEOUT, EventKind.DROP):
        assert KIND_CATEGORY[kind] == "timeout/drop"


def test_no_two_colours_look_alike() -> None:
    def rgb(c: str) -> tuple[int, int, int]:
        q = QColor(c)
        return q.red(), q.green(), q.blue()

    for (a, (ca, _)), (b, (cb, _)) in itertools.combinations(CATEGORIES.items(), 2):
        d = sum((x - y) ** 2 for x, y in zip(rgb(ca), rgb(cb), strict=True)) ** 0.5
        assert d >= 60, (a, ca, b, cb, d)


def test_the_timeline_legend_lists_the_categories(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    text = w.legend_label.text()
    for name in ("exit signal", "profile", "intercept/delay", "timeout/drop", "marker"):
        assert f"&nbsp;{name}" in text
