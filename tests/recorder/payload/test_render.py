"""render_value: the one text form of values (Erlang-ish, one line) every panel shows."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated
from recorder.payload.render import render_value, string_text


def test_atoms_are_bare_other_strings_double_quoted() -> None:
    data = {"reason": ("exception", "RuntimeError: boom"), "old_pid": 18, "trapped": True}
    assert render_value(data) == (
        '{reason: (exception, "RuntimeError: boom"), old_pid: 18, trapped: True}'
    )
    assert render_value("tick") == "tick"
    assert render_value("Tick") == '"Tick"'
    assert render_value("None") == '"None"' and render_value(None) == "None"
    assert render_value("12") == '"12"' and render_value(12) == "12"
    assert render_value('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert render_value(("EXIT", Pid(18), "normal")) == '("EXIT", <0.18.0>, normal)'


def test_containers_pids_refs_and_markers() -> None:
    assert render_value((1,)) == "(1,)" and render_value(()) == "()"
    assert render_value({3, 1, 2}) == "{1, 2, 3}" and render_value(set()) == "set()"
    assert render_value(frozenset()) == "frozenset()"
    assert render_value({1, "a"}) == render_value({"a", 1})  # mixed types: still one order
    assert render_value([Ref(7), b"\x00a"]) == "[#Ref<7>, b'\\x00a']"
    assert render_value(Truncated("items", 5000)) == "<truncated items: 5000>"
    assert render_value(math.nan) == "nan" and render_value({(1, 2): "x"}) == "{(1, 2): x}"


def test_records_and_enums_are_short() -> None:
    rec = Record("recorder.sandbox.supervisor.SupervisorState", (("strategy", "one_for_one"),))
    assert render_value(rec) == "SupervisorState(strategy=one_for_one)"
    assert render_value(EnumValue("pkg.mod.Color", "RED", 1)) == "Color.RED"
    assert render_value(Record("pkg.Outer.Inner", ())) == "Outer.Inner()"


def test_text_respects_the_length_limit() -> None:
    text = render_value({"k": "x" * 500}, 40)
    assert len(text) == 40 and text.endswith("…")
    assert len(render_value({"k": "x" * 500}, 0)) == 505  # 0: no limit


def test_recorded_reprs_lose_module_paths_and_addresses() -> None:
    cls = Opaque("type", "<class 'recorder.sandbox.scenarios.bank.Clearing'>")
    fn = Opaque("function", "<function bank.make_worker.<locals>.run at 0x7f00aa>")
    assert render_value(cls) == "<class Clearing>"
    assert render_value(fn) == "<function run>"
    assert render_value(Opaque("Point", "Point(1, 2)")) == "Point(1, 2)"


def test_deep_nesting_is_cut_not_a_recursion_error() -> None:
    v: object = []
    for _ in range(5000):
        v = [v]
    assert render_value(v, 0).endswith("]") and "…" in render_value(v, 0)


@given(st.text())
def test_a_string_is_always_one_line_and_reads_back(s: str) -> None:
    text = string_text(s)
    assert "\n" not in text and "\r" not in text and "\u2028" not in text
    if text.startswith('"'):  # quoted: the JSON-style escapes give the string back
        import json

        assert json.loads(text) == s
    else:
        assert text == s


_TEXTS = st.text(st.sampled_from('ab_ \\"\n\t\x00\x7f\u2028é☃'), max_size=300) | st.text(
    st.sampled_from("ab_@9"), max_size=300
).map(lambda s: "a" + s)  # atom-like: shown bare whatever its length
_VALUES = st.recursive(
    st.none() | st.integers() | _TEXTS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.dictionaries(_TEXTS, inner, max_size=3)
        | st.builds(
            lambda fs: Record("m.R", tuple(fs)),
            st.lists(st.tuples(st.just("f"), inner), max_size=3),
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400)
@given(_VALUES, st.integers(0, 40) | st.integers(0, 260))
def test_long_strings_escaped_only_where_they_show_render_the_same(
    value: object, max_len: int
) -> None:
    """A string longer than the room left is escaped only as far as it can show: the same text
    as escaping it whole (the reference path) and cutting the line."""
    import recorder.payload.render as render

    fast = render_value(value, max_len)
    render._CUT_LONG_STRINGS = False
    try:
        assert fast == render_value(value, max_len)
    finally:
        render._CUT_LONG_STRINGS = True
