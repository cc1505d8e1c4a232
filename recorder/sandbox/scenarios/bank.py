"""A bank: accounts are GenServers, tellers move money with calls, things go wrong.

The supervision tree::

    bank_sup (one_for_one)
    ├── ledger            GenServer: the journal of every transfer (behind a slow link)
    ├── accounts_sup      one_for_one: one Account per customer, registered "acct-N"
    └── clearing_sup      one_for_one, at most 3 restarts in 1 s
        └── clearing      a flaky worker: crashes on every 7th batch; restarted each time,
                          until clearing_sup gives up and bank_sup restarts the whole branch

Tellers are plain processes: each makes transfers (``await proc.call(acct, ("transfer", ...))``
- the source account calls the destination itself), sometimes overdrawing (refused with
``("error", "insufficient_funds")``: a breakpoint fires). An auditor monitors the accounts, sums
their balances with short-timeout calls (one account is suspended for a while, so one audit call
times out), then demonitors. A director opens accounts dynamically, closes one, and installs
interception rules: ledger entries are delayed, some audit pings dropped, a deposit rewritten.
"""

from __future__ import annotations

import contextlib
from typing import Any

from recorder.sandbox import (
    ANY,
    CallError,
    ChildSpec,
    GenServer,
    Process,
    ReceiveTimeout,
    Runtime,
    Supervisor,
    SupervisorSpec,
    start_supervisor,
)
from recorder.sandbox.process import From

__all__ = ["run"]


class Account(GenServer):
    """A customer account: ``("balance",)``, ``("deposit", n)``, ``("transfer", to, n)``."""

    def init(self, owner: str, balance: int) -> Any:
        return ("ok", {"owner": owner, "balance": balance, "history": []})

    async def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Any:
        op = request[0]
        if op == "balance":
            return ("reply", state["balance"], state)
        if op == "deposit":
            state["balance"] += request[1]
            state["history"] = [*state["history"][-4:], ("in", request[1])]
            return ("reply", ("ok", state["balance"]), state)
        if op == "transfer":
            _, to, amount = request
            if amount > state["balance"]:
                self.process.breakpoint("overdraft")
                return ("reply", ("error", "insufficient_funds"), state)
            state["balance"] -= amount
            state["history"] = [*state["history"][-4:], ("out", amount)]
            try:
                await self.process.call(to, ("deposit", amount), timeout=1000)
            except CallError as exc:  # the other account is gone: put the money back
                state["balance"] += amount
                return ("reply", ("error", exc.reason), state)
            self.process.cast("ledger", ("transfer", state["owner"], to, amount))
            return ("reply", "ok", state)
        return ("reply", ("error", "unknown_request"), state)


class Ledger(GenServer):
    """The journal: counts transfers and keeps the last few."""

    def init(self) -> Any:
        return ("ok", {"entries": 0, "volume": 0, "last": []})

    def handle_cast(self, entry: Any, state: dict[str, Any]) -> Any:
        state["entries"] += 1
        state["volume"] += entry[3]
        state["last"] = [*state["last"][-2:], entry[1:]]
        return ("noreply", state)

    def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Any:
        return ("reply", dict(state), state)


class Clearing(GenServer):
    """Clears batches every 40 ms; every 7th batch hits a bug and the worker crashes."""

    def init(self) -> Any:
        self.process.send_after(40, self.process.pid, "tick")
        return ("ok", {"batches": 0})

    def handle_info(self, message: Any, state: dict[str, int]) -> Any:
        if message == "tick":
            state = {"batches": state["batches"] + 1}
            if state["batches"] % 7 == 0:
                raise RuntimeError(f"clearing batch {state['batches']}: counterparty file corrupt")
            self.process.send_after(40, self.process.pid, "tick")
        return ("noreply", state)


async def teller(proc: Process, accounts: list[str], transfers: int) -> None:
    rng = proc.runtime.rng
    for i in range(transfers):
        source, target = rng.sample(accounts, 2)
        amount = rng.choice((5, 10, 20, 50, 400))
        # The account may have crashed or been closed meanwhile: the teller moves on.
        with contextlib.suppress(CallError):
            await proc.call(source, ("transfer", target, amount), timeout=2000)
        await proc.sleep(rng.uniform(2, 12))
        if i == transfers // 2:
            proc.marker("teller halfway", teller=proc.name)


