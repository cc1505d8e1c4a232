"""Turn errors the user can fix into one line on stderr and exit status 2, never a traceback.

Known user errors: :class:`cinema.errors.UserError`, a malformed or unsupported session file
(:class:`recorder.SessionFormatError`), and every file-system error (``OSError``: a missing or
unreadable path, a directory, a FIFO, a symlink loop, a name too long, a full disk, a read-only
file system). Anything else is a bug and keeps its traceback.

This module is imported before any command runs, so it imports nothing heavy: a
``SessionFormatError`` can only have been raised once ``recorder.session.format`` was imported,
so that is where :func:`is_user_error` looks for its class.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, ParamSpec, TypeVar

import click

from cinema.errors import UserError

__all__ = [
    "USER_ERRORS",
    "USER_ERROR_EXIT",
    "describe",
    "fail",
    "is_user_error",
    "reports_user_errors",
    "user_errors",
]

#: Exit status for a user error (the same as click's usage errors).
USER_ERROR_EXIT = 2

#: Exception types whose message is for the user (and ``recorder.SessionFormatError``).
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
_FORMAT_MODULE = "recorder.session.format"


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an error whose message is for the user: a file-system error of any
    kind (a symlink loop, a name too long, a full disk, a read-only file system...) is one;
    a closed pipe is not (the group stops quietly)."""
    if isinstance(exc, BrokenPipeError):
        return False
    if isinstance(exc, (*USER_ERRORS, OSError)):
        return True
    fmt = sys.modules.get(_FORMAT_MODULE)
    return fmt is not None and isinstance(exc, fmt.SessionFormatError)


P = ParamSpec("P")
R = TypeVar("R")


def describe(exc: BaseException) -> str:
    """The one-line message for a user error."""
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror[:1].lower() + exc.strerror[1:]
        if exc.filename is None:
            return reason  # e.g. "no space left on device" from a write
        where = _short(os.fsdecode(exc.filename))
        if exc.filename2 is not None:
            where += f" -> {_short(os.fsdecode(exc.filename2))}"
        return f"{where}: {reason}"
    fmt = sys.modules.get(_FORMAT_MODULE)
    if fmt is not None and isinstance(exc, fmt.SessionFormatError):
        damaged = _damaged_events(exc)
        if damaged is not None:
            return damaged
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.splitlines())  # one line, whatever the message holds


def _damaged_events(exc: BaseException) -> str | None:
    """For a frame of a session that otherwise opens (a checksum mismatch in the middle of
    the file), which events cannot be read, in the window's words: the commands that stop at
    damage say what the others (events, breaks, graph, analyze) leave out. None otherwise."""
    path, offset = getattr(exc, "path", None), getattr(exc, "offset", None)
    if not path or not offset:
        return None
    try:
        from cinema.views.damage import Damage
        from recorder.session.reader import SessionReader

        with SessionReader(path) as reader:
            problem = Damage().note(reader, exc)  # type: ignore[arg-type]
    except Exception:  # the file does not open at all: the plain message says why
        return None
    if problem.first < 0:
        return None
    return (
        f"{_short(path)}: {problem.text()}, and this command needs them "
        f"(`cinema info --check` lists every damaged frame; `cinema events`, `breaks`, "
        f"`graph`, `analyze` and `export` to jsonl, parquet or chrome-trace read the rest)"
    )


def _short(path: str, keep: int = 200) -> str:
    """A path for a message: a 5,000-character one is cut in the middle."""
    return path if len(path) <= keep else f"{path[: keep // 2]}…{path[-keep // 2 :]}"


def fail(exc: BaseException) -> NoReturn:
    """Print ``cinema: error: <message>`` on stderr and exit with status 2."""
    click.echo(f"cinema: error: {describe(exc)}", err=True)
    sys.exit(USER_ERROR_EXIT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a known user error raised inside the block and exit; let anything else through."""
    try:
        yield
    except Exception as exc:
        if not is_user_error(exc):
            raise
        fail(exc)


def reports_user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`user_errors`, for entry points outside the ``cinema`` group."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper
