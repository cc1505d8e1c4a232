"""One formatter for decoded payload values, shared by the CLI, the UI and exports.

The text is Erlang-ish but Pythonic: tuples as ``(a, b)``, lists as ``[a, b]``, maps as
``{k: v}``, pids as ``<0.N.0>``, records as ``Name(a=1)``, enums as ``Type.NAME``, opaque values
as their recorded ``repr`` and truncation markers visibly as ``<truncated items: 5000>``.

``brief=True`` is the short form for tables and trees, closer to how Erlang prints terms:
atom-like strings (``ok``, ``one_for_one``, map keys) are bare, other strings are in double
quotes (``SupervisorState(strategy=one_for_one)``).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated

__all__ = [
    "render_value",
    "short_type_name",
    "to_jsonable",
]

_ELLIPSIS = "…"
_LEAVES = (str, bytes, bool, int, float, Pid, Ref, Opaque, EnumValue, Truncated)
_ATOM = re.compile(r"[a-z][A-Za-z0-9_@]*\Z")
# module paths and addresses in recorded reprs: <class 'pkg.mod.C'>, <function f at 0x7f..>
_QUALIFIED = re.compile(r"(?<![\w.])(?:(?:[A-Za-z_]\w*|<locals>)\.)+(?=[A-Za-z_]\w*)")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def render_value(value: Any, max_len: int = 200, *, brief: bool = False) -> str:
    """Render a decoded payload value as one line of at most ``max_len`` characters.

    Args:
        value: anything :func:`recorder.payload.decode_payload` produces.
        max_len: the longest text returned; longer text ends in ``…``. ``0`` means no limit.
        brief: the short, Erlang-ish form (bare atoms, short record names) for tables.
    """
    parts: list[str] = []
    budget = [max_len if max_len > 0 else 1 << 62]
    _render(value, parts, budget, 0, brief)
    text = "".join(parts)
    if max_len > 0 and len(text) > max_len:
        text = text[: max(max_len - 1, 0)] + _ELLIPSIS
    return text


def _put(parts: list[str], budget: list[int], s: str) -> bool:
    parts.append(s)
    budget[0] -= len(s)
    return budget[0] > 0


def _seq(items: Any, open_: str, close: str, parts: list[str], budget: list[int], depth: int,
         brief: bool, trailing_comma: bool = False) -> None:  # fmt: skip
    _put(parts, budget, open_)
    n = 0
    for item in items:
        if n and not _put(parts, budget, ", "):
            break
        _render(item, parts, budget, depth + 1, brief)
        n += 1
        if budget[0] <= 0:
            break
    if trailing_comma and n == 1:
        parts.append(",")
    parts.append(close)


def _render_brief_leaf(v: Any) -> str | None:
    """The brief text of a leaf that brief mode writes differently, else None."""
    if isinstance(v, str):
        if _ATOM.match(v):
            return v
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, EnumValue):  # a leaf: the Record/EnumValue branches below never see it
        return f"{short_type_name(v.type_name)}.{v.name}"
    if isinstance(v, Opaque) and v.text.startswith("<"):
        text = _ADDRESS.sub("", v.text.replace("'", ""))
        return _QUALIFIED.sub("", text)  # <class pkg.mod.C at 0x1> -> <class C>
    return None


def _render(v: Any, parts: list[str], budget: list[int], depth: int, brief: bool = False) -> None:
    if budget[0] <= 0:
        return
    if depth > 32:
        _put(parts, budget, _ELLIPSIS)
        return
    text = _render_brief_leaf(v) if brief else None
    if text is not None:
        _put(parts, budget, text)
    elif v is None or isinstance(v, _LEAVES):
        _put(parts, budget, repr(v))
    elif isinstance(v, tuple):
        _seq(v, "(", ")", parts, budget, depth, brief, trailing_comma=True)
    elif isinstance(v, list):
        _seq(v, "[", "]", parts, budget, depth, brief)
    elif isinstance(v, (set, frozenset)):
        if not v:
            _put(parts, budget, "set()" if isinstance(v, set) else "frozenset()")
            return
        try:
            items = sorted(v)
        except TypeError:
            items = list(v)
        _seq(items, "{", "}", parts, budget, depth, brief)
    elif isinstance(v, dict):
        _put(parts, budget, "{")
        for i, (k, x) in enumerate(v.items()):
            if i and not _put(parts, budget, ", "):
                break
            _render(k, parts, budget, depth + 1, brief)
            _put(parts, budget, ": ")
            _render(x, parts, budget, depth + 1, brief)
            if budget[0] <= 0:
                break
        parts.append("}")
    elif isinstance(v, Record):
        # The short class name reads like the source (SupervisorState, not the module path).
        _put(parts, budget, f"{short_type_name(v.type_name)}(")
        for i, (k, x) in enumerate(v.fields):
            if i and not _put(parts, budget, ", "):
                break
            _put(parts, budget, f"{k}=")
            _render(x, parts, budget, depth + 1, brief)
            if budget[0] <= 0:
                break
        parts.append(")")
    elif isinstance(v, EnumValue):
        _put(parts, budget, f"{short_type_name(v.type_name)}.{v.name}")
    else:
        _put(parts, budget, repr(v))


def short_type_name(type_name: str) -> str:
    """``pkg.module.Class`` -> ``Class`` (nested classes keep their outer names)."""
    head, _, tail = type_name.rpartition(".")
    while head and head.rpartition(".")[2][:1].isupper():  # Outer.Inner
        head, _, outer = head.rpartition(".")
        tail = f"{outer}.{tail}"
    return tail


def to_jsonable(value: Any, max_len: int = 0) -> Any:
    """A JSON-ready form of a decoded value: natives stay natives, tuples and sets become lists,
    and display types become their rendered text (``"<0.3.0>"``, ``"Point(x=1)"``).

    Map keys that are not strings become their rendered text. ``bytes`` become base64 text.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(x, max_len) for x in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(x, max_len) for x in value]
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else render_value(k, max_len)): to_jsonable(x, max_len)
            for k, x in value.items()
        }
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return render_value(value, max_len)
