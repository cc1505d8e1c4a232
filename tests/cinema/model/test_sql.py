"""SQL over sessions: the tables hold exactly what the event rows and the message flow say, and
the same query gives the same answer over a Parquet copy of the tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cinema.cli import main
from cinema.model import present, sql
from cinema.model.flow import OUTCOMES, message_flow
from cinema.model.session import Session


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "bank.cinema"
    r = CliRunner().invoke(main, ["demo", "--headless", "--scenario", "bank", "--seed", "5",
                                  "--record", str(path)])  # fmt: skip
    assert r.exit_code == 0, r.output
    return path


def test_events_table_is_the_event_rows(bank: Path) -> None:
    with Session.open(bank) as s:
        table = sql.session_tables(s, ["events"])["events"]
        got = table.to_pylist()
        assert len(got) == s.event_count
        for ev, row in zip(s.events(), got, strict=True):
            want = present.event_row(s, ev)
            data = want.pop("data")
            assert {k: row[k] for k in want} == want
            assert (None if row["data"] is None else json.loads(row["data"])) == data
            assert row["text"] == present.data_text(ev.data)


def test_messages_and_processes(bank: Path) -> None:
    with Session.open(bank) as s:
        fl = message_flow(s)
        t = sql.session_tables(s, ["messages", "processes"])
        msgs = t["messages"].to_pydict()
        assert msgs["send_seq"] == fl.send_seq.tolist()
        assert msgs["outcome"] == [OUTCOMES[o] for o in fl.outcome.tolist()]
        assert msgs["size_bytes"] == fl.size_bytes().tolist()
        procs = t["processes"].to_pylist()
        assert [p["pid"] for p in procs] == sorted(s.processes)
        crashed = {p["pid"] for p in procs if p["ended"] == "crash"}
        assert crashed == {e.pid for e in s.events() if e.kind_name == "crash"}


QUERIES = [
    "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind",
    "SELECT process, data->>'$.reason' AS reason FROM events WHERE kind = 'crash' ORDER BY seq",
    "SELECT receiver_process, count(*), max(latency_ns) FROM messages "
    "WHERE outcome = 'received' GROUP BY 1 ORDER BY 1",
    "SELECT name, count(*) FROM processes WHERE ended = 'crash' GROUP BY 1 ORDER BY 1",
    "SELECT e.seq, p.behaviour FROM events e JOIN processes p ON e.pid = p.pid "
    "WHERE e.kind = 'restart' ORDER BY 1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_same_query_over_parquet(bank: Path, tmp_path: Path, query: str) -> None:
    import pyarrow.parquet as pq

    with Session.open(bank) as s:
        tables = sql.session_tables(s)
        direct = sql.connect(tables).execute(query).fetchall()
        for name, table in tables.items():
            pq.write_table(table, tmp_path / f"{name}.parquet")
    assert direct
    over = sql.connect(parquet=sql.parquet_tables(tmp_path)).execute(query).fetchall()
    assert over == direct


def test_counts_agree_with_the_reader(bank: Path) -> None:
    with Session.open(bank) as s:
        need, payloads = sql.needed_tables("SELECT kind, count(*) FROM events GROUP BY 1")
        assert need == {"events"} and not payloads
        con = sql.connect(sql.session_tables(s, need, payloads=payloads))
        got = dict(con.execute("SELECT kind, count(*) FROM events GROUP BY 1").fetchall())
        from recorder.events import KIND_NAMES

        assert got == {KIND_NAMES[k]: n for k, n in s.reader.kind_counts().items()}


def test_payloads_only_when_named() -> None:
    for q, want in [
        ("SELECT count(*) FROM events", False), ("SELECT * FROM events", True),
        ("SELECT e.* FROM events e", True), ("SELECT seq, data->>'$.x' FROM events", True),
        ("SELECT kind, count(*) FROM events GROUP BY 1", False),
        ("SELECT seq, text FROM events", True),
    ]:  # fmt: skip
        assert sql.needed_tables(q)[1] is want, q
