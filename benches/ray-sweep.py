#!/usr/bin/env python3
"""Wall time of `keysweep sweep` against `python -m keysweep.ray_sweep` on the same generated
repositories, on a local Ray cluster of two nodes (this machine), first sweep and re-sweep.

    unshare -n sh -c 'ip link set lo up; .venv/bin/python benches/ray-sweep.py \
        --keysweep target/release/keysweep [--repos 20] [--commits 30] [--files 10]'

or over existing repositories instead of generated ones (`--repos-from FILE`, one path or URL
a line: for instance the 50 repositories benches/sweep.sh lists in `$WORK/repos.txt`).

Run it in a network namespace with only loopback (Ray binds the machine's interfaces), with
the package installed in release mode (`pip install ./crates/keysweep-py[ray]`) and a release
`keysweep` binary. Prints one table row per run; checks that both write the same inventory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import tempfile
import time
from pathlib import Path

WORDS = "let const return if else for while match fn def class self value key name path".split()


def git(repo: Path, *args: str, clock: int) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada Dev",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Dev",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": f"{clock} +0000",
        "GIT_COMMITTER_DATE": f"{clock} +0000",
    }
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                   capture_output=True)


def make_repos(root: Path, n: int, commits: int, files: int) -> tuple[list[str], int]:
    """The repositories, and the bytes of all their blobs."""
    rng = random.Random(7)
    total = 0
    alnum = string.ascii_letters + string.digits
    paths = []
    for r in range(n):
        repo = root / f"repo-{r:03}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main", clock=0)
        for c in range(commits):
            for f in range(files):
                lines = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(120)]
                if rng.random() < 0.05:  # a fake secret now and then
                    lines[rng.randrange(120)] = f'STRIPE_KEY = "sk_live_{"".join(rng.choice(alnum) for _ in range(24))}"'
                text = "\n".join(lines) + "\n"
                total += len(text)
                (repo / f"src{f}.py").write_text(text)
            git(repo, "add", "-A", clock=1_600_000_000 + c)
            git(repo, "commit", "-qm", f"change {c}", clock=1_600_000_000 + c)
        paths.append(str(repo))
    return paths, total


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--keysweep", required=True)
    p.add_argument("--repos", type=int, default=20)
    p.add_argument("--commits", type=int, default=30)
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repos-from", help="sweep these repositories (one a line) instead")
    a = p.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    import keysweep
    from keysweep.ray_sweep import RaySweep

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "repos").mkdir()
        t = time.monotonic()
        if a.repos_from:
            repos = [l.strip() for l in Path(a.repos_from).read_text().splitlines() if l.strip()]
            print(f"{len(repos)} repositories from {a.repos_from}")
        else:
            repos, size = make_repos(root / "repos", a.repos, a.commits, a.files)
            blobs = a.repos * a.commits * a.files
            print(f"{a.repos} repositories, {blobs} blobs, {size / 1e6:.0f} MB, "
                  f"made in {time.monotonic() - t:.0f} s")
        print("| run | `keysweep sweep` | `keysweep sweep --jobs 2` | Ray, 2 nodes, "
              f"{a.workers} actors |\n|---|---|---|---|")
        t = time.monotonic()
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
        ray.init(address=c.address, logging_level="WARNING", log_to_driver=False)
        started = time.monotonic() - t
        runs = (
            ("first sweep (empty caches)", "actors started and compiled included"),
            ("re-sweep, nothing changed", "actors started and compiled included"),
            ("re-sweep, nothing changed, actors kept (`pool`)", "the previous sweep's actors"),
        )
        for k, (run, how) in enumerate(runs):
            cli = []
            for jobs in ("1", "2"):
                t = time.monotonic()
                subprocess.run([a.keysweep, "sweep", "--no-progress", "-q", "--jobs", jobs,
                                "--workdir", str(root / f"cli-work-{jobs}"), "--out",
                                str(root / "cli-out"), *repos], check=True)
                cli.append(time.monotonic() - t)
            t = time.monotonic()
            sweep = RaySweep(keysweep.Scanner(), str(root / "ray-work"), workers=a.workers,
                             pool="bench")
            assert sweep.reused == (a.workers if k == 2 else 0)
            sweep.run(repos, str(root / "ray-out"))
            if k == 1:
                sweep.detach()  # kept for the next run
            else:
                sweep.shutdown()
            rs = time.monotonic() - t
            same = json.loads((root / "cli-out/inventory.json").read_text()) == json.loads(
                (root / "ray-out/inventory.json").read_text())
            assert same, "the inventories differ"
            print(f"| {run} | {cli[0]:.2f} s | {cli[1]:.2f} s | {rs:.2f} s ({how}; "
                  f"{rs / min(cli):.2f}x the faster CLI sweep) |")
        print(f"(starting the two-node cluster: {started:.1f} s, not included)")
        ray.shutdown()
        c.shutdown()


if __name__ == "__main__":
    main()
