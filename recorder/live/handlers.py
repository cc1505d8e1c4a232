"""What each request of a live client does (the I/O thread dispatches; runtime work is a job).

Requests are maps ``{"op": NAME, "id": N, ...}``; the reply is ``{"re": N, "ok": true, ...}`` or
``{"re": N, "ok": false, "error": reason}``. ``docs/live.md`` lists every op and its fields.
Nothing in a request is ever evaluated as code: conditions are checked trees, interception
rules are declarative, new states are plain values (or field edits of the current state).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.live import _connection
from recorder.live.conditions import ConditionError, compile_tree
from recorder.live.feed import ClientFeed
from recorder.live.savefile import check_target
from recorder.live.scope import EventContext, LiveScope
from recorder.live.subscription import parse_subscription
from recorder.payload import Pid, freeze
from recorder.sandbox.errors import SandboxError
from recorder.sandbox.interception import apply_fields

if TYPE_CHECKING:
    from recorder.live.rewind import SystemSnapshot
    from recorder.live.server import LiveServer

__all__ = ["handle"]

log = logging.getLogger("recorder.live")

Reply = Callable[..., None]


def handle(server: LiveServer, client: Any, msg: dict[str, Any]) -> None:
    """Answer one request from an authenticated client."""
    op = msg.get("op")
    req_id = msg.get("id")

    def reply(ok: bool = True, **fields: Any) -> None:
        if req_id is not None:
            server.send(client, {"re": req_id, "ok": ok, **fields})

    fn = _OPS.get(op) if isinstance(op, str) else None
    if fn is None:
        reply(False, error=f"unknown op {op!r}")
        return
    try:
        fn(server, client, msg, reply)
    except (ValueError, TypeError, KeyError, ConditionError) as exc:
        reply(False, error=str(exc))


def _job(server: LiveServer, reply: Reply, work: Callable[[], dict[str, Any] | None]) -> None:
    """Run ``work`` on the runtime thread; its map (or error) becomes the reply."""
    ctl = server.control
    if ctl is None:
        reply(False, error="no runtime is attached to this server")
        return

    def job() -> None:
        try:
            result = work() or {}
        except (SandboxError, ValueError, TypeError, KeyError, IndexError, ConditionError) as exc:
            reply(False, error=str(exc))
            return
        except Exception as exc:  # never into the runtime: report and go on
            log.exception("live request failed")
            reply(False, error=f"{type(exc).__name__}: {exc}")
            return
        reply(True, **result)

    ctl.submit(job)


def _pid(msg: dict[str, Any]) -> Any:
    pid = msg.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool):
        return Pid(pid)
    if isinstance(pid, str) and pid:
        return pid
    raise ValueError("pid must be a process number or a registered name")


# --------------------------------------------------------------------------- streaming


def _subscribe(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    sub = parse_subscription(msg)
    if server.header is None:
        raise ValueError("the recording has not started yet; try again")
    if client.feed is not None:
        client.feed.close()
    feed = ClientFeed(server.ring, server.header, sub, server.history_file, server._decompress)
    client.feed = feed
    reply(seq_offset=feed.seq_offset, filtered=sub.filtered, subscription=sub.describe())
    server.wake()


def _unsubscribe(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    if client.feed is not None:
        client.feed.close()
        client.feed = None
    reply()


def _status(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    reply(
        paused=bool(ctl and ctl.paused),
        events=server.ring.event_count,
        ring=server.ring.stats(),
        clients=server.clients(),
        breakpoints=[b.describe() for b in ctl.breakpoints] if ctl else [],
        program_breakpoints=bool(ctl and ctl.pause_on_program_breakpoints),
        recording=[f.path for f, _ in server.recordings.files],
        session_file=server.session_file,
        missed=client.feed.missed if client.feed is not None else 0,
    )


def _ping(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    reply(t=msg.get("t"))


# --------------------------------------------------------------------------- running


def _pause(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    if ctl is None:
        raise ValueError("no runtime is attached to this server")
    ctl.request_pause(f"paused by {client.name or client.peer}")
    reply(already=ctl.paused)


def _resume(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    if ctl is not None:
        ctl.cancel_pause_request()

    def work() -> dict[str, Any]:
        if ctl is not None:
            ctl.resume()
        return {}

    _job(server, reply, work)


def _step(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    events = msg.get("events", 1)
    pid = msg.get("pid")
    if not isinstance(events, int) or not 1 <= events <= 1_000_000:
        raise ValueError("events must be an integer from 1 to 1,000,000")
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool)):
        raise ValueError("pid must be a process number")
    if ctl is None:
        raise ValueError("no runtime is attached to this server")
    if not ctl.paused:
        raise ValueError("the system is running: pause it before stepping")

    def work() -> dict[str, Any]:
        ctl.step(events, pid)
        return {}

    _job(server, reply, work)


def _pace(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    pace = msg.get("pace")
    if not isinstance(pace, (int, float)) or not 0 <= pace <= 10_000:
        raise ValueError("pace must be a number of seconds per virtual second (0: full speed)")
    ctl = server.control

    def work() -> dict[str, Any]:
        if ctl is not None:
            ctl.set_pace(float(pace))
        return {}

    _job(server, reply, work)


# --------------------------------------------------------------------------- breakpoints


def _break_add(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    if ctl is None:
        raise ValueError("no runtime is attached to this server")
    text, tree = msg.get("text"), msg.get("tree")
    if not isinstance(text, str) or tree is None:
        raise ValueError(
            "a breakpoint needs its text and its parsed tree (the server never parses text)"
        )
    bp = ctl.add_breakpoint(text, tree, once=bool(msg.get("once")), by=client.name)
    reply(breakpoint=bp.describe())
    server.broadcast({"op": "breakpoints", "list": [b.describe() for b in ctl.breakpoints]})


def _break_remove(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    bp_id = msg.get("bp")
    if ctl is None or not isinstance(bp_id, int):
        raise ValueError("bp must be a breakpoint id")
    removed = ctl.remove_breakpoint(bp_id)
    reply(removed=removed)
    server.broadcast({"op": "breakpoints", "list": [b.describe() for b in ctl.breakpoints]})


def _break_program(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    ctl = server.control
    if ctl is None:
        raise ValueError("no runtime is attached to this server")
    ctl.pause_on_program_breakpoints = bool(msg.get("on"))
    reply(on=ctl.pause_on_program_breakpoints)


# --------------------------------------------------------------------------- processes


def _info(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    from recorder.sandbox.introspection import process_info

    pid = _pid(msg)
    rt = server.runtime
    assert rt is not None
    _job(server, reply, lambda: {"info": freeze(process_info(rt, pid))})


def _processes(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    from recorder.sandbox.introspection import system_snapshot

    rt = server.runtime
    assert rt is not None
    _job(server, reply, lambda: {"system": freeze(system_snapshot(rt, top=20))})


def set_path(value: Any, path: list[Any], new: Any) -> Any:
    """``value`` with the item at ``path`` replaced by ``new`` (copies along the path: maps by
    key, lists and tuples by index, dataclasses and named tuples by field)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, list):
        if not isinstance(key, int) or not -len(value) <= key < len(value):
            raise KeyError(f"no index {key!r} in a list of {len(value)}")
        out = list(value)
        out[key] = set_path(value[key], rest, new)
        return out
    if isinstance(value, dict):
        if key not in value:
            raise KeyError(f"no key {key!r}")
        return {**value, key: set_path(value[key], rest, new)}
    current = _child(value, key)
    replaced = apply_fields(value, {key: set_path(current, rest, new)})
    if type(replaced) is object:
        raise KeyError(f"cannot set {key!r} in a {type(value).__name__}")
    return replaced


