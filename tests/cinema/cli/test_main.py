"""The `cinema` group: version, help, and one-line user errors for every command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cinema import __version__
from cinema.cli import CinemaGroup, main
from cinema.errors import UserError
from recorder import SessionFormatError


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_says_what_cinema_is() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "time-travel debugger for actor systems" in result.output


def _group_raising(exc: BaseException) -> click.Group:
    @click.group(cls=CinemaGroup)
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise exc

    return group


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (UserError("no process named 'db'"), "no process named 'db'"),
        (
            SessionFormatError("bad magic", offset=0, path="x.cinema"),
            "x.cinema at byte 0: bad magic",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "missing.cinema"),
            "missing.cinema: no such file or directory",
        ),
    ],
)
def test_user_errors_are_one_line_with_status_2(exc: BaseException, message: str) -> None:
    result = CliRunner().invoke(_group_raising(exc), ["boom"])
    assert result.exit_code == 2
    assert result.stderr == f"cinema: error: {message}\n"
    assert "Traceback" not in result.output


def test_other_errors_keep_their_traceback() -> None:
    result = CliRunner().invoke(_group_raising(RuntimeError("a bug")), ["boom"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)
