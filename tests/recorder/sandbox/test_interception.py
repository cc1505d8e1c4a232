"""Interception rules: delay, drop (seeded probability), transform (declarative and callable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from recorder.events import EventKind
from recorder.sandbox import ANY, Process, Runtime
from recorder.testing import CaptureSink, as_recorded


async def collector(proc: Process, into: list[Any]) -> None:
    while True:
        into.append((await proc.receive(), proc.runtime.now_ms()))


def test_delay_records_intercept_delay_then_send_at_delivery(
    rt: Runtime, sink: CaptureSink
) -> None:
    got: list[Any] = []
    pid = rt.spawn(collector, got, register="c")
    rule = rt.interceptor.add("delay", receiver="c", message=("slow", ANY), delay_ms=40)
    rt.send(pid, ("slow", 1))
    rt.send(pid, "fast")
    rt.run()
    assert [m for m, _ in got] == ["fast", ("slow", 1)]
    assert got[1][1] >= 40
    kinds = [e.kind for e in sink.events if e.kind in (6, 7, 3, 4)]
    assert kinds[:2] == [EventKind.INTERCEPT, EventKind.DELAY]
    intercept = sink.events.of(EventKind.INTERCEPT)[0]
    delayed_send = next(e for e in sink.events.of(EventKind.SEND) if e.ref == intercept.ref)
    assert delayed_send.ts >= 40_000_000 and rule.applied == 1
    assert sink.events.of(EventKind.DELAY)[0].data == {"rule": rule.id, "delay_ms": 40}


def test_drop_with_probability_is_seeded(sink: CaptureSink) -> None:
    def dropped(seed: int) -> list[int]:
        capture = CaptureSink()
        rt = Runtime(deterministic=True, seed=seed, record=capture, profile_interval_ms=None)
        got: list[Any] = []
        pid = rt.spawn(collector, got)
        rt.interceptor.add("drop", receiver=pid, probability=0.5)
        for i in range(100):
            rt.send(pid, i)
        rt.run()
        drops = capture.events.of(EventKind.DROP)
        assert all(e.data["reason"] == "rule" for e in drops)
        assert len(got) + len(drops) == 100
        return [e.ref for e in drops]

    first = dropped(3)
    assert first == dropped(3) and 20 < len(first) < 80
    assert first != dropped(4)


def test_drop_event_order_is_intercept_send_drop(rt: Runtime, sink: CaptureSink) -> None:
    pid = rt.spawn(collector, [])
    rt.interceptor.add("drop", sender=None, receiver=pid)
    rt.send(pid, "x")
    rt.run()
    assert [e.kind for e in sink.events[-3:]] == [
        EventKind.INTERCEPT,
        EventKind.SEND,
        EventKind.DROP,
    ]


@dataclass(frozen=True)
class Order:
    item: str
    qty: int


@pytest.mark.parametrize(
    ("message", "fields", "expected"),
    [
        ({"item": "tea", "qty": 1}, {"qty": 9}, {"item": "tea", "qty": 9}),
        (("order", "tea", 1), {2: 9}, ("order", "tea", 9)),
        (Order("tea", 1), {"qty": 9}, Order("tea", 9)),
    ],
)
def test_declarative_transform(
    rt: Runtime, sink: CaptureSink, message: Any, fields: Any, expected: Any
) -> None:
    got: list[Any] = []
    pid = rt.spawn(collector, got)
    rt.interceptor.add("transform", receiver=pid, set=fields)
    rt.send(pid, message)
    rt.run()
    assert got[0][0] == expected
    (intercept,) = sink.events.of(EventKind.INTERCEPT)
    assert intercept.data["action"] == "transform"
    assert intercept.data["message"] == as_recorded(expected)  # as a session file shows it


def test_callable_transform_then_delay_chain(rt: Runtime) -> None:
    got: list[Any] = []
    pid = rt.spawn(collector, got)
    rt.interceptor.add("transform", transform=lambda m: m * 2, message=int)
    rt.interceptor.add("delay", delay_ms=5)
    rt.send(pid, 21)
    rt.run()
    assert got[0][0] == 42 and got[0][1] >= 5


def test_rules_validate_and_remove(rt: Runtime) -> None:
    with pytest.raises(ValueError, match="delay_ms"):
        rt.interceptor.add("delay")
    with pytest.raises(ValueError, match="exactly one"):
        rt.interceptor.add("transform")
    with pytest.raises(ValueError, match="probability"):
        rt.interceptor.add("drop", probability=2)
    rule = rt.interceptor.add("drop")
    assert rt.interceptor.remove(rule.id) and not rt.interceptor.active


@pytest.mark.parametrize("delay_ms", [float("inf"), float("nan"), 1e30, -1.0])
def test_a_delay_no_timer_can_hold_is_refused_before_it_reaches_a_sender(
    rt: Runtime, delay_ms: float
) -> None:
    # a live client's rule with such a delay used to crash the next process that sent
    # (OverflowError / ValueError turning it into a timer), a crash the program never had
    with pytest.raises(ValueError, match="delay_ms"):
        rt.interceptor.add("delay", delay_ms=delay_ms)
    with pytest.raises(ValueError, match="probability"):
        rt.interceptor.add("drop", probability=float("nan"))
    assert not rt.interceptor.active
