"""Redaction: secrets replaced by visible markers before anything leaves the machine.

Rules (``docs/export.md``):

- **key names** (``password``, ``token``, ``secret``, ``authorization``, ``api_key`` by
  default): the value under any map key or record field whose name contains the word,
  case-insensitively (``_``, ``-``, ``.`` and spaces in a rule match any one of them or none:
  ``api_key`` matches ``apiKey``, ``X-Api-Key``, ``db_api_key``);
- **field paths** (``state.card.number``): a value at that place, from a root: ``data`` (any
  event's data), ``message`` (a sent, intercepted or queued message), ``state`` (a process
  state: a STATE event's ``data.state`` and a keyframe's states) and ``reason`` (an exit
  reason); ``*`` matches any one key, field or list position;
- **regular expressions** over strings (RE2, linear time whatever the input): each match in any
  string (map keys, crash tracebacks, opaque ``repr`` texts and big integers included) is cut.

A redacted value becomes a marker that keeps its type and the class of its length: a string
``"[redacted str 8-15]"``, bytes ``b"[redacted bytes 16-31]"``, anything else an opaque value
of the same type name (``<redacted int>``, ``<redacted dict 1-7>``). The :class:`Report`
says which rule cut what where (event kind, path, count, first event), never the values.

Redaction works on the encoded payload bytes (msgpack with the extension types of
``docs/session-format.md``): a payload no rule touches keeps its exact bytes, and one that a
rule touches is re-packed with only the redacted values changed. A byte-level prefilter over a
frame's whole payload block (:meth:`Redactor.candidates`) picks the few payloads a rule could
touch, so a session without secrets costs one search per frame, not one walk per value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from cinema.model.errors import ModelError
from cinema.model.pattern import PatternError, compile_regex, re2

ENGINE = "re2"

__all__ = [
    "DEFAULT_KEYS",
    "ENGINE",
    "Redactor",
    "Report",
    "Rules",
    "length_class",
    "marker_text",
]

#: Key names redacted unless ``none`` is given.
#: What the part of a rule before its first colon looks like when it names a kind of rule.
_RULE_KIND = re.compile(r"[A-Za-z][A-Za-z_-]*")

DEFAULT_KEYS = ("password", "token", "secret", "authorization", "api_key")
_EXT_TUPLE, _EXT_SET, _EXT_FROZENSET, _EXT_RECORD, _EXT_ENUM = 1, 2, 3, 4, 5
_EXT_OPAQUE, _EXT_TRUNCATED, _EXT_BIGINT = 8, 9, 10
_MAX_DEPTH = 200
#: Distinct (rule, where, path) places the report lists; further ones are only counted.
MAX_PLACES = 1000
_SEP = re.compile(r"[-_. ]+")
_INDEX = re.compile(r"\.\d+(?=\.|$| )")
#: Regex constructs whose meaning depends on the text around a match: a pattern with one of
#: these cannot be prefiltered over a whole block (``\b`` sees a length byte there).
_CONTEXTUAL = re.compile(r"\\[bBAzZ]|[$^]|\(\?[=!<]")


def length_class(n: int) -> str:
    """The length class a marker shows: ``0``, ``1-7``, ``8-15``, ``16-31``, ``32-63``,
    ``64-255`` or ``256+``."""
    for top, name in ((0, "0"), (7, "1-7"), (15, "8-15"), (31, "16-31"), (63, "32-63"),
                      (255, "64-255")):  # fmt: skip
        if n <= top:
            return name
    return "256+"


def marker_text(type_name: str, length: int | None) -> str:
    """``[redacted str 8-15]`` (``[redacted int]`` without a length)."""
    if length is None:
        return f"[redacted {type_name}]"
    return f"[redacted {type_name} {length_class(length)}]"


@dataclass(frozen=True)
class Rules:
    """What to redact: key names, field paths, regular expressions (module docs)."""

    keys: tuple[str, ...] = DEFAULT_KEYS
    paths: tuple[tuple[str, ...], ...] = ()
    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, specs: Iterable[str], *, defaults: bool = True) -> Rules:
        """Rules from ``--redact`` arguments, each one of: ``key:NAME[,NAME...]``,
        ``path:ROOT.FIELD...``, ``re:REGEX`` or ``/REGEX/``, a bare name (a key, or a path when
        it has a dot), ``none`` (no default keys).

        Raises:
            ModelError: an empty rule, a path without a known root, a regex that does not
                compile.
        """
        keys = list(DEFAULT_KEYS) if defaults else []
        paths: list[tuple[str, ...]] = []
        patterns: list[str] = []
        for spec in specs:
            text = spec.strip()
            if text == "none":
                keys = [k for k in keys if k not in DEFAULT_KEYS]
                continue
            if text == "defaults":
                keys.extend(k for k in DEFAULT_KEYS if k not in keys)
                continue
            kind, sep, rest = text.partition(":")
            if not sep or kind not in ("key", "path", "re"):
                if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
                    kind, rest = "re", text[1:-1]
                elif sep and _RULE_KIND.fullmatch(kind):
                    # glob:*, regex:..., keys:...: a typo must not quietly redact nothing
                    colon = "" if "*" in text or "?" in text else f"; a key named so: key:{text}"
                    raise ModelError(
                        f"redaction rule {spec!r}: unknown kind {kind!r} (a rule is "
                        "key:NAME[,NAME...], path:ROOT.FIELD[.FIELD...], re:REGEX or "
                        f"/REGEX/{colon})"
                    )
                else:
                    kind, rest = ("path" if "." in text else "key"), text
            if kind == "key":
                names = [n.strip() for n in rest.split(",") if n.strip()]
                if not names:
                    raise ModelError(f"redaction rule {spec!r} names no key")
                wild = next((n for n in names if "*" in n or "?" in n), None)
                if wild is not None:
                    word = wild.replace("*", "").replace("?", "") or "NAME"
                    raise ModelError(
                        f"redaction rule {spec!r}: a key rule is a word, not a pattern: it "
                        f"matches every key that contains it, in any case (key:{word} also "
                        f"matches {word}_id); * is a wildcard in a path (path:state.*.number), "
                        "and re:REGEX matches inside strings"
                    )
                keys.extend(n for n in names if n not in keys)
            elif kind == "path":
                paths.append(_parse_path(rest, spec))
            else:
                if not rest:
                    raise ModelError(f"redaction rule {spec!r} has an empty regular expression")
                _compile(rest, spec)
                patterns.append(rest)
        return cls(tuple(keys), tuple(paths), tuple(patterns))

    @property
    def empty(self) -> bool:
        return not (self.keys or self.paths or self.patterns)

    def describe(self) -> list[str]:
        """The rules as the report and ``--help`` name them."""
        return (
            [f"key:{k}" for k in self.keys]
            + ["path:" + ".".join(p) for p in self.paths]
            + [f"re:{p}" for p in self.patterns]
        )


_ROOTS = ("data", "message", "state", "reason")


def _parse_path(text: str, spec: str) -> tuple[str, ...]:
    parts = tuple(p for p in text.strip().split("."))
    if len(parts) < 2 or any(not p for p in parts):
        raise ModelError(
            f"redaction path {spec!r} must be ROOT.FIELD[.FIELD...] (e.g. state.card.number)"
        )
    if parts[0] not in _ROOTS:
        raise ModelError(
            f"redaction path {spec!r} starts with {parts[0]!r}; roots are {', '.join(_ROOTS)}"
        )
    return parts


def _compile(pattern: str, spec: str) -> Any:
    """RE2 with the checks of every user pattern (:mod:`cinema.model.pattern`), compiled for
    finding spans (the redactor cuts matches out)."""
    try:
        compile_regex(pattern)
        return re2().compile(pattern)
    except PatternError as exc:
        raise ModelError(f"redaction rule {spec!r}: {exc}") from None
    except re2().error as exc:
        raise ModelError(f"redaction rule {spec!r}: bad regular expression: {exc}") from None


def _key_regex(name: str) -> str:
    parts = [re.escape(p) for p in _SEP.split(name.lower()) if p]
    return "[-_. ]?".join(parts)


@dataclass
class _Place:
    rule: str
    where: str
    path: str
    type: str
    count: int = 0
    first_seq: int | None = None


@dataclass
class Report:
    """What was redacted where (never the values): one place per (rule, where, path, type)."""

    rules: list[str] = field(default_factory=list)
    engine: str = ENGINE
    total: int = 0
    places: dict[tuple[str, str, str, str], _Place] = field(default_factory=dict)
    unlisted: int = 0

    def add(self, rule: str, where: str, path: str, type_name: str, seq: int | None) -> None:
        self.total += 1
        path = _INDEX.sub(".*", path)  # list positions: one place for every element
        key = (rule, where, path, type_name)
        place = self.places.get(key)
        if place is None:
            if len(self.places) >= MAX_PLACES:
                self.unlisted += 1
                return
            place = self.places[key] = _Place(rule, where, path, type_name)
        place.count += 1
        if place.first_seq is None and seq is not None:
            place.first_seq = seq

    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.places.values():
            out[p.rule] = out.get(p.rule, 0) + p.count
        return out

    def to_json(self) -> dict[str, Any]:
        """The report as the bundle, ``cinema export`` and the dialog show it."""
        return {
            "rules": list(self.rules),
            "engine": self.engine,
            "redacted": self.total,
            "by_rule": self.by_rule(),
            "places": [
                {
                    "rule": p.rule,
                    "where": p.where,
                    "path": p.path,
                    "type": p.type,
                    "count": p.count,
                    "first_seq": p.first_seq,
                }
                for p in sorted(self.places.values(), key=lambda p: (-p.count, p.rule, p.path))
            ],
            "unlisted": self.unlisted,
        }

    def summary(self) -> str:
        """One line: ``12 values redacted (key:password 10, re:\\d{16} 2)``."""
        if not self.total:
            return "nothing redacted"
        rules = ", ".join(f"{r} {n:,}" for r, n in sorted(self.by_rule().items()))
        return f"{self.total:,} value(s) redacted ({rules})"


class _Changed(Exception):
    pass


class Redactor:
    """Applies :class:`Rules` to encoded payloads and to plain strings, filling a
    :class:`Report`."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.report = Report(rules.describe())
        self._keys = [(k, re2().compile(_key_regex(k))) for k in rules.keys]
        self._key_cache: dict[str, str | None] = {}
        self._paths = rules.paths
        self._patterns = [(p, _compile(p, f"re:{p}")) for p in rules.patterns]
        # Prefilters over whole payload blocks: key rules all in one case-insensitive pass,
        # path rules by their last literal field, regexes as they are (RE2 reads bytes as
        # UTF-8). A key matches when its name lower-cased (str.lower) does: the two characters
        # outside ASCII that str.lower makes ASCII letters of (U+0130 -> "i", U+212A KELVIN SIGN
        # -> "k") make a payload a candidate wherever they are.
        lowered: list[Any] = []
        if self._keys:
            union = "|".join(_key_regex(k) for k in rules.keys)
            lowered.append(re2().compile(f"(?i:{union})|\u0130|\u212a".encode()))
        plain: list[Any] = [rx for _, rx in self._patterns]
        self._everything = False
        for path in self._paths:
            literal = next((p for p in reversed(path[1:]) if p != "*"), None)
            if literal is None or literal.isdigit():
                self._everything = True
            else:
                plain.append(re2().compile(re.escape(literal)))
        if any(_CONTEXTUAL.search(p) for p in rules.patterns):
            self._everything = True
        self._lowered = lowered
        self._plain = plain

    @property
    def active(self) -> bool:
        return not self.rules.empty

    # ------------------------------------------------------------------ prefilter

    def candidates(self, block: bytes, offsets: np.ndarray) -> np.ndarray:
        """Indexes ``i`` of the payloads ``block[offsets[i]:offsets[i + 1]]`` a rule could
        touch (a superset; ascending)."""
        n = len(offsets) - 1
        if not self.active or n <= 0:
            return np.empty(0, dtype=np.int64)
        if self._everything:
            return np.arange(n, dtype=np.int64)
        hits: list[int] = []
        for rx in self._lowered:
            # one pass for every key: a match hides another only where the two overlap, so
            # every payload a match spans is a candidate (a match across payloads: rare)
            for m in rx.finditer(block):
                a, b = m.span()
                hits.append(a)
                if b - a > 1:
                    first, last = np.searchsorted(offsets, [a, b - 1], side="right") - 1
                    hits.extend(int(offsets[k]) for k in range(first + 1, last + 1))
        for rx in self._plain:
            hits.extend(m.start() for m in rx.finditer(block))
        if not hits:
            return np.empty(0, dtype=np.int64)
        at = np.searchsorted(offsets, np.asarray(hits, dtype=np.int64), side="right") - 1
        return np.unique(at[(at >= 0) & (at < n)])

    def may_touch(self, raw: bytes) -> bool:
        """Whether a rule could touch this one payload (the prefilter of :meth:`candidates`)."""
        return bool(len(self.candidates(raw, np.array([0, len(raw)], dtype=np.int64))))

    # ------------------------------------------------------------------ payloads

    def payload(self, raw: bytes, roots: Sequence[tuple[str, ...]], where: str,
                seq: int | None = None) -> bytes:  # fmt: skip
        """``raw`` (one encoded payload) with the rules applied: the same bytes when nothing
        matched. ``roots`` name the value's place (``[("data",), ("message",)]`` for a sent
        message); ``where`` says what it is in the report (``send``, ``keyframe state``)."""
        if not raw or not self.active:
            return raw
        try:
            value = msgpack.unpackb(raw, raw=False, strict_map_key=False, use_list=True)
        except Exception:  # unreadable here: nothing of it may leave
            self.report.add("unreadable", where, "", "payload", seq)
            return _pack(_opaque("payload", marker_text("payload", len(raw))))
        walk = _Walk(self, where, seq)
        try:
            out = walk.value(value, [r for r in roots], 0)
        except _Unsafe:
            self.report.add("unreadable", where, "", "payload", seq)
            return _pack(_opaque("payload", marker_text("payload", len(raw))))
        if not walk.changed:
            return raw
        return _pack(out)

    def text(self, s: str, where: str, seq: int | None = None) -> str:
        """A plain string (a process name) with the regex rules applied."""
        if not self._patterns or not isinstance(s, str):
            return s
        return _Walk(self, where, seq).string(s, "")


