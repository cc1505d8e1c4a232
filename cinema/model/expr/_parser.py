"""The parser: a Pratt (top-down operator precedence) parser from tokens to the syntax tree.

Prior art: Vaughan Pratt, "Top Down Operator Precedence" (1973).
"""

from __future__ import annotations

from cinema.model.expr._names import (
    COMPARISONS,
    CONSTANTS,
    FORBIDDEN,
    FUNCTIONS,
    KEYWORDS,
    MAX_DEPTH,
    MAX_LENGTH,
    NAMES,
    ExprError,
)
from cinema.model.expr._tokens import Token, tokenize
from cinema.model.expr._tree import (
    Attr,
    Binary,
    BoolOp,
    Call,
    Index,
    ListLit,
    Lit,
    Name,
    Node,
    Unary,
    depth,
    walk,
)
from cinema.model.pattern import Pattern, PatternError, compile_regex

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
        if word in CONSTANTS:
            return Lit(tok.pos, CONSTANTS[word])
        if word in KEYWORDS:
            raise self.error(tok.pos, f"unexpected {word!r} (expected a value)")
        if word.startswith("_"):
            raise self.error(
                tok.pos, f"forbidden name {word!r} (names starting with '_' are not allowed)"
            )
        if word in FORBIDDEN:
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
