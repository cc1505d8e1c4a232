"""In-sandbox conditions (recorder.live) agree with the model's evaluator on real recordings.

The window parses a breakpoint with the model's parser and sends the tree; the sandbox checks
it and evaluates it on the values as they happen. Here both evaluate the same conditions over
the same runs of the three demos: the sandbox live (every event, as it is recorded), the model
afterwards over the file. Any difference in semantics shows up as a different set of hits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cinema.model.condition import Condition
from cinema.model.live import condition_tree
from cinema.model.session import Session
from recorder.live.conditions import ConditionError, compile_tree
from recorder.live.scope import EventContext, LiveScope
from recorder.sandbox import Runtime
from recorder.sandbox.scenarios import SCENARIOS

CONDITIONS = [
    'kind == "crash"',
    'kind == "state" and trigger == "call"',
    'msg_type == "transfer"',
    'msg_type in ["deposit", "balance", "join", "say"] and kind == "receive"',
    "state.balance < 100",
    "len(state.history) >= 3",
    "changed(state.balance)",
    "prev_state.balance > state.balance",
    'reason != none and kind != "drop"',
    'process == "ledger" and kind == "receive"',
    'peer_process == "ledger"',
    'behaviour == "supervisor" and kind == "restart"',
    "pid == 3 or peer == 3",
    'type(msg) == "tuple" and len(msg) > 2',
    'str(data) != "" and kind == "send" and seq % 7 == 0',
    "abs(-ref) > 100 and ref % 2 == 1",
    'startswith(process, "acct") and kind == "state"',
    'msg.balance >= 0 or msg[0] == "$call"',
    # the text of values (str(), ~ on a non-string): one rendering in the sandbox and the model
    'kind == "send" and str(msg) ~ "[(] ?[a-z_]+, "',
    'state ~ "[({] ?[a-z_]+[=:] ?[a-z0-9]"',
    'reason ~ "none"',
]


@pytest.mark.parametrize("scenario", ["bank", "chat", "pipeline"])
def test_sandbox_and_model_conditions_hit_the_same_events(scenario: str, tmp_path: Path) -> None:
    path = tmp_path / f"{scenario}.cinema"
    tests = [(text, compile_tree(condition_tree(text)["tree"])) for text in CONDITIONS]
    hits: dict[str, list[int]] = {text: [] for text in CONDITIONS}
    rt = Runtime(deterministic=True, seed=5, record=str(path))
    seq = [-1]
    ctx = EventContext(rt, lambda: seq[0], 0)
    ctx.start(messages=True, states=True)

    def wrapper(forward: Any) -> Any:
        def gate(kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
            forward(kind, pid, peer, ref, data)
            seq[0] += 1
            for text, test in tests:
                if test(LiveScope(ctx, kind, pid, peer, ref, data)):
                    hits[text].append(seq[0])
            ctx.observe(kind, pid, peer, ref, data)

        return gate

    # the recording's first events (before the gate) are none: it starts at the first spawn
    rt.recording.wrap(wrapper)
    SCENARIOS[scenario](rt)
    rt.close()
    with Session.open(path) as s:
        assert s.event_count == seq[0] + 1
        some = 0
        for text in CONDITIONS:
            expected = Condition(text).hits(s)
            assert np.array_equal(np.asarray(hits[text]), expected), text
            some += bool(len(expected))
        assert some >= 8  # the conditions are not all vacuous on this demo


def test_the_sandbox_refuses_what_it_does_not_evaluate() -> None:
    with pytest.raises(ConditionError, match="unknown name"):
        compile_tree(["name", "__class__"])
    with pytest.raises(ConditionError, match="unknown function"):
        compile_tree(["call", "eval", [["lit", "1"]]])
    with pytest.raises(ConditionError, match="nested deeper"):
        tree: Any = ["lit", 1]
        for _ in range(100):
            tree = ["unary", "-", tree]
        compile_tree(tree)
    with pytest.raises(ConditionError):
        compile_tree(["lit", {"a": 1}])
    with pytest.raises(ConditionError):
        compile_tree("kind == 'crash'")  # text is never parsed by the sandbox
