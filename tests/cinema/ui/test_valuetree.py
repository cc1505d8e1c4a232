"""The inspector's value tree is built as the user expands it, a level at a time."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from cinema.ui import valuetree
from cinema.ui.app import load_state
from cinema.ui.inspector import InspectorWidget
from fuzz.corpus import state_cube


def items(tree: QTreeWidget) -> Iterator[QTreeWidgetItem]:
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(item.child(i) for i in range(item.childCount()))


def test_a_state_of_a_million_leaves_costs_a_few_items_until_expanded(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # tests/corpus/sessions/state-200-cubed.cinema is the same at 200^3 (slower to decode)
    path = tmp_path / "cube.cinema"
    path.write_bytes(state_cube(100))
    state = load_state(str(path))
    w = InspectorWidget(state)
    qtbot.addWidget(w)
    state.select_event(1)
    qtbot.waitUntil(lambda: "State" in w.sections)
    before = sum(1 for _ in items(w.tree))
    assert before < 1000  # the state's 200 keys (shown expanded) and no deeper
    top = w.sections["State"].child(0)
    assert top.childCount() == 100 and top.child(0).childCount() == 0
    top.child(0).setExpanded(True)  # the user opens one level: 100 more rows
    assert top.child(0).childCount() == 100
    assert sum(1 for _ in items(w.tree)) == before + 100


def test_long_containers_show_500_children_and_a_count_of_the_rest(qtbot) -> None:  # type: ignore[no-untyped-def]
    tree = QTreeWidget()
    qtbot.addWidget(tree)
    valuetree.install(tree)
    root = QTreeWidgetItem(tree, ["root"])
    item = valuetree.add_value(root, "xs", list(range(1200)))
    assert item.childCount() == 0
    item.setExpanded(True)
    assert item.childCount() == valuetree.MAX_CHILDREN + 1
    assert item.child(valuetree.MAX_CHILDREN).text(1) == "700 more"
    item.setExpanded(False)
    item.setExpanded(True)  # made once
    assert item.childCount() == valuetree.MAX_CHILDREN + 1


def test_changed_paths_are_highlighted_when_their_level_is_made(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor

    tree = QTreeWidget()
    qtbot.addWidget(tree)
    valuetree.install(tree)
    root = QTreeWidgetItem(tree, ["root"])
    value = {"a": {"x": 1, "y": 2}, "b": 3}
    item = valuetree.add_value(root, "state", value, changed=[("a", "y")], highlight=QColor("red"))
    item.setExpanded(True)
    a = item.child(0)
    a.setExpanded(True)
    colored = {a.child(i).text(0) for i in range(a.childCount())
               if a.child(i).background(0).color() == QColor("red")}  # fmt: skip
    assert colored == {"y"} and item.child(1).background(0).color() != QColor("red")
