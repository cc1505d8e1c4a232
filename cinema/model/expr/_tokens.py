"""The tokenizer: an expression's text as numbers, strings, names and operators."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cinema.model.expr._names import MAX_NUMBER_DIGITS, ExprError


@dataclass(frozen=True, slots=True)
class Token:
    type: str  # "num", "str", "name", "op", "end"
    value: Any
    pos: int


_OPS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]",
        ",", ".")  # fmt: skip
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}
_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DIGITS = frozenset("0123456789")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MISTAKES = {
    "=": "use '==' to compare",
    "&&": "use 'and'",
    "||": "use 'or'",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' (or '!=')",
    "**": "there is no power operator",
}


def tokenize(text: str) -> list[Token]:
    """Split expression text into tokens.

    Raises:
        ExprError: an unterminated string, an unexpected character, a number too long.
    """
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER.match(text, i)
            assert m is not None
            raw = m.group(0)
            if len(raw) > MAX_NUMBER_DIGITS:
                raise ExprError(text, i, "number literal too long")
            if m.end() < n and (text[m.end()].isalpha() or text[m.end()] == "_"):
                raise ExprError(text, m.end(), f"unexpected {text[m.end()]!r} after a number")
            is_float = "." in raw or "e" in raw or "E" in raw
            out.append(Token("num", float(raw) if is_float else int(raw), i))
            i = m.end()
            continue
        if c in "'\"":
            start = i
            i, value = _string(text, i)
            out.append(Token("str", value, start))
            continue
        m = _IDENT.match(text, i)
        if m:
            out.append(Token("name", m.group(0), i))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in _MISTAKES:
            raise ExprError(text, i, f"unexpected {two!r}: {_MISTAKES[two]}")
        if two in _OPS:
            out.append(Token("op", two, i))
            i += 2
            continue
        if c in _MISTAKES:
            raise ExprError(text, i, f"unexpected {c!r}: {_MISTAKES[c]}")
        if c in _OPS:
            out.append(Token("op", c, i))
            i += 1
            continue
        raise ExprError(text, i, f"unexpected character {c!r}")
    out.append(Token("end", None, n))
    return out


def _string(text: str, start: int) -> tuple[int, str]:
    quote = text[start]
    i = start + 1
    parts: list[str] = []
    while i < len(text):
        c = text[i]
        if c == quote:
            return i + 1, "".join(parts)
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            # Unknown escapes stay as written, so regexes like "\d+" need no doubling.
            parts.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        parts.append(c)
        i += 1
    raise ExprError(text, start, "unterminated string (missing closing quote)")
