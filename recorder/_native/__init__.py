"""Cinema's native payload encoder and event buffer, built from the C sources beside this file.

The compiled module is :mod:`recorder._native._core`; importing it fails (``ImportError``) when
the extension was not built (no C compiler at install), and :mod:`recorder.payload` then uses
its pure-Python twins, which write the same bytes.
"""
