"""Fixtures for the desktop app's tests: a recorded bank demo session, isolated settings."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


def record_bank(path: Path, **recorder_options: object) -> Path:
    """Record the bank scenario (crashes, supervisor restarts) deterministically."""
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.scenarios import run_scenario

    rt = Runtime(
        deterministic=True,
        seed=1,
        record=str(path),
        recorder_options={"flush_interval": None, **recorder_options},
    )
    run = rt.run

    def bounded(*args: object, **kwargs: object) -> None:
        # the scenario's final unbounded run() must end even if a timer keeps re-arming
        if not args and kwargs.get("until_ms") is None:
            kwargs["until_ms"] = 3000
        run(*args, **kwargs)  # type: ignore[arg-type]

    rt.run = bounded  # type: ignore[method-assign]
    run_scenario("bank", rt)
    rt.close()
    return path


@pytest.fixture(scope="session")
def bank_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_bank(tmp_path_factory.mktemp("bank") / "bank.cinema")


@pytest.fixture(scope="session")
def bank_frames_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank session in frames of 500 events: a stream of it grows in steps."""
    return record_bank(tmp_path_factory.mktemp("bank") / "bank-frames.cinema", frame_events=500)


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "cinema.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def state(bank_path: Path, qapp):  # type: ignore[no-untyped-def]
    from cinema.ui.app import load_state

    st = load_state(str(bank_path))
    st.autosave = False  # the session file is shared by every test: never write beside it
    st.seek(0)
    return st


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Qt's offscreen platform says this for every top-level window it shows; it is not ours.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(
                pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
            )
