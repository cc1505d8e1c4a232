"""Conditions evaluated inside the sandbox: breakpoints, subscription filters, interception
matches, sent by a client as a syntax tree of Cinema's expression language.

The client parses the condition text with the model's own safe parser
(``cinema.model.expr.parse``) and sends the text with the tree, as nested lists (see
``docs/live.md``); the recorder may not import ``cinema``, so this module checks the tree
(known node kinds, names, functions and operators; bounded depth, size and literals) and
compiles it into closures with the value semantics of ``cinema.model.expr_eval`` (one
definition: :mod:`recorder.payload.semantics`), over the same values: every payload is
normalised through the recording's own encoder first (:func:`recorder.payload.freeze`), so a
condition sees what the model will see in the file. ``tests/cinema/model/test_live_conditions.py``
checks both evaluators against each other on the three demos.

Evaluation is total: a failing operand counts as false, never an exception into the sandbox.
Regular expressions (``~``) run in the sandbox only when ``google-re2`` (linear-time) is
installed; otherwise such a condition is refused with a reason and the client evaluates it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from recorder.payload.semantics import FAILURES, matches, truth
from recorder.payload.semantics import FUNCTIONS as _FUNCS
from recorder.payload.semantics import arith as _arith
from recorder.payload.semantics import compare as _compare
from recorder.payload.semantics import contains as _contains
from recorder.payload.semantics import get_field as _field
from recorder.payload.semantics import get_item as _item
from recorder.payload.semantics import number as _number

__all__ = [
    "FUNCTIONS",
    "NAMES",
    "ConditionError",
    "Fn",
    "Scope",
    "compile_tree",
    "kinds_of",
    "names_of",
]

#: The per-event names of the language (``cinema.model.expr.NAMES``).
NAMES = frozenset(
    {
        "kind", "pid", "peer", "process", "peer_process", "behaviour", "ref", "seq", "t",
        "data", "msg", "msg_type", "state", "prev_state", "reason", "trigger",
    }
)  # fmt: skip
#: Function -> (min args, max args or None).
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "len": (1, 1), "type": (1, 1), "abs": (1, 1), "min": (1, None), "max": (1, None),
    "str": (1, 1), "changed": (1, 1), "contains": (2, 2), "startswith": (2, 2),
    "endswith": (2, 2),
}  # fmt: skip
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in", "~"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_MAX_DEPTH = 64
_MAX_NODES = 4096
_MAX_STR = 4096
_MAX_INT = 10**40


class ConditionError(ValueError):
    """A tree that is not a valid condition (the reason is for the client)."""


_FAILURES: tuple[type[BaseException], ...] = (*FAILURES, re.error)


class Scope:
    """The names of one event (subclassed by the control's event scope)."""

    def get(self, name: str) -> Any:
        raise KeyError(name)

    def changed(self, fn: Fn) -> bool:
        return False


Fn = Callable[[Scope], Any]


# --------------------------------------------------------------------------- value semantics
# One definition for the model and the sandbox: recorder.payload.semantics.


def _guarded(fn: Fn) -> Fn:
    def run(s: Scope) -> bool:
        try:
            return truth(fn(s))
        except _FAILURES:
            return False

    return run


def _re2() -> Any:
    try:
        import re2
    except ImportError:
        return None
    return re2


# --------------------------------------------------------------------------- the tree


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def node(self, tree: Any, depth: int) -> Fn:
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise ConditionError(f"the condition has more than {_MAX_NODES} nodes")
        if depth > _MAX_DEPTH:
            raise ConditionError(f"the condition is nested deeper than {_MAX_DEPTH} levels")
        if not isinstance(tree, (list, tuple)) or not tree or not isinstance(tree[0], str):
            raise ConditionError("a condition node is a list that starts with its kind")
        tag, args = tree[0], list(tree[1:])
        handler = getattr(self, "_" + tag, None) if tag.isalpha() else None
        if handler is None:
            raise ConditionError(f"unknown condition node {tag!r}")
        fn: Fn = handler(args, depth + 1)
        return fn

    def _arity(self, tag: str, args: list[Any], n: int) -> None:
        if len(args) != n:
            raise ConditionError(f"a {tag!r} node takes {n} fields, not {len(args)}")

    def _lit(self, args: list[Any], depth: int) -> Fn:
        self._arity("lit", args, 1)
        value = args[0]
        if isinstance(value, bool) or value is None or isinstance(value, float):
            pass
        elif isinstance(value, int):
            if abs(value) > _MAX_INT:
                raise ConditionError("an integer literal is too large")
        elif isinstance(value, str):
            if len(value) > _MAX_STR:
                raise ConditionError("a string literal is too long")
        else:
            raise ConditionError(
                f"a literal is none, a boolean, a number or a string, not a {type(value).__name__}"
            )
        return lambda s: value

    def _name(self, args: list[Any], depth: int) -> Fn:
        self._arity("name", args, 1)
        name = args[0]
        if name not in NAMES:
            raise ConditionError(f"unknown name {name!r}")
        return lambda s: s.get(name)

    def _list(self, args: list[Any], depth: int) -> Fn:
        self._arity("list", args, 1)
        if not isinstance(args[0], (list, tuple)):
            raise ConditionError("a 'list' node holds a list of nodes")
        items = [self.node(i, depth) for i in args[0]]
        return lambda s: [f(s) for f in items]

    def _attr(self, args: list[Any], depth: int) -> Fn:
        self._arity("attr", args, 2)
        obj, name = self.node(args[0], depth), args[1]
        if not isinstance(name, str) or not name or len(name) > 200:
            raise ConditionError("a field name is a short string")
        return lambda s: _field(obj(s), name)

    def _index(self, args: list[Any], depth: int) -> Fn:
        self._arity("index", args, 2)
        obj, idx = self.node(args[0], depth), self.node(args[1], depth)
        return lambda s: _item(obj(s), idx(s))

    def _unary(self, args: list[Any], depth: int) -> Fn:
        self._arity("unary", args, 2)
        op, operand = args[0], self.node(args[1], depth)
        if op == "not":
            test = _guarded(operand)
            return lambda s: not test(s)
        if op == "-":
            return lambda s: -_number(operand(s))
        if op == "+":
            return lambda s: _number(operand(s))
        raise ConditionError(f"unknown unary operator {op!r}")

    def _bool(self, args: list[Any], depth: int) -> Fn:
        self._arity("bool", args, 3)
        op = args[0]
        left, right = _guarded(self.node(args[1], depth)), _guarded(self.node(args[2], depth))
        if op == "and":
            return lambda s: left(s) and right(s)
        if op == "or":
            return lambda s: left(s) or right(s)
        raise ConditionError(f"unknown boolean operator {op!r}")

    def _binary(self, args: list[Any], depth: int) -> Fn:
        self._arity("binary", args, 3)
        op = args[0]
        if op not in _COMPARISONS and op not in _ARITHMETIC:
            raise ConditionError(f"unknown operator {op!r}")
        if op == "~":
            return self._regex(args, depth)
        left, right = self.node(args[1], depth), self.node(args[2], depth)
        if op in _ARITHMETIC:
            return lambda s: _arith(op, left(s), right(s))
        if op == "in":
            return lambda s: _contains(right(s), left(s))
        if op == "not in":
            return lambda s: not _contains(right(s), left(s))
        return lambda s: _compare(op, left(s), right(s))

    def _regex(self, args: list[Any], depth: int) -> Fn:
        re2 = _re2()
        if re2 is None:
            raise ConditionError(
                "'~' (regular expressions) runs in the sandbox only with google-re2 installed"
            )
        pattern = args[2]
        if not (isinstance(pattern, list) and pattern[:1] == ["lit"] and len(pattern) == 2):
            raise ConditionError("in the sandbox, the right side of '~' must be a literal")
        text = pattern[1]
        if not isinstance(text, str) or len(text) > 1000:
            raise ConditionError("the pattern of '~' must be a string of at most 1000 chars")
        try:
            rx = re2.compile(text)
        except Exception as exc:
            raise ConditionError(f"bad regular expression: {exc}") from None
        left = self.node(args[1], depth)
        return lambda s: matches(rx, left(s))

    def _call(self, args: list[Any], depth: int) -> Fn:
        self._arity("call", args, 2)
        func, raw_args = args[0], args[1]
        if func not in FUNCTIONS:
            raise ConditionError(f"unknown function {func!r}")
        if not isinstance(raw_args, (list, tuple)):
            raise ConditionError("a 'call' node holds a list of arguments")
        lo, hi = FUNCTIONS[func]
        if len(raw_args) < lo or (hi is not None and len(raw_args) > hi):
            raise ConditionError(f"{func}() takes {lo}..{hi or 'any'} arguments")
        fns = [self.node(a, depth) for a in raw_args]
        if func == "changed":
            inner = fns[0]
            return lambda s: s.changed(inner)
        impl = _FUNCS[func]
        return lambda s: impl([a(s) for a in fns])


def compile_tree(tree: Any) -> Callable[[Scope], bool]:
    """Check ``tree`` and compile it into ``test(scope) -> bool`` (never raises at run time).

    Raises:
        ConditionError: the tree is malformed or uses what the sandbox does not evaluate.
    """
    fn = _Compiler().node(tree, 0)
    return _guarded(fn)


def _walk(tree: Any) -> Any:
    if isinstance(tree, (list, tuple)):
        yield tree
        for item in tree[1:]:
            yield from _walk(item)


def names_of(tree: Any) -> frozenset[str]:
    """The names a (checked) tree reads; ``changed()`` counts as a name."""
    out: set[str] = set()
    for node in _walk(tree):
        if node and node[0] == "name" and len(node) == 2 and isinstance(node[1], str):
            out.add(node[1])
        elif node and node[0] == "call" and len(node) == 3 and node[1] == "changed":
            out.add("changed()")
    return frozenset(out)


def kinds_of(tree: Any, kind_codes: dict[str, int]) -> frozenset[int] | None:
    """The event kinds for which the condition can hold, when a top-level conjunct pins them
    (``kind == "crash"``, ``kind in ["send", "drop"]``); ``None`` when any kind can match.
    The gate tests this set before building a scope, so most events cost one lookup."""
    conjuncts = [tree]
    found: frozenset[int] | None = None
    while conjuncts:
        node = conjuncts.pop()
        if not isinstance(node, (list, tuple)) or not node:
            continue
        if node[0] == "bool" and len(node) == 4 and node[1] == "and":
            conjuncts.extend(node[2:4])
            continue
        if node[0] != "binary" or len(node) != 4 or node[2] != ["name", "kind"]:
            continue
        op, right = node[1], node[3]
        names: list[Any] = []
        if op == "==" and isinstance(right, list) and right[:1] == ["lit"]:
            names = [right[1]]
        elif op == "in" and isinstance(right, list) and right[:1] == ["list"] and len(right) == 2:
            items = right[1]
            if all(isinstance(i, list) and i[:1] == ["lit"] for i in items):
                names = [i[1] for i in items]
            else:
                continue
        else:
            continue
        codes = frozenset(kind_codes[n] for n in names if isinstance(n, str) and n in kind_codes)
        found = codes if found is None else found & codes
    return found
