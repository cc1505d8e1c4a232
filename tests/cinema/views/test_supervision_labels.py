"""Supervision view-model (slots, auto-open, search) and label placement, without Qt."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cinema.views.labels import LABEL_HEIGHT, place_labels
from cinema.views.supervision import SupervisionView, natural_key, slot_keys


def test_a_restarted_child_keeps_its_slot() -> None:
    procs = {
        0: SimpleNamespace(name="sup", supervisor=None),
        1: SimpleNamespace(name="a", supervisor=0),
        2: SimpleNamespace(name="b", supervisor=0),
        3: SimpleNamespace(name="a", supervisor=0),  # a's replacement
        4: SimpleNamespace(name="a", supervisor=9),  # another supervisor's "a"
    }
    assert slot_keys(procs) == {0: 0, 1: 1, 2: 2, 3: 1, 4: 4}


def test_natural_order() -> None:
    names = ["w10", "w2", "w1", "W3"]
    assert sorted(names, key=natural_key) == ["w1", "w2", "W3", "w10"]


class _World:
    """Just what SupervisionView.tree reads of a world."""

    def __init__(self, roots: tuple[int, ...], children: dict[int, tuple[int, ...]]) -> None:
        from cinema.model import StatusTable
        from cinema.model.world import STATUSES, SupervisionTree

        self._tree = SupervisionTree(roots, children)
        pids = sorted({*roots, *(c for cs in children.values() for c in cs)})
        sup = {c: s for s, cs in children.items() for c in cs}
        n = len(pids)
        self._table = StatusTable(
            np.array(pids, np.int64), np.full(n, STATUSES.index("waiting"), np.uint8),
            np.zeros(n, np.int64), np.zeros(n, np.int64),
            np.array([sup.get(p, -1) for p in pids], np.int64),
        )  # fmt: skip

    def supervision_tree(self):  # type: ignore[no-untyped-def]
        return self._tree

    def status_table(self):  # type: ignore[no-untyped-def]
        return self._table


def test_a_level_opens_only_when_it_fits_and_the_choice_is_kept() -> None:
    view = SupervisionView({}, budget=50)
    sups = tuple(range(1, 11))
    kids = {s: tuple(range(100 + 10 * s, 110 + 10 * s)) for s in sups}
    empty = view.tree(_World((0,), {}), 0)  # at first the root has no children yet
    assert empty.children == {} and not view.collapsed
    tree = view.tree(_World((0,), {0: sups} | kids), 1)
    assert set(tree.children) == {0}  # 11 shown; opening the next level (100 more) would not fit
    assert set(tree.hidden) == set(sups) and all(tree.hidden[s] == 10 for s in sups)
    view.toggle(3, tree)
    tree = view.tree(_World((0,), {0: sups} | kids), 2)
    assert set(tree.children) == {0, 3}


def test_find_by_name_or_pid() -> None:
    view = SupervisionView({1: "worker_1", 12: "worker_12", 5: "ledger"})
    assert view.find("worker_1", [1, 12, 5]) == [1, 12]
    assert view.find("<12>", [1, 12, 5]) == [12]
    assert view.find("LEDG", [1, 12, 5]) == [5]
    assert view.find("", [1, 12, 5]) == []


@given(
    st.lists(
        st.tuples(st.floats(0, 500), st.floats(0, 400), st.floats(10, 120), st.integers(0, 3)),
        max_size=200,
    )
)
def test_placed_labels_never_overlap(nodes: list[tuple[float, float, float, int]]) -> None:
    px = np.array([n[0] for n in nodes], np.float64)
    py = np.array([n[1] for n in nodes], np.float64)
    w = np.array([n[2] for n in nodes], np.float64)
    prio = np.array([n[3] for n in nodes], np.int64)
    take = place_labels(px, py, w, prio, 500, 400)
    rects = [(px[i] + 8, px[i] + 8 + w[i], py[i] - LABEL_HEIGHT / 2) for i in take]
    for i, (a0, a1, ay) in enumerate(rects):
        for b0, b1, by in rects[i + 1 :]:
            assert not (a0 < b1 and b0 < a1 and abs(ay - by) < LABEL_HEIGHT)
    if len(take) > 1:  # the most important labels go first
        assert prio[take[0]] == prio[take].max()


class _StatusWorld(_World):
    """A _World whose processes have the given statuses (a crashed one leaves the live tree)."""

    def __init__(
        self, roots: tuple[int, ...], children: dict[int, tuple[int, ...]], status: dict[int, str]
    ) -> None:
        from cinema.model import StatusTable
        from cinema.model.world import STATUSES, SupervisionTree

        super().__init__(roots, children)
        t = self._table
        code = np.array([STATUSES.index(status.get(int(p), "waiting")) for p in t.pid], np.uint8)
        self._table = StatusTable(t.pid, code, t.mailbox_len, t.restarts, t.supervisor)
        gone = {p for p, s in status.items() if s in ("dead", "crashed")}
        self._tree = SupervisionTree(
            tuple(r for r in roots if r not in gone),
            {
                s: tuple(c for c in cs if c not in gone)
                for s, cs in children.items()
                if s not in gone
            },
        )


_TREES = [
    ((0,), {0: (1, 2, 3), 1: (10, 11, 12), 2: (20, 21), 3: (30,)}),
    ((0,), {0: (1, 2), 1: (10, 11, 12, 13), 2: (20, 21, 22)}),
    ((0, 5), {0: (1,), 1: (10, 11), 5: (50, 51, 52)}),
]


_STATUSES = [{}, {10: "crashed"}, {11: "crashed", 20: "restarting"}, {50: "crashed", 12: "running"}]


@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_TREES) - 1),
            st.integers(0, len(_STATUSES) - 1),
            st.sampled_from([None, None, 1, 2, 5, "all"]),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=16,
    ),
    st.integers(2, 12),
)
def test_the_shown_tree_is_the_one_a_fresh_view_makes(steps, budget) -> None:  # type: ignore[no-untyped-def]
    """SupervisionView.tree remembers the last live and shown trees: every tree it hands back
    equals the tree a new view with the same decisions computes."""
    # crashed at event 2, kept 3 events: the same live tree keeps them, then no longer does
    crashed_at = {p: 2 for p in (10, 11, 12, 20, 21, 50, 51)}
    view = SupervisionView({}, crash_seq=crashed_at, budget=budget, recent=3)
    seq = 0
    for which, status, toggle, advance in steps:
        seq += advance
        roots, children = _TREES[which]
        world = _StatusWorld(roots, children, _STATUSES[status])
        fresh = SupervisionView({}, crash_seq=crashed_at, budget=budget, recent=3)
        fresh.expanded, fresh.collapsed = set(view.expanded), set(view.collapsed)
        got, want = view.tree(world, seq), fresh.tree(world, seq)  # type: ignore[arg-type]
        for name in ("roots", "children", "hidden", "alarm", "kept_crashed", "all_children"):
            assert getattr(got, name) == getattr(want, name), name
        assert (view.expanded, view.collapsed) == (fresh.expanded, fresh.collapsed)
        if toggle == "all":
            view.expand_all(got)
        elif toggle is not None:
            view.toggle(toggle, got)
