"""Cinema's Qt-free time-travel engine.

Layering inside the package (each module imports only those above it)::

    errors, render, present             messages; the one text and JSON presentation of
                                        values, events and processes
    _facts <- _proc <- world <- _from_keyframe, _replay, _sends <- index <- session
                                        the world at event N (docs/world-schema.md): keyframe +
                                        replay, LRU of worlds; status tables of every process
                                        without views; keyframe messages read via their SENDs
                                        (the index's one SEND lookup)
    history, flow, filters              state history and diffs,
                                        message pairing and the communication graph, search

Nothing here imports Qt, nor the view-models of :mod:`cinema.views` (which read this engine);
the CLI, the UI and the tests all ask these same objects. The names below load on first use:
importing :mod:`cinema.model.present` alone (``cinema info``) does not load the engine.
"""

from typing import TYPE_CHECKING

from cinema._lazy import lazy_exports

if TYPE_CHECKING:
    from cinema.model.errors import ModelError
    from cinema.model.session import Session, Subscriber
    from cinema.model.world import (
        STATUSES,
        MailboxMessage,
        ProcessView,
        StatusTable,
        SupervisionTree,
        SupervisorView,
        World,
    )
    from recorder.payload.render import render_value

__all__ = [
    "STATUSES",
    "MailboxMessage",
    "ModelError",
    "ProcessView",
    "Session",
    "StatusTable",
    "Subscriber",
    "SupervisionTree",
    "SupervisorView",
    "World",
    "render_value",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "ModelError": "cinema.model.errors",
        "Session": "cinema.model.session",
        "Subscriber": "cinema.model.session",
        "render_value": "recorder.payload.render",
        **dict.fromkeys(
            ("STATUSES", "MailboxMessage", "ProcessView", "StatusTable", "SupervisionTree",
             "SupervisorView", "World"),
            "cinema.model.world",
        ),
    },
)  # fmt: skip
