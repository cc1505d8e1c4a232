"""The native payload texts (recorder/_native/texts.c) over every payload the three demos
recorded: the reference JSON and one-line text, hardly any declined."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cinema.model.export._json import native_texts
from cinema.model.present import data_text, to_json
from cinema.model.session import Session
from recorder.payload import NATIVE, decode_payload

native = pytest.mark.skipif(not NATIVE, reason="the native module is not built")


def _reference(raw: bytes) -> str:
    return json.dumps(to_json(decode_payload(raw)), allow_nan=False)


@native
def test_the_native_texts_of_every_demo_payload(demo_files: dict[str, str]) -> None:
    """Every payload the three demos recorded: the same texts, hardly any declined."""
    declined = total = 0
    for path in demo_files.values():
        with Session.open(path) as s:
            for fs in s.reader.scan(0, s.event_count):
                block, offsets = fs.payload_block()
                lengths = np.diff(np.asarray(offsets, dtype=np.int64))
                got = native_texts(lengths, bytes(block[int(offsets[0]) :]), json=True, text=True)
                assert got is not None
                js, ts, _ = got
                assert js is not None and ts is not None
                for k in range(len(lengths)):
                    raw = bytes(block[int(offsets[k]) : int(offsets[k + 1])])
                    total += 1
                    if not raw:
                        assert js[k] == ts[k] == ""
                        continue
                    if js[k] is None or ts[k] is None:
                        declined += 1
                    if js[k] is not None:
                        assert js[k] == _reference(raw)
                    if ts[k] is not None:
                        assert ts[k] == data_text(decode_payload(raw))
    assert total > 10_000 and declined < total // 50


@native
def test_the_native_trace_loop_writes_what_the_reference_loop_writes(
    demo_files: dict[str, str],
) -> None:
    """The chrome-trace export of each demo: trace.c's loop and the Python loop, same bytes."""
    import io

    from cinema.model.export import chrome
    from cinema.model.export.redact import Redactor
    from cinema.model.export.scope import ExportOptions

    assert chrome._trace_events is not None
    opts = ExportOptions(format="chrome-trace")
    for path in demo_files.values():
        outs = []
        for fast in (True, False):
            out = io.BytesIO()
            with Session.open(path) as s:
                lo, hi = opts.check(s)
                chrome.write_chrome_trace(s, lo, hi, opts, Redactor(opts.rules), out, native=fast)
            outs.append(out.getvalue())
        assert outs[0] == outs[1] and len(outs[0]) > 10_000
