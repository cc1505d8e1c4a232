"""The event filter finds payload text, message types and time ranges, and says so when a
key is unknown."""

from __future__ import annotations

import numpy as np
import pytest

from cinema.model.condition import Condition
from cinema.ui.eventlist import EventListWidget
from cinema.views.eventquery import QueryError, parse_query


def _run(qtbot, w: EventListWidget, text: str) -> list[int]:  # type: ignore[no-untyped-def]
    w.filter.setText(text)
    w.apply_filter()
    qtbot.waitUntil(lambda: not w.searching(), timeout=20_000)
    return [w.model.seq_at(r) for r in range(w.model.rowCount())]


def test_message_types_payload_text_and_times(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = EventListWidget(state)
    qtbot.addWidget(w)
    s = state.session
    want = Condition('msg_type == "transfer"').hits(s).tolist()
    assert want and _run(qtbot, w, "type:transfer") == want
    assert "of" in w.status.text()
    # payload text, any case, with or without the key, quoted when it has spaces
    text = Condition('data ~ "(?i)overdraft"').hits(s).tolist()
    assert text and _run(qtbot, w, "text:OVERDRAFT") == text
    assert _run(qtbot, w, "overdraft") == text  # a bare word that is no kind or process
    phrase = Condition('data ~ "(?i)counterparty file"').hits(s).tolist()
    assert phrase and _run(qtbot, w, '"counterparty file"') == phrase
    # a time range, combined with a kind
    rel = state.skeleton.ts.astype(np.int64) - s.t_first
    in_range = np.flatnonzero((rel >= 200_000_000) & (rel <= 300_000_000))
    assert _run(qtbot, w, "200ms-300ms") == in_range.tolist()
    sends = [q for q in in_range.tolist() if state.skeleton.kind[q] == 3]
    assert _run(qtbot, w, "t:0.2s-0.3s kind:send") == sends


def test_an_unknown_key_says_so(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = EventListWidget(state)
    qtbot.addWidget(w)
    before = w.model.rowCount()
    w.filter.setText("colour:red")
    w.apply_filter()
    assert "unknown filter key 'colour'" in w.status.text() and "type:" in w.status.text()
    assert w.model.rowCount() == before  # the table is left as it was


def test_the_parser(state) -> None:  # type: ignore[no-untyped-def]
    sk, procs = state.skeleton, state.session.processes
    q = parse_query(sk, procs, "proc:acct type:deposit")
    assert q.expression is not None and 'msg_type == "deposit"' in q.expression
    assert "process ~" in q.expression
    q = parse_query(sk, procs, "kind:crash 1s-")
    assert q.expression is None and q.rows is not None
    for bad, why in (("t:1s", "range"), ("#a-b", "event range"),
                     ('"open', "quote"), ("t:2s-1s", "before it starts")):  # fmt: skip
        with pytest.raises(QueryError, match=why):
            parse_query(sk, procs, bad)
