"""Estimating the memory a process holds (its state and its queued messages), cheaply."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recorder.sandbox.process import Process

__all__ = ["estimate_memory", "process_memory"]

_MEMORY_WALK_LIMIT = 256  # objects visited per estimate: bounded cost, good enough for "top N"


def estimate_memory(value: Any, limit: int = _MEMORY_WALK_LIMIT) -> int:
    """Approximate bytes held by ``value`` (``sys.getsizeof`` over a bounded walk)."""
    total = 0
    seen: set[int] = set()
    stack = [value]
    visited = 0
    while stack and visited < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        visited += 1
        try:
            total += sys.getsizeof(obj)
        except TypeError:
            total += 64
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.append(vars(obj))
    return total


def process_memory(proc: Process) -> int:
    """Estimated bytes of a process: its state plus its queued messages."""
    mailbox = proc._mailbox
    total = estimate_memory(proc._state) if proc._has_state else 0
    total += sys.getsizeof(mailbox)
    for i, envelope in enumerate(mailbox):
        if i >= 32:  # extrapolate long mailboxes from their first messages
            total += (total // 33) * (len(mailbox) - i)
            break
        total += estimate_memory(envelope[2], 32)
    return total
