"""keysweep: find secrets (cloud keys, tokens, private keys, passwords in connection strings)
in bytes, files and directories, git history, staged changes and many repositories.

>>> import keysweep
>>> scanner = keysweep.Scanner()
>>> [f.rule_id for f in scanner.scan_bytes(b'STRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"')]
['stripe.secret_key.live']

A `Scanner` compiles its rules once; it is immutable and may be shared by any number of
threads (scans release the GIL). Pickling one carries its settings (rule files with their
text), and unpickling compiles them again: send it to worker processes or Ray actors.
Secrets are redacted (`sk_l*****`) unless a scan is given `reveal=True`, or a finding's
`reveal()` is called; no `repr()` and no error message shows one.

`Scanner.validate(findings)` asks each finding's provider whether the credential still works
(`live`, `invalid`, `unknown`, `error`, with who it belongs to); it sends each secret to its
provider, so it is never done unless called. `Scanner.revoke(finding)` previews (or, with
`dry_run=False`, makes) a revocation where the provider offers one.
"""

from ._keysweep import (
    Finding,
    Revocation,
    Scanner,
    ScanWarning,
    SweepResult,
    Validation,
    __version__,
)

__all__ = [
    "Finding",
    "Revocation",
    "Scanner",
    "ScanWarning",
    "SweepResult",
    "Validation",
    "__version__",
]
