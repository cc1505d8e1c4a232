"""``encode``: what encoding a value costs, native vs pure-Python vs plain msgpack.

Figures, each against a baseline measured in the same run (per-operation CPU time of this
thread, median of interleaved rounds, so that other load on the machine falls on both sides;
the note gives the spread, min..max over the rounds):

- ``encode_payload`` of typical values, native vs ``msgpack.packb`` of the same data as plain
  msgpack natives (what the format costs over no format at all), and pure-Python vs native:
  a small message tuple ``("deposit", 100, Pid(3))``, a ~1 KB dataclass state, a ~64 KB dict;
- the worst hostile value (shared DAGs, a list holding itself, a huge int, deep nesting, ...):
  milliseconds per value, native and pure-Python, against the 50 ms bound of the tests;
- ``EventBuffer.emit`` per event (native and pure-Python) vs ``list.append`` of the same tuple.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack

from benchmarks._harness import Figure, benchmark
from recorder.payload import DEFAULT_LIMITS, Pid, _buffer, _walk

try:
    from recorder._native import _core as native
except ImportError:  # no compiler at install: only the pure-Python figures
    native = None  # type: ignore[assignment]


@dataclasses.dataclass
class AccountState:
    owner: str
    balance: int
    currency: str
    history: list[tuple[str, int]]
    limits: dict[str, int]
    frozen: bool


def typical_values() -> dict[str, tuple[Any, Any]]:
    """name -> (value, the same data as plain msgpack natives)."""
    state = AccountState(
        "ann",
        1200,
        "EUR",
        [("deposit", 10 * i) for i in range(60)],
        {f"limit_{i}": i * 100 for i in range(20)},
        False,
    )
    plain_state = [
        state.owner,
        state.balance,
        state.currency,
        [list(h) for h in state.history],
        state.limits,
        state.frozen,
    ]
    # under max_items entries and max_bytes in all: encoded whole, as msgpack would
    big = {f"account-{i:04}": ("open", i, [i, i + 1], f"owner {i:<40}") for i in range(800)}
    plain_big = {k: list(v) for k, v in big.items()}
    return {
        "small tuple": (("deposit", 100, Pid(3)), ["deposit", 100, 3]),
        "1 KB dataclass state": (state, plain_state),
        "64 KB dict": (big, plain_big),
    }


def hostile_values() -> dict[str, Any]:
    """Values that once hung or killed recording (issue 17)."""
    selfish: list[Any] = []
    for _ in range(1000):
        selfish.append(selfish)
    tuple_dag: Any = 1
    list_dag: Any = 1
    for _ in range(26):
        tuple_dag = (tuple_dag,) * 3
        list_dag = [list_dag] * 3
    dict_dag: Any = 1
    for _ in range(40):
        dict_dag = {"a": dict_dag, "b": dict_dag}
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    return {
        "list holding itself 1000 times": selfish,
        "tuple DAG 3 x 26": tuple_dag,
        "list DAG 3 x 26": list_dag,
        "dict DAG 2 x 40": dict_dag,
        "list nested 100,000 deep": deep,
        "int of 5000 digits": 10**5000,
        "set of 5000 tuples": {(i, str(i)) for i in range(5000)},
        "dict of 1,000,000 entries": {i: i for i in range(1_000_000)},
    }


def _per_op(fn: Callable[[], object], n: int) -> float:
    t0 = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - t0) / n


def _paired(
    a: Callable[[], object], b: Callable[[], object], n: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Per-op CPU seconds of ``a`` and ``b`` over ``rounds`` interleaved rounds."""
    ta: list[float] = []
    tb: list[float] = []
    _per_op(a, max(1, n // 10))  # warm up both
    _per_op(b, max(1, n // 10))
    for i in range(rounds):
        pair = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
        for fn, out in pair:
            out.append(_per_op(fn, n))
    return ta, tb


def _spread(xs: list[float], scale: float, unit: str) -> str:
    return f"{min(xs) * scale:.3g}..{max(xs) * scale:.3g} {unit} over {len(xs)} rounds"


def _iterations(value: Any, quick: bool) -> int:
    probe = _per_op(lambda: _walk.encode(value, DEFAULT_LIMITS), 1)
    budget = 0.02 if quick else 0.1  # CPU seconds per round of the slower side
    return max(1, min(20_000, int(budget / max(probe, 1e-7))))


def _typical(quick: bool, rounds: int) -> Iterator[Figure]:
    lim = DEFAULT_LIMITS
    packb = msgpack.Packer(use_bin_type=True).pack
    py_encode = _walk.encode
    for name, (value, plain) in typical_values().items():
        n = _iterations(value, quick)

        def py(value: Any = value) -> bytes:
            return py_encode(value, lim)

        def plain_msgpack(plain: Any = plain) -> bytes:
            return packb(plain)

        if native is None:
            tp, tm = _paired(py, plain_msgpack, n, rounds)
            yield Figure(
                f"encode {name} ({len(py()):,} B), pure-Python (native not built)",
                statistics.median(tp) * 1e6,
                "µs",
                statistics.median(tm) * 1e6,
                note="baseline: msgpack.packb of the same data as natives",
            )
            continue
        c_encode = native.encode

        def c(value: Any = value, c_encode: Callable[..., bytes] = c_encode) -> bytes:
            return c_encode(value, lim)

        assert c() == py(), name
        tn, tm = _paired(c, plain_msgpack, n * 10, rounds)
        yield Figure(
            f"encode {name} ({len(c()):,} B), native",
            statistics.median(tn) * 1e6,
            "µs",
            statistics.median(tm) * 1e6,
            goal="close to msgpack (ratio ~1-2)",
            note="baseline: msgpack.packb of the same data as natives; "
            f"native {_spread(tn, 1e6, 'µs')}",
        )
        tp, tn2 = _paired(py, c, n, rounds)
        yield Figure(
            f"encode {name}, pure-Python",
            statistics.median(tp) * 1e6,
            "µs",
            statistics.median(tn2) * 1e6,
            note=f"baseline: native; pure-Python {_spread(tp, 1e6, 'µs')}",
        )


def _hostile() -> Iterator[Figure]:
    encoders: list[tuple[str, Callable[..., bytes]]] = [("pure-Python", _walk.encode)]
    if native is not None:
        encoders.insert(0, ("native", native.encode))
    values = hostile_values()
    for label, enc in encoders:
        worst, worst_name = 0.0, ""
        for name, value in values.items():

            def once(value: Any = value, enc: Callable[..., bytes] = enc) -> bytes:
                return enc(value, DEFAULT_LIMITS)

            best = min(_per_op(once, 1) for _ in range(3))
            if best > worst:
                worst, worst_name = best, name
        yield Figure(
            f"worst hostile value, {label} ({len(values)} values)",
            worst * 1e3,
            "ms",
            50.0,
            goal="< 50 ms per value (ratio < 1)",
            note=f"worst: {worst_name}; baseline: the bound the tests hold each value to",
        )


def _emit(quick: bool, rounds: int) -> Iterator[Figure]:
    event = ("deposit", 100, Pid(3))
    buffers: list[tuple[str, Any]] = [("pure-Python", _buffer.EventBuffer)]
    if native is not None:
        buffers.insert(0, ("native", native.EventBuffer))
    n = 20_000 if quick else 100_000
    for label, cls in buffers:
        buf = cls()
        rows: list[Any] = []
        k = n if label == "native" else n // 10

        def emit(buf: Any = buf) -> None:
            buf.emit(3, 1, 2, 7, event)

        def append(rows: list[Any] = rows) -> None:
            rows.append((0, 3, 1, 2, 7, event))

        te: list[float] = []
        ta: list[float] = []
        for i in range(rounds):
            pair = ((emit, te), (append, ta)) if i % 2 == 0 else ((append, ta), (emit, te))
            for fn, out in pair:
                out.append(_per_op(fn, k))
            buf.take()
            rows.clear()
        yield Figure(
            f"EventBuffer.emit per event, {label}",
            statistics.median(te) * 1e9,
            "ns",
            statistics.median(ta) * 1e9,
            goal="<= 500 ns (Recorder.emit with the writer running, issue 13)",
            note=f"baseline: list.append of the tuple; emit {_spread(te, 1e9, 'ns')}; "
            "data encoded at emit, the timestamp read by the buffer",
        )


@benchmark("encode", help="payload encoding: native vs pure-Python vs msgpack, hostile values")
def run(quick: bool) -> Iterator[Figure]:
    rounds = 5 if quick else 9
    yield from _typical(quick, rounds)
    yield from _hostile()
    yield from _emit(quick, rounds)
