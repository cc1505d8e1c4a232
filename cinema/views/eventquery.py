"""The event list's filter box: a short query over the session (Qt-free).

Syntax: space-separated terms, all of which must hold (quote a term that has spaces)::

    kind:crash,restart     kinds (names as in ``recorder.events.KIND_NAMES``; ``-`` or ``_``)
    proc:worker            processes whose name contains the text (acting process or peer)
    pid:12                 process 12 (acting process or peer)
    #1200-5000             event numbers 1200 to 5000 (either end may be left out)
    1s-2s  t:250ms-300ms   times since the first event (s, ms, us/µs, ns; an end may be left
                           out: 1.5s- or -200ms)
    type:withdraw          messages of this type (a tuple's leading atom, a record's name)
    msg:acct-3             messages whose text contains this (sends, receives, drops, ...)
    text:overdraft  "a b"  events whose data (the details column) contains this text
    crash                  a bare word: a kind name, else a process-name fragment, else text

Column terms (kinds, processes, numbers, times) are answered from the skeleton with numpy in
a fraction of a second, even over ten million events. Terms that read payloads (``type:``,
``msg:``, ``text:``) make the query a :class:`Query` with an ``expression`` of the model's
language (``docs/expressions.md``): the window evaluates it with the same engine as
breakpoints, off its thread (:mod:`cinema.views.hitjob`). An unknown ``key:`` is an error that
names the keys there are.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cinema.model.expr import literal
from recorder.events import KIND_NAMES, kind_from_name
from recorder.session.columns import Skeleton

__all__ = ["KEYS", "Query", "QueryError", "filter_events", "parse_query"]

#: The keys a term may have (what the error for an unknown one lists).
KEYS = ("kind", "proc", "pid", "t", "type", "msg", "text")

_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "µs": 1_000, "ns": 1}
_NUM, _UNIT = r"\d+(?:\.\d*)?|\.\d+", r"s|ms|us|µs|ns"
_TIME = re.compile(rf"(?P<num>{_NUM})(?P<unit>{_UNIT})")
_RANGE = re.compile(rf"(?:(?:{_NUM})(?:{_UNIT}))?-(?:(?:{_NUM})(?:{_UNIT}))?")


class QueryError(ValueError):
    """The filter text is not a valid query (the message says which term and why)."""


class Query(NamedTuple):
    """A parsed filter: ``rows`` (ascending event numbers matching the column terms, or None
    for all events) and, when some term reads payloads, the ``expression`` every shown event
    must also satisfy (written over the whole query, so the engine narrows by the columns)."""

    rows: npt.NDArray[np.int64] | None
    expression: str | None


def _pids_named(processes: Mapping[int, Any], fragment: str) -> npt.NDArray[np.int64]:
    f = fragment.lower()
    return np.array([pid for pid, p in processes.items() if f in str(p.name).lower()], np.int64)


def _ns(text: str, term: str) -> int:
    m = _TIME.fullmatch(text)
    if m is None:
        raise QueryError(f"{term}: expected a time like 1.5s, 250ms, 30us or 800ns")
    return round(float(m["num"]) * _UNITS[m["unit"]])


def _contains(name: str, text: str) -> str:
    """``name ~ "(?i)text"``: contains ``text`` (any case, taken literally)."""
    return f"{name} ~ {literal('(?i)' + re.escape(text))}"


def parse_query(
    sk: Skeleton | Callable[[], Skeleton],
    processes: Mapping[int, Any],
    text: str,
    t_first: int | None = None,
) -> Query:
    """Parse ``text`` and answer its column terms.

    Args:
        sk: the skeleton columns (or a callable giving them: an empty query reads none).
        processes: pid -> process (with ``name``).
        text: the filter box's text.
        t_first: the session's first timestamp (times are relative to it; default: the
            first event's).

    Raises:
        QueryError: an unknown key or kind, a bad number, time or range, unbalanced quotes.
    """
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise QueryError(f"{text.strip()}: {exc} (close the quote)") from None
    if not terms:
        return Query(None, None)
    if not isinstance(sk, Skeleton):
        sk = sk()
    n = len(sk.kind)
    t0 = int(t_first) if t_first is not None else (int(sk.ts[0]) if n else 0)
    mask = np.ones(n, dtype=bool)
    exprs: list[str] = []  # every term as an expression (used when one reads payloads)
    payload = False
    names = set(KIND_NAMES.values())
    for term in terms:
        key, sep, val = term.partition(":")
        key = key.lower()
        if sep and key == "kind":
            try:
                codes = [int(kind_from_name(v)) for v in val.split(",") if v]
            except ValueError as exc:
                raise QueryError(str(exc)) from None
            mask &= np.isin(sk.kind, codes)
            exprs.append(f"kind in {literal([KIND_NAMES[c] for c in codes])}")
        elif sep and key in ("proc", "process"):
            mask &= _involves(sk, _pids_named(processes, val))
            exprs.append(f"({_contains('process', val)} or {_contains('peer_process', val)})")
        elif sep and key == "pid":
            try:
                pids = np.array([int(v) for v in val.split(",") if v], np.int64)
            except ValueError:
                raise QueryError(f"pid:{val}: expected process numbers like pid:3,7") from None
            mask &= _involves(sk, pids)
            pl = literal([int(p) for p in pids])
            exprs.append(f"(pid in {pl} or peer in {pl})")
        elif term.startswith("#"):
            lo, hi = _seq_range(term, n)
            keep = np.zeros(n, dtype=bool)
            keep[max(lo, 0) : max(hi + 1, 0)] = True
            mask &= keep
            exprs.append(f"(seq >= {lo} and seq <= {hi})")
        elif (sep and key == "t") or (not sep and term != "-" and _RANGE.fullmatch(term)):
            lo_ns, hi_ns = _time_range(val if sep else term, term)
            rel = sk.ts.astype(np.int64) - t0
            mask &= (rel >= lo_ns) & (rel <= hi_ns)
            exprs.append(f"(t >= {literal(lo_ns / 1e9)} and t <= {literal(hi_ns / 1e9)})")
        elif sep and key == "type":
            exprs.append(f"msg_type == {literal(val)}")
            payload = True
        elif sep and key == "msg":
            exprs.append(_contains("msg", val))
            payload = True
        elif sep and key == "text":
            exprs.append(_contains("data", val))
            payload = True
        elif sep and key:
            keys = ", ".join(f"{k}:" for k in KEYS)
            raise QueryError(f"unknown filter key {key!r} in {term!r} (keys: {keys}, #N-M)")
        elif term.lower().replace("-", "_") in names:
            code = int(kind_from_name(term))
            mask &= sk.kind == code
            exprs.append(f"kind == {literal(KIND_NAMES[code])}")
        else:
            pids = _pids_named(processes, term)
            if len(pids):
                mask &= _involves(sk, pids)
                exprs.append(f"({_contains('process', term)} or {_contains('peer_process', term)})")
            else:  # no such kind or process: the text of the events' data
                exprs.append(_contains("data", term))
                payload = True
    rows = np.flatnonzero(mask).astype(np.int64)
    return Query(rows, " and ".join(exprs) if payload else None)


def filter_events(
    sk: Skeleton, processes: Mapping[int, Any], text: str, t_first: int | None = None
) -> npt.NDArray[np.int64] | None:
    """The events matching the column terms of ``text`` (None for an empty query): see
    :func:`parse_query`, whose ``expression`` the caller evaluates for payload terms."""
    return parse_query(sk, processes, text, t_first).rows


def _seq_range(term: str, n: int) -> tuple[int, int]:
    lo_s, _, hi_s = term[1:].partition("-")
    try:
        lo = int(lo_s) if lo_s else 0
        hi = int(hi_s) if hi_s else (n - 1 if "-" in term else lo)
    except ValueError:
        raise QueryError(f"{term}: expected an event range like #100-200") from None
    if len(lo_s) > 18 or len(hi_s) > 18:
        raise QueryError(f"{term}: event numbers that large do not exist")
    return lo, hi


def _time_range(text: str, term: str) -> tuple[int, int]:
    if "-" not in text:
        raise QueryError(f"{term}: expected a time range like 1s-2s, 250ms- or -1.5s")
    a, _, b = text.partition("-")
    lo = _ns(a, term) if a else 0
    hi = _ns(b, term) if b else 1 << 62
    if hi < lo:
        raise QueryError(f"{term}: the range ends before it starts")
    return lo, hi


def _involves(sk: Skeleton, pids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    if not len(pids):
        return np.zeros(len(sk.kind), dtype=bool)
    return np.asarray(np.isin(sk.pid, pids) | np.isin(sk.peer, pids))
