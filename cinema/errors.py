"""Errors whose message is meant for the person at the keyboard, not for a traceback."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """A problem the user can fix: a bad argument, an unusable file, an unknown name.

    The message is shown as is (``cinema: error: <message>``, exit status 2), so write it as a
    complete, specific sentence fragment: ``"no process named 'db' in this session"``.
    It is a :class:`ValueError` so that library code calling model functions directly can treat
    it like any other invalid value.
    """
