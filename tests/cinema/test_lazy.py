"""A package's lazy exports (cinema._lazy) are the objects their modules define."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_lazy_exports_are_the_modules_objects() -> None:
    import cinema.model
    from cinema.model.session import Session
    from cinema.model.world import World
    from recorder.payload.render import render_value

    assert cinema.model.Session is Session and cinema.model.World is World
    assert cinema.model.render_value is render_value
    for name in cinema.model.__all__:  # every declared export resolves
        getattr(cinema.model, name)


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    import cinema.model

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = cinema.model.nothing_here  # type: ignore[attr-defined]
    from cinema.model import filters

    assert filters.__name__ == "cinema.model.filters"


def test_importing_the_package_loads_no_export() -> None:
    code = (
        "import sys, cinema.model\n"
        "print(sorted(m for m in sys.modules if m.startswith('cinema.model')))\n"
        "from cinema.model import Session\n"
        "print('cinema.model.session' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["['cinema.model']", "True"]
