"""Qt-free view-models: what each panel of the window shows, at pixel resolution.

The time-travel engine (:mod:`cinema.model`) answers "what was true at event N"; the modules
here turn its answers into what a view draws, knowing about pixels and legibility, and nothing
about Qt (the widgets in :mod:`cinema.ui` only draw their frames)::

    viewport                the timeline's lanes, glyphs, density and arrows for a window
    layout                  node positions for the process graph's camera views
    graphview, graphpixels  the graph's frames at the playhead and what of them to draw
    metrics                 per-process time series for the metrics plots
    eventquery              the event list's filter box

Each module imports :mod:`cinema.model` and :mod:`recorder` only; the engine never imports
this package.
"""