def _child(value: Any, key: Any) -> Any:
    if isinstance(value, tuple) and isinstance(key, int) and not hasattr(value, "_fields"):
        return value[key]
    if (
        isinstance(key, str)
        and hasattr(value, "__dataclass_fields__")
        and key in value.__dataclass_fields__
    ):
        return getattr(value, key)
    if isinstance(value, tuple) and hasattr(value, "_fields") and key in value._fields:
        return getattr(value, key)
    raise KeyError(f"no field {key!r} in a {type(value).__name__}")


def _set_state(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    pid = _pid(msg)
    path = msg.get("path", [])
    if not isinstance(path, list) or len(path) > 64:
        raise ValueError("path must be a list of keys / indices / field names")
    if "value" not in msg:
        raise ValueError("set_state needs a value")
    new = msg["value"]
    rt = server.runtime
    assert rt is not None

    def work() -> dict[str, Any]:
        proc = rt.process(pid)
        if not proc._has_state:
            raise ValueError(f"{proc.name} {proc.pid!r} is a plain process; it has no state")
        state = set_path(copy.deepcopy(proc.state), path, new) if path else new
        rt.replace_state(proc.pid, state)
        out: dict[str, Any] = {"state": freeze(state)}
        if rt.current is proc:
            out["warning"] = (
                f"{proc.name} is in the middle of a handler: the state it returns will replace "
                "this one"
            )
        return out

    _job(server, reply, work)


# --------------------------------------------------------------------------- interception


def _intercept_add(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    rt = server.runtime
    assert rt is not None
    action = msg.get("action")
    kwargs: dict[str, Any] = {}
    for key in ("sender", "receiver"):
        who = msg.get(key)
        if who is None:
            continue
        if isinstance(who, int) and not isinstance(who, bool):
            kwargs[key] = Pid(who)
        elif isinstance(who, str):
            kwargs[key] = who
        else:
            raise ValueError(f"{key} must be a process number or a registered name")
    for key in ("delay_ms", "probability"):
        if key in msg:
            if not isinstance(msg[key], (int, float)) or isinstance(msg[key], bool):
                raise ValueError(f"{key} must be a number")
            kwargs[key] = float(msg[key])
    if msg.get("set") is not None:
        if not isinstance(msg["set"], dict):
            raise ValueError("set must be a map of fields to new values")
        kwargs["set"] = msg["set"]
    where = msg.get("where")
    text = ""
    if where is not None:
        if not isinstance(where, dict) or "tree" not in where:
            raise ValueError("where must be {'text': ..., 'tree': ...} (a parsed condition)")
        test = compile_tree(where["tree"])
        text = str(where.get("text", ""))
        ctl = server.control
        assert ctl is not None
        ctx = EventContext(rt, ctl.current_seq, ctl.ctx.t0)

        def matches(message: Any) -> bool:
            # the message as its SEND event: msg, msg_type, data, kind == "send"
            return bool(test(LiveScope(ctx, 3, 0xFFFFFFFF, 0xFFFFFFFF, 0, message)))

        kwargs["message"] = matches

    def work() -> dict[str, Any]:
        rule = rt.interceptor.add(action, **kwargs)  # type: ignore[arg-type]
        info = rule.describe()
        info["message"] = text or "any"
        return {"rule": info}

    _job(server, reply, work)


def _intercept_remove(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    rt = server.runtime
    rule = msg.get("rule")
    if rt is None or not isinstance(rule, int):
        raise ValueError("rule must be a rule id")
    _job(server, reply, lambda: {"removed": rt.interceptor.remove(rule)})


def _intercept_list(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    rt = server.runtime
    assert rt is not None
    _job(server, reply, lambda: {"rules": [r.describe() for r in rt.interceptor.rules]})


# --------------------------------------------------------------------------- snapshots


def _snapshots(server: LiveServer) -> dict[int, SystemSnapshot]:
    return server.snapshots


def _snapshot(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    from recorder.live.rewind import take

    rt, ctl = server.runtime, server.control
    assert rt is not None and ctl is not None
    pids = msg.get("pids")
    if pids is not None and not (isinstance(pids, list) and all(isinstance(p, int) for p in pids)):
        raise ValueError("pids must be a list of process numbers")
    label = str(msg.get("label", ""))[:200]
    store = _snapshots(server)

    def work() -> dict[str, Any]:
        snap = take(rt, max(store, default=0) + 1, ctl.current_seq(), pids, label)
        store[snap.id] = snap
        return {"snapshot": snap.describe()}

    _job(server, reply, work)


def _restore(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    from recorder.live.rewind import restore

    rt = server.runtime
    assert rt is not None
    snap = _snapshots(server).get(msg.get("snapshot"))  # type: ignore[arg-type]
    if snap is None:
        raise ValueError(f"no snapshot {msg.get('snapshot')!r}")
    _job(server, reply, lambda: restore(rt, snap))


def _snapshot_list(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    reply(snapshots=[s.describe() for s in _snapshots(server).values()])


# --------------------------------------------------------------------------- server-side files


def _record_start(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    path = msg.get("path")
    if not isinstance(path, str) or not path or "\0" in path:
        raise ValueError("path must name the file to write (on the program's machine)")
    try:
        check_target(path)
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None

    def begun(error: str | None) -> None:
        if error is None:
            reply(path=path)
        else:
            reply(False, error=error)

    server.start_recording(path, begun)
    rt, ctl = server.runtime, server.control
    if rt is not None and ctl is not None:
        # the file starts at a keyframe: take one now, on the runtime's thread (a job also runs
        # while the program is paused or idle, when no housekeeping would take one)
        ctl.submit(rt.recording.keyframe)


def _record_stop(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    reply(files=server.stop_recording())


def _bye(server: LiveServer, client: Any, msg: dict[str, Any], reply: Reply) -> None:
    reply()
    _connection.close(server, client, "the client said goodbye", notify=False, linger=True)


_OPS: dict[str, Callable[[LiveServer, Any, dict[str, Any], Reply], None]] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "status": _status,
    "ping": _ping,
    "pause": _pause,
    "resume": _resume,
    "step": _step,
    "pace": _pace,
    "break_add": _break_add,
    "break_remove": _break_remove,
    "break_program": _break_program,
    "info": _info,
    "processes": _processes,
    "set_state": _set_state,
    "intercept_add": _intercept_add,
    "intercept_remove": _intercept_remove,
    "intercept_list": _intercept_list,
    "snapshot": _snapshot,
    "restore": _restore,
    "snapshots": _snapshot_list,
    "record_start": _record_start,
    "record_stop": _record_stop,
    "bye": _bye,
}
