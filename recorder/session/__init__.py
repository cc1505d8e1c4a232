"""Session files: the writer (:class:`Recorder`) and, with numpy, the reader."""

from typing import TYPE_CHECKING, Any

from recorder.session.format import SessionFormatError, UnsupportedVersion

if TYPE_CHECKING:
    from recorder.session.writer import Recorder, RecorderClosed

__all__ = ["Recorder", "RecorderClosed", "SessionFormatError", "UnsupportedVersion"]


def __getattr__(name: str) -> Any:
    # The writer (and what it brings: threads, the live pipe) loads on first use: a program
    # that only reads sessions (`cinema events`, `cinema info`) never pays for it.
    if name in ("Recorder", "RecorderClosed"):
        from recorder.session import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
