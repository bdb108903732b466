"""keysweep.ray_sweep on a real local Ray cluster (two nodes): the merged results equal
`keysweep sweep`'s, a worker killed mid-sweep loses nothing, and `python -m
keysweep.ray_sweep` works.

Ray binds network interfaces: run these inside a network namespace where only loopback
exists (as root: `unshare -n sh -c 'ip link set lo up; python -m pytest -m ray'`, which
tests/run.sh does). Select them with `-m ray`; without Ray they fail and say what to install,
unless KEYSWEEP_SKIP names `ray`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo, keysweep_binary, need, skipped

import keysweep

pytestmark = pytest.mark.ray

AS_OF = "2026-12-01"
REPOS = 20
INSTALL = "pip install 'keysweep[ray]' (tests/setup.sh installs it into .venv)"


def _isolated() -> None:
    others = sorted(name for _, name in socket.if_nameindex() if name != "lo")
    if not others:
        return
    why = (
        "the Ray tests must run in a network namespace where only loopback exists "
        f"(here also: {', '.join(others)}); as root: "
        "unshare -n sh -c 'ip link set lo up; python -m pytest -m ray'"
    )
    if skipped("ray"):
        pytest.skip(f"SKIPPED: {why}")
    pytest.fail(f"{why} (or set KEYSWEEP_SKIP=ray to skip them)", pytrace=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        need("ray", False, INSTALL)
        raise
    _isolated()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, logging_level="WARNING", log_to_driver=False)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _token(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


@dataclass
class Fleet:
    paths: list[str]
    secrets: list[str]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """REPOS repositories with planted fake secrets: one per repository in a config file,
    an AWS key in every other one (removed again in every third), and one Slack token that
    five of them share."""
    rng = random.Random(20261202)
    alnum = string.ascii_letters + string.digits
    root = tmp_path_factory.mktemp("fleet")
    shared = f"xoxb-{rng.randrange(10**12, 10**13)}-{rng.randrange(10**12, 10**13)}-{_token(rng, alnum, 24)}"
    secrets = [shared]
    paths = []
    for i in range(REPOS):
        repo = Repo(root / f"repo-{i:02}")
        stripe = "sk_live_" + _token(rng, alnum, 24)
        secrets.append(stripe)
        repo.put("README.md", f"service {i}\n")
        repo.put("config/app.env", f"PORT=80{i:02}\nSTRIPE_KEY={stripe}\n")
        repo.commit("first")
        if i % 2 == 0:
            aws = "AKIA" + _token(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            secrets.append(aws)
            repo.put("deploy/aws.yml", f"region: eu-west-1\naccess_key_id: {aws}\n")
            repo.commit("deploy")
            if i % 3 == 0:
                repo.put("deploy/aws.yml", "region: eu-west-1\naccess_key_id: ${AWS_KEY}\n")
                repo.commit("from the environment")
        if i % 4 == 0:
            repo.put("ci/notify.sh", f"curl -H 'Authorization: Bearer {shared}' slack\n")
            repo.commit("notify")
            repo.git("tag", f"v{i}")
        paths.append(str(repo.path))
    return Fleet(paths, secrets)


@dataclass
class CliSweep:
    out: Path
    seconds: float


@pytest.fixture(scope="module")
def cli_sweep(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> CliSweep:
    root = tmp_path_factory.mktemp("cli")
    started = time.monotonic()
    run = subprocess.run(
        [
            str(keysweep_binary()), "sweep", "--workdir", str(root / "work"), "--out",
            str(root / "out"), "--no-progress", "--as-of", AS_OF, *fleet.paths,
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    return CliSweep(root / "out", seconds)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _same_results(ours: Path, cli: Path, modes: bool = True) -> None:
    """The merged results equal the CLI's: the inventory (secrets, fingerprints, locations,
    priorities) exactly, the findings line for line (in any order: a repository's findings
    come from its scan threads in no fixed order), and each repository's audit record
    (without its mode unless `modes`)."""
    assert json.loads((ours / "inventory.json").read_text()) == json.loads(
        (cli / "inventory.json").read_text()
    )
    assert (ours / "inventory.csv").read_text() == (cli / "inventory.csv").read_text()
    assert sorted((ours / "findings.jsonl").read_text().splitlines()) == sorted(
        (cli / "findings.jsonl").read_text().splitlines()
    )
    assert _audit(ours, modes) == _audit(cli, modes)


def _audit(out: Path, modes: bool = True) -> list[tuple[str, ...]]:
    """What must match in audit.jsonl: not times, and not what each cache had (the CLI's one
    cache meets a blob shared by two repositories once; two actors may each scan it)."""
    keep = ("repo", "status", "findings", "tips", "error") + (("mode",) if modes else ())
    return sorted(tuple(str(r.get(k)) for k in keep) for r in _jsonl(out / "audit.jsonl"))


def test_planted_secrets_are_all_found(fleet: Fleet, cli_sweep: CliSweep) -> None:
    scanner = keysweep.Scanner()
    inventory = json.loads((cli_sweep.out / "inventory.json").read_text())
    fingerprints = {s["fingerprint"] for s in inventory["secrets"]}
    for secret in fleet.secrets:
        (f,) = scanner.scan_bytes(f"KEY={secret}\n".encode())
        assert f.fingerprint in fingerprints, f.rule_id
    assert len(fingerprints) == len(fleet.secrets)


def test_ray_sweep_equals_the_cli_sweep(
    cluster: Any, fleet: Fleet, cli_sweep: CliSweep, tmp_path: Path
) -> None:
    import ray

    from keysweep.ray_sweep import RaySweep

    started = time.monotonic()
    sweep = RaySweep(keysweep.Scanner(), str(tmp_path / "work"), workers=2)
    try:
        nodes = ray.get([a.node.remote() for a in sweep.actors])
        assert len(set(nodes)) == 2, "one actor on each node"
        result = sweep.run(fleet.paths, str(tmp_path / "out"), as_of=AS_OF)
    finally:
        sweep.shutdown()
    seconds = time.monotonic() - started
    print(f"\n{REPOS} repositories: CLI sweep {cli_sweep.seconds:.2f} s, Ray sweep (2 actors) {seconds:.2f} s")
    assert result.complete and len(result) == REPOS
    _same_results(tmp_path / "out", cli_sweep.out)
    assert sorted(f.to_dict()["fingerprint"] for f in result.findings) == sorted(
        r["fingerprint"] for r in _jsonl(cli_sweep.out / "findings.jsonl")
    )
    for worker in ("worker-0", "worker-1"):
        assert (tmp_path / "work" / worker / "lock").exists(), "each actor has its own cache"

    # Again, with new actors on the same work directories: repositories go to their home
    # actor, whose cache knows them (only those another actor took at the tail are not).
    sweep = RaySweep(keysweep.Scanner(), str(tmp_path / "work"), workers=2)
    try:
        again = sweep.run(fleet.paths, str(tmp_path / "again"), as_of=AS_OF)
    finally:
        sweep.shutdown()
    modes = [a["mode"] for a in again.audit]
    # Each repository went to the actor whose cache holds it: nothing is read again.
    assert modes.count("unchanged") == REPOS, modes
    # The driver kept each repository's findings: none came back from the actors.
    assert sweep.held_hits == REPOS
    _same_results(tmp_path / "again", cli_sweep.out, modes=False)

    # A kept result damaged (or lost) on the driver: that repository's findings are sent
    # again, and the results are still the CLI's.
    kept = sorted(p for p in (tmp_path / "work" / "held").glob("*/*.json") if p.name != "index.json")
    assert len(kept) == REPOS
    kept[0].write_text(kept[0].read_text()[:100])
    kept[1].unlink()
    sweep = RaySweep(keysweep.Scanner(), str(tmp_path / "work"), workers=2)
    try:
        sweep.run(fleet.paths, str(tmp_path / "third"), as_of=AS_OF)
    finally:
        sweep.shutdown()
    assert sweep.held_hits == REPOS - 2
    _same_results(tmp_path / "third", cli_sweep.out, modes=False)
    assert all(k.exists() and len(k.read_text()) > 100 for k in kept[:2])


def test_a_pool_keeps_its_actors_for_the_next_sweep(
    cluster: Any, fleet: Fleet, cli_sweep: CliSweep, tmp_path: Path
) -> None:
    import ray

    from keysweep.ray_sweep import POOL_NAMESPACE, RaySweep

    work = str(tmp_path / "work")
    try:
        sweep = RaySweep(keysweep.Scanner(), work, workers=2, pool="test-pool")
        assert sweep.reused == 0
        pids = sweep.worker_pids()
        sweep.run(fleet.paths, str(tmp_path / "out"), as_of=AS_OF)
        sweep.detach()
        _same_results(tmp_path / "out", cli_sweep.out)

        # The next sweep (another driver would do the same) finds the same processes.
        again = RaySweep(keysweep.Scanner(), work, workers=2, pool="test-pool")
        assert again.reused == 2 and again.worker_pids() == pids
        result = again.run(fleet.paths, str(tmp_path / "again"), as_of=AS_OF)
        again.detach()
        assert result.complete
        modes = [a["mode"] for a in result.audit]
        assert modes.count("unchanged") == REPOS, modes
        for name in ("findings.jsonl", "inventory.json", "inventory.csv"):
            assert sorted((tmp_path / "again" / name).read_text().splitlines()) == sorted(
                (cli_sweep.out / name).read_text().splitlines()
            ), name

        # Other settings: the pool's actors are replaced, not reused.
        other = RaySweep(keysweep.Scanner(min_confidence="high"), work, workers=2, pool="test-pool")
        assert other.reused == 0
        assert set(other.worker_pids()).isdisjoint(pids)
        other.shutdown()
    finally:
        for i in range(2):
            try:
                ray.kill(ray.get_actor(f"test-pool-{i}", namespace=POOL_NAMESPACE))
            except ValueError:
                pass


@pytest.mark.parametrize("restarts", [3, 0], ids=["restarted", "resubmitted"])
def test_a_killed_worker_loses_nothing(
    cluster: Any, fleet: Fleet, cli_sweep: CliSweep, tmp_path: Path, restarts: int
) -> None:
    """SIGKILL one actor's process mid-sweep: Ray restarts it and runs its tasks again, or,
    with no restarts left, the driver gives its repositories to the other actor."""
    from keysweep.ray_sweep import RaySweep

    sweep = RaySweep(
        keysweep.Scanner(),
        str(tmp_path / "work"),
        workers=2,
        max_restarts=restarts,
        max_task_retries=restarts,
    )
    try:
        pids = sweep.worker_pids()
        killed: list[int] = []

        def kill_one(done: int, total: int) -> None:
            if done == 2 and not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        result = sweep.run(fleet.paths, str(tmp_path / "out"), as_of=AS_OF, on_result=kill_one)
        if restarts:
            assert sweep.worker_pids()[0] != pids[0], "Ray restarted the killed actor"
    finally:
        sweep.shutdown()
    assert killed, "a worker was killed mid-sweep"
    assert result.complete
    # A task killed after its repository's cache commit runs again and finds it
    # `unchanged` (its findings from the cache): the same results, another mode.
    _same_results(tmp_path / "out", cli_sweep.out, modes=False)


def test_python_m_ray_sweep(cluster: Any, fleet: Fleet, cli_sweep: CliSweep, tmp_path: Path) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text("# the fleet\n" + "\n".join(fleet.paths[1:]) + "\n")
    run = subprocess.run(
        [
            sys.executable, "-m", "keysweep.ray_sweep", fleet.paths[0], "--repos-from",
            str(listing), "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out"),
            "--address", cluster.address, "--workers", "2", "--as-of", AS_OF,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert f"{REPOS} of {REPOS} repositories swept (0 failed)" in run.stderr
    _same_results(tmp_path / "out", cli_sweep.out)
    # Nothing to sweep, or a repository that fails: exit status 2, as `keysweep sweep`.
    bad = subprocess.run(
        [sys.executable, "-m", "keysweep.ray_sweep", "--workdir", "w", "--out", "o"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "nothing to sweep" in bad.stderr


def test_ray_sweep_options_equal_the_cli_sweeps(
    cluster: Any, fleet: Fleet, tmp_path: Path
) -> None:
    """The settings that reach the actors through a pickled scanner (fingerprint key, value and
    path allowlists) leave out and key the same findings as `keysweep sweep` given them in a
    configuration file and the environment."""
    key = "team-key-Jq3Xw8Lz"
    repos = fleet.paths[:8]
    config = tmp_path / "keysweep.toml"
    config.write_text('[allow]\nvalues = ["^AKIA"]\npaths = ["ci/**"]\n')
    cli = subprocess.run(
        [
            str(keysweep_binary()), "sweep", "--workdir", str(tmp_path / "cli-work"), "--out",
            str(tmp_path / "cli-out"), "--no-progress", "--as-of", AS_OF, "--config",
            str(config), *repos,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "KEYSWEEP_FINGERPRINT_KEY": key},
    )
    assert cli.returncode == 0, cli.stderr
    run = subprocess.run(
        [
            sys.executable, "-m", "keysweep.ray_sweep", *repos, "--workdir",
            str(tmp_path / "work"), "--out", str(tmp_path / "out"), "--address",
            cluster.address, "--workers", "2", "--as-of", AS_OF, "--fingerprint-key", key,
            "--allow-value", "^AKIA", "--allow-path", "ci/**",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert key not in run.stderr
    _same_results(tmp_path / "out", tmp_path / "cli-out")
    found = _jsonl(tmp_path / "out" / "findings.jsonl")
    # Only the Stripe keys are left: the AWS keys' values and ci/ are allowed.
    assert {f["rule_id"] for f in found} == {"stripe.secret_key.live"}
    assert not any(f["path"].startswith("ci/") for f in found)
    # Keyed fingerprints differ from the plain ones of the same secrets.
    plain = keysweep.Scanner()
    stripe = [s for s in fleet.secrets if s.startswith("sk_live_")][:8]
    unkeyed = {plain.scan_bytes(f"K={s}\n".encode())[0].fingerprint for s in stripe}
    assert {f["fingerprint"] for f in found}.isdisjoint(unkeyed)
