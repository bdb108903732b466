"""Scanner.validate and Scanner.revoke against a stand-in for api.github.com on 127.0.0.1
(http.server in a thread of this process: each answer it gives also shows that the requests
run with the GIL released, since the server needs the GIL to answer)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Repo

import keysweep

# Fake tokens with valid checksums (never issued): the stand-in answers 200 for LIVE.
LIVE = "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"
DEAD = "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"
SECRETS = (LIVE, DEAD)

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


PAIR_ID = "k3yq7w2z"
PAIR_SECRET = "p9x2m7q4v8n3b6c1z5l0k2j4h7g9f3d8"
PAIR_RULES = """
[[rule]]
id = "pair.key"
name = "Pair key"
description = "A key id and its secret."
keywords = ["pair_"]
pattern = 'pair_(?P<key_id>[a-z0-9]{8}):(?P<secret>[a-z0-9]{32})'
parts = ["key_id"]
examples = [{ text = 'pair_a1b2c3d4:q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3', secret = 'q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3' }]
[rule.validate]
url = "http://127.0.0.1:PORT/pair?id={{ key_id }}"
headers = { Authorization = "token {{ secret }}" }
live = { status = 200 }
invalid = { status = 401 }
identity = { account = "json:login" }
"""


class GitHub:
    """The stand-in's record of what it was sent: (method, path, token or body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    @property
    def origins(self) -> dict[str, str]:
        return {"https://api.github.com": f"http://127.0.0.1:{self.port}"}

    def sent(self, path: str, token: str) -> int:
        """How many requests for `path` carried `token`."""
        with self.lock:
            return sum(1 for (_, p, t) in self.requests if p == path and token in t)


