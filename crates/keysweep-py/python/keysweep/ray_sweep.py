"""`keysweep sweep` on a Ray cluster: the same findings.jsonl, audit.jsonl and inventory.

    python -m keysweep.ray_sweep REPO... --workdir DIR --out DIR [--address ADDR] [--workers N]
        [--pool NAME]

The driver (this process) starts N long-lived actors spread over the cluster's nodes. Each
holds one compiled `Scanner` (the pickled settings are compiled once, when the actor starts)
and its own work directory, `WORKDIR/worker-I` on its node: a sweep's cache (redb) belongs to
one process, so actors never share one. Each repository is one task; an actor runs one at a
time (two are queued per actor so that it never waits for the driver). Before a sweep, each
actor says which repositories its cache holds: those go to it, and to no other actor while it
lives (elsewhere they would be scanned in full). The others have a home actor (a stable hash
of the name); an actor with nothing left of its own takes the last new repositories of the
longest other queue. An actor whose process dies is restarted by Ray (`max_restarts`) and
its unfinished tasks run again (`max_task_retries`); when an actor is gone for good, its
repositories go to the others, each repository at most `attempts` times. The driver writes
each repository's audit record to audit.jsonl as it ends, and at the end findings.jsonl and
the inventory (inventory.json, .csv, .html), merged from every repository's result exactly
as the command line writes them.

The driver keeps each repository's last result (`WORKDIR/held` on the driver's machine, or
`held_dir`; redacted unless `--reveal`, readable by its owner only). With each task it says
which findings it holds (their digest); an actor whose cache finds the repository unchanged,
with those very findings, answers with the audit record alone. A re-sweep that changes
nothing then moves audit records, not every finding again.

With `--pool NAME` the actors are detached and named, and stay up after the sweep: the next
sweep with the same `--pool` reuses them (scanners compiled, caches open) and pays only for
its repositories; actors made with other settings are replaced. End them with
`ray.kill(ray.get_actor("NAME-I", namespace="keysweep"))` or by stopping the cluster.

Needs `pip install 'keysweep[ray]'` on the driver and on every node, and repository paths that
every node can read (or URLs, which each actor clones into its work directory).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional, Union

from . import Scanner, SweepResult, __version__
from ._keysweep import failed_result

INSTALL = "pip install 'keysweep[ray]'"


def _import_ray() -> Any:
    try:
        import ray as module
    except ImportError as e:
        raise ImportError(f"keysweep.ray_sweep needs Ray, which is missing: {INSTALL}") from e
    return module


class SweepWorker:
    """A Ray actor's state: one compiled scanner and one work directory (and so one cache)."""

    def __init__(
        self,
        scanner: Scanner,
        workdir: str,
        threads: Optional[int],
        reveal: bool,
        config: str = "",
    ) -> None:
        # `scanner` arrives pickled: unpickling compiled it, once for this actor's life.
        self.scanner = scanner
        self.workdir = workdir
        self.threads = threads
        self.reveal = reveal
        self._config = config
        os.makedirs(workdir, exist_ok=True)

    def config(self) -> str:
        """What the actor was made with (scanner settings, work directory, threads, reveal),
        as a digest: a pool's actor is reused only by a sweep that would make the same."""
        return self._config

    def pid(self) -> int:
        """The actor's process id (tests kill it)."""
        return os.getpid()

    def node(self) -> str:
        """The id of the Ray node the actor runs on."""
        node: str = _import_ray().get_runtime_context().get_node_id()
        return node

    def known(self, repos: list[str]) -> list[bool]:
        """Which of `repos` this actor's cache holds (swept with its settings)."""
        return self.scanner._known_repos(repos, self.workdir)

    def sweep(self, repo: str, held: Optional[str] = None) -> str:
        """Sweeps one repository; its result as one line of JSON (without its findings when
        `held` is their digest and the repository is unchanged)."""
        return self.scanner._sweep_repo(
            repo, self.workdir, threads=self.threads, reveal=self.reveal, held=held
        )


