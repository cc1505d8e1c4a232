"""``cinema sql``: formats, Parquet sources, and errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .conftest import cinema


def test_formats(demo: str) -> None:
    q = "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC, kind"
    code, out, err = cinema("sql", demo, q, "--format", "json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    _, events, _ = cinema("events", demo, "--json")
    kinds = [json.loads(line)["kind"] for line in events.splitlines()]
    assert {r["kind"]: r["n"] for r in rows} == {k: kinds.count(k) for k in set(kinds)}
    code, out, _ = cinema("sql", demo, q, "--format", "csv")
    parsed = list(csv.reader(io.StringIO(out)))
    assert parsed[0] == ["kind", "n"] and len(parsed) == len(rows) + 1
    code, out, _ = cinema("sql", demo, q)
    assert code == 0 and out.splitlines()[0].split() == ["kind", "n"]
    assert out.rstrip().endswith(f"({len(rows)} rows)")


def test_payload_columns(demo_files: dict[str, str]) -> None:
    q = "SELECT seq, text FROM events WHERE kind = 'crash' ORDER BY seq LIMIT 1"
    _, out, _ = cinema("sql", demo_files["bank"], q, "--format", "json")
    row = json.loads(out.splitlines()[0])
    _, line, _ = cinema("events", demo_files["bank"], "--from", f"#{row['seq']}", "--to",
                        f"#{row['seq']}")  # fmt: skip
    assert row["text"][:40] in line


def test_parquet_folder(demo_files: dict[str, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from cinema.model import sql
    from cinema.model.session import Session

    with Session.open(demo_files["chat"]) as s:
        for name, table in sql.session_tables(s).items():
            pq.write_table(table, tmp_path / f"{name}.parquet")
    q = "SELECT outcome, count(*) FROM messages GROUP BY 1 ORDER BY 1"
    a = cinema("sql", demo_files["chat"], q, "--format", "json")[1]
    b = cinema("sql", str(tmp_path), q, "--format", "json")[1]
    c = cinema("sql", str(tmp_path / "events.parquet"), "SELECT count(*) AS n FROM events")[1]
    assert a == b and a
    assert str(Session.open(demo_files["chat"]).event_count) in c


def test_errors(demo_files: dict[str, str], tmp_path: Path) -> None:
    code, _, err = cinema("sql", demo_files["bank"], "SELEKT 1")
    assert code == 2 and "SQL" in err
    code, _, err = cinema("sql", demo_files["bank"], "SELECT * FROM nosuchtable")
    assert code == 2
    code, _, err = cinema("sql", str(tmp_path / "missing.cinema"), "SELECT 1")
    assert code == 2
    code, _, err = cinema("sql", str(tmp_path), "SELECT 1")
    assert code == 2 and "no .parquet" in err


def test_files_are_refused_unless_allowed(demo_files: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    copy = f"COPY (SELECT kind FROM events) TO '{out}'"
    code, _, err = cinema("sql", demo_files["chat"], copy)
    assert code == 2 and "COPY to or from a file refused" in err and "--allow-files" in err
    assert not out.exists()
    code, _, err = cinema("sql", demo_files["chat"], "SELECT * FROM read_csv('/etc/passwd')")
    assert code == 2 and "reading a file" in err
    code, _, err = cinema("sql", demo_files["chat"], copy, "--allow-files")
    assert code == 0, err
    assert out.read_text().splitlines()[0] == "kind"