async def auditor(proc: Process, accounts: list[str], rounds: int) -> None:
    """Monitors every account, audits balances a few times, then stops monitoring."""
    await proc.sleep(1)  # the supervisors start the accounts first
    refs = [proc.monitor(name) for name in accounts]
    for _ in range(rounds):
        await proc.sleep(150)
        total = 0
        for name in accounts:
            try:
                total += await proc.call(name, ("balance",), timeout=30)
            except CallError as exc:
                proc.marker("audit gap", account=name, reason=str(exc.reason))
        proc.marker("audit", total=total)
        proc.send("ledger", ("audit_ping", total))
    for ref in refs:
        proc.demonitor(ref)
    try:
        while True:  # drain DOWN messages that arrived meanwhile
            await proc.receive(("DOWN", ANY, ANY, ANY), timeout=0)
    except ReceiveTimeout:
        pass


async def director(proc: Process, bank_accounts: list[str], scale: int) -> None:
    """Scripts the day: opens and closes accounts, suspends one, sets interception rules."""
    rt = proc.runtime
    rt.marker("bank opens", accounts=len(bank_accounts))
    proc.register("director")
    rt.interceptor.add("delay", receiver="ledger", message=("$cast", ANY), delay_ms=15)
    rt.interceptor.add("drop", receiver="ledger", message=("audit_ping", ANY), probability=0.5)
    rt.interceptor.add(
        "transform",
        receiver="acct-0",
        message=("$call", ANY, ("deposit", 50)),
        transform=lambda m: (m[0], m[1], ("deposit", 55)),
    )
    await proc.sleep(100)
    spec = ChildSpec(
        f"acct-{len(bank_accounts)}",
        Account,
        ("new customer", 500),
        name=f"acct-{len(bank_accounts)}",
    )
    await proc.call("accounts_sup", ("start_child", spec))
    await proc.sleep(200)
    rt.suspend("acct-1")  # a stuck account: audit calls to it time out meanwhile
    await proc.sleep(120)
    rt.resume("acct-1")
    await proc.sleep(300)
    await proc.call("accounts_sup", ("terminate_child", spec.id))
    await proc.call("accounts_sup", ("delete_child", spec.id))
    worker = proc.spawn(teller, bank_accounts[:2], 3 * scale, name="temp-teller")
    proc.link(worker)
    proc.unlink(worker)
    rt.unregister("director")
    rt.marker("bank closes")


def run(rt: Runtime, *, scale: int = 1) -> None:
    """Run the bank for a couple of seconds of runtime time."""
    accounts = [f"acct-{i}" for i in range(8 * scale)]
    account_specs = [
        ChildSpec(name, Account, (f"customer {i}", 100 + 25 * i), name=name)
        for i, name in enumerate(accounts)
    ]
    start_supervisor(
        rt,
        [
            ChildSpec("ledger", Ledger, name="ledger"),
            ChildSpec(
                "accounts_sup",
                Supervisor,
                (SupervisorSpec(tuple(account_specs)),),
                name="accounts_sup",
            ),
            ChildSpec(
                "clearing_sup",
                Supervisor,
                (
                    SupervisorSpec(
                        (ChildSpec("clearing", Clearing),), max_restarts=3, max_seconds=1.0
                    ),
                ),
            ),
        ],
        max_restarts=10,
        max_seconds=10.0,
        name="bank_sup",
    )
    for t in range(4 * scale):
        rt.spawn(teller, accounts, 60, name=f"teller-{t}")
    rt.spawn(auditor, accounts, 6, name="auditor")
    rt.spawn(director, accounts, scale, name="director")
    rt.run(until_ms=2500)
    rt.marker("closing time")
    rt.exit(rt.process("bank_sup").pid, "shutdown")  # the whole tree stops, children first
    rt.run(until_ms=rt.now_ms() + 500)
