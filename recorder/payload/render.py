"""The one text form of a decoded payload value, shared by every command and panel.

Cinema uses it through :mod:`cinema.model.present` (``brief`` for a table cell or a line,
``full`` for the whole text that ``--match`` and the ``~`` operator search); conditions
evaluated inside the sandbox use it through :mod:`recorder.payload.semantics`. The form is
Erlang-ish, close to how Erlang prints terms, and always one line:

- atom-like strings (``ok``, ``one_for_one``, map keys like ``balance``) are bare; any other
  string is in double quotes with backslash escapes (``"acct-1"``, ``"say \\"hi\\"\\n"``), so a
  string is never mistaken for a number, ``None`` or an atom, and control characters never
  break the line;
- tuples ``(a, b)`` (one item: ``(a,)``), lists ``[a, b]``, sets ``{a, b}`` (``set()``,
  ``frozenset()`` when empty), maps ``{k: v}``;
- pids ``<0.N.0>`` (``<no process>`` for the pid of no process), references ``#Ref<N>``,
  records ``Name(a=1)`` and enums ``Type.NAME`` with their short type name
  (``SupervisorState``, not its module path);
- values recorded as a ``repr`` lose module paths and addresses (``<class Ledger>``,
  ``<function run>``); truncation markers show as ``<truncated items: 5000>``;
- ``None``, ``True``, ``False``, numbers and ``bytes`` as Python writes them.
"""

from __future__ import annotations

import re
from typing import Any

from recorder.events import NO_PID
from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated

__all__ = [
    "ELLIPSIS",
    "NO_PROCESS_PID",
    "render_value",
    "short_type_name",
    "sorted_members",
    "string_text",
]

#: Ends a text that was cut to its length limit.
ELLIPSIS = "…"
#: A pid value that names no process (``Pid(NO_PID)``: sent from outside any process).
NO_PROCESS_PID = "<no process>"
_ATOM = re.compile(r"[a-z][A-Za-z0-9_@]*\Z")
# module paths and addresses in recorded reprs: <class 'pkg.mod.C'>, <function f at 0x7f..>
_QUALIFIED = re.compile(r"(?<![\w.])(?:(?:[A-Za-z_]\w*|<locals>)\.)+(?=[A-Za-z_]\w*)")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# characters that would break the one line or hide in it: C0/C1 controls, DEL, line separators
_UNPRINTABLE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029]')
#: Escape only the part of a long string that can show (tests turn it off for the reference).
_CUT_LONG_STRINGS = True
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Nesting deeper than this renders as the ellipsis (decoded values are bounded, but a crafted
# file can still nest plain lists deeply).
_MAX_DEPTH = 32


def render_value(value: Any, max_len: int = 200) -> str:
    """Render a decoded payload value as one line of at most ``max_len`` characters.

    Args:
        value: anything :func:`recorder.payload.decode_payload` produces.
        max_len: the longest text returned; longer text ends in ``…``. ``0`` means no limit.
    """
    parts: list[str] = []
    budget = [max_len if max_len > 0 else 1 << 62]
    _render(value, parts, budget, 0)
    text = "".join(parts)
    if max_len > 0 and len(text) > max_len:
        text = text[: max(max_len - 1, 0)] + ELLIPSIS
    return text


def string_text(s: str) -> str:
    """A string as the rendering shows it: bare when atom-like, else quoted and escaped."""
    if _ATOM.match(s):
        return s
    return '"' + _UNPRINTABLE.sub(_escape, s) + '"'


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return _ESCAPES.get(c) or f"\\u{ord(c):04x}"


def short_type_name(type_name: str) -> str:
    """``pkg.module.Class`` -> ``Class`` (nested classes keep their outer names)."""
    head, _, tail = type_name.rpartition(".")
    while head and head.rpartition(".")[2][:1].isupper():  # Outer.Inner
        head, _, outer = head.rpartition(".")
        tail = f"{outer}.{tail}"
    return tail


def _put(parts: list[str], budget: list[int], s: str) -> bool:
    parts.append(s)
    budget[0] -= len(s)
    return budget[0] > 0


def _seq(items: Any, open_: str, close: str, parts: list[str], budget: list[int], depth: int,
         trailing_comma: bool = False) -> None:  # fmt: skip
    _put(parts, budget, open_)
    n = 0
    for item in items:
        if n and not _put(parts, budget, ", "):
            break
        _render(item, parts, budget, depth + 1)
        n += 1
        if budget[0] <= 0:
            break
    if trailing_comma and n == 1:
        parts.append(",")
    parts.append(close)


def _leaf(v: Any) -> str | None:
    """The text of a leaf value, or None for a container."""
    if isinstance(v, str):
        return string_text(v)
    if isinstance(v, Pid) and v.n == NO_PID:  # the sandbox's sender "outside any process"
        return NO_PROCESS_PID
    if v is None or isinstance(v, (bool, int, float, bytes, Pid, Ref, Truncated)):
        return repr(v)
    if isinstance(v, EnumValue):
        return f"{short_type_name(v.type_name)}.{v.name}"
    if isinstance(v, Opaque):
        if v.text.startswith("<"):  # <class 'pkg.mod.C' at 0x1> -> <class C>
            return _QUALIFIED.sub("", _ADDRESS.sub("", v.text.replace("'", "")))
        return v.text
    return None


def _render(v: Any, parts: list[str], budget: list[int], depth: int) -> None:
    if budget[0] <= 0:
        return
    if depth > _MAX_DEPTH:
        _put(parts, budget, ELLIPSIS)
        return
    if _CUT_LONG_STRINGS and type(v) is str and len(v) > budget[0] and not _ATOM.match(v):
        # Only its first budget[0] characters can show, and escaping only lengthens: escape
        # just those (a 4 KB traceback in a 200-character line was escaped whole). The text
        # runs past the budget either way, so the line is cut as before.
        _put(parts, budget, '"' + _UNPRINTABLE.sub(_escape, v[: budget[0]]))
        return
    text = _leaf(v)
    if text is not None:
        _put(parts, budget, text)
    elif isinstance(v, tuple):
        _seq(v, "(", ")", parts, budget, depth, trailing_comma=True)
    elif isinstance(v, list):
        _seq(v, "[", "]", parts, budget, depth)
    elif isinstance(v, (set, frozenset)):
        if not v:
            _put(parts, budget, "set()" if isinstance(v, set) else "frozenset()")
            return
        _seq(sorted_members(v), "{", "}", parts, budget, depth)
    elif isinstance(v, dict):
        _put(parts, budget, "{")
        for i, (k, x) in enumerate(v.items()):
            if i and not _put(parts, budget, ", "):
                break
            _render(k, parts, budget, depth + 1)
            _put(parts, budget, ": ")
            _render(x, parts, budget, depth + 1)
            if budget[0] <= 0:
                break
        parts.append("}")
    elif isinstance(v, Record):
        _put(parts, budget, f"{short_type_name(v.type_name)}(")
        for i, (k, x) in enumerate(v.fields):
            if i and not _put(parts, budget, ", "):
                break
            _put(parts, budget, f"{k}=")
            _render(x, parts, budget, depth + 1)
            if budget[0] <= 0:
                break
        parts.append(")")
    else:  # not a decoded payload type; its repr, on one line
        _put(parts, budget, " ".join(repr(v).splitlines()))


def sorted_members(items: set[Any] | frozenset[Any]) -> list[Any]:
    """Set members in a stable order (sets have none; the same set must read the same), the
    order text and JSON list them in."""
    try:
        return sorted(items)
    except TypeError:  # mixed types
        return sorted(items, key=lambda x: (type(x).__name__, render_value(x, 0)))
