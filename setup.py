"""Builds the optional native encoder (``recorder._native._core``); everything else is in
``pyproject.toml``. Without a C compiler the build of the extension fails quietly
(``optional=True``) and Cinema uses its pure-Python encoder, which writes the same bytes."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "recorder._native._core",
            sources=[
                "recorder/_native/module.c",
                "recorder/_native/checks.c",
                "recorder/_native/encoder.c",
                "recorder/_native/eventbuffer.c",
                "recorder/_native/scan.c",
                "recorder/_native/tally.c",
                "recorder/_native/texts.c",
                "recorder/_native/trace.c",
            ],
            depends=[
                "recorder/_native/buffer.h",
                "recorder/_native/encoder.h",
                "recorder/_native/cinema_native.h",
                "recorder/_native/scan.h",
            ],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
