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

from cinema.model.expr._names import (
    ARITHMETIC,
    COLUMN_NAMES,
    COMPARISONS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NUMBER_DIGITS,
    NAMES,
    ExprError,
)
from cinema.model.expr._parser import parse
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
    children,
    depth,
    free_names,
    literal,
    unparse,
    walk,
)

__all__ = [
    "ARITHMETIC",
    "COLUMN_NAMES",
    "COMPARISONS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NUMBER_DIGITS",
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
    "Token",
    "Unary",
    "children",
    "depth",
    "free_names",
    "literal",
    "parse",
    "tokenize",
    "unparse",
    "walk",
]
