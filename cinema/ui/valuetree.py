"""Decoded payload values as expandable QTreeWidget items (states, messages, event data).

The tree is built lazily: :func:`add_value` makes one item and remembers the value; its
children are made when the item is first expanded (:func:`install` connects a tree's
``itemExpanded`` to :func:`expand`), at most :data:`MAX_CHILDREN` per level. A state of
200 x 200 x 200 maps costs one item until the user opens it, not eight million.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from cinema.model.present import brief
from recorder.payload import Record

__all__ = ["MAX_CHILDREN", "add_value", "children_of", "expand", "install"]

#: Children shown per level; the rest is one "… N more" row.
MAX_CHILDREN = 500
_PENDING = Qt.ItemDataRole.UserRole + 17


class _Pending:
    """What an item needs to make its children (kept on the item until it is expanded)."""

    __slots__ = ("changed", "highlight", "path", "value")

    def __init__(
        self, value: Any, path: tuple[Any, ...], changed: Collection[tuple[Any, ...]],
        highlight: QColor | None,
    ) -> None:  # fmt: skip
        self.value, self.path, self.changed, self.highlight = value, path, changed, highlight


def children_of(value: Any, limit: int | None = None) -> list[tuple[Any, str, Any]] | None:
    """The ``(path key, label, child)`` triples of a container value (the first ``limit``),
    or None for a leaf."""
    if isinstance(value, dict):
        items = list(value.items())[:limit]
        return [(k, brief(k, 60), v) for k, v in items]
    if isinstance(value, Record):
        return [(str(k), str(k), v) for k, v in value.fields[:limit]]
    if isinstance(value, (list, tuple)):
        return [(i, f"[{i}]", v) for i, v in enumerate(value[:limit])]
    if isinstance(value, (set, frozenset)):
        members = sorted(value, key=repr)[:limit]
        return [(i, f"·{i}", v) for i, v in enumerate(members)]
    return None


def _size(value: Any) -> int:
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return len(value)
    if isinstance(value, Record):
        return len(value.fields)
    return 0


def add_value(
    parent: QTreeWidgetItem,
    label: str,
    value: Any,
    *,
    path: tuple[Any, ...] = (),
    changed: Collection[tuple[Any, ...]] = (),
    highlight: QColor | None = None,
) -> QTreeWidgetItem:
    """Add ``value`` under ``parent`` as ``label``; rows whose path is in ``changed`` (or
    contains a changed path) get the ``highlight`` background. Children are made on
    :func:`expand`."""
    item = QTreeWidgetItem(parent, [label, brief(value)])
    item.setToolTip(1, brief(value, 2000))
    if highlight is not None and any(
        c[: len(path)] == path for c in changed if len(c) >= len(path)
    ):
        for col in (0, 1):
            item.setBackground(col, QBrush(highlight))
    if _size(value):
        item.setData(0, _PENDING, _Pending(value, path, changed, highlight))
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
    return item


def expand(item: QTreeWidgetItem) -> None:
    """Make the children of ``item`` if they are not made yet (a tree's ``itemExpanded``)."""
    pending = item.data(0, _PENDING)
    if not isinstance(pending, _Pending):
        return
    item.setData(0, _PENDING, None)
    item.setChildIndicatorPolicy(
        QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless
    )
    value = pending.value
    for key, label, child in children_of(value, MAX_CHILDREN) or ():
        add_value(item, label, child, path=(*pending.path, key), changed=pending.changed,
                  highlight=pending.highlight)  # fmt: skip
    more = _size(value) - MAX_CHILDREN
    if more > 0:
        QTreeWidgetItem(item, ["…", f"{more} more"])


def install(tree: QTreeWidget) -> None:
    """Make ``tree`` fill in value items as they are expanded."""
    tree.itemExpanded.connect(expand)
