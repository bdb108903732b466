"""keysweep.Scanner from Python: bytes, paths, history, staged changes, settings, threads,
pickling and errors."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import multiprocessing
import pickle
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest
from conftest import AWS, GH, SLACK, STRIPE, Repo, keysweep_binary

import keysweep

ENV = f'STRIPE_KEY = "{STRIPE}"\nAWS_ACCESS_KEY_ID={AWS}\n'.encode()

ACME_RULES = """
[[rule]]
id = "acme.api_key"
name = "Acme API key"
description = "Full access to the Acme account."
keywords = ["acme_"]
pattern = '''\\b(?P<secret>acme_[A-Za-z0-9]{32})\\b'''
min_entropy = 3.0
confidence = "high"
examples = [{ text = 'k = acme_Q8w7E6r5T4y3U2i1O0p9A8s7D6f5G4h3', secret = 'acme_Q8w7E6r5T4y3U2i1O0p9A8s7D6f5G4h3' }]
"""
ACME = "acme_Zk3Hq9Lw2Xr7Tb5Nc1Vm8Pj4Sd6Fg0Ay"


def test_scan_bytes_finds_secrets_redacted(scanner: keysweep.Scanner) -> None:
    found = scanner.scan_bytes(ENV, "deploy/app.env")
    assert [f.rule_id for f in found] == ["stripe.secret_key.live", "aws.access_key_id"]
    stripe = found[0]
    assert (stripe.line, stripe.column, stripe.end_line, stripe.end_column) == (1, 15, 1, 47)
    assert stripe.path == "deploy/app.env"
    assert stripe.source == "file"
    assert stripe.context == "deployment"
    assert stripe.confidence == "high"
    assert len(stripe.fingerprint) == 32
    assert stripe.secret == "sk_l*****" and stripe.redacted
    assert stripe.reveal() == STRIPE
    assert stripe.commit is None and stripe.present_at_head
    for f in found:
        shown = repr(f) + str(f) + json.dumps(f.to_dict())
        assert f.reveal() not in shown
        assert "*****" not in repr(f), "repr shows no secret, not even redacted"


def test_reveal_true_shows_the_secret(scanner: keysweep.Scanner) -> None:
    (f, _) = scanner.scan_bytes(ENV, reveal=True)
    assert f.secret == STRIPE and not f.redacted
    assert f.to_dict()["secret"] == STRIPE and f.to_dict()["redacted"] is False
    assert STRIPE not in repr(f)
    assert f.path is None


def test_same_secret_same_fingerprint(scanner: keysweep.Scanner) -> None:
    a = scanner.scan_bytes(f"x = {STRIPE}\n".encode())[0]
    b = scanner.scan_bytes(f"\n\nSTRIPE={STRIPE}\n".encode(), "other.py")[0]
    assert a.fingerprint == b.fingerprint
    assert a != b


def test_to_dict_is_the_cli_jsonl_record(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    app = tmp_path / "app.env"
    app.write_bytes(ENV)
    out = subprocess.run(
        [str(keysweep_binary()), "scan", "--no-config", "--format", "jsonl", str(app)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    cli = [json.loads(line) for line in out.stdout.splitlines()]
    ours = [f.to_dict() for f in scanner.scan_path(app)]
    assert ours == cli
    assert set(ours[0]) >= {
        "rule_id", "rule_name", "path", "line", "column", "end_line", "end_column",
        "secret", "fingerprint", "entropy", "confidence", "source", "context",
    }


def test_scan_path_walks_a_directory(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / "settings.py").write_text(f"TOKEN = '{SLACK}'\n")
    (tmp_path / "README.md").write_text("nothing here\n")
    (tmp_path / "ignored.env").write_text(f"KEY={STRIPE}\n")
    (tmp_path / ".gitignore").write_text("ignored.env\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    found = scanner.scan_path(tmp_path)
    assert [(f.rule_id, Path(f.path or "").name) for f in found] == [
        ("slack.token.bot", "settings.py")
    ]
    assert scanner.scan_path(str(tmp_path / "README.md")) == []


def test_threads_share_one_scanner(scanner: keysweep.Scanner) -> None:
    inputs = [f"line {i}\nk = {STRIPE}\n{'x' * i}\ntoken: {SLACK}\n".encode() for i in range(64)]
    expected = [[f.to_dict() for f in scanner.scan_bytes(b, f"f{i}.py")] for i, b in enumerate(inputs)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            got = list(
                pool.map(
                    lambda ib: [f.to_dict() for f in scanner.scan_bytes(ib[1], f"f{ib[0]}.py")],
                    enumerate(inputs),
                )
            )
            assert got == expected
    assert all(len(e) == 2 for e in expected)


def test_scans_release_the_gil(scanner: keysweep.Scanner) -> None:
    """A pure-Python thread keeps running while a long scan runs: the scan let go of the GIL."""
    data = b"config_value = 'nothing secret here'\n" * 100_000  # 4 MB
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        time.sleep(0.05)
        before = ticks
        started = time.monotonic()
        assert scanner.scan_bytes(data) == []
        took = time.monotonic() - started
        during = ticks - before
    finally:
        stop.set()
        counter.join()
    assert took > 0.05, f"the scan was too quick ({took:.3f} s) to tell"
    assert during > 10_000, f"the counter ran {during} times during a {took:.2f} s scan"


def _scan_in_worker(s: keysweep.Scanner) -> list[str]:
    return [f.rule_id for f in s.scan_bytes(f"k = {ACME}\n{STRIPE}\n".encode())]


def test_pickle_carries_settings_and_rule_texts(tmp_path: Path) -> None:
    rules = tmp_path / "acme.toml"
    rules.write_text(ACME_RULES)
    s = keysweep.Scanner(extra_rule_files=[rules], min_confidence="medium", decode=False)
    settings = s.settings()
    assert settings["min_confidence"] == "medium" and settings["decode"] is False
    assert settings["extra_rule_files"] == [{"origin": str(rules), "text": ACME_RULES}]
    assert s.__getstate__() == settings
    data = pickle.dumps(s)
    rules.unlink()  # the pickle carries the text, not the path
    back = pickle.loads(data)
    assert isinstance(back, keysweep.Scanner)
    assert back.settings() == settings
    assert back.rule_ids == s.rule_ids
    assert _scan_in_worker(back) == ["acme.api_key", "stripe.secret_key.live"]
    # In another process (spawned: nothing inherited but the pickle).
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        assert pool.submit(_scan_in_worker, s).result() == _scan_in_worker(s)


def test_rules_choice(tmp_path: Path) -> None:
    only = keysweep.Scanner(rules=["stripe.secret_key.live"])
    assert only.rule_ids == ["stripe.secret_key.live"]
    assert [f.rule_id for f in only.scan_bytes(ENV)] == ["stripe.secret_key.live"]
    rules = tmp_path / "acme.toml"
    rules.write_text(ACME_RULES)
    own = keysweep.Scanner(rules=rules)
    assert own.rule_ids == ["acme.api_key"], "a rule file replaces the built-in rules"
    assert [f.rule_id for f in own.scan_bytes(f"{ACME} {STRIPE}".encode())] == ["acme.api_key"]
    both = keysweep.Scanner(extra_rule_files=[str(rules)])
    assert len(both.rule_ids) == len(keysweep.Scanner().rule_ids) + 1
    gitleaks = tmp_path / "gitleaks.toml"
    gitleaks.write_text(
        'title = "ours"\n[[rules]]\nid = "acme-key"\nregex = \'\'\'acme_[A-Za-z0-9]{32}\'\'\'\n'
        'keywords = ["acme_"]\n'
    )
    gl = keysweep.Scanner(rules=gitleaks)
    assert gl.rule_ids == ["acme-key"]
    assert [f.rule_id for f in gl.scan_bytes(f"{ACME}\n".encode())] == ["acme-key"]


def test_min_confidence_and_decoding() -> None:
    text = f"token: {GH}\n".encode()  # its checksum fails: low confidence
    assert [f.confidence for f in keysweep.Scanner().scan_bytes(text)] == ["low"]
    assert keysweep.Scanner(min_confidence="medium").scan_bytes(text) == []
    encoded = b"data:\n  KEY: " + base64.b64encode(f"STRIPE={STRIPE}".encode()) + b"\n"
    (f,) = keysweep.Scanner().scan_bytes(encoded)
    assert f.decoded == ["base64"] and f.reveal() == STRIPE
    assert keysweep.Scanner(decode=False).scan_bytes(encoded) == []


def test_scan_repo_reports_history(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    repo = Repo(tmp_path / "repo")
    repo.put(".env", f"STRIPE_KEY={STRIPE}\n")
    first = repo.commit("settings")
    repo.put(".env", "STRIPE_KEY=${STRIPE_KEY}\n")
    repo.put("ci.yml", f"slack: {SLACK}\n")
    second = repo.commit("use the environment")
    repo.git("tag", "v1")
    found = scanner.scan_repo(repo.path)
    by_rule = {f.rule_id: f for f in found}
    assert set(by_rule) == {"stripe.secret_key.live", "slack.token.bot"}
    stripe = by_rule["stripe.secret_key.live"]
    assert stripe.source == "history"
    assert (stripe.commit, stripe.path, stripe.line) == (first, ".env", 1)
    assert stripe.author_name == "Ada Dev" and stripe.author_email == "ada@example.com"
    assert stripe.summary == "settings"
    assert stripe.present_at_head is False
    assert stripe.blob and len(stripe.blob) == 40
    assert "refs/tags/v1" in stripe.refs or "v1" in " ".join(stripe.refs)
    assert by_rule["slack.token.bot"].present_at_head is True
    assert by_rule["slack.token.bot"].commit == second
    since = scanner.scan_repo(str(repo.path), since=first)
    assert [f.rule_id for f in since] == ["slack.token.bot"]


def test_scan_repo_recurses_into_submodules(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    lib = Repo(tmp_path / "lib")
    lib.put("config.env", f"AWS_ACCESS_KEY_ID={AWS}\n")
    recorded = lib.commit("lib: config")
    app = Repo(tmp_path / "app")
    app.put("README.md", "app\n")
    app.commit("app: start")
    app.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "vendor/lib")
    app.git("commit", "-q", "-m", "app: vendor lib")
    assert [f.rule_id for f in scanner.scan_repo(app.path)] == []
    found = scanner.scan_repo(app.path, recurse_submodules=True)
    assert [f.rule_id for f in found] == ["aws.access_key_id"]
    assert found[0].path == "vendor/lib/config.env"
    assert found[0].submodule == "vendor/lib"
    assert found[0].to_dict()["submodule"]["commit"] == recorded


def test_scan_staged(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    repo = Repo(tmp_path / "repo")
    repo.put("README.md", "hello\n")
    repo.commit("readme")
    repo.put("deploy.sh", f"export STRIPE={STRIPE}\n")
    assert scanner.scan_staged(repo.path) == [], "not staged yet"
    repo.git("add", "deploy.sh")
    (f,) = scanner.scan_staged(repo.path)
    assert (f.rule_id, f.path, f.source, f.change) == ("stripe.secret_key.live", "deploy.sh", "change", "staged")
    repo.commit("deploy")
    assert scanner.scan_staged(repo.path) == []


def test_sweep_then_resweep(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    a = Repo(tmp_path / "a")
    a.put(".env", f"STRIPE_KEY={STRIPE}\n")
    a.commit("settings")
    b = Repo(tmp_path / "b")
    b.put("app.yml", f"slack: {SLACK}\n")
    b.commit("app")
    out = tmp_path / "out"
    first = scanner.sweep([a.path, str(b.path), str(a.path)], tmp_path / "work", out)
    assert first.complete and len(first) == 2, "a repository named twice is swept once"
    assert [x["mode"] for x in first.audit] == ["full", "full"]
    assert [x["findings"] for x in first.audit] == [1, 1]
    assert {f.rule_id for f in first.findings} == {"stripe.secret_key.live", "slack.token.bot"}
    assert all(f.secret.endswith("*****") for f in first.findings)
    assert first.findings[0].reveal() == STRIPE
    for name in ("findings.jsonl", "audit.jsonl", "inventory.json", "inventory.csv", "inventory.html"):
        text = (out / name).read_text()
        assert text and STRIPE not in text and SLACK not in text, name
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert [x["repo"] for x in audit] == [str(a.path), str(b.path)]
    inventory = json.loads((out / "inventory.json").read_text())
    assert len(inventory["secrets"]) == 2

    again = scanner.sweep([a.path, b.path], tmp_path / "work", out, jobs=2)
    assert [x["mode"] for x in again.audit] == ["unchanged", "unchanged"]
    assert [x["blobs_scanned"] for x in again.audit] == [0, 0]
    assert [f.to_dict() for f in again.findings] == [f.to_dict() for f in first.findings]


def test_sweep_failure_is_an_audit_record(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    (tmp_path / "plain").mkdir()
    result = scanner.sweep([tmp_path / "plain"], tmp_path / "work")
    assert not result.complete
    (audit,) = result.audit
    assert audit["status"] == "failed" and "not a git repository" in audit["error"]
    assert "failed=1" in repr(result)


def test_results_travel_as_json(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    a = Repo(tmp_path / "a")
    a.put(".env", f"STRIPE_KEY={STRIPE}\n")
    a.commit("settings")
    line = scanner._sweep_repo(a.path, str(tmp_path / "work"))
    assert "\n" not in line and STRIPE not in line
    result = keysweep.SweepResult.from_json([line])
    (f,) = result.findings
    assert f.secret == "sk_l*****"
    with pytest.raises(ValueError, match="not available") as e:
        f.reveal()
    assert STRIPE not in str(e.value)
    revealed = keysweep.SweepResult.from_json(
        [scanner._sweep_repo(a.path, str(tmp_path / "work"), reveal=True)], reveal=True
    )
    assert revealed.findings[0].reveal() == STRIPE
    assert json.loads(result.audit_lines()[0]) == result.audit[0]
    # The audit record alone, without reading the findings (the Ray driver's audit.jsonl).
    assert keysweep.SweepResult.audit_line(line) == result.audit_lines()[0]
    with pytest.raises(ValueError, match="result 0"):
        keysweep.SweepResult.from_json(["{}"])
    with pytest.raises(ValueError, match="not a repository's result"):
        keysweep.SweepResult.audit_line("{}")


def test_findings_held_by_the_caller_are_not_sent_again(
    tmp_path: Path, scanner: keysweep.Scanner
) -> None:
    a = Repo(tmp_path / "a")
    a.put(".env", f"STRIPE_KEY={STRIPE}\n")
    a.commit("settings")
    work = str(tmp_path / "work")
    first = scanner._sweep_repo(a.path, work)
    digest = keysweep.SweepResult.digest_of(first)
    assert digest is not None and len(digest) == 64
    assert not keysweep.SweepResult.is_held(first)
    # Unchanged, its findings held: the line has the audit record alone...
    held = scanner._sweep_repo(a.path, work, held=digest)
    assert keysweep.SweepResult.is_held(held) and len(held) < len(first)
    assert keysweep.SweepResult.digest_of(held) == digest
    # ... and with the kept result it is the whole result again.
    whole = keysweep.SweepResult.from_json([(held, first)])
    assert [f.to_dict() for f in whole.findings] == [
        f.to_dict() for f in keysweep.SweepResult.from_json([first]).findings
    ]
    as_bytes = keysweep.SweepResult.from_json([(held, first.encode())])
    assert [f.to_dict() for f in as_bytes.findings] == [f.to_dict() for f in whole.findings]
    assert json.loads(keysweep.SweepResult.audit_line(held))["findings"] == 0
    assert json.loads(keysweep.SweepResult.audit_line(held, findings=1))["findings"] == 1
    # A result with its findings is counted by them, whatever `findings` says.
    assert json.loads(keysweep.SweepResult.audit_line(first, findings=7))["findings"] == 1
    assert whole.audit[0]["findings"] == 1 and whole.audit[0]["mode"] == "unchanged"
    with pytest.raises(ValueError, match="left its findings out"):
        keysweep.SweepResult.from_json([held])
    # A kept result with other findings is refused, not merged.
    b = Repo(tmp_path / "b")
    b.put(".env", f"STRIPE_KEY={STRIPE}\nGITHUB_TOKEN={GH}\n")
    b.commit("settings")
    other = scanner._sweep_repo(b.path, work)
    with pytest.raises(ValueError, match="not those its cache has"):
        keysweep.SweepResult.from_json([(held, other)])
    # Another digest: the findings come back.
    assert not keysweep.SweepResult.is_held(scanner._sweep_repo(a.path, work, held="0" * 64))


def test_errors(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    with pytest.raises(ValueError, match='min_confidence: "certain"'):
        keysweep.Scanner(min_confidence="certain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='no rule has the id "nope.nope"'):
        keysweep.Scanner(rules=["nope.nope"])
    with pytest.raises(FileNotFoundError, match="missing.toml") as missing:
        keysweep.Scanner(extra_rule_files=[tmp_path / "missing.toml"])
    assert missing.value.filename == str(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(ACME_RULES.replace('id = "acme.api_key"', 'id = "acme.bad"').replace("min_entropy = 3.0", "min_entropy = 'high'"))
    with pytest.raises(ValueError) as e:
        keysweep.Scanner(rules=bad)
    assert "bad.toml" in str(e.value) and "acme.bad" in str(e.value) and "min_entropy" in str(e.value)
    with pytest.raises(TypeError):
        keysweep.Scanner(rules=42)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scanner.scan_path(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        scanner.scan_repo(tmp_path / "nowhere")
    # Not a repository: the message names the path, never the content of what is there.
    secret_file = tmp_path / "creds.env"
    secret_file.write_text(f"KEY={STRIPE}\n")
    with pytest.raises(ValueError, match="not a git repository") as e:
        scanner.scan_repo(secret_file)
    assert STRIPE not in str(e.value)
    with pytest.raises(ValueError, match="revision"):
        repo = Repo(tmp_path / "r")
        repo.commit("empty")
        scanner.scan_repo(repo.path, since="no-such-rev")
    with pytest.raises(TypeError):
        scanner.scan_bytes("text, not bytes")  # type: ignore[arg-type]


def test_unreadable_files_are_warnings(tmp_path: Path, scanner: keysweep.Scanner) -> None:
    (tmp_path / "ok.env").write_text(f"KEY={STRIPE}\n")
    bad = tmp_path / "big.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 64)  # a broken archive
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = scanner.scan_path(tmp_path)
    assert [f.rule_id for f in found] == ["stripe.secret_key.live"]
    assert any("big.zip" in str(w.message) for w in caught), [str(w.message) for w in caught]
    for w in caught:
        assert issubclass(w.category, keysweep.ScanWarning)
        assert STRIPE not in str(w.message)
