"""Message patterns for selective receive and interception rules.

A pattern is one of:

- :data:`ANY` -- matches every value;
- a type -- matches instances of it (``int``, ``str``, a dataclass);
- a tuple -- matches a tuple of the same length whose items match item by item;
- a dict -- matches a dict that has these keys with matching values (other keys allowed);
- a callable that is not a type -- a predicate, called with the value;
- anything else -- matches an equal value.

Example: ``("deposit", ANY, int)`` matches ``("deposit", "alice", 50)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["ANY", "Matcher", "compile_pattern", "matches"]

Matcher = Callable[[Any], bool]


class _Any:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


#: The wildcard pattern.
ANY: Final = _Any()


def matches(pattern: Any, value: Any) -> bool:
    """Whether ``value`` matches ``pattern`` (see the module docstring)."""
    if pattern is ANY:
        return True
    if isinstance(pattern, type):
        return isinstance(value, pattern)
    if type(pattern) is tuple:
        if type(value) is not tuple or len(value) != len(pattern):
            return False
        return all(matches(p, v) for p, v in zip(pattern, value, strict=True))
    if type(pattern) is dict:
        if not isinstance(value, dict):
            return False
        return all(k in value and matches(p, value[k]) for k, p in pattern.items())
    if callable(pattern):
        return bool(pattern(value))
    return bool(pattern == value)


def compile_pattern(pattern: Any) -> Matcher | None:
    """A predicate for ``pattern``; ``None`` for :data:`ANY` (matches everything)."""
    if pattern is None or pattern is ANY:
        return None
    if callable(pattern) and not isinstance(pattern, type):
        return pattern  # type: ignore[no-any-return]
    return lambda value: matches(pattern, value)
