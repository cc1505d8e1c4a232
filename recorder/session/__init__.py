"""Session files: the writer (:class:`Recorder`) and, with numpy, the reader."""

from recorder.session.format import SessionFormatError, UnsupportedVersion
from recorder.session.writer import Recorder, RecorderClosed

__all__ = ["Recorder", "RecorderClosed", "SessionFormatError", "UnsupportedVersion"]
