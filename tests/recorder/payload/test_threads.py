"""Encoding on several threads at once (program threads freeze states while the writer thread
encodes events): every thread gets exactly its own bytes."""

from __future__ import annotations

import sys
import threading
from typing import Any

from recorder.payload import DEFAULT_LIMITS, Pid, Ref

from .conftest import Encode


def _values(t: int) -> list[Any]:
    return [
        [Pid(t), Ref(i), ("msg", i), {"k": Pid(i)}, {Pid(i): t}, [i, "x" * (i % 40), Pid(t)]]
        for i in range(300)
    ]


def test_threads_encoding_at_once_get_their_own_bytes(encode: Encode) -> None:
    expected = {t: [encode(v, DEFAULT_LIMITS) for v in _values(t)] for t in range(4)}
    errors: list[str] = []

    def work(t: int) -> None:
        values = _values(t)
        for _ in range(20):
            for v, want in zip(values, expected[t], strict=True):
                if encode(v, DEFAULT_LIMITS) != want:
                    errors.append(f"thread {t}: {v!r}")
                    return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:3]
