"""Fuzzing Cinema's readers and parsers: targets, the hostile-input corpus, harnesses.

``python -m fuzz TARGET [--seconds N]`` runs a coverage-guided pass (atheris) on one target;
``tests/fuzz`` runs every target under hypothesis with a short fixed budget and replays the
corpus in ``tests/corpus``.
"""
