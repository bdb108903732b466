"""Type stubs of keysweep's extension module (keysweep._keysweep)."""

import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Optional, Union

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
Confidence = Literal["low", "medium", "high"]
ValidationStatus = Literal["live", "invalid", "unknown", "error"]
RevocationStatus = Literal["dry_run", "revoked", "not_revoked", "unsupported", "error"]

class ScanWarning(UserWarning):
    """Something a scan could not read or that looked wrong; the rest was scanned."""

class Finding:
    """One secret found, with where it is (the JSON record of `keysweep scan --format jsonl`)."""

    @property
    def rule_id(self) -> str: ...
    @property
    def rule_name(self) -> str: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def end_column(self) -> int: ...
    @property
    def byte_start(self) -> int: ...
    @property
    def byte_end(self) -> int: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def entropy(self) -> float: ...
    @property
    def confidence(self) -> Confidence: ...
    @property
    def check_passed(self) -> Optional[bool]: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def decoded(self) -> list[str]: ...
    @property
    def source(self) -> Literal["file", "stdin", "history", "change", "image"]: ...
    @property
    def context(self) -> str: ...
    @property
    def repository(self) -> Optional[str]: ...
    @property
    def blob(self) -> Optional[str]: ...
    @property
    def commit(self) -> Optional[str]: ...
    @property
    def author_name(self) -> Optional[str]: ...
    @property
    def author_email(self) -> Optional[str]: ...
    @property
    def date(self) -> Optional[str]: ...
    @property
    def summary(self) -> Optional[str]: ...
    @property
    def refs(self) -> list[str]: ...
    @property
    def present_at_head(self) -> bool: ...
    @property
    def submodule(self) -> Optional[str]: ...
    @property
    def image(self) -> Optional[str]: ...
    @property
    def image_tags(self) -> list[str]: ...
    @property
    def image_part(self) -> Optional[Literal["layer", "config", "manifest"]]: ...
    @property
    def image_field(self) -> Optional[str]: ...
    @property
    def layer_digest(self) -> Optional[str]: ...
    @property
    def layer_index(self) -> Optional[int]: ...
    @property
    def layer_count(self) -> Optional[int]: ...
    @property
    def removed_in(self) -> Optional[int]: ...
    @property
    def change(self) -> Optional[Literal["staged", "unstaged", "untracked"]]: ...
    @property
    def secret(self) -> str:
        """The secret, redacted (`ghp_*****`) unless the scan revealed it."""
    @property
    def redacted(self) -> bool: ...
    def reveal(self) -> str:
        """The secret in full (ValueError when this process never had it)."""
    def to_dict(self) -> dict[str, Any]:
        """The JSON record of `keysweep scan --format jsonl`, secret as shown."""
    def __eq__(self, other: object) -> bool: ...

class Validation:
    """What a credential's provider said of it (`Scanner.validate`); never holds the secret."""

    @property
    def status(self) -> ValidationStatus:
        """`live` (accepted), `invalid` (refused), `unknown` (the answer said neither, or no
        validator), `error` (no answer: refused address, timeout, connection failed)."""
    @property
    def reason(self) -> str:
        """Why, in a few words (`HTTP 401: invalid`)."""
    @property
    def identity(self) -> dict[str, str]:
        """Who the credential belongs to and what it may do (`account`, `scopes`, `expiry`)."""
    def to_dict(self) -> dict[str, Any]:
        """`{"status": ..., "reason": ..., "identity": {...}}`."""
    def __eq__(self, other: object) -> bool: ...

class Revocation:
    """What `Scanner.revoke` did; never holds the secret."""

    @property
    def status(self) -> RevocationStatus: ...
    @property
    def reason(self) -> str: ...
    @property
    def request(self) -> Optional[str]:
        """A dry run: the request that would be sent, secret replaced by `[REDACTED]`."""
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

