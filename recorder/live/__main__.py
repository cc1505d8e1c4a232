"""``python -m recorder.live``: run a demo scenario with a live server, for attaching to.

What ``cinema demo`` runs in a child process (the window attaches to it), and what the tests
and benchmarks observe. Prints one line, ``LISTENING <address> <connection file>``, once the
server is up; with ``--linger`` the program stays inspectable after the scenario ends, until
it is killed or its standard input closes.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any


def _storm(rt: Any, seconds: float, payload: int = 0) -> None:
    """Ping-pong pairs that keep the sandbox busy for ``seconds`` of runtime clock; pings carry
    ``payload`` random bytes (incompressible: the stream is then that much bigger)."""
    import os

    make = (lambda: os.urandom(payload)) if payload else (lambda: None)

    async def ponger(proc: Any) -> None:
        while True:
            message = await proc.receive()
            if message is None:
                return
            proc.send(message[0], proc.pid)

    async def pinger(proc: Any, partner: Any, until_ns: int) -> None:
        clock = proc.runtime.clock
        n = 0
        while clock() < until_ns:
            proc.send(partner, (proc.pid, make()))
            await proc.receive()
            n += 1
        proc.send(partner, None)

    until = rt.clock() + int(seconds * 1e9)
    for _ in range(10):
        rt.spawn(pinger, rt.spawn(ponger, name="ponger"), until, name="pinger")
    rt.run()


def _metadata(scenario: str, scale: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"scenario": scenario, "program": f"live demo {scenario}"}
    if scenario != "storm":  # a built-in scenario: `cinema verify` re-runs it as a demo
        from recorder.sandbox.scenarios import scenario_rerun

        meta["scale"] = scale
        meta["rerun"] = scenario_rerun(scenario, scale=scale)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recorder.live", description=__doc__)
    parser.add_argument("--scenario", default="bank", help="bank, chat, pipeline or storm")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--listen", default="tcp", help="PORT, HOST:PORT, unix[:PATH] or tcp")
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--record", default=None, help="also write this session file")
    parser.add_argument("--pace", type=float, default=0.0, help="wall s per virtual s")
    parser.add_argument("--seconds", type=float, default=5.0, help="storm: how long")
    parser.add_argument("--payload", type=int, default=0, help="storm: bytes per ping")
    parser.add_argument("--paused", action="store_true", help="start paused")
    parser.add_argument("--linger", action="store_true", help="stay up after the scenario")
    parser.add_argument("--ring-events", type=int, default=500_000)
    parser.add_argument("--stall-timeout", type=float, default=30.0)
    parser.add_argument("--hello-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)

    from recorder.sandbox import Runtime
    from recorder.sandbox.scenarios import SCENARIOS

    deterministic = args.scenario != "storm"
    rt = Runtime(
        deterministic=deterministic,
        seed=args.seed,
        record=args.record,
        metadata=_metadata(args.scenario, args.scale),
        listen=args.listen,
        live_options={
            "pace": args.pace,
            "allow_remote": args.allow_remote,
            "ring_events": args.ring_events,
            "stall_timeout": args.stall_timeout,
            "hello_timeout": args.hello_timeout,
            "announce": True,
        },
        profile_interval_ms=None if args.scenario == "storm" else 100.0,
    )
    live = rt.live
    assert live is not None and live.control is not None
    print(f"LISTENING {live.where} {live.connection_file}", flush=True)
    if args.paused:
        live.control.request_pause("started paused")
    stdin_closed = threading.Event()

    def watch_stdin() -> None:
        try:
            while sys.stdin.read(1):
                pass
        except (OSError, ValueError):
            pass
        stdin_closed.set()

    if args.linger:
        threading.Thread(target=watch_stdin, daemon=True).start()
    import resource
    import time

    started = time.perf_counter()
    try:
        if args.scenario == "storm":
            _storm(rt, args.seconds, args.payload)
        else:
            if args.scenario not in SCENARIOS:
                parser.error(f"unknown scenario {args.scenario!r}")
            SCENARIOS[args.scenario](rt, scale=args.scale)
        rt.recording.keyframe()
        flush = getattr(rt.recording.sink, "flush", None)
        if callable(flush):
            flush()
        elapsed = time.perf_counter() - started
        rss_kb = _peak_rss_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        ring = live.ring.stats()
        print(
            f"FINISHED events={rt.recording.events_emitted()} seconds={elapsed:.6f} "
            f"peak_rss_kb={rss_kb} ring_peak_bytes={ring['peak_bytes']}",
            flush=True,
        )
        if args.linger:
            live.control.serve_idle(stdin_closed.is_set)
    finally:
        rt.close()
    return 0


def _peak_rss_kb(maxrss: int) -> int:
    """This interpreter's peak resident memory in KiB: Linux's VmHWM, which belongs to the
    address space exec made. ``ru_maxrss`` (the fallback) also counts the parent's memory
    when this process was forked from a big one: the live benchmark's server figure was the
    benchmark's own size, the same with and without clients."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return maxrss // 1024 if sys.platform == "darwin" else maxrss


if __name__ == "__main__":
    sys.exit(main())
