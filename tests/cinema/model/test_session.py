"""Session: live feed gives the same answers as the file; subscribers hear growth."""

from __future__ import annotations

import random
from pathlib import Path

from cinema.model import Session

from ._gen import comparable_model, generate


def test_live_feed_in_random_chunks_matches_file(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    generate(path, 9, 300, 8)
    data = path.read_bytes()
    live = Session.live()
    heard: list[int] = []
    live.subscribe(heard.append)
    rng = random.Random(4)
    pos = 0
    while pos < len(data):
        step = rng.randint(1, 700)
        live.feed(data[pos : pos + step])
        pos += step
        if live.event_count:  # ask questions while it grows
            live.world_at(live.event_count - 1)
    with Session.open(path) as f:
        assert live.event_count == f.event_count == sum(heard)
        for seq in range(0, f.event_count, 13):
            assert comparable_model(live.world_at(seq)) == comparable_model(f.world_at(seq))
        assert live.process_name(0) == f.process_name(0) == "p0"


def test_broken_subscriber_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    generate(path, 1, 50, 8)
    live = Session.live()

    def boom(n: int) -> None:
        raise RuntimeError("subscriber bug")

    live.subscribe(boom)
    got: list[int] = []
    unsubscribe = live.subscribe(got.append)
    live.feed(path.read_bytes()[: len(path.read_bytes()) // 2])
    unsubscribe()
    live.feed(path.read_bytes()[len(path.read_bytes()) // 2 :])
    assert len(got) == 1 and live.event_count == 50
