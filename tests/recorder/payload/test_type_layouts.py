"""The native encoder learns a type's display name and dataclass fields once (a per-type layout
cache); whatever changes a type afterwards, it writes the bytes the pure-Python encoder writes,
which reads everything again for every value."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from recorder.payload import DEFAULT_LIMITS, Limits, decode_payload

from .conftest import both


def _same(value: Any, lim: Limits | None = None) -> bytes:
    py, native = both()
    lim = DEFAULT_LIMITS if lim is None else lim
    data = py(value, lim)
    assert native(value, lim) == data
    return data


def _fresh_dataclass() -> type:
    @dataclasses.dataclass
    class Account:
        name: str
        balance: int = 0
        recent: list[int] = dataclasses.field(default_factory=list)

    return Account


def test_a_renamed_type_is_written_with_its_new_name() -> None:
    cls = _fresh_dataclass()
    value = cls("a", 5, [1])
    first = _same(value)
    _same(value)  # from the cache
    cls.__qualname__ = "Renamed"
    renamed = _same(value)
    assert renamed != first and b"Renamed" in renamed
    cls.__module__ = "elsewhere"
    moved = _same(value)
    assert b"elsewhere.Renamed" in moved


def test_fields_changed_in_place_are_read_again() -> None:
    cls = _fresh_dataclass()
    value = cls("a", 5, [1])
    whole = _same(value)
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    recent = fields.pop("recent")  # the same dict, one field fewer: no new type version
    fewer = _same(value)
    assert fewer != whole and b"recent" not in fewer
    fields["recent"] = recent
    assert _same(value) == whole
    # a Field replaced by a ClassVar-like pseudo-field: not a real field any more
    pseudo = dataclasses.field()
    pseudo.name = "recent"
    pseudo._field_type = dataclasses._FIELD_CLASSVAR  # type: ignore[attr-defined]
    fields["recent"] = pseudo
    assert b"recent" not in _same(value)


def test_the_name_is_cut_to_each_call_s_limits() -> None:
    cls = _fresh_dataclass()
    cls.__qualname__ = "A" * 60
    value = cls("a")
    long = _same(value, Limits(max_repr=200))
    short = _same(value, Limits(max_repr=10))
    assert short != long
    assert _same(value, Limits(max_repr=200)) == long


def test_many_types_share_the_cache_without_mixing_up() -> None:
    classes = [_fresh_dataclass() for _ in range(200)]
    for i, cls in enumerate(classes):
        cls.__qualname__ = f"Kind{i}"

    class Pair(NamedTuple):
        left: Any
        right: Any

    for _ in range(2):
        for i, cls in enumerate(classes):
            data = _same(Pair(cls(str(i), i), cls("x")))
            assert f"Kind{i}" in repr(decode_payload(data))
