"""The syntax tree of an expression: its nodes, walks over them, and text back from them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cinema.model.expr._names import ExprError
from cinema.model.pattern import Pattern


@dataclass(frozen=True, slots=True)
class Node:
    """Base class of the syntax tree. ``pos`` is the 0-based offset of the node's token."""

    pos: int


@dataclass(frozen=True, slots=True)
class Lit(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Attr(Node):
    obj: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    obj: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-", "+", "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # one of COMPARISONS or ARITHMETIC
    left: Node
    right: Node
    regex: Pattern | None = None  # precompiled right side of "~" when it is a literal (RE2)


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: str  # "and", "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, Attr):
        return (node.obj,)
    if isinstance(node, Index):
        return (node.obj, node.index)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, (Binary, BoolOp)):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children (no recursion: a tree of any depth)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def depth(node: Node) -> tuple[int, Node]:
    """How deep the tree nests (a lone literal: 1), and its deepest node (no recursion)."""
    deepest, at = 0, node
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        if d > deepest:
            deepest, at = d, n
        stack.extend((c, d + 1) for c in children(n))
    return deepest, at


def free_names(node: Node) -> frozenset[str]:
    """The per-event names an expression reads (``changed`` counts as a name of its own)."""
    out = {n.name for n in walk(node) if isinstance(n, Name)}
    out.update("changed()" for n in walk(node) if isinstance(n, Call) and n.func == "changed")
    return frozenset(out)


def unparse(node: Node) -> str:
    """Expression text for a tree (fully parenthesised; parses back to an equal tree)."""
    if isinstance(node, Lit):
        return literal(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, ListLit):
        return "[" + ", ".join(unparse(i) for i in node.items) + "]"
    if isinstance(node, Attr):
        return f"{unparse(node.obj)}.{node.name}"
    if isinstance(node, Index):
        return f"{unparse(node.obj)}[{unparse(node.index)}]"
    if isinstance(node, Unary):
        sep = " " if node.op == "not" else ""
        return f"({node.op}{sep}{unparse(node.operand)})"
    if isinstance(node, (Binary, BoolOp)):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, Call):
        return f"{node.func}(" + ", ".join(unparse(a) for a in node.args) + ")"
    raise TypeError(f"not an expression node: {node!r}")


def literal(value: Any) -> str:
    """The expression-language literal for a Python value (str, number, bool, None, list).

    Raises:
        ExprError: for a value the language cannot spell.
    """
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExprError(repr(value), 0, "not-a-number and infinity have no literal")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ExprError(repr(value), 0, f"a {type(value).__name__} value has no literal")
