"""The value semantics of Cinema's expression language, over decoded payload values.

One definition for both evaluators: the model's (:mod:`cinema.model.expr_eval`, over a session
file) and the sandbox's (:mod:`recorder.live.conditions`, over the values as they happen,
normalised through the recording's own encoder first). A breakpoint therefore hits the same
events live and in the file; ``tests/cinema/model/test_live_conditions.py`` checks it on the
three demos.

Values are the decoded payload types of :mod:`recorder.payload` and plain Python scalars and
containers. Field access reads dict keys, record fields and enum ``name`` / ``value`` only, never
a Python attribute. The text of a value (``str()``, what ``~`` searches) is the one rendering of
:mod:`recorder.payload.render`. A value an operator or function cannot work with raises one of
:data:`FAILURES`; the evaluators turn that into "false" for the nearest boolean operand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from recorder.payload._types import EnumValue, Opaque, Pid, Record, Ref, Truncated
from recorder.payload.render import render_value

__all__ = [
    "CALL_WRAPPERS",
    "FAILURES",
    "FUNCTIONS",
    "EvalFailure",
    "arith",
    "compare",
    "contains",
    "display",
    "equal",
    "get_field",
    "get_item",
    "matches",
    "message_type",
    "number",
    "truth",
    "type_name",
]


class EvalFailure(Exception):
    """A value an operator or function cannot work with (never escapes a condition)."""


#: Exceptions that mean "this operand cannot be evaluated for this event" (each evaluator adds
#: its regular-expression engine's error).
FAILURES: tuple[type[BaseException], ...] = (
    EvalFailure, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError,
    AttributeError, RecursionError,
)  # fmt: skip

#: Tuple messages whose first element marks a GenServer call / cast wrapper; the request is the
#: last element (e.g. ``("$call", from, request)``, ``("$cast", request)``).
CALL_WRAPPERS = frozenset({"$call", "$cast", "$gen_call", "$gen_cast"})


class Regex(Protocol):
    """A compiled pattern (RE2's or the model's :class:`~cinema.model.pattern.Pattern`)."""

    def search(self, text: str) -> Any: ...


def _norm(v: Any) -> Any:
    return v.n if isinstance(v, (Pid, Ref)) else v


def equal(a: Any, b: Any) -> bool:
    """``==``: pids and refs equal their numbers, enums their name or value."""
    a, b = _norm(a), _norm(b)
    if isinstance(a, EnumValue) and not isinstance(b, EnumValue):
        return bool(a.name == b) if isinstance(b, str) else bool(a.value == b)
    if isinstance(b, EnumValue) and not isinstance(a, EnumValue):
        return equal(b, a)
    return bool(a == b)


def number(v: Any) -> int | float:
    """``v`` as a number (a pid or ref is its number)."""
    v = _norm(v)
    if isinstance(v, (int, float)):
        return v
    raise EvalFailure(f"expected a number, got {type_name(v)}")


def truth(v: Any) -> bool:
    """Truthiness: false, none, 0, "" and empty containers are false; anything else true."""
    if v is None or v is False:
        return False
    if isinstance(v, (int, float, str, list, tuple, dict, set, frozenset, bytes)):
        return bool(v)
    return True


def type_name(v: Any) -> str:
    """What ``type()`` returns: ``"int"``, ``"str"``, ``"none"``, a record's type name..."""
    if v is None:
        return "none"
    if isinstance(v, (Record, EnumValue, Opaque)):
        return v.type_name
    if isinstance(v, Pid):
        return "pid"
    if isinstance(v, Ref):
        return "ref"
    if isinstance(v, Truncated):
        return "truncated"
    return type(v).__name__


def display(v: Any) -> str:
    """The text of a value (what ``str()`` returns and ``~`` matches against): a string as it
    is, anything else in the one text form every panel shows."""
    return v if isinstance(v, str) else render_value(v, 0)


def matches(rx: Regex, v: Any) -> bool:
    """``v ~ rx``: none has no text to search (the event list shows nothing for it)."""
    return v is not None and bool(rx.search(display(v)))


