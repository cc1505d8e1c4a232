"""Fuzz targets: one function per reader or parser, taking any bytes.

A target feeds its input to the code under test the way a user's file or typing would, and
touches everything a command or the window would read. The only exceptions it lets out are the
clean refusals of :data:`ALLOWED` (a ``SessionFormatError`` for a bad file, an ``ExprError`` for
a bad expression...); anything else escaping is a bug, and so is a wrong answer the target can
check (the vectorised breakpoint hits against the event-by-event ones, a payload's text against
its parse). :mod:`fuzz.__main__` runs them under atheris (coverage-guided), ``tests/fuzz`` under
hypothesis with a fixed budget; both start from the corpus in ``tests/corpus``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fuzz import corpus

__all__ = ["ALLOWED", "SEEDS", "TARGETS"]

#: Inputs from a file or a person are at most this big (the fuzzers' -max_len too).
MAX_INPUT = 1 << 20


def _scratch() -> Path:
    d = Path(tempfile.gettempdir()) / f"cinema-fuzz-{os.getpid()}"
    d.mkdir(exist_ok=True)
    return d


def _walk_reader(r: Any) -> None:
    """What ``cinema info`` / ``events`` and the window's first screen read."""
    r.kind_counts()
    _ = r.lost, r.processes, r.t_first, r.t_last, r.frame_table()
    r.skeleton()
    r.refs()
    n = r.event_count
    for ev in r.events(0, min(n, 300)):
        _ = ev.kind_name
    if n:
        r.event(n - 1)
        r.columns(0, n)
        r.payload_sizes(0, min(n, 300))
    for fs in r.scan(0, min(n, 300)):
        for j in range(len(fs)):
            fs.event(j)
    for s in r.keyframe_seqs[:4]:
        r.keyframe_before(s)


