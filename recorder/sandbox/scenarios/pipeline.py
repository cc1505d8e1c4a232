"""A data pipeline with back-pressure: source -> parse -> enrich (slow) -> sink.

The source holds credits: it may have at most ``WINDOW`` records in flight; the sink returns a
credit for every record it stores. The enrich stage is slow (it waits on a pretend lookup), so
its mailbox grows up to the window, and the source then blocks waiting for credits (receive
timeouts, markers "back-pressure"). A breakpoint fires when enrich's backlog passes 40.

``pipeline_sup`` is ``rest_for_one``: when ``parse`` crashes on a malformed record, it and every
stage after it restart. The source monitors the enrich stage, links a metrics helper (and
unlinks it), and an operator suspends the sink for a while, adds and removes an audit stage
(dynamic child), and sets interception rules: records to the sink are delayed, metrics pings
dropped at random, and a field of some records rewritten.
"""

from __future__ import annotations

from typing import Any

from recorder.sandbox import (
    ANY,
    ChildSpec,
    GenServer,
    Process,
    ReceiveTimeout,
    Runtime,
    start_supervisor,
)
from recorder.sandbox.process import From

__all__ = ["run"]

WINDOW = 48


class Parse(GenServer):
    """Turns raw lines into records; a malformed line crashes it."""

    def init(self) -> Any:
        return ("ok", {"parsed": 0})

    def handle_cast(self, request: Any, state: dict[str, int]) -> Any:
        seq, line = request
        if line.startswith("#"):
            raise ValueError(f"malformed line {seq}: {line!r}")
        key, _, value = line.partition("=")
        self.process.cast("enrich", {"seq": seq, "key": key, "value": int(value)})
        return ("noreply", {"parsed": state["parsed"] + 1})


class Enrich(GenServer):
    """The slow stage: each record waits on a 4 ms lookup."""

    def init(self) -> Any:
        return ("ok", {"enriched": 0, "max_backlog": 0})

    async def handle_cast(self, record: Any, state: dict[str, int]) -> Any:
        backlog = self.process.mailbox_len
        if backlog > 40 and backlog > state["max_backlog"]:
            self.process.breakpoint("backlog")
        state["max_backlog"] = max(state["max_backlog"], backlog)
        await self.process.sleep(4)
        self.process.cast("sink", {**record, "region": "eu" if record["value"] % 2 else "us"})
        state["enriched"] += 1
        return ("noreply", state)


class Sink(GenServer):
    """Stores records and hands a credit back to the source for each."""

    def init(self) -> Any:
        return ("ok", {"stored": 0, "total": 0})

    def handle_cast(self, record: Any, state: dict[str, int]) -> Any:
        state["stored"] += 1
        state["total"] += record["value"]
        source = self.process.runtime.whereis("source")
        if source is not None:  # the source may be done already
            self.process.send(source, ("credit", 1))
        return ("noreply", state)

    def handle_call(self, request: Any, from_: From, state: dict[str, int]) -> Any:
        return ("reply", dict(state), state)


class Audit(GenServer):
    """A temporary stage an operator adds for a while: counts metrics pings."""

    def init(self) -> Any:
        return ("ok", 0)

    def handle_info(self, message: Any, state: int) -> Any:
        return ("noreply", state + 1)


async def metrics(proc: Process) -> None:
    while True:
        await proc.sleep(25)
        if proc.runtime.whereis("audit") is not None:
            proc.send("audit", ("metrics", proc.runtime.now_ms()))


async def source(proc: Process, records: int) -> None:
    proc.register("source")
    await proc.sleep(1)  # the supervisor starts the stages first
    watch = proc.monitor("enrich")
    helper = proc.spawn_link(metrics, name="metrics")
    credits = WINDOW
    for seq in range(records):
        waits = 0
        while credits == 0:
            try:
                message = await proc.receive(("credit", ANY), timeout=30)
                credits += message[1]
            except ReceiveTimeout:
                waits += 1
                proc.marker("back-pressure", waiting_for="credit", seq=seq)
                if waits == 8:  # records in flight died with a restarted stage: resync
                    credits = WINDOW // 2
                    proc.marker("credits reclaimed", credits=credits)
                    try:
                        await proc.receive(("DOWN", watch, ANY, ANY), timeout=0)
                        watch = proc.monitor("enrich")  # the restarted enrich stage
                    except ReceiveTimeout:
                        pass
        line = f"#broken {seq}" if seq % 97 == 96 else f"k{seq % 10}={seq}"
        proc.cast("parse", (seq, line))
        credits -= 1
        try:
            while True:  # take the credits that came back, without waiting
                message = await proc.receive(("credit", ANY), timeout=0)
                credits += message[1]
        except ReceiveTimeout:
            pass
        await proc.sleep(1)
    proc.demonitor(watch)
    proc.unlink(helper)
    proc.exit_process(helper, "kill")
    proc.marker("source done", records=records)


async def operator(proc: Process) -> None:
    rt = proc.runtime
    rt.interceptor.add("delay", receiver="sink", delay_ms=2)
    rt.interceptor.add("drop", message=("metrics", ANY), probability=0.25)
    rt.interceptor.add("transform", receiver="sink", message={"key": "k7"}, set={"key": "k7*"})
    await proc.sleep(300)
    await proc.call("pipeline_sup", ("start_child", ChildSpec("audit", Audit, name="audit")))
    rt.suspend("sink")
    await proc.sleep(80)
    rt.resume("sink")
    await proc.sleep(400)
    await proc.call("pipeline_sup", ("terminate_child", "audit"))
    await proc.call("pipeline_sup", ("delete_child", "audit"))


def run(rt: Runtime, *, scale: int = 1) -> None:
    """Push ``600 * scale`` records through the pipeline (a few seconds of runtime time)."""
    start_supervisor(
        rt,
        [
            ChildSpec("parse", Parse, name="parse"),
            ChildSpec("enrich", Enrich, name="enrich"),
            ChildSpec("sink", Sink, name="sink"),
        ],
        strategy="rest_for_one",
        max_restarts=20,
        max_seconds=5.0,
        name="pipeline_sup",
    )
    rt.marker("pipeline starts", window=WINDOW)
    rt.spawn(source, 600 * scale, name="source")
    rt.spawn(operator, name="operator")
    rt.run(until_ms=600 * scale * 6 + 1000)
    rt.marker("pipeline drains")
    supervisor = rt.whereis("pipeline_sup")
    if supervisor is not None:
        rt.exit(supervisor, "shutdown")
    rt.run(until_ms=rt.now_ms() + 200)
