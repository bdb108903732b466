#!/usr/bin/env python3
"""Side-by-side wall time of a few commands, interleaved so that a shared, noisy machine
slows them alike: three warm-up rounds, then N rounds running each command once in turn.
Prints each command's median and minimum and the ratio of its median to the first one's.

    benches/ab.py N 'CMD_A ...' 'CMD_B ...' [...]

e.g. an older build against this one on a staged change (see README, Performance):

    benches/ab.py 60 '/tmp/keysweep-old scan --staged -q --no-progress REPO' \\
                     'target/release/keysweep scan --staged -q --no-progress REPO'

Commands are split on whitespace (no shell); their output is discarded.
"""

import os
import statistics
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rounds = int(argv[1])
    commands = [c.split() for c in argv[2:]]
    devnull = os.open(os.devnull, os.O_WRONLY)
    times: list[list[float]] = [[] for _ in commands]
    for i in range(3 + rounds):
        for j, cmd in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=devnull, stderr=devnull, check=False)
            if i >= 3:
                times[j].append(time.perf_counter() - start)
    base = statistics.median(times[0])
    for text, t in zip(argv[2:], times):
        median = statistics.median(t)
        print(
            f"median {median * 1e3:8.2f} ms  min {min(t) * 1e3:8.2f} ms  "
            f"ratio {median / base:5.3f}  {text}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