def _walk_session(path: str) -> None:
    from cinema.model.present import brief, full, to_json
    from cinema.model.session import Session

    with Session.open(path) as s:
        _walk_reader(s.reader)
        n = s.event_count
        for seq in sorted({-1, 0, n // 2, n - 1} - {n} if n else {-1}):
            w = s.world_at(seq)
            w.status_table()
            w.supervision_tree()
            _ = w.supervisors, w.registry
            for pid in list(w.processes)[:50]:
                p = w.process(pid)
                if p is not None:
                    brief(p.state)
                    to_json(p.state)
                    for m in p.mailbox[:5]:
                        full(m.message)
        for ev in s.events(0, min(n, 200)):
            brief(ev.data)
            to_json(ev.data)


def session(data: bytes) -> None:
    """A session file: opened, indexed, every column and the first events read, worlds built."""
    path = _scratch() / "input.cinema"
    path.write_bytes(data)
    _walk_session(str(path))


def stream(data: bytes) -> None:
    """A live stream: the same bytes fed in uneven chunks (the first byte picks the sizes)."""
    from recorder.session.reader import SessionReader

    r = SessionReader(None)
    step = 1 + (data[0] if data else 0) * 7
    for i in range(0, len(data), step):
        r.feed(data[i : i + step])
    _walk_reader(r)


def payload(data: bytes) -> None:
    """One payload: decoded, rendered (brief, full, JSON), diffed, searched by ``~``."""
    from cinema.model import history
    from cinema.model.expr_eval import display, equal, message_type, type_name
    from cinema.model.present import brief, full, to_json
    from recorder.payload import decode_payload

    texts = _native_texts(data)  # any bytes: refused or said, never a crash
    value = decode_payload(data)
    brief(value)
    full(value)
    to_json(value)
    if texts is not None:  # what the native reader says is what the reference says
        import json

        from recorder.payload.render import render_value

        js, text = texts
        if js is not None:
            assert js == json.dumps(to_json(value), allow_nan=False), (js, value)
        if text is not None:  # its twin (``data_text`` says "" for no payload at all)
            assert text == render_value(value, 0), (text, value)
    display(value)
    type_name(value)
    message_type(value)
    history.diff(value, value)
    history.diff(None, value)
    equal(value, value)


def _native_texts(data: bytes) -> tuple[str | None, str | None] | None:
    """The bulk native reader's JSON and one-line text of one payload (``None``: declined),
    or ``None`` without the native module or for an empty payload."""
    import numpy as np

    from cinema.model.export._json import JSON_DECLINED, TEXT_DECLINED, native_columns

    got = native_columns(np.array([len(data)], dtype=np.int64), data)
    if got is None or not data:
        return None
    assert got.jsons is not None and got.texts is not None
    flags = int(got.declined[0])
    js = None if flags & JSON_DECLINED else got.jsons.decode("ascii")
    text = None if flags & TEXT_DECLINED else got.texts.decode("utf-8")
    return js, text


def sidecar(data: bytes) -> None:
    """A breakpoint file beside a session: loaded, its breakpoints' hits found."""
    from cinema.model.sidecar import load_sidecar

    path = _scratch() / "input.cinema-bp.json"
    path.write_bytes(data)
    bps, _marks = load_sidecar(path)
    s = _good_session()
    for bp in list(bps)[:5]:
        bps.hits_of(s, bp.id)


def expression(data: bytes) -> None:
    """A breakpoint expression: parsed, evaluated on hostile values, and its vectorised hits
    checked against the event-by-event ones on a real session."""
    from cinema.model.condition import Condition

    text = data.decode("utf-8", "replace")
    cond = Condition(text)
    for scope in _scopes():
        cond.matches(scope)
    s = _good_session()
    fast, slow = cond.hits(s).tolist(), cond.hits_slow(s).tolist()
    assert fast == slow, f"vectorised hits {fast} != event-by-event hits {slow} for {text!r}"


def moment(data: bytes) -> None:
    """What a person types for ``--at`` / ``--from`` and ``--process``."""
    from cinema.model.errors import ModelError
    from cinema.model.moments import parse_moment, resolve_processes

    text = data.decode("utf-8", "replace")
    s = _good_session()
    # each parser on its own: one's refusal must not hide the other's bug
    for parse in (lambda: parse_moment(s, text).to_seq(s), lambda: resolve_processes(s, text)):
        with contextlib.suppress(ModelError):
            parse()


def pattern(data: bytes) -> None:
    """A regular expression (``~``, ``/regex/``) compiled and searched."""
    from cinema.model.filters import compile_pattern
    from cinema.model.pattern import compile_regex

    text = data.decode("utf-8", "replace")
    for p in (compile_pattern(text), compile_regex(text)):
        p.search("a" * 4000 + "b")
        p.search(text)


@functools.cache
def _good_session() -> Any:
    from cinema.model.session import Session

    return Session.open(corpus.CORPUS / "sessions" / "good.cinema")


@functools.cache
def _scopes() -> list[Any]:
    """Scopes whose names hold hostile values: deep, wide, odd types, wide integers."""
    from cinema.model.expr_eval import Scope
    from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated

    deep: Any = 0
    for _ in range(250):
        deep = [deep]
    values: list[Any] = [
        None, True, 0, -1, 1 << 80, 1.5, float("nan"), float("inf"), "", "a" * 5000, b"\x00",
        [1, "2", None], (1, 2), {"a": {"b": [1]}}, {1: 2, (1, 2): 3}, {1, 2}, frozenset({3}),
        Pid(3), Ref(4), Record("R", (("f", 1),)), EnumValue("E", "A", 1), Opaque("x", "<x>"),
        Truncated("items", 5, [1]), deep, list(range(1000)),
    ]  # fmt: skip

    class Fixed(Scope):
        def __init__(self, i: int) -> None:
            self.i = i

        def get(self, name: str) -> Any:
            return values[(self.i + sum(map(ord, name))) % len(values)]

    return [Fixed(i) for i in range(len(values))]


#: Target name -> function.
TARGETS: dict[str, Callable[[bytes], None]] = {
    "session": session,
    "stream": stream,
    "payload": payload,
    "sidecar": sidecar,
    "expression": expression,
    "moment": moment,
    "pattern": pattern,
}


def _allowed() -> dict[str, tuple[type[BaseException], ...]]:
    from cinema.model.errors import ModelError
    from cinema.model.expr import ExprError
    from cinema.model.pattern import PatternError
    from cinema.model.sidecar import SidecarError
    from recorder.payload import PayloadError
    from recorder.session.format import SessionFormatError

    return {
        "session": (SessionFormatError,),
        "stream": (SessionFormatError,),
        "payload": (PayloadError,),
        "sidecar": (SidecarError,),
        "expression": (ExprError,),
        "moment": (ModelError,),
        "pattern": (PatternError,),
    }


#: Target name -> the exceptions that are clean refusals (anything else is a bug).
ALLOWED = _allowed()

#: Target name -> the corpus folders its fuzzing starts from.
SEEDS: dict[str, tuple[str, ...]] = {
    "session": ("sessions",),
    "stream": ("sessions",),
    "payload": ("payloads",),
    "sidecar": ("sidecars",),
    "expression": ("expressions",),
    "moment": ("moments",),
    "pattern": ("patterns",),
}


def run(target: str, data: bytes) -> None:
    """Run ``target`` on ``data``, swallowing only its clean refusals."""
    try:
        TARGETS[target](data[:MAX_INPUT])
    except ALLOWED[target]:
        pass


#: Corpus files that are about time, not crashes (the 200^3 state takes a minute to walk):
#: the fuzzers do not start from them.
SLOW_SEEDS = frozenset({"state-200-cubed.cinema"})


def seed_paths(target: str) -> list[Path]:
    """The corpus files ``target`` starts from."""
    return [
        p
        for folder in SEEDS[target]
        for p in sorted((corpus.CORPUS / folder).glob("*"))
        if p.is_file() and p.stat().st_size <= MAX_INPUT and p.name not in SLOW_SEEDS
        and p.suffix != ".md"
    ]  # fmt: skip


def seeds(target: str) -> list[bytes]:
    """The corpus inputs of ``target``."""
    return [p.read_bytes() for p in seed_paths(target)]
