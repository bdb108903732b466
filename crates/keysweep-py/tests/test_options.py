"""Scanner options the command line has: a fingerprint key, a baseline and allowlists (secret
values and paths), in scans, sweeps and pickles, checked against the `keysweep` binary."""

from __future__ import annotations

import json
import pickle
import subprocess
from pathlib import Path

import pytest
from conftest import GH, SLACK, STRIPE, Repo, keysweep_binary

import keysweep

KEY = "team-key-Jq3Xw8Lz"


def cli_jsonl(*args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [str(keysweep_binary()), *args],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_fingerprint_key_keys_fingerprints_as_the_cli_does(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text(f"STRIPE_KEY={STRIPE}\n")
    plain = keysweep.Scanner().scan_path(tmp_path)
    keyed = keysweep.Scanner(fingerprint_key=KEY)
    found = keyed.scan_path(tmp_path)
    assert [f.rule_id for f in found] == ["stripe.secret_key.live"]
    assert found[0].fingerprint != plain[0].fingerprint
    cli = cli_jsonl("scan", "-f", "jsonl", "--no-progress", "--fingerprint-key", KEY, str(tmp_path))
    assert [r["fingerprint"] for r in cli] == [found[0].fingerprint]
    # The key is never shown; a pickle carries it (workers must key alike).
    assert KEY not in repr(keyed)
    assert "fingerprint_key=<set>" in repr(keyed)
    back = pickle.loads(pickle.dumps(keyed))
    assert back.scan_path(tmp_path)[0].fingerprint == found[0].fingerprint
    with pytest.raises(ValueError, match="fingerprint_key"):
        keysweep.Scanner(fingerprint_key="")


def test_a_baseline_suppresses_what_it_records(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.put(".env", f"STRIPE_KEY={STRIPE}\n")
    repo.commit("settings")
    baseline = tmp_path / "baseline.json"
    made = subprocess.run(
        [str(keysweep_binary()), "baseline", "create", "--no-progress", "-o", str(baseline), str(repo.path)],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    repo.put("ci.yml", f"slack: {SLACK}\n")
    repo.commit("ci")

    s = keysweep.Scanner(baseline=baseline)
    assert [f.rule_id for f in s.scan_path(repo.path)] == ["slack.token.bot"]
    assert [f.rule_id for f in s.scan_repo(repo.path)] == ["slack.token.bot"]
    cli = cli_jsonl("scan", "-f", "jsonl", "--no-progress", "--baseline", str(baseline), str(repo.path))
    assert [r["rule_id"] for r in cli] == ["slack.token.bot"]
    result = s.sweep([repo.path], tmp_path / "work", tmp_path / "out")
    assert [f.rule_id for f in result.findings] == ["slack.token.bot"]
    assert result.audit[0]["findings"] == 1
    # Without the baseline, the same work directory reports both (the cache is keyed by it).
    both = keysweep.Scanner().sweep([repo.path], tmp_path / "work")
    assert sorted(f.rule_id for f in both.findings) == ["slack.token.bot", "stripe.secret_key.live"]

    # The pickle carries the baseline's text, not its path.
    data = pickle.dumps(s)
    baseline.unlink()
    back = pickle.loads(data)
    assert [f.rule_id for f in back.scan_path(repo.path)] == ["slack.token.bot"]
    assert "baseline=" in repr(back)

    # A baseline made under another fingerprint key cannot match: refused, as the CLI does.
    baseline.write_text(back.settings()["baseline"]["text"])
    with pytest.raises(ValueError, match="fingerprint key"):
        keysweep.Scanner(baseline=baseline, fingerprint_key=KEY)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        keysweep.Scanner(baseline=tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        keysweep.Scanner(baseline=tmp_path / "missing.json")


def test_allow_values_and_allow_paths(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.put("deploy/app.env", f"STRIPE_KEY={STRIPE}\nGITHUB_TOKEN={GH}\n")
    repo.put("tests/fixtures/keys.env", f"slack: {SLACK}\n")
    repo.commit("settings")

    values = keysweep.Scanner(allow_values=["^sk_live_ESy7"])
    found = values.scan_bytes(f"STRIPE_KEY={STRIPE}\nGITHUB_TOKEN={GH}\n".encode())
    assert [f.rule_id for f in found] == ["github.pat.classic"]
    assert "allow_values=['^sk_live_ESy7']" in repr(values)

    paths = keysweep.Scanner(allow_paths=["tests/fixtures/**"])

    def rules(fs: list[keysweep.Finding]) -> list[str]:
        return sorted(f.rule_id for f in fs)

    everything = ["github.pat.classic", "slack.token.bot", "stripe.secret_key.live"]
    assert rules(keysweep.Scanner().scan_path(repo.path)) == everything
    kept = ["github.pat.classic", "stripe.secret_key.live"]
    assert rules(paths.scan_path(repo.path)) == kept
    assert rules(paths.scan_repo(repo.path)) == kept
    assert paths.scan_bytes(f"slack: {SLACK}\n".encode(), "tests/fixtures/a.env") == []
    swept = paths.sweep([repo.path], tmp_path / "work")
    assert rules(swept.findings) == kept
    assert swept.audit[0]["findings"] == 2
    back = pickle.loads(pickle.dumps(paths))
    assert rules(back.scan_repo(repo.path)) == kept

    # As `.keysweep.toml`'s allow.values and allow.paths: the CLI leaves out the same.
    config = tmp_path / "keysweep.toml"
    config.write_text('[allow]\nvalues = ["^sk_live_ESy7"]\npaths = ["tests/fixtures/**"]\n')
    cli = cli_jsonl("scan", "-f", "jsonl", "--no-progress", "--config", str(config), str(repo.path))
    both = keysweep.Scanner(allow_values=["^sk_live_ESy7"], allow_paths=["tests/fixtures/**"])
    assert sorted(str(r["rule_id"]) for r in cli) == rules(both.scan_path(repo.path))
    assert rules(both.scan_path(repo.path)) == ["github.pat.classic"]

    with pytest.raises(ValueError, match=r"allow_values: \"\(\" does not compile"):
        keysweep.Scanner(allow_values=["("])
    with pytest.raises(ValueError, match="allow_paths"):
        keysweep.Scanner(allow_paths=["a/[b"])
