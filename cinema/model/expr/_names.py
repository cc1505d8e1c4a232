"""The names, functions, words and limits of the expression language, and its error."""

from __future__ import annotations

from typing import Any

from cinema.model.errors import ModelError

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
FORBIDDEN = frozenset(
    {
        "import", "eval", "exec", "compile", "open", "lambda", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "dir", "def", "class", "del", "global", "nonlocal",
        "yield", "await", "async", "with", "for", "while", "if", "else", "return", "raise",
        "try", "except", "from", "as", "is", "assert", "print", "input", "breakpoint", "os",
        "sys", "builtins", "subprocess", "object", "type_", "help",
    }
)  # fmt: skip

KEYWORDS = {"and", "or", "not", "in"}
CONSTANTS: dict[str, Any] = {
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
