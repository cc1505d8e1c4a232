"""The hostile-input corpus: one small crafted input per class of attack (``tests/corpus``).

``python -m fuzz corpus`` rewrites the crafted files from the recipes below; the fuzzers start
from the corpus, and ``tests/fuzz`` checks that each file gets its clean outcome. Every recipe
is a few lines of :class:`~fuzz.craft.Craft` and documents in its docstring what it attacks.
"""

from __future__ import annotations

import json
import struct
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

from fuzz.craft import Craft, ext, packb
from recorder.events import NO_PEER, EventKind
from recorder.payload import EXT_BIGINT, EXT_PID, EXT_RECORD, EXT_SET, EXT_TUPLE
from recorder.session.format import FrameType

__all__ = [
    "CORPUS",
    "SESSIONS",
    "SIDECARS",
    "TEXTS",
    "build",
    "colliding_pairs",
    "footer_lies",
    "good_session",
    "state_cube",
]

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
K = EventKind
SESSIONS: dict[str, Callable[[], bytes]] = {}
SIDECARS: dict[str, Callable[[], bytes]] = {}


def _session(name: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def add(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        SESSIONS[name] = fn
        return fn

    return add


def _sidecar(name: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def add(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        SIDECARS[name] = fn
        return fn

    return add


def _spawn(pid: int, name: str, parent: int = NO_PEER) -> dict[str, object]:
    return {"name": name, "behaviour": "gen_server", "parent": None, "supervisor": None}


def _good_events(c: Craft) -> Craft:
    """Two processes exchanging a message and changing state (5 events)."""
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.event(K.SPAWN, 2, 1, data=_spawn(2, "worker"))
    c.event(K.SEND, 1, 2, 7, data=["work", 3])
    c.event(K.RECEIVE, 2, 1, 7)
    c.event(K.STATE, 2, 1, 7, data={"trigger": "cast", "state": {"done": 1}})
    return c


def good_session(compress: bool = False) -> bytes:
    """A small, valid session (the base that the recipes break one piece at a time)."""
    return _good_events(Craft(compress=compress)).build()


# --------------------------------------------------------------------------- sessions


@_session("good")
def _good() -> bytes:
    """A valid session: every command must work on it."""
    return good_session(compress=True)


@_session("no-events")
def _no_events() -> bytes:
    """A valid session with 0 events (``screenshot`` died with IndexError)."""
    return Craft().build()


@_session("footer-2e32-events")
def footer_lies(spacing: int = 1) -> bytes:
    """A footer index of 4,096 event frames of 2^20 events each (2^32 events, ``spacing``
    bytes apart) in front of 5 real events: ``events``/``breaks``/``graph``/``screenshot``
    tried to allocate columns for all of them."""
    n = 4096
    c = _good_events(Craft(compress=True)).pad(spacing * n + 1000)
    head = len(c._head)
    offs = [head + spacing * i for i in range(n)]
    footer = {
        "events": n << 20, "lost": 0, "kinds": {}, "processes": packb([]),
        "frames": {
            "offset": array("q", offs).tobytes(), "type": bytes([FrameType.EVENTS]) * n,
            "first_seq": array("q", [i << 20 for i in range(n)]).tobytes(),
            "count": array("q", [1 << 20] * n).tobytes(),
            "t_first": array("q", [0] * n).tobytes(), "t_last": array("q", [0] * n).tobytes(),
        },
    }  # fmt: skip
    return c.build(footer=footer)


@_session("pid-fffffffe")
def _huge_pid() -> bytes:
    """A SPAWN of process 0xFFFFFFFE that then sends, receives and changes state: arrays
    indexed by pid were sized 2^32."""
    c = Craft()
    big = 0xFFFFFFFE
    c.event(K.SPAWN, big, data=_spawn(big, "far"))
    c.event(K.SPAWN, 1, big, data=_spawn(1, "near"))
    c.event(K.SEND, big, 1, 5, data="hello")
    c.event(K.RECEIVE, 1, big, 5)
    c.event(K.STATE, big, NO_PEER, 0, data={"trigger": "init", "state": 1})
    c.event(K.SEND, 1, big, 6, data="back")
    c.event(K.RECEIVE, big, 1, 6)
    return c.build()


@_session("zstd-bombs")
def _zstd_bombs() -> bytes:
    """24 EVENTS frames whose payload blocks are zstd frames of 256 MiB of zeros (~8 KB
    each): MemoryError, then SIGSEGV in ``screenshot``."""
    import zstandard

    size = 256 << 20
    offsets = struct.pack("<II", 0, size - 8)
    bomb = zstandard.ZstdCompressor(level=1).compress(offsets + bytes(size - 8))
    c = Craft(compress=True)
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    skeleton_raw = struct.pack("<qIIB", 0, 1, NO_PEER, K.MARKER)
    refs_raw = bytes(8)
    for i in range(24):
        c.raw_frame(
            FrameType.EVENTS, (), count=1, first=1 + i, t0=2000 + i, t1=2000 + i,
            stored=(_z(skeleton_raw), _z(refs_raw), bomb), raw_sizes=(17, 8, size),
        )  # fmt: skip
    c._seq = 25
    return c.build()


def _z(raw: bytes) -> bytes:
    import zstandard

    out: bytes = zstandard.ZstdCompressor(level=1).compress(raw)
    return out


@_session("keyframe-1m-processes")
def _million_processes() -> bytes:
    """A keyframe whose process table has 1,000,000 rows (a few KB compressed)."""
    n = 1_000_000
    world = {
        "time_ns": 0,
        "processes": {
            "__table__": 1, "keys": ["pid", "name", "status"],
            "columns": [[i % 4096 for i in range(n)], ["p"] * n, ["waiting"] * n], "lazy": [],
        },
    }  # fmt: skip
    c = Craft(compress=True)
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.keyframe(1, world)
    c.event(K.MARKER, 1, data={"label": "after"})
    return c.build()


@_session("state-200-cubed")
def state_cube(n: int = 200) -> bytes:
    """A state of n x n x n nested maps (200: 8 M leaves, 16 MB raw, a few KB stored): the
    inspector built a tree item for each (SIGABRT at 2.9 GB)."""
    inner = {i: i % 100 for i in range(n)}
    middle = {i: inner for i in range(n)}
    state = {i: middle for i in range(n)}
    c = Craft(compress=True)
    c.event(K.SPAWN, 1, data=_spawn(1, "cube"))
    c.event(K.STATE, 1, data={"trigger": "init", "state": state})
    return c.build()


def colliding_pairs(n: int, start: int = 1) -> Iterator[tuple[int, int]]:
    """``n`` pairs ``(a, b)`` whose tuples all have one Python hash (CPython's xxHash-based
    tuple hash, ``Objects/tupleobject.c``): for each ``a``, solve for the ``b`` that brings
    the accumulator to a fixed value; about one ``a`` in four gives a ``b`` that is an int's
    own hash."""
    mask = (1 << 64) - 1
    p1, p2, p5 = 11400714785074694791, 14029467366897019727, 2870177450012600261
    inv_p2 = pow(p2, -1, 1 << 64)
    modulus = (1 << 61) - 1
    target = 0x5EED

    def rot(x: int) -> int:
        return ((x << 31) | (x >> 33)) & mask

    a = start
    found = 0
    while found < n:
        acc1 = (rot((p5 + a * p2) & mask) * p1) & mask
        hb = ((target - acc1) * inv_p2) & mask
        b = hb if hb < modulus else hb - (1 << 64) if hb > (1 << 64) - modulus else None
        if b is not None and b not in (-1, -2) and hash(a) == a:
            yield a, b
            found += 1
        a += 1


def _tuple_key(a: int, b: int) -> object:
    return ext(EXT_TUPLE, packb([a, b]))


@_session("hash-collisions")
def _collisions() -> bytes:
    """A message map with 2,000 tuple keys and a set of 2,000 tuples that all share one
    hash (a 600 KB file of such keys took 17-33 s per command: quadratic)."""
    import msgpack

    pairs = list(colliding_pairs(2000))
    keys = {_tuple_key(a, b): 0 for a, b in pairs}
    members = ext(EXT_SET, packb([_tuple_key(a, b) for a, b in pairs]))
    c = Craft()
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.event(K.SEND, 1, 1, 1, data=msgpack.packb(keys, use_bin_type=True))
    c.event(K.SEND, 1, 1, 2, data=msgpack.packb(members, use_bin_type=True))
    return c.build()


_BIG = ext(EXT_BIGINT, packb(str(1 << 80)))


@_session("wide-integers")
def _wide_ints() -> bytes:
    """Integers wider than 64 bits where pids, counts and clocks go: a SPAWN whose parent and
    supervisor are 2^80 and 2^63, a PROFILE and a RESTART of 2^80, a footer with 2^64 - 1
    pids and counts, a ``clock_anchor`` of 2^80: OverflowError."""
    c = Craft(meta={"program": "craft", "clock_anchor": {"wall_ns": _BIG, "monotonic_ns": 0}})
    wide_pid = ext(EXT_PID, packb(1 << 63))
    c.event(K.SPAWN, 1, data={"name": "a", "parent": _BIG, "supervisor": wide_pid})
    c.event(K.SPAWN, 2, 1, data={"name": "b", "parent": 1, "supervisor": _BIG})
    c.event(K.SEND, 1, 2, 3, data=_BIG)
    c.event(K.PROFILE, 2, data={"cpu_ns": _BIG, "memory": _BIG, "handled": _BIG,
                                "mailbox_len": _BIG})  # fmt: skip
    c.event(K.RESTART, 1, 2, data={"child_id": "b", "restarts": _BIG})
    c.event(K.STATE, 2, data={"trigger": "init", "state": _BIG})
    top = (1 << 64) - 1
    rows = [[top, "x", "process", _BIG, -(1 << 63), "local"], [1, "a", "p", top, 0, "local"]]
    footer = {"events": 6, "lost": top, "kinds": {3: top, top: 1},
              "processes": packb(rows), "frames": c.index()}  # fmt: skip
    return c.build(footer=footer)


@_session("time-2e63")
def _far_times() -> bytes:
    """Events at ``t = -2^63`` and ``2^63 - 1`` (and a footer index saying so):
    OverflowError in every subtraction of two timestamps."""
    c = Craft()
    c.event(K.SPAWN, 1, ts=-(1 << 63), data=_spawn(1, "a"))
    c.event(K.SPAWN, 2, 1, ts=(1 << 63) - 1, data=_spawn(2, "b"))
    c.events([(0, K.SEND, 1, 2, 3, b""), ((1 << 63) - 1, K.RECEIVE, 2, 1, 3, b"")])
    return c.build()


@_session("wrong-types")
def _wrong_types() -> bytes:
    """A keyframe whose fields have the wrong types (``links: 7``, ``monitors: "x"``,
    ``mailbox: 5``, ``registry: [1]``, ``dead: 3``, supervisors that are numbers...):
    TypeError."""
    proc = {
        "pid": 1, "name": 5, "behaviour": [], "status": {}, "parent": "x", "supervisor": 2.5,
        "registered": 9, "trap_exit": "yes", "state": None, "mailbox": 5, "mailbox_len": "3",
        "links": 7, "monitors": "x", "restarts": [], "handled": None, "cpu_ns": "1",
        "memory": {},
    }  # fmt: skip
    weird = {"pid": "two", "links": [[1]], "monitors": [7], "mailbox": [[1]]}
    world = {"time_ns": "now", "processes": [proc, weird, 3, None], "dead": 3,
             "supervisors": [1, {"pid": "s", "children": 4}], "registry": [1]}  # fmt: skip
    c = Craft()
    c.event(K.SPAWN, 1, data={"name": ["not", "a", "str"], "parent": "x", "supervisor": []})
    c.event(K.SPAWN, 2, data=7)
    c.keyframe(2, world)
    c.event(K.SEND, 1, 2, 1, data="m")
    c.event(K.RESTART, 1, 2, data={"child_id": [], "restarts": "x"})
    c.event(K.CHILD_SPEC, 1, 2, data={"op": 5, "spec": 3})
    c.event(K.REGISTER, 1, data={"name": 5})
    c.event(K.PROFILE, 1, data={"cpu_ns": "x", "mailbox_len": []})
    c.event(K.LOST, NO_PEER, data={"count": "many"})
    footer = {"events": 8, "lost": "x", "kinds": [1, 2], "processes": 7, "frames": c.index()}
    return c.build(footer=footer)


@_session("wrong-types-table")
def _wrong_types_table() -> bytes:
    """A keyframe process table with columns of the wrong types (``links`` of 7s, ``pid``
    strings, a lazy ``state`` that is not bytes)."""
    world = {
        "time_ns": 0,
        "processes": {
            "__table__": 1,
            "keys": ["pid", "status", "links", "monitors", "mailbox_ids", "state", "restarts"],
            "columns": [["a", 2], [1, None], [7, 8], ["x", 9], [3, [[1]]], [5, b"\xc1"], ["r", 1]],
            "lazy": ["state"],
        },
    }
    c = Craft()
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.keyframe(1, world)
    c.event(K.SEND, 1, 2, 1, data="m")
    c.event(K.EXIT, 2)
    return c.build()


@_session("nested-1000")
def _deep() -> bytes:
    """A message nested 1,000 lists deep, and a state 60 tuples deep holding lists 1,000
    deep: RecursionError in rendering."""
    deep_list = b"\x91" * 1000 + b"\x00"
    nest = deep_list
    for _ in range(60):
        nest = packb(ext(EXT_TUPLE, b"\x91" + nest))
    c = Craft()
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.event(K.SEND, 1, 1, 1, data=deep_list)
    c.event(K.RECEIVE, 1, 1, 1)
    state = b"\x82" + packb("trigger") + packb("init") + packb("state") + nest
    c.event(K.STATE, 1, data=state)
    return c.build()


@_session("nested-250")
def _deep_but_allowed() -> bytes:
    """Values nested 250 levels (lists, maps, and every 8th level a tuple or a record: within
    the readers' 256 levels and 64 extension levels): every command renders, diffs and prints
    them without recursing too deep."""

    def nest(level: int) -> bytes:
        out = b"\x00"
        for i in range(level):
            if i % 16 == 7:
                out = packb(ext(EXT_TUPLE, b"\x91" + out))
            elif i % 16 == 15:
                out = packb(ext(EXT_RECORD, b"\x92" + packb("R") + b"\x81" + packb("f") + out))
            elif i % 2:
                out = b"\x91" + out
            else:
                out = b"\x81" + packb("k") + out
        return out

    c = Craft()
    c.event(K.SPAWN, 1, data=_spawn(1, "main"))
    c.event(K.STATE, 1, data=b"\x82" + packb("trigger") + packb("init") + packb("state")
            + nest(248))  # fmt: skip
    c.event(K.SEND, 1, 1, 1, data=nest(250))
    c.event(K.STATE, 1, data=b"\x82" + packb("trigger") + packb("cast") + packb("state")
            + nest(247))  # fmt: skip
    return c.build()


# --------------------------------------------------------------------------- sidecars


def _bp_doc(**extra: object) -> dict[str, object]:
    return {"format": "cinema-breakpoints", "version": 1, "breakpoints": [], "bookmarks": [],
            **extra}  # fmt: skip


@_sidecar("nested-100k")
def _sidecar_deep() -> bytes:
    """JSON nested 100,000 arrays deep (RecursionError in ``json.loads``)."""
    return (
        b'{"format": "cinema-breakpoints", "version": 1, "breakpoints": '
        + (b"[" * 100_000 + b"]" * 100_000)
        + b"}"
    )


@_sidecar("bookmark-5000-digits")
def _sidecar_digits() -> bytes:
    """A bookmark at event 10^4999 (``int`` parsing limit, then arrays sized by it)."""
    return (
        b'{"format": "cinema-breakpoints", "version": 1, "bookmarks": [{"seq": 1'
        + b"0" * 4999
        + b', "note": "far"}]}'
    )


@_sidecar("regex-2e32-repeat")
def _sidecar_regex() -> bytes:
    """A breakpoint whose condition is a regex with a 2^32 repetition."""
    bps = [
        {"id": "bp1", "condition": {"type": "expression", "text": 'msg ~ "a{4294967296}"'}},
        {"id": "bp2", "condition": {"type": "message", "pattern": "(a+)+$", "on": "any"}},
        {"id": "bp3", "condition": {"type": "message", "pattern": "(" * 1000 + ")" * 1000}},
    ]
    return json.dumps(_bp_doc(breakpoints=bps)).encode()


@_sidecar("wrong-types")
def _sidecar_types() -> bytes:
    """Every field of the wrong type."""
    return json.dumps({"format": "cinema-breakpoints", "version": 1.5,
                       "breakpoints": {"a": 1}, "bookmarks": "x"}).encode()  # fmt: skip


# --------------------------------------------------------------------------- small inputs


def _payloads() -> dict[str, bytes]:
    """Single payloads (``payloads/``): the decoder's hostile cases and a few honest ones."""
    tuple_of = lambda inner: packb(ext(EXT_TUPLE, inner))  # noqa: E731
    ext_deep = b"\x00"
    for _ in range(70):
        ext_deep = tuple_of(b"\x91" + ext_deep)
    keys = {_tuple_key(a, b): 0 for a, b in colliding_pairs(40)}
    return {
        "honest-tuple": packb(ext(EXT_TUPLE, packb(["withdraw", 10, {"to": "bob"}]))),
        "honest-record": packb(ext(EXT_RECORD, packb(["bank.Account", {"balance": -5}]))),
        "honest-map": packb({"count": 5, "items": [1, 2, 3], "name": "w"}),
        "nested-256": b"\x91" * 256 + b"\x00",
        "nested-257": b"\x91" * 257 + b"\x00",
        "nested-1000": b"\x91" * 1000 + b"\x00",
        "ext-nested-70": ext_deep,
        "collide-40-keys": __import__("msgpack").packb(keys, use_bin_type=True),
        "bigint-5000-digits": packb(ext(EXT_BIGINT, packb("9" * 5000))),
        "bigint-not-digits": packb(ext(EXT_BIGINT, packb("12x"))),
        "array-claims-2e32": b"\xdd\xff\xff\xff\xff\x00",
        "map-claims-2e32": b"\xdf\xff\xff\xff\xff\x00\x00",
        "str-claims-2e32": b"\xdb\xff\xff\xff\xffabc",
        "unknown-ext": packb(ext(99, b"\x00")),
        "ext-tuple-of-int": packb(ext(EXT_TUPLE, packb(5))),
        "pid-2e63": packb(ext(EXT_PID, packb(1 << 63))),
        "list-map-key": b"\x81\x91\x00\x00",
    }


def _expressions() -> dict[str, bytes]:
    """Breakpoint expressions (``expressions/``)."""
    texts = {
        "honest-withdraw": 'msg_type == "withdraw" and state.balance < 0',
        "honest-kinds": 'kind in ["crash", "exit"] and t > 1.5 and not (process ~ "^sup")',
        "honest-changed": 'changed(state.count) or len(msg) > 2 and str(peer) ~ "^<0"',
        "honest-functions": 'max(1, abs(-2), len("ab")) == 2 and startswith(process, "w")',
        "chain-plus-1999": "+".join(["1"] * 1999),
        "chain-or-300": " or ".join(["pid == 1"] * 300),
        "chain-attr-1300": "msg" + ".a" * 1300,
        "parens-1000": "(" * 1000 + "1" + ")" * 1000,
        "not-1000": "not " * 990 + "true",
        "minus-2000": "-" * 2000 + "1",
        "lists-500": "[" * 500 + "]" * 500,
        "regex-backtrack": 'state.text ~ "(a+)+$"',
        "regex-2e32-repeat": 'msg ~ "a{4294967296}"',
        "regex-1000-groups": 'msg ~ "' + "(" * 1000 + "a" + ")" * 1000 + '"',
        "regex-backreference": 'msg ~ "(a)\\1"',
        "regex-dynamic": "msg ~ str(state)",
        "number-41-digits": "pid == " + "9" * 41,
        "escape-attempt": '__import__("os").system("x") or msg.__class__',
        "unicode": 'prozeß == "ü" or msg ~ "ß"',
    }
    return {k: v.encode() for k, v in texts.items()}


def _moments() -> dict[str, bytes]:
    """What a person types for ``--at`` / ``--from`` / ``--process`` (``moments/``)."""
    texts = {
        "seq-5000-digits": "#" + "9" * 5000, "seq-superscript": "#²", "seq-arabic": "#٣",
        "seconds-400-nines": "9" * 400 + "s", "seconds-1e999": "1e999s", "nan": "nan",
        "inf": "inf", "pid-5000-digits": "<0." + "9" * 5000 + ".0>", "honest-seconds": "1.5s",
        "honest-seq": "#3", "honest-name": "main", "honest-plus": "+3ms",
    }  # fmt: skip
    return {k: v.encode() for k, v in texts.items()}


def _patterns() -> dict[str, bytes]:
    """Regular expressions and ``--match`` patterns (``patterns/``)."""
    texts = {
        "backtrack": "(a+)+$", "repeat-2e32": "a{4294967296}", "groups-1000": "(" * 1000 + ")" *
        1000, "groups-1001": "(" * 1001 + ")" * 1001, "backreference": "(a)\\1",
        "lookahead": "(?=a)b", "slashes": "/work.*3/", "unclosed": "[", "text": "work",
        "escaped-lookalike": "\\(?=[(?=]", "end-of-text": "b\\Z",
    }  # fmt: skip
    return {k: v.encode() for k, v in texts.items()}


#: Folder -> (name -> content) of the small seed inputs.
TEXTS: dict[str, Callable[[], dict[str, bytes]]] = {
    "payloads": _payloads,
    "expressions": _expressions,
    "moments": _moments,
    "patterns": _patterns,
}


# --------------------------------------------------------------------------- writing


def build(root: Path = CORPUS) -> list[Path]:
    """Write every crafted file under ``root`` (``sessions/``, ``sidecars/`` and the small
    inputs of :data:`TEXTS`)."""
    out: list[Path] = []
    for folder, recipes, suffix in (("sessions", SESSIONS, ".cinema"),
                                    ("sidecars", SIDECARS, ".json")):  # fmt: skip
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, recipe in recipes.items():
            path = root / folder / f"{name}{suffix}"
            path.write_bytes(recipe())
            out.append(path)
    for folder, make in TEXTS.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, data in make().items():
            path = root / folder / name
            path.write_bytes(data)
            out.append(path)
    return out
