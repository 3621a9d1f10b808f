#!/usr/bin/env python3
"""Sums a CubeCL profiling log by kernel: where a run's GPU time goes.

CubeCL (profiling logger level "basic" in a cubecl.toml, as bench/gpu.sh writes it) logs one
line per kernel it timed, `| 1.234ms    | <kernel name>`, and now and then a summary. This
reads the per-kernel lines only and prints two Markdown tables, the largest first: by kernel
family (the name's first part without its hash: MatmulEntry, DirectConv2dKernel, ...), then by
kernel (the full name, its generic-argument boilerplate dropped, cut at LABEL characters):
launches, total time, share of all timed kernel time, mean per launch. Under autotuning the
candidates' trial runs are timed too (with a warm kernel cache there are none).

    python3 bench/kernel_profile.py LOG [--top N] [--label L]
"""

import argparse
import collections
import re

LINE = re.compile(r"^\|\s*([0-9.]+)\s*(ns|µs|us|ms|s)\s*\|\s*(.+?)\s*$")
UNIT = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
BOILERPLATE = re.compile(r"^(DynamicScalar|DynamicSize|TensorArgs|__\w+|\(\))$")
HASH = re.compile(r"_[0-9a-f]{8}$")


def short(name):
    """The kernel's name without the generic arguments every matmul repeats."""
    return " | ".join(part for part in name.split(" | ") if not BOILERPLATE.match(part))


def cut(name, label):
    """`name` at most `label` characters, its instance hash kept."""
    if len(name) <= label:
        return name
    found = HASH.search(name)
    tail = found.group(0) if found else ""
    return name[: label - len(tail) - 1] + "…" + tail


def family(name):
    """The kernel's family: its name's first part, without the instance hash."""
    return HASH.sub("", name.split(" | ")[0])


def read(path, label):
    """(seconds, launches) per kernel name, and lines that were not measured."""
    totals = collections.defaultdict(lambda: [0.0, 0])
    families = collections.defaultdict(lambda: [0.0, 0])
    unmeasured = 0
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if "not measured" in line:
                unmeasured += 1
                continue
            match = LINE.match(line.strip())
            if not match:
                continue
            value, unit, name = match.groups()
            for row in (totals[cut(short(name), label)], families[family(name)]):
                row[0] += float(value) * UNIT[unit]
                row[1] += 1
    return totals, families, unmeasured


def table(title, rows, everything, top):
    print(f"\n| {title} | launches | total (ms) | share | mean (µs) |")
    print("|---|---:|---:|---:|---:|")
    ranked = sorted(rows.items(), key=lambda item: -item[1][0])
    for name, (seconds, count) in ranked[:top]:
        share = seconds / everything if everything else 0.0
        name = name.replace("|", "\\|")
        print(f"| `{name}` | {count} | {seconds * 1e3:.1f} | {share:.1%} | {seconds / count * 1e6:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--label", type=int, default=200)
    args = parser.parse_args()
    totals, families, unmeasured = read(args.log, args.label)
    everything = sum(seconds for seconds, _ in totals.values())
    launches = sum(count for _, count in totals.values())
    print(f"# {args.log}: {launches} timed kernel launches, {everything:.3f} s in all, "
          f"{len(totals)} kernels in {len(families)} families, {unmeasured} launches not measured")
    table("kernel family", families, everything, args.top)
    table("kernel", totals, everything, args.top)


if __name__ == "__main__":
    main()
