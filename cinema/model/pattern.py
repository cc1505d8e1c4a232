"""Patterns a person types, matched in time linear in the text (Google's RE2).

Every user pattern goes through here: the expression language's ``~``, ``/regex/`` in
``cinema events --match`` and the other filters, message-pattern breakpoints. Python's ``re``
backtracks: ``(a+)+$`` over 40 characters never finishes, ``a{4294967296}`` raises
``OverflowError``, 1,000 nested groups ``RecursionError``. RE2 (https://github.com/google/re2)
compiles a pattern into an automaton and matches it in one pass, so no pattern can take more
than linear time; it does not support what needs backtracking (backreferences such as ``\\1``,
lookahead and lookbehind, atomic groups, possessive repeats), and says so here.

Syntax: https://github.com/google/re2/wiki/Syntax (Python's ``\\Z`` is accepted and means
``\\z``). Limits: 4,000 characters, counted repetitions up to 1,000, 1,000 levels of nesting,
8 MiB of compiled program.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from cinema.model.errors import ModelError

__all__ = ["MAX_PATTERN", "Pattern", "PatternError", "compile_regex", "compile_text", "re2"]

#: Longest pattern accepted (characters).
MAX_PATTERN = 4000
_MAX_REPEAT = 1000
_MAX_MEM = 8 << 20

#: What RE2 cannot do, by the pattern syntax that asks for it: (a test, a name for it).
_UNSUPPORTED = (
    (re.compile(r"\\[1-9]|\(\?P=\w+\)"), "backreferences (\\1, (?P=name))"),
    (re.compile(r"\(\?<?[=!]"), "lookahead and lookbehind ((?=...), (?!...), (?<=...), (?<!...))"),
    (re.compile(r"\(\?>"), "atomic groups ((?>...))"),
    (re.compile(r"[*+?}]\+"), "possessive repeats (a++, a*+)"),
)


class PatternError(ModelError):
    """A pattern that cannot be used: bad syntax, something RE2 does not support, too big.

    ``reason`` is the sentence alone (for messages that add their own context).
    """

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        super().__init__(f"bad regular expression {shown!r}: {reason}")


@functools.cache
def re2() -> Any:
    """The ``re2`` module (google-re2), imported when a pattern is first compiled, so that
    commands without patterns neither pay for it nor need it.

    Raises:
        ModelError: google-re2 is not installed (``./run`` installs it).
    """
    try:
        import re2 as module
    except ImportError:
        raise ModelError(
            "patterns need google-re2, which is not installed here: run ./run (or "
            "pip install google-re2) to set up Cinema's environment"
        ) from None
    return module


class Pattern:
    """A compiled pattern: :meth:`search` says whether it occurs in a text."""

    __slots__ = ("_match", "ignore_case", "text")

    def __init__(self, text: str, match: Any, ignore_case: bool) -> None:
        self.text = text
        self.ignore_case = ignore_case
        self._match = match

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in ``text`` (time linear in ``text``)."""
        return self._match(text) is not None

    def __repr__(self) -> str:
        flag = ", ignore_case=True" if self.ignore_case else ""
        return f"Pattern({self.text!r}{flag})"


def compile_regex(pattern: str, *, ignore_case: bool = False) -> Pattern:
    """Compile a regular expression in RE2 syntax.

    Raises:
        PatternError: bad syntax, a feature RE2 does not have, or beyond the limits.
    """
    return _compile(pattern, ignore_case, literal=False)


def compile_text(text: str, *, ignore_case: bool = True) -> Pattern:
    """A pattern that finds ``text`` itself (no special characters)."""
    return _compile(text, ignore_case, literal=True)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, ignore_case: bool, literal: bool) -> Pattern:
    if not isinstance(pattern, str):
        raise PatternError(repr(pattern), "a pattern must be text")
    if len(pattern) > MAX_PATTERN:
        raise PatternError(pattern, f"longer than {MAX_PATTERN:,} characters")
    source = pattern if literal else _checked(pattern)
    engine = re2()
    options = engine.Options()
    options.log_errors = False  # RE2 would print every bad pattern on stderr
    options.never_capture = True  # only "does it match": the DFA, no submatches
    options.case_sensitive = not ignore_case
    options.literal = literal
    options.max_mem = _MAX_MEM
    try:
        engine.compile(source, options)  # validates, with RE2's own message
        matcher = engine.Set.SearchSet(options)
        matcher.Add(source)
        matcher.Compile()
    except engine.error as exc:
        raise PatternError(pattern, _reason(exc)) from None
    return Pattern(pattern, matcher.Match, ignore_case)


def _checked(pattern: str) -> str:
    """``pattern`` with Python's ``\\Z`` spelled the RE2 way, after refusing what RE2 would
    not take (the message then names the feature) or take differently: a counted repetition
    past 1,000 (RE2 would read ``a{4294967296}`` as text)."""
    tokens = list(_tokens(pattern))
    # outside classes, with escapes blanked out but backreferences kept
    skeleton = "".join(
        tok if not cls and (len(tok) == 1 or tok[1] in "123456789") else "_" * len(tok)
        for tok, cls in tokens
    )
    for test, feature in _UNSUPPORTED:
        if test.search(skeleton):
            raise PatternError(pattern, f"{feature} are not supported (RE2 matches in linear time)")
    for m in _REPEAT.finditer(skeleton):
        if max(int(g) for g in m.groups() if g) > _MAX_REPEAT:
            raise PatternError(pattern, f"repetition {m.group()} is more than {_MAX_REPEAT:,}")
    return "".join("\\z" if tok == "\\Z" and not cls else tok for tok, cls in tokens)


def _tokens(pattern: str) -> Iterator[tuple[str, bool]]:
    """``(token, inside a [...] class)``: an escape (two characters) or one character."""
    i, n = 0, len(pattern)
    cls_start = -1  # index of the class's first member, while inside one
    while i < n:
        c = pattern[i]
        tok = pattern[i : i + 2] if c == "\\" and i + 1 < n else c
        inside = cls_start >= 0
        if inside and c == "]" and i > cls_start:
            yield tok, True
            cls_start = -1
        elif not inside and c == "[":
            yield tok, False
            cls_start = i + 2 if pattern.startswith("^", i + 1) else i + 1
        else:
            yield tok, inside
        i += len(tok)


_REPEAT = re.compile(r"\{([0-9]{1,20})(?:,([0-9]{0,20}))?\}", re.ASCII)


def _reason(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else exc
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if text.startswith("failed to compile") or "pattern too large" in text:
        return f"too large once compiled (more than {_MAX_MEM >> 20} MiB)"
    return text
