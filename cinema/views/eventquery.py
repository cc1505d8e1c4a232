"""The event list's filter box: a short query over the skeleton, answered with numpy (Qt-free).

Syntax: space-separated terms, all of which must hold::

    kind:crash,restart     kinds (names as in ``recorder.events.KIND_NAMES``; ``-`` or ``_``)
    proc:worker            processes whose name contains the text (acting process or peer)
    pid:12                 process 12 (acting process or peer)
    #1200-5000             event numbers 1200 to 5000 (either end may be left out)
    crash                  a bare word: a kind name, else a process-name fragment

Only the skeleton columns are read (no payload is decoded), so a query over ten million events
takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from recorder.events import KIND_NAMES, kind_from_name
from recorder.session.columns import Skeleton

__all__ = ["QueryError", "filter_events"]


class QueryError(ValueError):
    """The filter text is not a valid query (the message says which term and why)."""


def _pids_named(processes: Mapping[int, Any], fragment: str) -> npt.NDArray[np.int64]:
    f = fragment.lower()
    return np.array([pid for pid, p in processes.items() if f in str(p.name).lower()], np.int64)


def filter_events(
    sk: Skeleton, processes: Mapping[int, Any], text: str
) -> npt.NDArray[np.int64] | None:
    """Event numbers matching ``text`` in order, or None for an empty query (all events).

    Raises:
        QueryError: an unknown kind, a bad number or range.
    """
    terms = text.split()
    if not terms:
        return None
    n = len(sk.kind)
    mask = np.ones(n, dtype=bool)
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
        elif sep and key in ("proc", "process"):
            mask &= _involves(sk, _pids_named(processes, val))
        elif sep and key == "pid":
            try:
                pids = np.array([int(v) for v in val.split(",") if v], np.int64)
            except ValueError:
                raise QueryError(f"pid:{val}: expected process numbers like pid:3,7") from None
            mask &= _involves(sk, pids)
        elif term.startswith("#"):
            lo_s, _, hi_s = term[1:].partition("-")
            try:
                lo = int(lo_s) if lo_s else 0
                hi = int(hi_s) if hi_s else (n - 1 if "-" in term else lo)
            except ValueError:
                raise QueryError(f"{term}: expected an event range like #100-200") from None
            keep = np.zeros(n, dtype=bool)
            keep[max(lo, 0) : max(hi + 1, 0)] = True
            mask &= keep
        elif term.lower().replace("-", "_") in names:
            mask &= sk.kind == int(kind_from_name(term))
        else:
            mask &= _involves(sk, _pids_named(processes, term))
    return np.flatnonzero(mask).astype(np.int64)


def _involves(sk: Skeleton, pids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    if not len(pids):
        return np.zeros(len(sk.kind), dtype=bool)
    return np.asarray(np.isin(sk.pid, pids) | np.isin(sk.peer, pids))
