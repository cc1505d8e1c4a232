"""Live attach: a server inside the observed program that Cinema attaches to (``docs/live.md``).

Start it with ``Runtime(listen=...)``, with the ``CINEMA_LISTEN`` environment variable (what
``cinema record --listen`` and ``cinema demo`` set), or by hand with :class:`LiveServer`.
A client (:class:`LiveClient`, ``cinema attach``) watches the events as they happen, scrubs back
through the flight recorder (and the session file, when one is written), pauses the program,
steps it, sets breakpoints evaluated inside it, edits states, adds interception rules, and
takes and restores snapshots.

Layers (lowest first; the ``recorder.live`` contract in ``pyproject.toml`` holds them):
``conditions``, ``protocol``, ``sockfile``, ``switch``, ``_logs`` <- ``restream``, ``ring``,
``subscription``, ``auth`` <- ``feed``, ``rewind``, ``scope``, ``savefile`` <- ``_connection``,
``control``, ``_recordings``, ``_address`` <- ``handlers`` <- ``server`` <- ``client`` <-
``__main__``. Nothing here imports Qt or ``cinema``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from recorder.live.auth import ConnectionInfo, list_sessions, runtime_dir
from recorder.live.client import LiveClient, LiveError
from recorder.live.protocol import PROTOCOL, ProtocolError
from recorder.live.server import Address, LiveServer, parse_address

__all__ = [
    "ENV_LISTEN",
    "ENV_LISTEN_OPTIONS",
    "LIVE_FLUSH_INTERVAL",
    "PROTOCOL",
    "Address",
    "ConnectionInfo",
    "LiveClient",
    "LiveError",
    "LiveServer",
    "ProtocolError",
    "list_sessions",
    "listen_target",
    "parse_address",
    "prepare",
    "runtime_dir",
]

#: ``CINEMA_LISTEN=ADDRESS``: the first runtime of the program listens there.
ENV_LISTEN = "CINEMA_LISTEN"
#: ``CINEMA_LISTEN_OPTIONS=key=value,...``: ``allow_remote=1``, ``pace=0.5``, ``ring_events=N``.
ENV_LISTEN_OPTIONS = "CINEMA_LISTEN_OPTIONS"
#: How often the recorder cuts a frame while a live server listens (seconds): the latency floor.
LIVE_FLUSH_INTERVAL = 0.02

_env_used = False


def listen_target(listen: Any) -> Any:
    """``listen`` if given, else ``CINEMA_LISTEN`` (for the program's first runtime only)."""
    global _env_used
    if listen is not None:
        return listen
    text = os.environ.get(ENV_LISTEN, "").strip()
    if not text or _env_used:
        return None
    _env_used = True
    return text


def _env_options() -> dict[str, Any]:
    out: dict[str, Any] = {"announce": True}
    text = os.environ.get(ENV_LISTEN_OPTIONS, "")
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        if key == "allow_remote":
            out[key] = value.strip().lower() in ("1", "true", "yes")
        elif key == "pace":
            out[key] = float(value)
        elif key in ("ring_events", "ring_bytes"):
            out[key] = int(value)
        elif key in ("stall_timeout",):
            out[key] = float(value)
    return out


def prepare(
    listen: Any,
    recorder_options: dict[str, Any],
    live_options: dict[str, Any] | None,
    from_env: bool,
) -> tuple[LiveServer | None, float, dict[str, Any]]:
    """Bind the server before the runtime opens its recorder; returns the server, its pace and
    the recorder options (short flush interval, the server as an output).

    A server the environment asked for (``CINEMA_LISTEN``, the program's code did not) that
    cannot start -- a port in use, a bad address or option, a path that is not a socket --
    must not stop the program: one line on stderr, and the program runs without live attach
    (``None``). A server the code asked for raises, as any bad argument does.
    """
    try:
        options = dict(_env_options() if from_env else {})
        options.update(live_options or {})
        pace = float(options.pop("pace", 0.0))
        server = LiveServer(listen, **options)
    except (OSError, ValueError) as exc:
        if not from_env:
            raise
        sys.stderr.write(
            f"cinema live: cannot listen on {listen!r} ({ENV_LISTEN}): {exc}; "
            "the program runs without live attach\n"
        )
        return None, 0.0, recorder_options
    rec = {"flush_interval": LIVE_FLUSH_INTERVAL, **recorder_options}
    rec["outputs"] = [*rec.get("outputs", ()), server.output]
    return server, pace, rec