class RaySweep:
    """A sweep's actors on a Ray cluster (`ray.init` must have been called).

    `workers` actors are placed on the alive nodes in turn (soft node affinity: a restarted
    actor may land elsewhere), each reserving `cpus_per_worker` CPUs and scanning with as
    many threads. Actor `I` works in `workdir/worker-I`.

    With `pool`, the actors are named (`POOL-I`, in Ray namespace `keysweep`) and detached:
    they outlive the driver, and the next `RaySweep` with the same `pool` reuses them, their
    scanners compiled and their caches open, instead of starting new ones (a daily re-sweep
    then costs what its repositories cost). An actor of the pool made with other settings
    (scanner, work directory, threads, `reveal`) is replaced. `shutdown()` ends them; a
    driver that wants them kept for the next sweep calls `detach()` instead.

    The driver keeps each repository's last result in `held_dir` (default `workdir/held`,
    on the driver's machine): a repository an actor finds unchanged, with the findings kept
    there, comes back as its audit record alone.
    """

    def __init__(
        self,
        scanner: Scanner,
        workdir: str,
        *,
        workers: int = 2,
        cpus_per_worker: int = 1,
        reveal: bool = False,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        attempts: int = 3,
        pool: Optional[str] = None,
        held_dir: Optional[str] = None,
    ) -> None:
        ray = _import_ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if workers < 1:
            raise ValueError("workers: at least one is needed")
        self._ray = ray
        self.pool = pool
        self.reveal = reveal
        self.attempts = attempts
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
        if not nodes:
            raise RuntimeError("the Ray cluster has no alive node")
        self.nodes = nodes
        actor = ray.remote(SweepWorker)
        self.actors: list[Any] = []
        self.reused = 0
        self.held_hits = 0
        settings = hashlib.sha256(pickle.dumps(scanner)).hexdigest()
        self.held = _Held(
            held_dir or os.path.join(os.path.abspath(workdir), "held"),
            hashlib.sha256(f"{__version__}\0{settings}\0{reveal}".encode()).hexdigest()[:32],
        )
        for i in range(workers):
            home = os.path.join(os.path.abspath(workdir), f"worker-{i}")
            config = hashlib.sha256(
                f"{settings}\0{home}\0{cpus_per_worker}\0{reveal}".encode()
            ).hexdigest()
            options: dict[str, Any] = {
                "num_cpus": cpus_per_worker,
                "max_restarts": max_restarts,
                "max_task_retries": max_task_retries,
                "scheduling_strategy": NodeAffinitySchedulingStrategy(
                    nodes[i % len(nodes)], soft=True
                ),
            }
            if pool is not None:
                name = f"{pool}-{i}"
                kept = _named_actor(ray, name)
                if kept is not None:
                    try:
                        if ray.get(kept.config.remote()) == config:
                            self.actors.append(kept)
                            self.reused += 1
                            continue
                    except ray.exceptions.RayError:
                        pass
                    # Made with other settings (or broken): replaced.
                    ray.kill(kept)
                    _wait_gone(ray, name)
                options.update(name=name, namespace=POOL_NAMESPACE, lifetime="detached")
            self.actors.append(
                actor.options(**options).remote(scanner, home, cpus_per_worker, reveal, config)
            )

    def worker_pids(self) -> list[int]:
        """Each actor's process id, waiting for the actors to start."""
        pids: list[int] = self._ray.get([a.pid.remote() for a in self.actors])
        return pids

    def run(
        self,
        repos: Sequence[str],
        out: Optional[str] = None,
        *,
        as_of: Optional[str] = None,
        on_result: Optional[Callable[[int, int], None]] = None,
    ) -> SweepResult:
        """Sweeps `repos`; with `out`, writes audit.jsonl (as each repository ends),
        findings.jsonl and the inventory there. `on_result(done, total)` is called as each
        repository ends."""
        ray = self._ray
        repos = list(dict.fromkeys(repos))  # a repository named twice is swept once
        results: list[Union[None, str, tuple[str, bytes]]] = [None] * len(repos)
        tries = [0] * len(repos)
        # A repository an actor's cache holds goes to that actor, and only to it while it
        # lives: anywhere else it would be scanned in full. The others have a home actor (a
        # stable hash of their name), and an actor whose own queues are empty takes the last
        # of them from the longest other queue.
        n = len(self.actors)
        asked = [a.known.remote(repos) for a in self.actors]
        self.held.prune()
        # The digest of each repository's kept findings, sent with its task (not after a
        # kept result proved unreadable).
        held: list[Optional[str]] = [self.held.digest(r) for r in repos]
        self.held_hits = 0  # results that came without findings: the driver had them
        known: list[list[bool]] = []
        for a, ref in enumerate(asked):
            try:
                known.append(ray.get(ref))
            except ray.exceptions.RayError:
                known.append([False] * len(repos))  # an actor that cannot say knows none
        home: list[collections.deque[int]] = [collections.deque() for _ in self.actors]
        cached: list[collections.deque[int]] = [collections.deque() for _ in self.actors]
        for i, repo in enumerate(repos):
            h = _home(repo, n)
            holders = [a for a in range(n) if known[a][i]]
            if holders:
                cached[h if h in holders else holders[0]].append(i)
            else:
                home[h].append(i)
        alive = set(range(n))
        busy = [0] * len(self.actors)
        pending: dict[Any, tuple[int, int]] = {}
        audit = None
        if out is not None:
            os.makedirs(out, exist_ok=True)
            audit = open(os.path.join(out, "audit.jsonl"), "w", encoding="utf-8")

        def take(a: int) -> Optional[int]:
            # New repositories first (the long scans), then those the cache holds.
            for own in (home[a], cached[a]):
                if own:
                    return own.popleft()
            # A dead actor's repositories are anyone's.
            for d in range(n):
                if d not in alive and (home[d] or cached[d]):
                    return (home[d] or cached[d]).popleft()
            longest = max(home, key=len)
            return longest.pop() if longest else None

        def feed() -> None:
            # Two tasks per actor: one running, one ready behind it.
            for a in sorted(alive, key=lambda a: busy[a]):
                while busy[a] < 2:
                    i = take(a)
                    if i is None:
                        break  # nothing this actor may take; the next may
                    tries[i] += 1
                    pending[self.actors[a].sweep.remote(repos[i], held[i])] = (i, a)
                    busy[a] += 1

        done = 0

        def finish(
            i: int, result: str, kept: Optional[bytes] = None, findings: Optional[int] = None
        ) -> str:
            nonlocal done
            results[i] = result if kept is None else (result, kept)
            done += 1
            line = SweepResult.audit_line(result, findings)
            if audit is not None:
                audit.write(line + "\n")
                audit.flush()
            if on_result is not None:
                on_result(done, len(repos))
            return line

        try:
            feed()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                i, a = pending.pop(ready[0])
                busy[a] -= 1
                try:
                    result: str = ray.get(ready[0])
                    if SweepResult.is_held(result):
                        kept = self.held.read(repos[i], SweepResult.digest_of(result))
                        if kept is None:
                            # The kept result is gone or another: swept again, findings sent.
                            self.held.forget(repos[i])
                            held[i] = None
                            tries[i] -= 1
                            cached[a].appendleft(i)
                        else:
                            self.held_hits += 1
                            finish(i, result, kept, self.held.findings(repos[i]))
                    else:
                        line = finish(i, result)
                        self.held.keep(repos[i], result, json.loads(line)["findings"])
                except ray.exceptions.RayError as e:
                    if isinstance(e, ray.exceptions.ActorDiedError):
                        # Restarts used up: this actor is gone; its queued tasks fail too
                        # and come back here, to be given to the others.
                        alive.discard(a)
                    if tries[i] < self.attempts and alive:
                        home[a].appendleft(i)  # a dead actor's queue is taken by the others
                    else:
                        why = f"the sweep worker failed {tries[i]} time(s): {type(e).__name__}"
                        finish(i, failed_result(repos[i], why))
                feed()
            # Every actor gone with repositories left: they fail, and the sweep says why.
            for queue in [*home, *cached]:
                while queue:
                    i = queue.popleft()
                    finish(i, failed_result(repos[i], "no sweep worker is left"))
        finally:
            if audit is not None:
                audit.close()
            self.held.save()
        merged = SweepResult.from_json([r for r in results if r is not None], self.reveal)
        if out is not None:
            merged.write(out, as_of)
        return merged

    def shutdown(self) -> None:
        """Ends the actors (a pool's too)."""
        for a in self.actors:
            self._ray.kill(a)
        self.actors = []

    def detach(self) -> None:
        """Leaves a pool's actors running for the next sweep with the same `pool` (without a
        pool, the same as `shutdown`)."""
        if self.pool is None:
            self.shutdown()
        self.actors = []


