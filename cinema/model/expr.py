"""The breakpoint expression language: tokenizer, parser and syntax tree.

A condition such as ``msg_type == "withdraw" and state.balance < 0`` is tokenized by hand and
parsed by a Pratt (top-down operator precedence) parser into the node classes of this module.
User text is never handed to Python's ``eval``, ``compile`` or ``ast``: the only names an
expression can mention are the per-event names in :data:`NAMES` and the functions in
:data:`FUNCTIONS`, and attribute access never reaches a Python attribute (see
:mod:`cinema.model.expr_eval`). The reference for users is ``docs/expressions.md``.

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons (``== != < <= > >= in``,
``not in``, ``~``; not chainable), ``+ -``, ``* / %``, unary ``-``, then postfix ``.name``,
``[index]`` and calls.

Prior art: Vaughan Pratt, "Top Down Operator Precedence" (1973).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cinema.model.errors import ModelError
from cinema.model.pattern import Pattern, PatternError, compile_regex

__all__ = [
    "COLUMN_NAMES",
    "FUNCTIONS",
    "NAMES",
    "Attr",
    "Binary",
    "BoolOp",
    "Call",
    "ExprError",
    "Index",
    "ListLit",
    "Lit",
    "Name",
    "Node",
    "Unary",
    "children",
    "depth",
    "free_names",
    "parse",
    "unparse",
    "walk",
]

#: Every name an expression may use, with a one-line description (shown in docs and errors).
NAMES: dict[str, str] = {
    "kind": 'the event kind, e.g. "crash", "send", "state"',
    "pid": "the acting process id (none when there is none)",
    "peer": "the other process (receiver of a send, sender of a receive, ...) or none",
    "process": "the name of the acting process (none if unknown)",
    "peer_process": "the name of the peer process (none if there is no peer)",
    "behaviour": 'the acting process\'s behaviour: "gen_server", "supervisor", "process", ...',
    "ref": "the event's reference (message id, monitor ref); 0 when it has none",
    "seq": "the event number (0 is the first event)",
    "t": "seconds since the first event of the session",
    "data": "the event's decoded data",
    "msg": "the message of a send, receive, drop, delay, intercept, timeout or state change",
    "msg_type": "the message's type: a tuple's leading string, a record's type name, ...",
    "state": "the new state (state events only)",
    "prev_state": "the process's state before this state event",
    "reason": "the exit / crash / drop / restart reason",
    "trigger": 'why a state changed: "init", "call", "cast", "info", ...',
}

#: Names whose value comes from the event columns alone (no payload is decoded).
COLUMN_NAMES = frozenset(
    {"kind", "pid", "peer", "process", "peer_process", "behaviour", "ref", "seq", "t"}
)

#: Function name -> (min arguments, max arguments or None for no maximum).
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "len": (1, 1),
    "type": (1, 1),
    "abs": (1, 1),
    "min": (1, None),
    "max": (1, None),
    "str": (1, 1),
    "changed": (1, 1),
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
}

# Words that look like an escape hatch to Python: refused with their own message.
_FORBIDDEN = frozenset(
    {
        "import", "eval", "exec", "compile", "open", "lambda", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "dir", "def", "class", "del", "global", "nonlocal",
        "yield", "await", "async", "with", "for", "while", "if", "else", "return", "raise",
        "try", "except", "from", "as", "is", "assert", "print", "input", "breakpoint", "os",
        "sys", "builtins", "subprocess", "object", "type_", "help",
    }
)  # fmt: skip

_KEYWORDS = {"and", "or", "not", "in"}
_CONSTANTS: dict[str, Any] = {
    "true": True, "false": False, "none": None, "True": True, "False": False, "None": None,
}  # fmt: skip

MAX_LENGTH = 4000
#: Deepest nesting of an expression's syntax tree, counting every level that evaluation
#: recurses into: parentheses, operands, and each link of a chain such as ``a + b + c``.
MAX_DEPTH = 100
MAX_NUMBER_DIGITS = 40

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "~")
ARITHMETIC = ("+", "-", "*", "/", "%")


class ExprError(ModelError):
    """An expression that cannot be parsed: where (0-based ``pos``) and why (``reason``).

    ``str(err)`` is ``col N: reason`` followed by the expression and a caret line under the
    offending character; :attr:`message` is the first line alone.
    """

    def __init__(self, text: str, pos: int, reason: str) -> None:
        self.text = text
        self.pos = max(0, min(pos, len(text)))
        self.reason = reason
        super().__init__(f"{self.message}\n{self.caret}")

    @property
    def column(self) -> int:
        """1-based column of the error."""
        return self.pos + 1

    @property
    def message(self) -> str:
        return f"col {self.column}: {self.reason}"

    @property
    def caret(self) -> str:
        """Two lines: the expression (tabs shown as spaces) and a ``^`` under the error."""
        shown = self.text.replace("\t", " ").replace("\n", " ")
        return f"  {shown}\n  {' ' * self.pos}^"


# --------------------------------------------------------------------------- syntax tree


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


# --------------------------------------------------------------------------- tokenizer


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


# --------------------------------------------------------------------------- parser

# Binding powers (higher binds tighter).
_BP_OR, _BP_AND, _BP_NOT, _BP_CMP, _BP_ADD, _BP_MUL, _BP_UNARY, _BP_POSTFIX = range(1, 9)
_INFIX_BP = {
    "or": _BP_OR, "and": _BP_AND,
    "==": _BP_CMP, "!=": _BP_CMP, "<": _BP_CMP, "<=": _BP_CMP, ">": _BP_CMP, ">=": _BP_CMP,
    "in": _BP_CMP, "not in": _BP_CMP, "~": _BP_CMP,
    "+": _BP_ADD, "-": _BP_ADD, "*": _BP_MUL, "/": _BP_MUL, "%": _BP_MUL,
    ".": _BP_POSTFIX, "[": _BP_POSTFIX, "(": _BP_POSTFIX,
}  # fmt: skip


def parse(text: str) -> Node:
    """Parse an expression into its syntax tree.

    Raises:
        ExprError: bad syntax, an unknown or forbidden name, a wrong number of function
            arguments, an invalid regular expression; the error carries the position.
    """
    if not isinstance(text, str):
        raise ExprError(repr(text), 0, "an expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ExprError(text[:80], 80, f"expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExprError(text, 0, "empty expression")
    tree = _Parser(text).parse()
    # Everything after parsing recurses once per level of the tree, and chains such as
    # ``a or b or c ...`` nest to the left without nesting in the parser: count them here.
    levels, deepest = depth(tree)
    if levels > MAX_DEPTH:
        raise ExprError(
            text, deepest.pos,
            f"expression nested deeper than {MAX_DEPTH} levels (a chain of {MAX_DEPTH} 'or's "
            "nests as deep: write pid in [1, 2, ...] instead)",
        )  # fmt: skip
    return tree


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.type != "end":
            self.i += 1
        return tok

    def error(self, pos: int, reason: str) -> ExprError:
        return ExprError(self.text, pos, reason)

    def expect(self, op: str, what: str) -> Token:
        tok = self.peek()
        if tok.type == "op" and tok.value == op:
            return self.advance()
        raise self.error(tok.pos, f"expected {op!r} {what}, found {_describe(tok)}")

    def infix_op(self) -> str | None:
        """The infix operator at the current token (``not in`` spans two tokens)."""
        tok = self.peek()
        if tok.type == "op" and tok.value in _INFIX_BP:
            return str(tok.value)
        if tok.type == "name" and tok.value in ("and", "or", "in"):
            return str(tok.value)
        if tok.type == "name" and tok.value == "not":
            nxt = self.tokens[self.i + 1]
            if nxt.type == "name" and nxt.value == "in":
                return "not in"
        return None

    # -- grammar

    def parse(self) -> Node:
        node = self.expression(0)
        tok = self.peek()
        if tok.type != "end":
            raise self.error(
                tok.pos, f"unexpected {_describe(tok)} (expected an operator or the end)"
            )
        return node

    def expression(self, min_bp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(self.peek().pos, f"expression nested deeper than {MAX_DEPTH} levels")
        try:
            left = self.prefix()
            while True:
                op = self.infix_op()
                if op is None:
                    break
                bp = _INFIX_BP[op]
                if bp <= min_bp:
                    break
                left = self.infix(left, op, bp)
            return left
        finally:
            self.depth -= 1

    def prefix(self) -> Node:
        tok = self.advance()
        if tok.type == "num" or tok.type == "str":
            return Lit(tok.pos, tok.value)
        if tok.type == "name":
            return self.name(tok)
        if tok.type == "op":
            if tok.value == "(":
                inner = self.expression(0)
                self.expect(")", f"to close the '(' at col {tok.pos + 1}")
                return inner
            if tok.value == "[":
                return self.list_literal(tok)
            if tok.value in ("-", "+"):
                return Unary(tok.pos, str(tok.value), self.expression(_BP_UNARY))
        if tok.type == "end":
            raise self.error(tok.pos, "unexpected end of expression (a value is missing)")
        raise self.error(tok.pos, f"unexpected {_describe(tok)} (expected a value)")

    def name(self, tok: Token) -> Node:
        word = str(tok.value)
        if word == "not":
            return Unary(tok.pos, "not", self.expression(_BP_NOT))
        if word in _CONSTANTS:
            return Lit(tok.pos, _CONSTANTS[word])
        if word in _KEYWORDS:
            raise self.error(tok.pos, f"unexpected {word!r} (expected a value)")
        if word.startswith("_"):
            raise self.error(
                tok.pos, f"forbidden name {word!r} (names starting with '_' are not allowed)"
            )
        if word in _FORBIDDEN:
            raise self.error(
                tok.pos, f"forbidden name {word!r} (expressions cannot run Python code)"
            )
        nxt = self.peek()
        if nxt.type == "op" and nxt.value == "(":
            return self.call(tok)
        if word in NAMES:
            return Name(tok.pos, word)
        if word in FUNCTIONS:
            raise self.error(tok.pos, f"{word} is a function: write {word}(...)")
        known = ", ".join(NAMES)
        raise self.error(tok.pos, f"unknown name {word!r} (known: {known})")

    def call(self, tok: Token) -> Node:
        func = str(tok.value)
        if func not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise self.error(tok.pos, f"unknown function {func!r} (known: {known})")
        self.advance()  # "("
        args: list[Node] = []
        if not (self.peek().type == "op" and self.peek().value == ")"):
            while True:
                args.append(self.expression(0))
                if self.peek().type == "op" and self.peek().value == ",":
                    self.advance()
                    continue
                break
        self.expect(")", f"to close the call of {func}() at col {tok.pos + 1}")
        lo, hi = FUNCTIONS[func]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            plural = "" if want == "1" else "s"
            raise self.error(tok.pos, f"{func}() takes {want} argument{plural} ({len(args)} given)")
        if func == "changed" and any(
            isinstance(n, Call) and n.func == "changed" for a in args for n in walk(a)
        ):
            raise self.error(tok.pos, "changed() cannot be nested inside changed()")
        return Call(tok.pos, func, tuple(args))

    def list_literal(self, tok: Token) -> Node:
        items: list[Node] = []
        if not (self.peek().type == "op" and self.peek().value == "]"):
            while True:
                items.append(self.expression(0))
                if self.peek().type == "op" and self.peek().value == ",":
                    self.advance()
                    if self.peek().type == "op" and self.peek().value == "]":
                        break  # trailing comma
                    continue
                break
        self.expect("]", f"to close the list at col {tok.pos + 1}")
        return ListLit(tok.pos, tuple(items))

    def infix(self, left: Node, op: str, bp: int) -> Node:
        tok = self.advance()
        if op == "not in":
            self.advance()
        if op == ".":
            name = self.advance()
            if name.type != "name":
                raise self.error(
                    name.pos, f"expected a field name after '.', found {_describe(name)}"
                )
            field = str(name.value)
            if field.startswith("_"):
                raise self.error(
                    name.pos,
                    f"forbidden field {field!r} (fields starting with '_' are not allowed)",
                )
            return Attr(name.pos, left, field)
        if op == "[":
            index = self.expression(0)
            self.expect("]", f"to close the '[' at col {tok.pos + 1}")
            return Index(tok.pos, left, index)
        if op == "(":
            raise self.error(tok.pos, "only the built-in functions can be called")
        if op in ("and", "or"):
            return BoolOp(tok.pos, op, left, self.expression(bp))
        right = self.expression(bp)
        if op in COMPARISONS:
            nxt = self.infix_op()
            if nxt is not None and _INFIX_BP[nxt] == _BP_CMP:
                raise self.error(
                    self.peek().pos, f"comparisons cannot be chained: use 'and' before {nxt!r}"
                )
            if op == "~" and isinstance(right, Lit):
                return Binary(tok.pos, op, left, right, self.regex(right))
        return Binary(tok.pos, op, left, right)

    def regex(self, lit: Lit) -> Pattern:
        if not isinstance(lit.value, str):
            raise self.error(
                lit.pos, "the right side of '~' must be a string (a regular expression)"
            )
        try:
            return compile_regex(lit.value)
        except PatternError as exc:
            raise self.error(lit.pos, f"invalid regular expression: {exc.reason}") from None


def _describe(tok: Token) -> str:
    if tok.type == "end":
        return "the end"
    if tok.type == "str":
        return "a string"
    if tok.type == "num":
        return f"number {tok.value!r}"
    return repr(tok.value)