@pytest.fixture
def github() -> Iterator[GitHub]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: object, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("token ")
            with gh.lock:
                gh.requests.append(("GET", self.path, token))
            if self.path == f"/pair?id={PAIR_ID}" and token == PAIR_SECRET:
                self.answer(200, {"login": "pair-bot"}, {})
            elif self.path == "/user" and token == LIVE:
                self.answer(200, {"login": "octocat"}, {"X-OAuth-Scopes": "repo, gist"})
            else:
                # The answer quotes the token: the reason must not.
                self.answer(401, {"message": f"Bad credentials: {token}"}, {})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            with gh.lock:
                gh.requests.append(("POST", self.path, body))
            if self.path == "/credentials/revoke":
                self.answer(202, {}, {})
            else:
                self.answer(404, {"message": "Not Found"}, {})

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gh = GitHub(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gh
    finally:
        server.shutdown()
        server.server_close()


def assert_no_secret(*shown: object) -> None:
    text = " ".join(str(s) for s in shown)
    for s in SECRETS:
        assert s not in text
        assert s[4:] not in text


def test_live_and_invalid(scanner: keysweep.Scanner, github: GitHub) -> None:
    found = scanner.scan_bytes(f"GITHUB_TOKEN={LIVE}\ntoken = {DEAD}\n".encode(), "ci.env")
    assert [f.rule_id for f in found] == ["github.pat.classic"] * 2
    live, dead = scanner.validate(found, allow_internal=True, origins=github.origins)
    assert live.status == "live"
    assert live.identity == {"account": "octocat", "scopes": "repo, gist"}
    assert dead.status == "invalid"
    assert "401" in dead.reason
    assert dead.identity == {}
    assert live.to_dict() == {
        "status": "live",
        "reason": live.reason,
        "identity": {"account": "octocat", "scopes": "repo, gist"},
    }
    assert github.sent("/user", LIVE) == 1 and github.sent("/user", DEAD) == 1
    for v in (live, dead):
        assert_no_secret(repr(v), v.reason, v.identity, json.dumps(v.to_dict()))
    assert isinstance(live, keysweep.Validation)
    assert live == scanner.validate(found[:1], allow_internal=True, origins=github.origins)[0]


def test_one_request_per_credential(scanner: keysweep.Scanner, github: GitHub) -> None:
    text = f"a = {LIVE}\nb = {DEAD}\nc = {LIVE}\nd = {LIVE}\ne = {DEAD}\n"
    found = scanner.scan_bytes(text.encode(), "tokens.txt")
    assert len(found) == 5
    answers = scanner.validate(found, allow_internal=True, origins=github.origins, concurrency=4)
    assert [a.status for a in answers] == ["live", "invalid", "live", "live", "invalid"]
    assert github.sent("/user", LIVE) == 1
    assert github.sent("/user", DEAD) == 1
    assert len(github.requests) == 2
    # The cache lives for one call: a second call asks again.
    scanner.validate(found[:1], allow_internal=True, origins=github.origins)
    assert github.sent("/user", LIVE) == 2


def test_internal_address_refused_without_allow_internal(
    scanner: keysweep.Scanner, github: GitHub
) -> None:
    found = scanner.scan_bytes(f"GITHUB_TOKEN={LIVE}\n".encode())
    (refused,) = scanner.validate(found, origins=github.origins)
    assert refused.status == "error"
    assert refused.reason == "internal address refused (use allow_internal=True)"
    assert_no_secret(repr(refused), refused.reason)
    assert github.requests == [], "nothing reached the internal address"


def test_rule_without_validator_is_unknown(tmp_path: Path, github: GitHub) -> None:
    rules = tmp_path / "acme.toml"
    rules.write_text(ACME_RULES)
    scanner = keysweep.Scanner(extra_rule_files=[rules])
    found = scanner.scan_bytes(f"k = {ACME}\nt = {LIVE}\n".encode(), "app.env")
    assert [f.rule_id for f in found] == ["acme.api_key", "github.pat.classic"]
    acme, gh = scanner.validate(iter(found), allow_internal=True, origins=github.origins)
    assert (acme.status, acme.reason, acme.identity) == (
        "unknown",
        "no validator for this rule",
        {},
    )
    assert gh.status == "live"
    assert len(github.requests) == 1


def test_nothing_is_sent_without_findings_with_validators(
    scanner: keysweep.Scanner, github: GitHub
) -> None:
    assert scanner.validate([], allow_internal=True, origins=github.origins) == []
    assert github.requests == []


def test_sweep_findings_validate(tmp_path: Path, github: GitHub) -> None:
    """A sweep's findings (made from records, not from the engine's findings) carry their
    secret for validation; read back redacted from another process, they do not."""
    repo = Repo(tmp_path / "repo")
    repo.put("deploy.env", f"GITHUB_TOKEN={LIVE}\n")
    repo.commit("deploy settings")
    scanner = keysweep.Scanner()
    result = scanner.sweep([repo.path], tmp_path / "work")
    (found,) = [f for f in result.findings if f.rule_id == "github.pat.classic"]
    assert found.redacted
    (v,) = scanner.validate([found], allow_internal=True, origins=github.origins)
    assert (v.status, v.identity["account"]) == ("live", "octocat")

    line = scanner._sweep_repo(repo.path, tmp_path / "work2")
    (redacted,) = keysweep.SweepResult.from_json([line]).findings
    with pytest.raises(ValueError, match="not available") as err:
        scanner.validate([redacted], allow_internal=True, origins=github.origins)
    assert "findings[0]" in str(err.value)
    assert_no_secret(str(err.value))
    assert len(github.requests) == 1


def test_revoke_dry_run_shows_the_request_redacted(
    scanner: keysweep.Scanner, github: GitHub
) -> None:
    (found,) = scanner.scan_bytes(f"GITHUB_TOKEN={DEAD}\n".encode())
    r = scanner.revoke(found, origins=github.origins)
    assert isinstance(r, keysweep.Revocation)
    assert r.status == "dry_run"
    assert r.request is not None
    assert r.request.startswith(f"POST http://127.0.0.1:{github.port}/credentials/revoke\n")
    assert '{"credentials":["[REDACTED]"]}' in r.request
    assert_no_secret(r.request, r.reason, repr(r), r.to_dict())
    assert github.requests == [], "a dry run sends nothing"


def test_revoke_sends_the_revocation(scanner: keysweep.Scanner, github: GitHub) -> None:
    (found,) = scanner.scan_bytes(f"GITHUB_TOKEN={DEAD}\n".encode())
    r = scanner.revoke(found, dry_run=False, allow_internal=True, origins=github.origins)
    assert (r.status, r.request) == ("revoked", None)
    assert "202" in r.reason
    assert_no_secret(r.reason, repr(r))
    assert github.sent("/credentials/revoke", DEAD) == 1


def test_revoke_unsupported_rule(tmp_path: Path) -> None:
    rules = tmp_path / "acme.toml"
    rules.write_text(ACME_RULES)
    scanner = keysweep.Scanner(rules=rules)
    (found,) = scanner.scan_bytes(f"k = {ACME}\n".encode())
    r = scanner.revoke(found, dry_run=False)
    assert r.status == "unsupported"
    assert "acme.api_key" in r.reason


def test_bad_arguments(scanner: keysweep.Scanner) -> None:
    found = scanner.scan_bytes(f"GITHUB_TOKEN={LIVE}\n".encode())
    with pytest.raises(ValueError, match="concurrency"):
        scanner.validate(found, concurrency=0)
    with pytest.raises(ValueError, match="timeout"):
        scanner.validate(found, timeout=0)
    with pytest.raises(TypeError, match=r"findings\[1\]: expected a keysweep.Finding"):
        scanner.validate([found[0], "ghp_x"])  # type: ignore[list-item]
    other = keysweep.Scanner(rules=["stripe.secret_key.live"])
    with pytest.raises(ValueError, match="github.pat.classic.*not one of this scanner's rules"):
        other.validate(found)
    with pytest.raises(ValueError, match="not one of this scanner's rules"):
        other.revoke(found[0])


def test_multi_part_credential_from_scan_and_sweep(tmp_path: Path, github: GitHub) -> None:
    """The parts of a multi-part credential reach the validator, whether the finding comes
    from a scan (the engine's finding) or a sweep (rebuilt from its record)."""
    rules = tmp_path / "pair.toml"
    rules.write_text(PAIR_RULES.replace("PORT", str(github.port)))
    scanner = keysweep.Scanner(rules=rules)
    text = f"KEY=pair_{PAIR_ID}:{PAIR_SECRET}\nOLD=pair_aaaabbbb:{PAIR_SECRET}\n"
    found = scanner.scan_bytes(text.encode(), "app.env")
    assert [f.rule_id for f in found] == ["pair.key", "pair.key"]
    live, wrong_id = scanner.validate(found, allow_internal=True)
    assert (live.status, live.identity) == ("live", {"account": "pair-bot"})
    assert wrong_id.status == "invalid", "the same secret with another key id is another credential"
    assert len(github.requests) == 2
    assert PAIR_SECRET not in repr(live) + repr(wrong_id) + wrong_id.reason

    repo = Repo(tmp_path / "repo")
    repo.put("app.env", text)
    repo.commit("keys")
    swept = scanner.sweep([repo.path], tmp_path / "work").findings
    assert [v.status for v in scanner.validate(swept, allow_internal=True)] == ["live", "invalid"]
