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


# A query a teammate sends with a session runs on the receiver's machine: by default it sees
# the session's tables and nothing else (real DuckDB, real files).
REFUSED = [
    ("COPY events TO '{out}'", "COPY to or from a file"),
    ("COPY (SELECT 1 AS one) TO '{out}' (FORMAT csv)", "COPY to or from a file"),
    ("SELECT * FROM read_csv('/etc/passwd', sep = ':')", "reading a file"),
    ("SELECT * FROM read_text('/etc/passwd')", "reading a file"),
    ("SELECT * FROM glob('/etc/*')", "reading a file"),
    ("ATTACH '{out}' AS other", "ATTACH of a database file"),
    ("INSTALL httpfs", "INSTALL or LOAD of an extension"),
    ("EXPORT DATABASE '{dir}'", "EXPORT DATABASE"),
    ("SET enable_external_access = true", "a change of settings"),
    ("RESET lock_configuration", "a change of settings"),
]


@pytest.mark.parametrize(("query", "tried"), REFUSED)
def test_a_locked_connection_refuses_files(
    bank: Path, tmp_path: Path, query: str, tried: str
) -> None:
    import duckdb

    out = tmp_path / "out.file"
    q = query.format(out=out, dir=tmp_path / "exported")
    with Session.open(bank) as s:
        con = sql.connect(sql.session_tables(s, ["events"], payloads=False))
        assert con.execute("SELECT count(*) FROM events").fetchone() == (s.event_count,)
        with pytest.raises(duckdb.Error) as caught:
            con.execute(q)
        assert sql.is_refusal(caught.value)
        message = sql.refusal(con, q, caught.value)
        assert message.startswith(f"SQL: {tried}") and "--allow-files" in message
        assert con.execute("SELECT count(*) FROM events").fetchone() == (s.event_count,)
    assert not out.exists() and not (tmp_path / "exported").exists()


def test_a_wrong_query_is_no_refusal(bank: Path) -> None:
    import duckdb

    with Session.open(bank) as s:
        con = sql.connect(sql.session_tables(s, ["events"], payloads=False))
        for q in ("SELEKT 1", "SELECT nosuchcolumn FROM events", "SELECT * FROM nosuchtable"):
            with pytest.raises(duckdb.Error) as caught:
                con.execute(q)
            assert not sql.is_refusal(caught.value), q


def test_a_parquet_source_cannot_be_overwritten(bank: Path, tmp_path: Path) -> None:
    import duckdb
    import pyarrow.parquet as pq

    with Session.open(bank) as s:
        pq.write_table(sql.session_tables(s, ["events"])["events"], tmp_path / "events.parquet")
        n = s.event_count
    before = (tmp_path / "events.parquet").read_bytes()
    con = sql.connect(parquet=sql.parquet_tables(tmp_path))
    target = str(tmp_path / "events.parquet")
    with pytest.raises(duckdb.Error) as caught:
        con.execute(f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet, USE_TMP_FILE false)")
    assert sql.is_refusal(caught.value)
    assert (tmp_path / "events.parquet").read_bytes() == before
    assert con.execute("SELECT count(*) FROM events").fetchone() == (n,)


def test_allow_files_lets_a_query_write_and_read_files(bank: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "kinds.csv")
    with Session.open(bank) as s:
        con = sql.connect(sql.session_tables(s, ["events"], payloads=False), allow_files=True)
        con.execute(f"COPY (SELECT DISTINCT kind FROM events ORDER BY 1) TO '{out}'")
        back = con.execute(f"SELECT count(*) FROM read_csv('{out}')").fetchone()
        kinds = con.execute("SELECT count(DISTINCT kind) FROM events").fetchone()
    assert back == kinds and back is not None and back[0] > 1


def test_a_file_that_is_not_parquet_is_a_clear_error(tmp_path: Path) -> None:
    from cinema.model.errors import ModelError

    (tmp_path / "events.parquet").write_text("not parquet")
    with pytest.raises(ModelError, match="not a readable Parquet file"):
        sql.connect(parquet=sql.parquet_tables(tmp_path))
