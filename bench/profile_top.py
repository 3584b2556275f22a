"""The top functions of a py-spy profile in collapsed-stack form (`py-spy record --format raw`).

    python -m bench.profile_top FILE... [--top 25] [--match TEXT]

Prints, per file, the samples in all, then the functions with the most own samples (the leaf of a
stack) and with the most inclusive samples (anywhere on a stack, counted once per stack), each with
its share of the busy samples (a stack ending in the event loop's own run — uvloop waiting in C —
is idle and not counted). `--match`: inclusive shares of the functions whose frame contains
TEXT only.
"""

import argparse
import re
from collections import Counter
from pathlib import Path

from bench.common import out

_LINE = re.compile(r"^(.*) (\d+)$")
# uvloop waits for I/O in C under the event loop's run(): py-spy cannot tell that wait from work,
# so a stack that ends there (or at the process itself) counts as idle and is left out.
_IDLE_LEAVES = ("Runner.run (", "process ", "run_forever (", "_run_once (")
_LINE_NO = re.compile(r":\d+\)$")


def _frame(f: str) -> str:
    # "name (path/to/file.py:123)" -> "name (path/to/file.py)": lines of one function together.
    return _LINE_NO.sub(")", f.strip())


def load(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    total, own, inclusive = 0, Counter[str](), Counter[str]()
    for line in path.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        stack, n = m.group(1).split(";"), int(m.group(2))
        frames = [_frame(f) for f in stack if f.strip()]
        if not frames or frames[-1].startswith(_IDLE_LEAVES):
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    return total, own, inclusive


def report(path: Path, *, top: int = 25, match: str | None = None) -> None:
    total, own, inclusive = load(path)
    out(f"\n--- {path.name}: {total} samples")
    if not total:
        return
    out("  own:")
    for f, n in own.most_common(top):
        out(f"    {100 * n / total:5.1f}%  {f}")
    out("  inclusive:")
    shown = [(f, n) for f, n in inclusive.most_common() if match is None or match in f][:top]
    for f, n in shown:
        out(f"    {100 * n / total:5.1f}%  {f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_top", description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--match")
    args = p.parse_args(argv)
    for f in args.files:
        report(f, top=args.top, match=args.match)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
