"""``python -m fuzz``: coverage-guided fuzzing of Cinema's readers and parsers with atheris.

Usage::

    python -m fuzz TARGET [--seconds N] [--runs N] [--jobs N]   one target (or "all", in turn)
    python -m fuzz list                                         the targets and their seeds
    python -m fuzz corpus                                       rewrite tests/corpus's recipes
    python -m fuzz replay TARGET FILE...                        run a target on saved inputs

``./run fuzz TARGET [SECONDS]`` is the same from a fresh clone. Each target starts from its
seeds in ``tests/corpus`` (copied to ``.fuzz/TARGET/corpus``, where libFuzzer also keeps every
input that reached new code) and writes an input that makes it fail to
``.fuzz/TARGET/crash-*`` (or ``timeout-*`` / ``oom-*``), with the traceback on stderr. Replay
one with ``python -m fuzz replay TARGET .fuzz/TARGET/crash-...``; once fixed, add it to the
corpus (a recipe in ``fuzz/corpus.py``, or the file itself) so the tests keep it fixed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".fuzz"
#: Modules whose code is instrumented for coverage (the rest runs uninstrumented).
INSTRUMENTED = ("recorder", "cinema", "fuzz")


def _targets() -> Any:
    from fuzz import targets

    return targets


def _import_targets() -> None:
    """Import everything the targets use (inside ``atheris.instrument_imports``, so that
    their code reports coverage: nothing of Cinema may be imported before)."""
    import recorder.payload
    import recorder.session.reader  # noqa: F401


def fuzz(target: str, seconds: int, runs: int | None, jobs: int) -> int:
    """Run libFuzzer (through atheris) on one target; its exit status."""
    try:
        import atheris
    except ImportError:
        print("python -m fuzz needs atheris: pip install atheris", file=sys.stderr)
        return 2
    if any(m.split(".")[0] in INSTRUMENTED and m != "fuzz" for m in sys.modules):
        raise RuntimeError("Cinema was imported before atheris could instrument it")
    with atheris.instrument_imports(include=list(INSTRUMENTED)):
        _import_targets()
    targets = _targets()
    work = WORK / target
    corpus_dir = work / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for seed in targets.seed_paths(target):
        shutil.copyfile(seed, corpus_dir / f"seed-{seed.name}")
    args = [
        sys.argv[0], str(corpus_dir), f"-artifact_prefix={work}/",
        f"-max_len={targets.MAX_INPUT}", "-timeout=30", "-rss_limit_mb=3072",
        "-print_final_stats=1",
    ]  # fmt: skip
    args.append(f"-runs={runs}" if runs is not None else f"-max_total_time={seconds}")
    if jobs > 1:
        args += [f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]

    def one_input(data: bytes) -> None:
        targets.run(target, data)

    atheris.Setup(args, one_input)
    atheris.Fuzz()
    return 0


def replay(target: str, files: list[str]) -> int:
    """Run ``target`` on saved inputs; print what escaped. Exit status 1 if anything did."""
    targets = _targets()
    failed = 0
    for name in files:
        try:
            targets.run(target, Path(name).read_bytes())
            print(f"{name}: ok")
        except Exception:  # a bug: show it whole
            failed += 1
            print(f"{name}: FAILED", file=sys.stderr)
            traceback.print_exc()
    return 1 if failed else 0


#: The targets (``fuzz.targets.TARGETS``), named here without importing Cinema.
TARGET_NAMES = ("session", "stream", "payload", "sidecar", "expression", "moment", "pattern")


def main(argv: list[str] | None = None) -> int:
    names = [*TARGET_NAMES, "all"]
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("target", help=f"one of {', '.join(names)}; or list, corpus, replay")
    p.add_argument("files", nargs="*", help="for replay: TARGET FILE...")
    p.add_argument("--seconds", type=int, default=60, help="time per target (default 60)")
    p.add_argument("--runs", type=int, default=None, help="stop after this many inputs")
    p.add_argument("--jobs", type=int, default=1, help="libFuzzer -fork workers (keep going "
                   "after a crash)")  # fmt: skip
    a = p.parse_args(argv)
    if a.target == "list":
        targets = _targets()
        for name in targets.TARGETS:
            doc = (targets.TARGETS[name].__doc__ or "").split("\n")[0]
            print(f"{name:<11} {len(targets.seed_paths(name)):>3} seeds  {doc}")
        return 0
    if a.target == "corpus":
        from fuzz import corpus

        for path in corpus.build():
            print(path.relative_to(ROOT))
        return 0
    if a.target == "replay":
        if not a.files or a.files[0] not in TARGET_NAMES:
            p.error("replay TARGET FILE...")
        return replay(a.files[0], a.files[1:])
    if a.target not in names:
        p.error(f"unknown target {a.target!r} (targets: {', '.join(names)})")
    if a.target == "all":  # libFuzzer runs once per process: a child per target
        import subprocess

        status = 0
        for name in TARGET_NAMES:
            cmd = [sys.executable, "-m", "fuzz", name, f"--seconds={a.seconds}",
                   f"--jobs={a.jobs}", *([f"--runs={a.runs}"] if a.runs else [])]  # fmt: skip
            status |= subprocess.call(cmd, cwd=ROOT)
        return status
    return fuzz(a.target, a.seconds, a.runs, a.jobs)


if __name__ == "__main__":
    sys.exit(main())
