"""Column windows: the fixed fields of a range of events, without loading the whole session.

The world at event *N* needs only the events between the nearest keyframe and *N*; loading the
skeleton of a 10-million-event file for that would cost seconds. The reader serves just the
frames that hold the window (:meth:`SessionReader.columns`).
"""

from __future__ import annotations

import numpy as np

from recorder.session.reader import Columns, SessionReader

__all__ = ["Columns", "payload_sizes", "window"]


def window(reader: SessionReader, start: int, stop: int) -> Columns:
    """The columns of events ``start <= seq < stop`` (clamped to the session)."""
    return reader.columns(start, stop)


def payload_sizes(reader: SessionReader, start: int, stop: int) -> np.ndarray:
    """Encoded payload sizes (bytes, int64) of events ``start <= seq < stop``."""
    return reader.payload_sizes(start, stop)
