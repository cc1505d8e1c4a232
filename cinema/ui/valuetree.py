"""Decoded payload values as expandable QTreeWidget items (states, messages, event data)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTreeWidgetItem

from cinema.model.present import brief
from recorder.payload import Record

__all__ = ["add_value", "children_of"]

_MAX_CHILDREN = 500


def children_of(value: Any) -> list[tuple[str, Any]] | None:
    """The (label, child) pairs of a container value, or None for a leaf."""
    if isinstance(value, dict):
        return [(brief(k, 60), v) for k, v in value.items()]
    if isinstance(value, Record):
        return [(str(k), v) for k, v in value.fields]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [(f"·{i}", v) for i, v in enumerate(sorted(value, key=repr))]
    return None


def add_value(
    parent: QTreeWidgetItem,
    label: str,
    value: Any,
    *,
    path: tuple[Any, ...] = (),
    changed: Collection[tuple[Any, ...]] = (),
    highlight: QColor | None = None,
    depth: int = 0,
) -> QTreeWidgetItem:
    """Add ``value`` under ``parent`` as ``label``; rows whose path is in ``changed`` (or
    contains a changed path) get the ``highlight`` background."""
    item = QTreeWidgetItem(parent, [label, brief(value)])
    item.setToolTip(1, brief(value, 2000))
    if highlight is not None and any(
        c[: len(path)] == path for c in changed if len(c) >= len(path)
    ):
        for col in (0, 1):
            item.setBackground(col, QBrush(highlight))
    kids = children_of(value)
    if kids and depth < 12:
        for i, (k, v) in enumerate(kids):
            if i >= _MAX_CHILDREN:
                QTreeWidgetItem(item, ["…", f"{len(kids) - _MAX_CHILDREN} more"])
                break
            key = _path_key(value, k, i)
            add_value(
                item, k, v, path=(*path, key), changed=changed, highlight=highlight, depth=depth + 1
            )
    return item


def _path_key(container: Any, label: str, index: int) -> Any:
    if isinstance(container, dict):
        return list(container.keys())[index]
    if isinstance(container, Record):
        return label
    return index
