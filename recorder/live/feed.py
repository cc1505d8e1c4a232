"""One client's view of the stream: history from the session file, then the flight recorder.

A :class:`ClientFeed` turns the ring (and, for ``history="all"``, the session file being
written) into what one client receives: the file header, then frames numbered from 0 without
gaps. It starts where the subscription says (the whole file, the oldest keyframe of the ring,
or its newest), renumbers frames when it did not start at 0. When the client fell so far behind
that the ring dropped its next frames, it reads them back from the session file being written
(a slow client on a busy machine loses nothing); only without a file (or when the file cannot
be read) does it put a LOST event in their place and go on from the next keyframe (the client
is told with a ``gap`` notice). Filtered subscriptions get
rebuilt frames (and a ``seqs`` notice mapping them back to the session's numbers).
"""

from __future__ import annotations

import bisect
import logging
from typing import IO, Any

from recorder.live.restream import lost_frame, renumber, rows_frame
from recorder.live.ring import FlightRecorder, RingFrame
from recorder.live.subscription import Subscription
from recorder.session.columns import decode_event_frame
from recorder.session.format import FRAME_HEADER, FrameType, SessionFormatError
from recorder.session.stream import StreamDecoder

__all__ = ["ClientFeed", "Item"]

log = logging.getLogger("recorder.live")

#: ``("data", bytes)`` or ``("control", map)``.
Item = tuple[str, Any]

_FILE_CHUNK = 1 << 20