def message_type(m: Any) -> str:
    """The type of a message: a tuple's leading string (inside call/cast wrappers), a record's
    or enum's unqualified type name, a plain string message itself, a map's ``"type"``, else
    its type name."""
    for _ in range(4):  # wrappers nest at most a few levels
        if isinstance(m, tuple) and m and isinstance(m[0], str) and m[0] in CALL_WRAPPERS:
            if len(m) < 2:
                return m[0]
            m = m[-1]
            continue
        break
    if isinstance(m, tuple) and m and isinstance(m[0], str):
        return m[0]
    if isinstance(m, str):
        return m
    if isinstance(m, dict) and isinstance(m.get("type"), str):
        return str(m["type"])
    if isinstance(m, (Record, EnumValue)):
        return m.type_name.rpartition(".")[2]  # "bank.Withdraw" -> "Withdraw"
    return type_name(m)


def get_field(obj: Any, name: str) -> Any:
    """``obj.name``: a map key, a record field, an enum's ``name`` / ``value``."""
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        raise EvalFailure(f"no key {name!r}")
    if isinstance(obj, Record):
        for key, value in obj.fields:
            if key == name:
                return value
        raise EvalFailure(f"{obj.type_name} has no field {name!r}")
    if isinstance(obj, EnumValue) and name in ("name", "value"):
        return obj.name if name == "name" else obj.value
    raise EvalFailure(f"a {type_name(obj)} has no field {name!r}")


def get_item(obj: Any, key: Any) -> Any:
    """``obj[key]``: sequences by integer, maps by key, records by field name."""
    key = _norm(key)
    if isinstance(obj, (list, tuple, str)):
        if isinstance(key, int) and not isinstance(key, bool):
            return obj[key]
        raise EvalFailure("a sequence index must be an integer")
    if isinstance(obj, dict):
        return obj[key]
    if isinstance(obj, Record) and isinstance(key, str):
        return get_field(obj, key)
    raise EvalFailure(f"a {type_name(obj)} cannot be indexed")


def contains(container: Any, item: Any) -> bool:
    """``item in container``: substring for strings, keys for maps, items for the rest."""
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        raise EvalFailure("'in <string>' needs a string on the left")
    if isinstance(container, dict):
        return any(equal(item, k) for k in container)
    if isinstance(container, (list, tuple, set, frozenset)):
        return any(equal(item, x) for x in container)
    if isinstance(container, Record):
        return any(equal(item, k) for k, _ in container.fields)
    raise EvalFailure(f"cannot look inside a {type_name(container)}")


def compare(op: str, a: Any, b: Any) -> bool:
    """``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (enums order by value; none does not)."""
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    a, b = _norm(a), _norm(b)
    if isinstance(a, EnumValue):
        a = a.value
    if isinstance(b, EnumValue):
        b = b.value
    if a is None or b is None:
        raise EvalFailure("cannot order none")
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def arith(op: str, a: Any, b: Any) -> Any:
    """``+`` (numbers, or two strings), ``-``, ``*``, ``/``, ``%``."""
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    x, y = number(a), number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return x / y
    return x % y


def _length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict, set, frozenset, bytes)):
        return len(v)
    if isinstance(v, Record):
        return len(v.fields)
    raise EvalFailure(f"a {type_name(v)} has no length")


def _extreme(pick: Callable[..., Any], args: list[Any]) -> Any:
    items = args
    if len(args) == 1:
        only = args[0]
        if not isinstance(only, (list, tuple, set, frozenset)):
            raise EvalFailure("min()/max() of one value needs a list")
        items = list(only)
    return pick(_norm(x) for x in items)


def _affix(s: Any, part: Any, end: bool) -> bool:
    if not isinstance(s, str) or not isinstance(part, str):
        raise EvalFailure("startswith()/endswith() work on strings")
    return s.endswith(part) if end else s.startswith(part)


#: The functions of the language, over their evaluated arguments (``changed()`` needs the
#: process's previous state: each evaluator's scope answers it).
FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "len": lambda a: _length(a[0]),
    "type": lambda a: type_name(a[0]),
    "abs": lambda a: abs(number(a[0])),
    "min": lambda a: _extreme(min, a),
    "max": lambda a: _extreme(max, a),
    "str": lambda a: display(a[0]),
    "contains": lambda a: contains(a[0], a[1]),
    "startswith": lambda a: _affix(a[0], a[1], False),
    "endswith": lambda a: _affix(a[0], a[1], True),
}
