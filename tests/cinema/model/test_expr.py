"""The breakpoint expression language: parsing, errors, evaluation, vectorisation."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinema.model.condition import Condition
from cinema.model.errors import ModelError
from cinema.model.expr import ExprError, parse, unparse
from cinema.model.expr_eval import Scope, message_type
from cinema.model.session import Session
from recorder.payload import EnumValue, Pid, Record

from . import bp_sessions


class Values(Scope):
    def __init__(self, **values: Any) -> None:
        self.values = values
        self.errors = 0

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def note_error(self) -> None:
        self.errors += 1


def ev(text: str, **values: Any) -> bool:
    return Condition(text).matches(Values(**values))


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Session:
    path = bp_sessions.bank_session(tmp_path_factory.mktemp("bank") / "bank.cinema")
    return Session.open(path)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('kind == "crash"', '(kind == "crash")'),
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("not pid == 1 and t > 2", "((not (pid == 1)) and (t > 2))"),
        ("pid == 1 or pid == 2 and seq < 3", "((pid == 1) or ((pid == 2) and (seq < 3)))"),
        ("state.a.b[0]['k']", 'state.a.b[0]["k"]'),
        ("kind not in ['a', 'b',]", '(kind not in ["a", "b"])'),
        ("-seq % 2 == 0", "(((-seq) % 2) == 0)"),
        ("changed(state.status)", "changed(state.status)"),
        ("msg ~ 'dep\\d+'", '(msg ~ "dep\\\\d+")'),
        ("true and none == None", "(true and (none == none))"),
    ],
)
def test_parse_shapes(text: str, tree: str) -> None:
    assert unparse(parse(text)) == tree
    assert unparse(parse(tree)) == tree  # the printed form parses back to the same tree


@pytest.mark.parametrize(
    ("text", "col", "reason"),
    [
        ("kind == foo", 9, "unknown name 'foo' (known: kind, pid,"),
        ("state.balance >", 16, "unexpected end of expression"),
        ("kind = 'crash'", 6, "use '==' to compare"),
        ("(pid == 1", 10, "expected ')' to close the '(' at col 1"),
        ("1 < seq < 3", 9, "comparisons cannot be chained"),
        ("len(1, 2)", 1, "len() takes 1 argument (2 given)"),
        ("frobnicate(1)", 1, "unknown function 'frobnicate'"),
        ("msg ~ '('", 7, "invalid regular expression"),
        ("'abc", 1, "unterminated string"),
        ("pid @ 2", 5, "unexpected character '@'"),
        ("pid && peer", 5, "use 'and'"),
        ("", 1, "empty expression"),
        ("pid pid", 5, "unexpected 'pid' (expected an operator or the end)"),
        ("len", 1, "len is a function: write len(...)"),
        ("changed(changed(pid))", 1, "cannot be nested"),
        ("state.", 7, "expected a field name after '.'"),
        ("9" * 50, 1, "number literal too long"),
    ],
)
def test_errors_have_position_and_reason(text: str, col: int, reason: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    err = info.value
    assert err.column == col
    assert reason in err.reason
    assert str(err).startswith(f"col {col}: ")
    lines = str(err).splitlines()
    assert lines[2].index("^") - 2 == col - 1  # the caret sits under the column
    assert isinstance(err, ModelError) and isinstance(err, ValueError)


def test_error_message_format() -> None:
    with pytest.raises(ExprError) as info:
        parse("pid > foo")
    assert str(info.value).splitlines() == [
        "col 7: unknown name 'foo' (known: kind, pid, peer, process, peer_process, behaviour, "
        "ref, seq, t, data, msg, msg_type, state, prev_state, reason, trigger)",
        "  pid > foo",
        "        ^",
    ]


@pytest.mark.parametrize(
    "text",
    ["__class__", "_x", "import", "eval('1')", "exec", "state.__class__", "state._secret",
     "msg.__dict__", "__import__('os')", "lambda", "open('/etc/passwd')", "getattr(state, 'x')",
     "pid.__class__.__mro__", "data['__class__'] and _"],
)  # fmt: skip
def test_forbidden_names(text: str) -> None:
    if text == "data['__class__'] and _":
        with pytest.raises(ExprError, match="col 23: forbidden name '_'"):
            parse(text)
        return
    with pytest.raises(ExprError, match="forbidden"):
        parse(text)


def test_string_key_index_is_data_not_attribute() -> None:
    # indexing with a string reads a map key: never a Python attribute
    assert not ev("data['__class__'] == 1", data={"x": 1})
    assert ev("data['__class__'] == 1", data={"__class__": 1})


# --------------------------------------------------------------------------- evaluation


def test_evaluation_semantics() -> None:
    st_ = {"balance": 150, "status": "open", "items": [1, 2, 3], "owner": Pid(4)}
    assert ev("state.balance > 100 and state.status == 'open'", state=st_)
    assert ev("len(state.items) == 3 and 2 in state.items", state=st_)
    assert ev("state.owner == 4 and state.owner in [4, 5]", state=st_)
    assert ev("type(state) == 'dict' and type(none) == 'none'", state=st_)
    assert ev("abs(-3) == 3 and min(3, 1, 2) == 1 and max([1, 9]) == 9")
    assert ev("str(12) == '12' and str(true) == 'True' and 'a' + 'b' == 'ab'")
    assert ev(
        "str(msg) == '(deposit, \"acct-1\")' and msg ~ 'deposit, \"acct'", msg=("deposit", "acct-1")
    )
    assert ev("startswith(process, 'acc') and endswith(process, '-1')", process="account-1")
    assert ev("contains(process, 'count') and 'count' in process", process="account-1")
    assert ev("process ~ '^acc.*\\d$'", process="account-1")
    assert ev("msg ~ 'deposit'", msg=("deposit", 5))  # non-strings match their text
    assert ev("7 % 3 == 1 and 7 / 2 == 3.5 and 2 * 3 - 1 == 5")
    rec = Record("bank.Account", (("balance", 5),))
    assert ev("state.balance == 5 and state['balance'] == 5 and len(state) == 1", state=rec)
    assert ev("type(state) == 'bank.Account'", state=rec)
    enum = EnumValue("Status", "OPEN", 1)
    assert ev("state == 'OPEN' and state == 1 and state.name == 'OPEN'", state=enum)


def test_failures_are_false_and_counted() -> None:
    scope = Values(state=None)
    cond = Condition("state.balance > 1")
    assert not cond.matches(scope)
    assert scope.errors == 1
    # a failing operand of or/not is false, the other side still decides
    assert ev("state.balance > 1 or pid == 3", pid=3)
    assert ev("not (state.balance > 1)")
    for text in ["1 / 0 == 1", "'a' < 1", "none < 1", "len(5) == 1", "msg[9] == 1",
                 "'a' * 3 == 'aaa'", "'%s' % 1 == '1'", "state.x.y == 1", "-'a' == 1"]:  # fmt: skip
        assert not ev(text, msg=(1,), state={"x": 1})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (("withdraw", 10), "withdraw"),
        (("$call", (Pid(1), 7), ("deposit", 5)), "deposit"),
        (("$cast", ("reset",)), "reset"),
        ("ping", "ping"),
        (Record("bank.Freeze", ()), "Freeze"),
        ({"type": "hello"}, "hello"),
        (7, "int"),
        ((1, 2), "tuple"),
    ],
)
def test_message_type(message: Any, expected: str) -> None:
    assert message_type(message) == expected


def test_names_on_a_session(bank: Session) -> None:
    def hits(text: str) -> list[int]:
        cond = Condition(text)
        fast, slow = cond.hits(bank).tolist(), cond.hits_slow(bank).tolist()
        assert fast == slow
        return fast

    assert hits('kind == "crash"') == [17]
    assert hits('msg_type == "withdraw" and state.balance < 0') == [11]
    assert hits("changed(state.status)") == [14]
    assert hits('process == "account-1" and t > 0.5') == [13, 14]
    assert hits('msg_type == "Freeze" and msg.why == "overdrawn"') == [12, 13, 14]
    assert hits("state.balance < prev_state.balance") == [11]
    assert hits('trigger == "init"') == [4, 5, 20]
    assert hits('reason == "normal" or reason == "noproc"') == [24, 25]
    assert hits('peer_process == "account-2" and kind == "send"') == [15, 23]
    assert hits('behaviour == "supervisor"') == [0, 18]
    assert hits("seq >= 24") == [24, 25]
    assert hits('kind == "timeout" and msg_type == "balance"') == [22]
    assert hits('data.op == "call"') == [22]
    assert hits("ref == 3") == [12, 13, 14]


def test_columnar_condition_decodes_nothing(bank: Session) -> None:
    cond = Condition('process == "account-1" and kind in ["state", "receive"] and seq > 5')
    assert cond.columnar
    assert cond.hits(bank).tolist() == [7, 8, 10, 11, 13, 14]
    assert cond.evaluated == 0
    narrowed = Condition("state.balance < 0")
    narrowed.hits(bank)
    assert narrowed.evaluated == 6  # only the six state events were decoded


# --------------------------------------------------------------------------- properties

_LEAVES = [
    "kind", "pid", "peer", "process", "peer_process", "behaviour", "ref", "seq", "t", "data",
    "msg", "msg_type", "state", "prev_state", "reason", "trigger", "state.count", "state.tag",
    "msg[0]", "msg[1]", "data.reason", "prev_state.count", "0", "1", "3", "-1", "2.5", "0.002",
    "true", "false", "none", "'send'", "'receive'", "'state'", "'crash'", "'alpha'", "'beta'",
    "'gen_server'", "'inc'", "'ping'", "'a'", "[1, 2]", "['send', 'state']", "['alpha', 7]",
]  # fmt: skip
_CMP = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


def _expressions() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(_LEAVES)
    value = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(st.sampled_from(["len", "type", "abs", "str"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            inner.map(lambda x: f"-{x}"),
        ),
        max_leaves=3,
    )
    compare = st.one_of(
        st.tuples(value, st.sampled_from(_CMP), value).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(value, st.sampled_from(["'a'", "'^s'", "'1'", "'work|ping'"])).map(
            lambda t: f"({t[0]} ~ {t[1]})"
        ),
        st.sampled_from(["changed(state.count)", "changed(state)", "changed(msg_type)"]),
        value,
    )
    return st.recursive(
        compare,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"not {x}"),
        ),
        max_leaves=4,
    )


@pytest.fixture(scope="module")
def random_sessions(tmp_path_factory: pytest.TempPathFactory) -> list[Session]:
    d = tmp_path_factory.mktemp("random")
    return [
        Session.open(bp_sessions.random_session(d / f"r{seed}.cinema", seed, 150))
        for seed in range(3)
    ]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_expressions(), which=st.integers(0, 2))
def test_vectorised_agrees_with_per_event(
    random_sessions: list[Session], text: str, which: int
) -> None:
    session = random_sessions[which]
    cond = Condition(text)
    np.testing.assert_array_equal(cond.hits(session), cond.hits_slow(session), err_msg=text)
    # the round trip through unparse gives the same condition
    again = Condition(unparse(cond.tree))
    np.testing.assert_array_equal(again.hits(session), cond.hits(session), err_msg=text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("abdeinorstklpmgvq_.[]()'\"=!<>~+-*/%, 0129\\")), max_size=40
    )
)
def test_junk_raises_only_expr_error(text: str) -> None:
    try:
        cond = Condition(text)
    except ExprError as exc:
        assert 0 <= exc.pos <= len(text)
        return
    cond.matches(Values(kind="send", pid=1, state={"a": 1}, msg=("x", 1)))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_raises_only_expr_error(text: str) -> None:
    with contextlib.suppress(ExprError):
        Condition(text).matches(Values())


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExprError, match="nested deeper"):
        parse("(" * 500 + "1" + ")" * 500)
    with pytest.raises(ExprError, match="nested deeper"):
        parse("not " * 500 + "true")
