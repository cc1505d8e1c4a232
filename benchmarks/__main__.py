"""``python -m benchmarks NAME|all [--quick] [--json]`` and ``python -m benchmarks --list``."""

from __future__ import annotations

import argparse
import sys

from benchmarks._harness import discover, figure_json, format_table, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run Cinema's benchmarks; each figure comes with a baseline from the same run.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmark names, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="one JSON object per figure per line")
    args = parser.parse_args(argv)

    benches = discover()
    if args.list:
        width = max((len(n) for n in benches), default=0)
        for name, bench in benches.items():
            print(f"{name.ljust(width)}  {bench.help}".rstrip())
        return 0
    if not args.names:
        parser.error("name a benchmark (or 'all'); --list shows them")
    names = list(benches) if "all" in args.names else args.names
    unknown = [n for n in names if n not in benches]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(benches)})")

    rows = []
    for name, fig in run(names, args.quick):
        if args.json:
            print(figure_json(name, fig), flush=True)
        else:
            rows.append((name, fig))
    if not args.json:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