POOL_NAMESPACE = "keysweep"


class _Held:
    """The driver's copy of each repository's last result, one file a repository under
    `root/KEY`, where KEY names the keysweep version and the settings (scanner, `reveal`) that
    made them; kept results of other settings are removed. `index.json` there records each
    file's findings digest, count of findings and size, so that a sweep reads a kept file only
    to merge it, and a file cut short is not taken. Files are replaced whole (written aside,
    then renamed)."""

    def __init__(self, root: str, key: str) -> None:
        self.root = root
        self.dir = os.path.join(root, key)
        self.key = key
        self.problem: Optional[str] = None
        self.index: dict[str, list[Any]] = {}  # repo -> [digest, findings, size]
        try:
            with open(os.path.join(self.dir, "index.json"), encoding="utf-8") as f:
                index = json.load(f)
            if isinstance(index, dict):
                self.index = index
        except (OSError, ValueError):
            pass

    def _path(self, repo: str) -> str:
        return os.path.join(self.dir, hashlib.sha256(repo.encode()).hexdigest()[:32] + ".json")

    def prune(self) -> None:
        """Removes the results kept for other settings."""
        try:
            for name in os.listdir(self.root):
                if name != self.key:
                    shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
        except OSError:
            pass

    def digest(self, repo: str) -> Optional[str]:
        """The digest of the findings kept for `repo`."""
        entry = self.index.get(repo)
        return entry[0] if entry else None

    def findings(self, repo: str) -> int:
        """The count of findings kept for `repo`."""
        return int(self.index[repo][1])

    def read(self, repo: str, digest: Optional[str]) -> Optional[bytes]:
        """The result kept for `repo` (its UTF-8 bytes), if its findings have `digest` and
        its file is whole."""
        entry = self.index.get(repo)
        if digest is None or not entry or entry[0] != digest:
            return None
        try:
            with open(self._path(repo), "rb") as f:
                kept = f.read()
        except OSError:
            return None
        if len(kept) != entry[2] or SweepResult.digest_of(kept[:100].decode("ascii", "replace")) != digest:
            return None
        return kept

    def keep(self, repo: str, result: str, findings: int) -> None:
        """Keeps `result` (with `findings` findings) for the next sweep, if its findings have
        a digest. A result that cannot be kept costs the next sweep its transfer, not this
        one anything."""
        digest = SweepResult.digest_of(result)
        if digest is None:
            return
        path = self._path(repo)
        aside = f"{path}.{os.getpid()}.tmp"
        data = result.encode()
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(aside, path)
            self.index[repo] = [digest, findings, len(data)]
        except OSError as e:
            self.index.pop(repo, None)
            self.problem = f"cannot keep results in {self.dir}: {e}"
            try:
                os.unlink(aside)
            except OSError:
                pass

    def forget(self, repo: str) -> None:
        """The kept result of `repo` proved unusable."""
        self.index.pop(repo, None)

    def save(self) -> None:
        """Writes the index (after the files it names)."""
        path = os.path.join(self.dir, "index.json")
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            aside = f"{path}.{os.getpid()}.tmp"
            with open(aside, "w", encoding="utf-8") as f:
                json.dump(self.index, f)
            os.replace(aside, path)
        except OSError as e:
            self.problem = f"cannot keep results in {self.dir}: {e}"


