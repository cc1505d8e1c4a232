"""A real sandbox program that holds secrets everywhere an export could leak them: process
states (keyed and at a field path), messages (sent, queued at a keyframe, intercepted), record
fields, crash errors and tracebacks, a process name.

:func:`record_secrets` records it (keyframes every 64 events, so keyframe states and queued
mailboxes hold secrets too); :data:`SECRETS` are the strings that must not survive an export
with :data:`RULES`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.sandbox import CallError, GenServer, Process, ReceiveTimeout, Runtime

__all__ = ["KEPT", "RULES", "SECRETS", "record_secrets"]

PASSWORD = "hunter2-pw-7731"
TOKEN = "tok-5e9f-77aa-c0de"
CARD = "4111-2222-3333-4444"
STRIPE = "sk_live_0123456789ab"
API_KEY = "AKIA-SECRET-93x1"
BEARER = "Bearer abc.def.ghi-71"
NAME_KEY = "sk_live_aaaabbbbcccc"

#: Every string that must be gone from the output, in every format.
SECRETS = (PASSWORD, TOKEN, CARD, STRIPE, API_KEY, BEARER, NAME_KEY)
#: ``--redact`` rules on top of the defaults (password, token, secret, authorization, api_key).
RULES = ("path:state.card.number", r"re:sk_live_[0-9a-f]{12}")
#: Strings that stay (redaction cuts what the rules say, not more).
KEPT = ("Ann Smith", "login", "vault")


@dataclass
class Credentials:
    user: str
    api_key: str


@dataclass
class VaultState:
    user: str = "ann"
    password: str = PASSWORD
    card: dict[str, Any] = field(default_factory=lambda: {"holder": "Ann Smith", "number": CARD})
    creds: Credentials = field(default_factory=lambda: Credentials("ann", API_KEY))
    logins: int = 0


class Vault(GenServer):
    def init(self) -> Any:
        return ("ok", VaultState())

    def handle_call(self, request: Any, from_: Any, state: VaultState) -> Any:
        if request[0] == "leak":
            raise RuntimeError(f"refusing to log key {STRIPE}")
        state.logins += 1
        return ("reply", ("ok", {"headers": {"Authorization": BEARER}}), state)

    def handle_cast(self, request: Any, state: VaultState) -> Any:
        return ("noreply", state)


async def _client(proc: Process, rounds: int, sleeper: Any) -> None:
    for i in range(rounds):
        await proc.call("vault", ("login", {"user": "ann", "token": TOKEN, "n": i}))
        proc.send(sleeper, ("note", f"charge via {STRIPE} #{i}", {"password": PASSWORD}))
    with contextlib.suppress(CallError):
        await proc.call("vault", ("leak",))


async def _sleeper(proc: Process) -> None:
    # Lets its mailbox fill (keyframes list queued messages), then drains it.
    await proc.sleep(50)
    try:
        while True:
            await proc.receive(timeout=100)
    except ReceiveTimeout:
        return


async def _named(proc: Process) -> None:
    await proc.receive(timeout=10)


def record_secrets(path: str | Path, rounds: int = 40) -> Path:
    """Record the program to ``path`` (deterministic)."""
    options = {"flush_interval": None, "frame_events": 64}
    with Runtime(
        deterministic=True,
        seed=3,
        record=str(path),
        recorder_options=options,
        keyframe_min_events=32,
    ) as rt:
        rt.start(Vault, name="vault")
        sleeper = rt.spawn(_sleeper, name="sleeper")
        rt.spawn(_named, name=f"svc-{NAME_KEY}")
        rt.spawn(_client, rounds, sleeper, name="client")
        rt.run()
    return Path(path)
