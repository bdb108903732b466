#!/usr/bin/env python3
"""Recall and precision of keysweep on a labelled set of files.

    benches/score-labelled.py SET_DIR [--keysweep BIN] [--findings FILE.jsonl] [-v]

A set is a directory holding `files/` (the files to scan) and `labels.jsonl`, one object per
labelled credential or negative file:

    {"path": "files/k001/values.yaml", "label": "pos", "lines": [12, [30, 57]], "kind": "provider:stripe"}
    {"path": "files/k400/lock.json", "label": "neg", "kind": "neg:digest"}

`lines` are 1-based; the first names the secret's line, the others parts of the same credential
(a key id next to its secret, a PEM block as a range). A credential is found when a finding in
its file overlaps one of its lines (from `line` to `end_line`); every other finding is a false
alarm. Precision counts findings: matched / all. Scanning uses the default output
(`--no-config`, so a user's config cannot change the numbers). Secret values are never printed:
misses and false alarms are listed by path, line, rule and the label's kind.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from typing import Any


def line_set(spec: list[Any]) -> list[tuple[int, int]]:
    spans = []
    for item in spec:
        if isinstance(item, list):
            spans.append((int(item[0]), int(item[1])))
        else:
            spans.append((int(item), int(item)))
    return spans


def scan(bin_path: str, files: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [bin_path, "scan", "--no-config", "--no-progress", "-f", "jsonl", files],
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"keysweep failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("set_dir")
    ap.add_argument("--keysweep", default="target/release/keysweep")
    ap.add_argument("--findings", help="score this JSONL instead of running keysweep")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses and false alarms")
    args = ap.parse_args()

    set_dir = os.path.abspath(args.set_dir)
    labels = [json.loads(l) for l in open(os.path.join(set_dir, "labels.jsonl")) if l.strip()]
    if args.findings:
        findings = [json.loads(l) for l in open(args.findings) if l.strip()]
    else:
        findings = scan(args.keysweep, os.path.join(set_dir, "files"))

    by_path: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in findings:
        rel = os.path.relpath(os.path.abspath(f["path"]), set_dir)
        by_path[rel].append(f)

    positives = [l for l in labels if l["label"] == "pos"]
    negatives = [l for l in labels if l["label"] == "neg"]
    pos_by_path: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for p in positives:
        pos_by_path[p["path"]].append(p)

    def overlaps(f: dict[str, Any], label: dict[str, Any]) -> bool:
        lo, hi = f["line"], f.get("end_line", f["line"])
        return any(a <= hi and lo <= b for a, b in line_set(label["lines"]))

    found = 0
    misses = []
    kinds: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for p in positives:
        hit = any(overlaps(f, p) for f in by_path.get(p["path"], []))
        found += hit
        kind = p["kind"].split(":")[0]
        kinds[kind][0] += hit
        kinds[kind][1] += 1
        if not hit:
            misses.append(p)

    matched = 0
    false_alarms = []
    for path, fs in by_path.items():
        for f in fs:
            if any(overlaps(f, p) for p in pos_by_path.get(path, [])):
                matched += 1
            else:
                false_alarms.append((path, f))

    total = len(findings)
    recall = 100.0 * found / max(len(positives), 1)
    precision = 100.0 * matched / max(total, 1)
    print(
        f"{os.path.basename(set_dir)}: recall {recall:.1f} % ({found}/{len(positives)}), "
        f"precision {precision:.1f} % ({matched}/{total} findings), "
        f"{len(false_alarms)} false alarm(s), {len(negatives)} negative files"
    )
    print("recall by kind: " + ", ".join(
        f"{k} {100.0 * h / n:.0f} % ({h}/{n})" for k, (h, n) in sorted(kinds.items())
    ))
    if args.verbose:
        for p in misses:
            print(f"MISS {p['path']}:{line_set(p['lines'])[0][0]}  {p['kind']}  {p.get('note', '')}")
        for path, f in false_alarms:
            print(f"FA   {path}:{f['line']}  {f['rule_id']}  {f['confidence']}  [{f.get('context', '-')}]")


if __name__ == "__main__":
    main()