class ClientFeed:
    """What one client gets next (used by the server's I/O thread only).

    Args:
        ring: the flight recorder.
        header: the session's file header bytes.
        sub: the subscription.
        session_file: the file being recorded, for ``history="all"``.
        decompress: a zstd decompressor (keyframe renumbering, filters).
    """

    def __init__(
        self,
        ring: FlightRecorder,
        header: bytes,
        sub: Subscription,
        session_file: str | None,
        decompress: Any,
    ) -> None:
        self.ring = ring
        self.sub = sub
        self.decompress = decompress
        self.delta = 0  # session seq - client seq (unfiltered)
        self.client_next = 0  # the client's next sequence number
        self.source_next = 0  # the session's next sequence number (filtered feeds)
        self.missed = 0  # events lost because the client fell behind
        self.gaps = 0
        self.tail_sent = False
        self._pending: list[Item] = [("data", header)]
        self.header = header
        self.session_file = session_file
        #: The file offset just past the last frame this client was given (or skipped), to
        #: read it back from the file when the ring dropped what comes next.
        self.resume_offset: int | None = None
        self.catch_ups = 0  # times the client was behind the ring and read the file instead
        self._file: IO[bytes] | None = None
        self._file_decoder: StreamDecoder | None = None
        self.cursor = ring.next_number
        self.started = False
        if sub.history == "all" and session_file is not None:
            oldest = ring.oldest()
            if oldest is not None and oldest.number == 0:
                self.cursor = 0  # the ring still holds everything: no need for the file
                self.started = True
            else:
                try:
                    self._file = open(session_file, "rb")  # noqa: SIM115 - closed in close()
                    self._file_decoder = StreamDecoder()
                    self.started = True
                except OSError as exc:
                    log.warning("cannot read %s for a client's history: %s", session_file, exc)
        if not self.started:
            self._start_in_ring()

    def _start_in_ring(self) -> None:
        ring = self.ring
        if self.sub.filtered:
            oldest = ring.oldest()
            start = (
                ring.next_number if self.sub.history == "none" or oldest is None else oldest.number
            )
            self.cursor = start
            first = ring.frames_from(start, limit=1)
            self.source_next = first[0].header.first_seq if first else ring.event_count
            self.started = True
            return
        kf: RingFrame | None
        if self.sub.history == "none":
            frames = ring.frames_from(ring.first_number, limit=1 << 30)
            kf = next((f for f in reversed(frames) if f.is_keyframe), None)
        else:
            kf = ring.start_keyframe()
        if kf is None:
            self.cursor = ring.next_number
            ring.want_keyframe = True
            return
        self.cursor = kf.number
        self.delta = kf.header.first_seq
        self.started = True

    @property
    def seq_offset(self) -> int:
        return self.delta

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # ------------------------------------------------------------------ pulling

    def pull(self, budget: int = 1 << 20) -> list[Item]:
        """The next items to send, about ``budget`` bytes of them (possibly none)."""
        out, self._pending = self._pending, []
        size = sum(len(x[1]) for x in out if x[0] == "data")
        if self._file is not None:
            size += self._pull_file(out, budget - size)
            if self._file is not None:
                return out
        if not self.started:
            self._start_in_ring()
            if not self.started:
                return out
        ring = self.ring
        while size < budget:
            if self.cursor < ring.first_number:
                if self._catch_up_from_file():
                    size += self._pull_file(out, budget - size)
                    if self._file is not None:
                        break
                    continue
                if not self._skip_gap(out):
                    break
                continue
            frames = ring.frames_from(self.cursor)
            if not frames:
                self._maybe_tail(out)
                break
            for fr in frames:
                size += self._send_frame(fr, out)
                self.cursor = fr.number + 1
                self.resume_offset = fr.offset + len(fr.data)
                if size >= budget:
                    break
        return out

    def _catch_up_from_file(self) -> bool:
        """The ring dropped this client's next frame: read on from the session file, at the
        offset just past the last frame it was given, if that frame is on disk."""
        ring = self.ring
        oldest = ring.oldest()
        at = self.resume_offset
        if self.session_file is None or at is None or oldest is None or at >= oldest.offset:
            return False
        dec = StreamDecoder()
        try:
            dec.feed(self.header)
            dec.skip_to(at)
            f = open(self.session_file, "rb")  # noqa: SIM115 - closed in close()
            f.seek(at)
        except (OSError, ValueError, SessionFormatError) as exc:
            log.warning("cannot read %s to catch a client up: %s", self.session_file, exc)
            self.session_file = None  # do not try again: gaps from now on
            return False
        self._file, self._file_decoder = f, dec
        self.catch_ups += 1
        return True

    def _maybe_tail(self, out: list[Item]) -> None:
        """The recording finished: a client that got the file's very bytes gets its end too
        (footer and trailer), and holds a complete session file."""
        tail = self.ring.tail
        if tail is None or self.tail_sent or self.cursor < self.ring.next_number:
            return
        self.tail_sent = True
        if self.delta == 0 and not self.gaps and not self.sub.filtered:
            out.append(("data", tail))

    def lost_frames(self) -> bool:
        """Whether the ring already dropped frames this client has not been given."""
        return self._file is None and self.started and self.cursor < self.ring.first_number

    def behind(self) -> int:
        """Frames written that this client has not been given yet."""
        return self.ring.next_number - self.cursor if self._file is None else 1

    def _send_frame(self, fr: RingFrame, out: list[Item]) -> int:
        h = fr.header
        if self.sub.filtered:
            if h.type != FrameType.EVENTS:
                return 0
            return self._send_filtered(fr, out)
        if h.type == FrameType.EVENTS:
            if h.first_seq - self.delta != self.client_next:
                return 0  # already covered (history from the file overlapped the ring)
            self.client_next += h.count
        elif h.type == FrameType.KEYFRAME and h.first_seq - self.delta != self.client_next:
            return 0
        data = (
            fr.data
            if self.delta == 0
            else renumber(fr.data, h, h.first_seq - self.delta, self.decompress)
        )
        out.append(("data", data))
        return len(data)

    def _send_filtered(self, fr: RingFrame, out: list[Item]) -> int:
        h = fr.header
        if h.first_seq < self.source_next:
            return 0  # already covered (history from the file overlapped the ring)
        self.source_next = h.first_seq + h.count
        try:
            decoded = decode_event_frame(h, fr.data[FRAME_HEADER.size :], self.decompress)
        except SessionFormatError:
            log.exception("a frame could not be decoded for a filtered client")
            return 0
        keep = self.sub.select(decoded)
        if not keep:
            return 0
        data = rows_frame(keep, self.client_next, h.flags)
        source = b"".join(r[0].to_bytes(8, "little", signed=True) for r in keep)
        out.append(("control", {"op": "seqs", "first": self.client_next, "source": source}))
        out.append(("data", data))
        self.client_next += len(keep)
        return len(data)

    def _skip_gap(self, out: list[Item]) -> bool:
        """The ring no longer holds this client's next frame: continue where the ring holds
        that event after all (history from the file overlapping the ring), or note a gap (a
        LOST event) and go on from the next keyframe."""
        ring = self.ring
        expected = self.source_next if self.sub.filtered else self.client_next + self.delta
        frames = ring.frames_from(ring.first_number, limit=1 << 30)
        for fr in frames:
            if fr.header.type in (FrameType.EVENTS, FrameType.KEYFRAME) and (
                fr.header.first_seq == expected
            ):
                self.cursor = fr.number
                return True
        for fr in frames:
            starts = fr.is_keyframe or (self.sub.filtered and fr.header.type == FrameType.EVENTS)
            if starts and fr.header.first_seq > expected:
                self._note_gap(out, fr.header.first_seq - expected, fr)
                self.cursor = fr.number
                return True
        ring.want_keyframe = True
        return False

    def _note_gap(self, out: list[Item], missed: int, at: RingFrame) -> None:
        self.missed += missed
        self.gaps += 1
        if not self.sub.filtered:
            lost = lost_frame(self.client_next, at.header.t_first, missed)
            out.append(("data", lost))
            self.client_next += 1
            self.delta = at.header.first_seq - self.client_next
        notice = {"op": "gap", "missed": missed, "total_missed": self.missed}
        notice.update(seq_offset=self.delta, at=self.client_next - 1)
        out.append(("control", notice))

    # ------------------------------------------------------------------ history from the file

    def _pull_file(self, out: list[Item], budget: int) -> int:
        """Frames read from the session file until the ring takes over."""
        f, dec = self._file, self._file_decoder
        assert f is not None and dec is not None
        size = 0
        ring = self.ring
        while size < budget:
            pos = dec.offset + dec.pending_bytes if dec.meta is not None else None
            if dec.meta is not None and not dec.pending_bytes:
                switch = self._ring_number_at(dec.offset)
                if switch is not None:
                    self._switch_to_ring(switch)
                    return size
            chunk = f.read(_FILE_CHUNK)
            if not chunk:
                oldest = ring.oldest()
                if oldest is not None and pos is not None and pos < oldest.offset:
                    # the file on disk stops short of the ring's start: resume from the ring
                    self._switch_to_ring(None)
                return size
            try:
                frames = dec.feed(chunk)
            except SessionFormatError as exc:
                log.warning("history from the session file stopped: %s", exc)
                self._switch_to_ring(None)
                return size
            for fr in frames:
                h = fr.header
                if h.type == FrameType.FOOTER:
                    continue
                data = FRAME_HEADER.pack(*_header_fields(h)) + fr.body
                self.resume_offset = h.offset + len(data)
                if self.sub.filtered:
                    if fr.header.type == FrameType.EVENTS:
                        size += self._send_filtered(
                            RingFrame(-1, fr.header, data, fr.header.offset), out
                        )
                    continue
                if self.delta and h.type in (FrameType.EVENTS, FrameType.KEYFRAME):
                    data = renumber(data, h, h.first_seq - self.delta, self.decompress)
                if h.type == FrameType.EVENTS:
                    self.client_next = h.first_seq - self.delta + h.count
                out.append(("data", data))
                size += len(data)
            if dec.footer_seen:
                self._switch_to_ring(None)
                return size
        return size

    def _ring_number_at(self, offset: int) -> int | None:
        """The number of the ring frame at file ``offset`` (or the next one to come)."""
        frames = self.ring.frames_from(self.ring.first_number, limit=1 << 30)
        if not frames or offset < frames[0].offset:
            return None
        last = frames[-1]
        if offset >= last.offset + len(last.data):
            return last.number + 1 if offset == last.offset + len(last.data) else None
        i = bisect.bisect_left([fr.offset for fr in frames], offset)
        if i < len(frames) and frames[i].offset == offset:
            return frames[i].number
        return None

    def _switch_to_ring(self, number: int | None) -> None:
        self.close()
        self._file_decoder = None
        if number is not None:
            self.cursor = number
            return
        # could not stitch the file to the ring: continue at a ring keyframe, after a gap
        self.cursor = -1  # < first_number: the next pull notes the gap
        self.resume_offset = None  # (not another read of the same file)


def _header_fields(h: Any) -> tuple[Any, ...]:
    return (
        b"CFRM", h.type, h.flags, 0, h.count, h.crc, h.first_seq, h.t_first, h.t_last,
        *h.stored, *h.raw,
    )  # fmt: skip