class SweepResult:
    """What a sweep found: an audit record per repository and the findings of all of them."""

    @staticmethod
    def from_json(
        results: Sequence[Union[str, tuple[str, Union[str, bytes]]]], reveal: bool = False
    ) -> SweepResult:
        """Results of `Scanner._sweep_repo`; one whose findings were held comes as a pair
        (the line, the kept earlier result whose findings it stands for, as text or bytes)."""
    @staticmethod
    def audit_line(result: str, findings: Optional[int] = None) -> str:
        """The audit record of one `Scanner._sweep_repo` result as a line of audit.jsonl
        (`findings`: the count of a held result's findings, which it leaves out)."""
    @staticmethod
    def digest_of(result: str) -> Optional[str]:
        """The digest of a result's findings: `held` for the next sweep of its repository."""
    @staticmethod
    def is_held(result: str) -> bool:
        """Whether a result left its findings out because the caller holds them."""
    @property
    def audit(self) -> list[dict[str, Any]]: ...
    def audit_lines(self) -> list[str]: ...
    @property
    def findings(self) -> list[Finding]: ...
    @property
    def notes(self) -> list[str]: ...
    @property
    def complete(self) -> bool: ...
    def write(self, out: StrPath, as_of: Optional[str] = None) -> None: ...
    def __len__(self) -> int: ...

class Scanner:
    """A compiled rule set and its settings; immutable, shared freely between threads."""

    def __init__(
        self,
        rules: Union[None, StrPath, Iterable[str]] = None,
        extra_rule_files: Sequence[StrPath] = (),
        min_confidence: Confidence = "low",
        decode: bool = True,
        *,
        fingerprint_key: Optional[str] = None,
        baseline: Optional[StrPath] = None,
        allow_values: Sequence[str] = (),
        allow_paths: Sequence[str] = (),
    ) -> None: ...
    @staticmethod
    def from_settings_dict(settings: dict[str, Any]) -> Scanner: ...
    def settings(self) -> dict[str, Any]: ...
    def __getstate__(self) -> dict[str, Any]: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    @property
    def rule_ids(self) -> list[str]: ...
    def scan_bytes(
        self, data: bytes, path: Optional[str] = None, *, reveal: bool = False
    ) -> list[Finding]: ...
    def scan_path(self, path: StrPath, *, reveal: bool = False) -> list[Finding]: ...
    def scan_repo(
        self,
        path: StrPath,
        since: Optional[str] = None,
        *,
        reveal: bool = False,
        recurse_submodules: bool = False,
    ) -> list[Finding]: ...
    def scan_staged(self, repo: StrPath, *, reveal: bool = False) -> list[Finding]: ...
    def scan_image(
        self,
        path: StrPath,
        *,
        reveal: bool = False,
        platform: Optional[str] = None,
        all_platforms: bool = False,
        insecure_registries: Sequence[str] = (),
        cache: Optional[StrPath] = None,
    ) -> list[Finding]: ...
    def sweep(
        self,
        repos: Sequence[StrPath],
        workdir: StrPath,
        out: Optional[StrPath] = None,
        jobs: int = 1,
        *,
        reveal: bool = False,
    ) -> SweepResult: ...
    def validate(
        self,
        findings: Iterable[Finding],
        *,
        allow_internal: bool = False,
        origins: Optional[dict[str, str]] = None,
        concurrency: int = 8,
        timeout: float = 10.0,
    ) -> list[Validation]:
        """Asks each finding's provider whether its credential works. SENDS EACH SECRET TO ITS
        PROVIDER. One `Validation` per finding, in order; one request per distinct credential."""
    def revoke(
        self,
        finding: Finding,
        *,
        dry_run: bool = True,
        allow_internal: bool = False,
        origins: Optional[dict[str, str]] = None,
        timeout: float = 10.0,
    ) -> Revocation:
        """Revokes the credential with its provider (a dry run by default: nothing sent)."""
    def _sweep_repo(
        self,
        repo: StrPath,
        workdir: StrPath,
        *,
        threads: Optional[int] = None,
        reveal: bool = False,
        held: Optional[str] = None,
    ) -> str: ...
    def _known_repos(self, repos: Sequence[StrPath], workdir: StrPath) -> list[bool]: ...

def failed_result(repo: StrPath, error: str) -> str:
    """The result of a repository that could not be swept at all, as `Scanner._sweep_repo` returns one."""
