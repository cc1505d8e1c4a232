"""The model's one error type: a message written for the person at the keyboard."""

from __future__ import annotations

from cinema.errors import UserError

__all__ = ["ModelError"]


class ModelError(UserError):
    """A question the session cannot answer: an event number out of range, a time before the
    start, an unknown process or kind, an unusable pattern.

    It is a :class:`ValueError` (through :class:`cinema.errors.UserError`), and the ``cinema``
    command prints its message as ``cinema: error: <message>`` with exit status 2.
    """