def _named_actor(ray: Any, name: str) -> Any:
    """The live actor `name` of the pool namespace, if there is one."""
    try:
        return ray.get_actor(name, namespace=POOL_NAMESPACE)
    except ValueError:
        return None


def _wait_gone(ray: Any, name: str) -> None:
    """Waits (up to 30 s) until a killed actor's name is free again."""
    deadline = time.monotonic() + 30
    while _named_actor(ray, name) is not None and time.monotonic() < deadline:
        time.sleep(0.05)


def _home(repo: str, actors: int) -> int:
    """The actor a repository goes to first: the same in every sweep with as many actors."""
    return int.from_bytes(hashlib.sha256(repo.encode()).digest()[:8], "big") % actors


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m keysweep.ray_sweep",
        description="Sweep many repositories on a Ray cluster, as `keysweep sweep` does: "
        "findings.jsonl, audit.jsonl and inventory.json/.csv/.html in --out.",
    )
    p.add_argument("repos", nargs="*", metavar="REPO", help="repository paths or git URLs")
    p.add_argument("--repos-from", metavar="FILE", help="more repositories, one per line")
    p.add_argument("--workdir", required=True, help="each actor works in WORKDIR/worker-I on its node")
    p.add_argument("--out", required=True, help="where the results are written (on the driver)")
    p.add_argument("--address", help="the Ray cluster (default: RAY_ADDRESS, or a local one)")
    p.add_argument("--workers", type=int, default=2, help="actors (default 2)")
    p.add_argument("--cpus-per-worker", type=int, default=1, help="CPUs and scan threads per actor")
    p.add_argument("--rules", action="append", default=[], metavar="FILE", help="extra rule files")
    p.add_argument("--min-confidence", choices=["low", "medium", "high"], default="low")
    p.add_argument("--no-decode", action="store_true", help="do not look through encodings")
    p.add_argument(
        "--fingerprint-key",
        default=os.environ.get("KEYSWEEP_FINGERPRINT_KEY") or None,
        help="key for fingerprints (HMAC-SHA-256); or set KEYSWEEP_FINGERPRINT_KEY",
    )
    p.add_argument("--baseline", metavar="FILE", help="suppress the secrets this baseline records")
    p.add_argument(
        "--allow-value",
        action="append",
        default=[],
        metavar="REGEX",
        help="never report secret values this regex matches (as allow.values)",
    )
    p.add_argument(
        "--allow-path",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out findings at paths this glob matches (as allow.paths)",
    )
    p.add_argument("--reveal", action="store_true", help="write secrets in full in findings.jsonl")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="date the inventory's exposure ages")
    p.add_argument(
        "--pool",
        metavar="NAME",
        help="keep the actors running after the sweep, named NAME-I (detached, Ray namespace "
        "keysweep), and reuse those a previous sweep kept: scanners compiled, caches open",
    )
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _arguments(argv)
    repos: list[str] = list(args.repos)
    if args.repos_from:
        with open(args.repos_from, encoding="utf-8") as f:
            repos += [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    if not repos:
        print("ray_sweep: nothing to sweep: give repositories or --repos-from FILE", file=sys.stderr)
        return 2
    try:
        ray = _import_ray()
    except ImportError as e:
        print(f"ray_sweep: {e}", file=sys.stderr)
        return 2
    try:
        scanner = Scanner(
            extra_rule_files=args.rules,
            min_confidence=args.min_confidence,
            decode=not args.no_decode,
            fingerprint_key=args.fingerprint_key,
            baseline=args.baseline,
            allow_values=args.allow_value,
            allow_paths=args.allow_path,
        )
    except (OSError, ValueError) as e:
        print(f"ray_sweep: {e}", file=sys.stderr)
        return 2
    started = time.monotonic()
    ray.init(address=args.address, logging_level="WARNING", log_to_driver=False)
    sweep = RaySweep(
        scanner,
        args.workdir,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        reveal=args.reveal,
        pool=args.pool,
    )
    try:
        result = sweep.run(repos, args.out, as_of=args.as_of)
    finally:
        sweep.detach()
    if sweep.held.problem:
        print(f"ray_sweep: {sweep.held.problem} (the next sweep moves those findings again)",
              file=sys.stderr)
    audit = result.audit
    failed = [a for a in audit if a["status"] == "failed"]
    for a in failed:
        print(f"ray_sweep: {a['repo']}: {a.get('error')}", file=sys.stderr)
    print(
        f"ray sweep: {len(audit) - len(failed)} of {len(audit)} repositories swept "
        f"({len(failed)} failed), {sum(a['findings'] for a in audit)} finding(s); "
        f"{sum(a['blobs_scanned'] for a in audit)} blob(s) scanned, "
        f"{sum(a['blobs_cached'] for a in audit)} from the cache; {args.workers} worker(s) on "
        f"{len(sweep.nodes)} node(s)"
        + (f" ({sweep.reused} kept from pool {args.pool})" if args.pool else "")
        + f", {time.monotonic() - started:.1f} s; results in {args.out}",
        file=sys.stderr,
    )
    return 0 if result.complete else 2


if __name__ == "__main__":
    sys.exit(main())
