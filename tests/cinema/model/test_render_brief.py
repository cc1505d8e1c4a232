"""render_value(brief=True): the short, Erlang-ish form the UI's tables and trees show."""

from __future__ import annotations

from cinema.model.render import render_value
from recorder.payload import EnumValue, Opaque, Pid, Record


def test_atoms_are_bare_other_strings_double_quoted() -> None:
    data = {"reason": ("exception", "RuntimeError: boom"), "old_pid": 18, "trapped": True}
    assert render_value(data, brief=True) == (
        '{reason: (exception, "RuntimeError: boom"), old_pid: 18, trapped: True}'
    )
    assert render_value("tick", brief=True) == "tick"
    assert render_value("Tick", brief=True) == '"Tick"'
    assert render_value('say "hi"\n', brief=True) == '"say \\"hi\\"\\n"'
    assert render_value(("EXIT", Pid(18), "normal"), brief=True) == '("EXIT", <0.18.0>, normal)'


def test_records_and_enums_are_short() -> None:
    rec = Record("recorder.sandbox.supervisor.SupervisorState", (("strategy", "one_for_one"),))
    assert render_value(rec, brief=True) == "SupervisorState(strategy=one_for_one)"
    assert render_value(EnumValue("pkg.mod.Color", "RED", 1), brief=True) == "Color.RED"
    # the default form keeps Python's quotes (the CLI and exports use it)
    assert render_value(rec) == "SupervisorState(strategy='one_for_one')"


def test_brief_text_respects_the_length_limit() -> None:
    text = render_value({"k": "x" * 500}, 40, brief=True)
    assert len(text) == 40 and text.endswith("…")


def test_recorded_reprs_lose_module_paths_and_addresses() -> None:
    cls = Opaque("type", "<class 'recorder.sandbox.scenarios.bank.Clearing'>")
    fn = Opaque("function", "<function bank.make_worker.<locals>.run at 0x7f00aa>")
    assert render_value(cls, brief=True) == "<class Clearing>"
    assert render_value(fn, brief=True) == "<function run>"
    assert render_value(Opaque("Point", "Point(1, 2)"), brief=True) == "Point(1, 2)"
