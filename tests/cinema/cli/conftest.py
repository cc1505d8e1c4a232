"""Fixtures for the command tests: sandbox recordings of the three demos, and the JSON Schema
validators of docs/schema/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cinema.cli import main

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "docs" / "schema"
DEMOS = ("bank", "chat", "pipeline")


def cinema(*args: str) -> tuple[int, str, str]:
    """Run ``cinema ARGS`` in-process: exit code, stdout, stderr."""
    r = CliRunner().invoke(main, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The three demos recorded by the sandbox, as a user records them (seed 5)."""
    folder = tmp_path_factory.mktemp("demos")
    out = {}
    for scenario in DEMOS:
        path = str(folder / f"{scenario}.cinema")
        code, _, err = cinema(
            "demo", "--headless", "--scenario", scenario, "--seed", "5", "--record", path
        )
        assert code == 0, err
        out[scenario] = path
    return out


@pytest.fixture(params=DEMOS)
def demo(request: pytest.FixtureRequest, demo_files: dict[str, str]) -> str:
    """Each demo recording in turn."""
    return demo_files[request.param]


@pytest.fixture(scope="session")
def validator() -> Callable[[str], Any]:
    """``validator("event-row")``: a Draft 2020-12 validator of ``docs/schema/event-row.json``,
    with every schema of the folder resolvable by its ``$id``."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    docs = {p.stem: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}
    for doc in docs.values():
        Draft202012Validator.check_schema(doc)
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs.values()
    )

    def make(name: str) -> Any:
        return Draft202012Validator(docs[name], registry=registry)

    return make