class _Unsafe(Exception):
    """A value the walk cannot rebuild faithfully (too deep, malformed extension)."""


def _pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def _opaque(type_name: str, text: str) -> msgpack.ExtType:
    return msgpack.ExtType(_EXT_OPAQUE, _pack([type_name, text]))


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, msgpack.ExtType):
        return {
            _EXT_TUPLE: "tuple", _EXT_SET: "set", _EXT_FROZENSET: "frozenset",
            _EXT_BIGINT: "int", 6: "pid", 7: "ref",
        }.get(v.code, "value")  # fmt: skip
    return {dict: "dict", list: "list", str: "str", bytes: "bytes", int: "int",
            float: "float", type(None): "none"}.get(type(v), type(v).__name__)  # fmt: skip


def _length(v: Any) -> int | None:
    if isinstance(v, (str, bytes, list, dict)):
        return len(v)
    return None


#: Keys of event data whose value is also reachable from a root of its own.
_ALIASES = frozenset({"state", "reason", "message"})


class _Walk:
    """One payload's walk: rebuilds only what changed."""

    def __init__(self, r: Redactor, where: str, seq: int | None) -> None:
        self.r = r
        self.where = where
        self.seq = seq
        self.changed = False

    def marker(self, v: Any, rule: str, path: str) -> Any:
        self.changed = True
        t = _type_name(v)
        if isinstance(v, msgpack.ExtType) and v.code == _EXT_RECORD:
            try:
                t = str(msgpack.unpackb(v.data, raw=False, strict_map_key=False)[0])
            except Exception:
                t = "record"
        self.r.report.add(rule, self.where, path, t, self.seq)
        if isinstance(v, str):
            return marker_text("str", len(v))
        if isinstance(v, bytes):
            return marker_text("bytes", len(v)).encode()
        return _opaque(t, marker_text(t, _length(v)))

    def string(self, s: str, path: str) -> str:
        out = s
        for label, rx in self.r._patterns:
            if rx.search(out) is None:
                continue
            pieces: list[str] = []
            last = 0
            for m in rx.finditer(out):
                if m.end() == m.start():
                    continue  # an empty match hides nothing
                pieces.append(out[last : m.start()])
                pieces.append(marker_text("str", m.end() - m.start()))
                self.r.report.add(f"re:{label}", self.where, path, "str", self.seq)
                last = m.end()
            if pieces:
                pieces.append(out[last:])
                out = "".join(pieces)
                self.changed = True
        return out

    def _path_rule(self, roots: list[tuple[str, ...]]) -> str | None:
        for rule in self.r._paths:
            for p in roots:
                if len(p) == len(rule) and all(
                    a == "*" or a == b for a, b in zip(rule, p, strict=True)
                ):
                    return "path:" + ".".join(rule)
        return None

    def _key_rule(self, key: Any) -> str | None:
        if not isinstance(key, str):
            return None
        cache = self.r._key_cache
        if key in cache:
            return cache[key]
        low = key.lower()
        rule = None
        for name, rx in self.r._keys:
            if rx.search(low) is not None:
                rule = f"key:{name}"
                break
        if len(cache) < 100_000:  # keys repeat: field names, map keys
            cache[key] = rule
        return rule

    def value(self, v: Any, roots: list[tuple[str, ...]], depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _Unsafe
        path = ".".join(roots[0]) if roots else ""
        if self.r._paths and roots:
            rule = self._path_rule(roots)
            if rule is not None:
                return self.marker(v, rule, path)
        if isinstance(v, str):
            return self.string(v, path) if self.r._patterns else v
        if isinstance(v, list):
            return [
                self.value(x, [(*p, str(i)) for p in roots], depth + 1) for i, x in enumerate(v)
            ]
        if isinstance(v, dict):
            return self.mapping(v, roots, depth)
        if isinstance(v, msgpack.ExtType):
            return self.ext(v, roots, depth)
        return v

    def mapping(self, d: dict[Any, Any], roots: list[tuple[str, ...]], depth: int) -> Any:
        out: dict[Any, Any] = {}
        for k, x in d.items():
            sub = [(*p, k if isinstance(k, str) else "*") for p in roots]
            if k in _ALIASES and ("data",) in roots:
                sub.append((k,))  # data.state is a state, data.reason a reason, ...
            path = ".".join(sub[0]) if sub else str(k)
            rule = self._key_rule(k)
            if rule is not None and x is not None:
                nx = self.marker(x, rule, path)
            else:
                nx = self.value(x, sub, depth + 1)
            nk = k
            if isinstance(k, str) and self.r._patterns:
                nk = self.string(k, path + " (key)")
                n = 2
                while nk != k and nk in out:  # two keys redacted alike stay two keys
                    nk = f"{nk} #{n}"
                    n += 1
            elif isinstance(k, msgpack.ExtType):
                nk = self.ext(k, sub, depth + 1)
            out[nk] = nx
        return out

    def ext(self, e: msgpack.ExtType, roots: list[tuple[str, ...]], depth: int) -> Any:
        code = e.code
        if code in (6, 7) or not 1 <= code <= 10:
            return e
        try:
            inner = msgpack.unpackb(e.data, raw=False, strict_map_key=False, use_list=True)
        except Exception:
            raise _Unsafe from None
        before = self.changed
        self.changed = False
        if code in (_EXT_TUPLE, _EXT_SET, _EXT_FROZENSET):
            if not isinstance(inner, list):
                raise _Unsafe
            new: Any = self.value(inner, roots, depth + 1)
        elif code == _EXT_RECORD:
            if not (isinstance(inner, list) and len(inner) == 2 and isinstance(inner[1], dict)):
                raise _Unsafe
            new = [inner[0], self.mapping(inner[1], roots, depth + 1)]
        elif code == _EXT_ENUM:
            if not (isinstance(inner, list) and len(inner) == 3):
                raise _Unsafe
            new = [inner[0], inner[1], self.value(inner[2], roots, depth + 1)]
        elif code == _EXT_OPAQUE:
            if not (isinstance(inner, list) and len(inner) == 2):
                raise _Unsafe
            new = [inner[0], self.value(inner[1], roots, depth + 1)]
        elif code == _EXT_TRUNCATED:
            if not (isinstance(inner, list) and len(inner) == 3):
                raise _Unsafe
            new = [inner[0], inner[1], self.value(inner[2], roots, depth + 1)]
        else:  # big integer: its decimal text
            if not isinstance(inner, str):
                raise _Unsafe
            text = self.value(inner, roots, depth + 1)
            if self.changed:
                self.changed = before or True
                return _opaque("int", text)
            self.changed = before
            return e
        changed = self.changed
        self.changed = before or changed
        if not changed:
            return e
        return msgpack.ExtType(code, _pack(new))
