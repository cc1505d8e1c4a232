"""No redacted string survives an export, in any format: the raw output bytes are searched, and
for a bundle every block of every frame, decompressed, too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from cinema.cli import main
from recorder.session.format import FILE_HEADER, FRAME_HEADER, unpack_frame_header

from ._secrets import KEPT, RULES, SECRETS, record_secrets

FORMATS = ("cinema", "jsonl", "chrome-trace", "parquet")


def _cinema(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output + (r.stderr if r.stderr_bytes else "")
    return r.stdout


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_secrets(tmp_path_factory.mktemp("secrets") / "vault.cinema")


def _all_bytes(path: Path) -> list[bytes]:
    """The file's bytes and, decompressed, what they hold: every block of every frame of a
    session, every value of every column of a Parquet file."""
    data = path.read_bytes()
    out = [data]
    if data.startswith(b"PAR1"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        out.append(json.dumps(table.to_pylist(), default=str).encode())
        out.append(str(pq.read_metadata(path).metadata).encode())
        return out
    if not data.startswith(b"\x89CINEMA\n"):
        return out
    dctx = zstandard.ZstdDecompressor()
    meta_len = int.from_bytes(data[12:16], "little")
    out.append(data[16 : 16 + meta_len])
    off = FILE_HEADER.size + meta_len
    while off + FRAME_HEADER.size <= len(data):
        if data[off : off + 4] != b"CFRM":
            break
        h = unpack_frame_header(data[off : off + FRAME_HEADER.size], off)
        body = data[off + FRAME_HEADER.size : h.end]
        at = 0
        for stored, raw in zip(h.stored, h.raw, strict=True):
            block = body[at : at + stored]
            at += stored
            if h.compressed and stored:
                block = dctx.decompress(block, max_output_size=raw)
            out.append(block)
        off = h.end
    return out


def test_the_recording_holds_every_secret(secrets_file: Path) -> None:
    blobs = b"".join(_all_bytes(secrets_file))
    for secret in SECRETS:
        assert secret.encode() in blobs, secret  # else the test below proves nothing


@pytest.mark.parametrize("cut", [(), ("--from", "#150"), ("--from", "#150", "-p", "sleeper")],
                         ids=["whole", "mid-run", "one process"])  # fmt: skip
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_redacted_string_survives(
    secrets_file: Path, tmp_path: Path, fmt: str, cut: tuple[str, ...]
) -> None:
    out = tmp_path / f"out.{fmt}"
    args = [str(secrets_file), "-o", str(out), "-f", fmt, *cut]
    for rule in RULES:
        args += ["--redact", rule]
    _cinema("export", *args)
    blobs = _all_bytes(out)
    for secret in SECRETS:
        for blob in blobs:
            assert secret.encode() not in blob, f"{secret!r} survived in {fmt}"
    text = b"".join(blobs)
    for kept in KEPT if not cut else ():
        assert kept.encode() in text, f"{kept!r} was redacted though no rule names it"
    assert b"[redacted str" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_report_names_rules_and_places_never_values(
    secrets_file: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"out.{fmt}"
    args = [str(secrets_file), "-o", str(out), "-f", fmt, "--json"]
    for rule in RULES:
        args += ["--redact", rule]
    doc = json.loads(_cinema("export", *args))
    report = doc["redaction"]
    text = json.dumps(report)
    for secret in SECRETS:
        assert secret not in text
    by_rule = report["by_rule"]
    for rule in ("key:password", "key:token", "key:api_key", "key:authorization",
                 "path:state.card.number", r"re:sk_live_[0-9a-f]{12}"):  # fmt: skip
        assert by_rule.get(rule, 0) > 0, (rule, by_rule)
    places = {(p["rule"], p["where"], p["path"]) for p in report["places"]}
    assert ("key:password", "state", "data.state.password") in places
    assert ("path:state.card.number", "state", "data.state.card.number") in places
    assert any(p[0].startswith("re:") and p[1] == "crash" for p in places)
