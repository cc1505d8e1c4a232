"""The breakpoint editor: Add adds, Update replaces, a structured breakpoint stays structured,
New clears the form, actions read as words."""

from __future__ import annotations

from cinema.model import breakpoints as bpm
from cinema.ui.breakpoints import ACTION_LABELS, BreakpointEditor


def _editor(qtbot, state) -> BreakpointEditor:  # type: ignore[no-untyped-def]
    w = BreakpointEditor(state, autosave=False)
    qtbot.addWidget(w)
    return w


def test_a_second_add_adds_another_breakpoint(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    w.set_kind("process_event")
    w.pe_events.setText("crash")
    w.commit()
    w.pe_events.setText("restart")
    w.commit()
    conds = [bp.condition for bp in state.breakpoints]
    assert conds == [
        bpm.ProcessEventCondition(("crash",)),
        bpm.ProcessEventCondition(("restart",)),
    ]
    assert w.list.topLevelItemCount() == 2 and w.b_add.text() == "Add"


def test_selecting_a_structured_breakpoint_keeps_its_kind_and_update_keeps_where(
    qtbot, state
) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    bp = state.breakpoints.add(
        bpm.StateCondition("balance", "<", 10, "acct-3"), where="t > 0.5", action="log"
    )
    w.list.setCurrentItem(w.list.topLevelItem(0))
    assert w.editing == bp.id and w.b_add.text() == "Update"
    assert w.kind.currentData() == "state"
    assert (w.st_field.text(), w.st_op.currentText(), w.st_value.text()) == ("balance", "<", "10")
    assert w.st_process.text() == "acct-3" and w.where.text() == "t > 0.5"
    assert w.action_key() == "log"
    for _ in range(3):  # each Update used to wrap the where clause once more
        w.commit()
    (after,) = list(state.breakpoints)
    assert after.condition == bpm.StateCondition("balance", "<", 10, "acct-3")
    assert after.where == "t > 0.5" and after.action == "log"
    assert after.expression.count("t > 0.5") == 1
    # changing a field and updating edits the same breakpoint
    w.st_value.setText("20")
    w.commit()
    (after,) = list(state.breakpoints)
    assert after.id == bp.id and after.condition.value == 20


def test_every_kind_round_trips_through_the_form(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    conds = [
        bpm.ProcessEventCondition(("crash", "restart"), "clearing"),
        bpm.MessageCondition("withdraw", None, "send", 7),
        bpm.MessageCondition(None, "tick|tock", "any"),
        bpm.StateCondition("status", "==", "open"),
        bpm.StateCondition("a.b", "changed"),
        bpm.MessageResultCondition(("timeout", "dropped"), "ledger"),
        bpm.ExpressionCondition('kind == "crash" and t > 1'),
    ]
    for cond in conds:
        w.show_condition(cond)
        assert w.validate(), w.preview.text()
        assert w.condition() == cond


def test_new_clears_the_form(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    state.breakpoints.add(bpm.MessageCondition("withdraw"), where="t > 1", action="log")
    w.list.setCurrentItem(w.list.topLevelItem(0))
    assert w.msg_type.text() == "withdraw"
    w.new()
    assert w.editing is None and w.b_add.text() == "Add" and w.list.currentItem() is None
    assert w.msg_type.text() == "" and w.where.text() == ""
    assert w.kind.currentData() == "process_event" and w.action_key() == "pause"
    w.pe_events.setText("spawn")
    w.commit()
    assert len(state.breakpoints) == 2  # New then Add: a new one, the first untouched
    assert next(iter(state.breakpoints)).condition == bpm.MessageCondition("withdraw")


def test_actions_read_as_words(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    shown = [w.action.itemText(i) for i in range(w.action.count())]
    assert shown == ["Pause", "Pause and highlight", "Log and continue"]
    state.breakpoints.add('kind == "crash"', action="pause_highlight")
    assert w.list.topLevelItem(0).text(3) == ACTION_LABELS["pause_highlight"]
    assert "pause_highlight" not in [w.list.topLevelItem(0).text(c) for c in range(6)]


def test_a_bad_where_clause_is_shown_with_its_column(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _editor(qtbot, state)
    w.pe_events.setText("crash")
    w.where.setText("t >")
    assert not w.b_add.isEnabled() and "column" in w.preview.text()
    w.where.setText("t > 1")
    assert w.b_add.isEnabled() and "(t > 1)" in w.preview.text()
