"""Benchmarks: each prints figures side by side with a baseline measured in the same run.

Run ``python -m benchmarks --list`` to see them, ``python -m benchmarks NAME [--quick] [--json]``
to run one, ``python -m benchmarks all`` to run every one. A benchmark is a function in a module
``benchmarks/bench_<name>.py`` registered with :func:`benchmarks._harness.benchmark`.
"""
