//! Data-driven tests of the built-in rule set: every rule's examples, the prefilter contract,
//! and the inputs that must never be findings.

use keysweep::{check_rule_examples, Confidence, RuleSet, Scanner, ScannerBuilder};

const CATEGORIES: &[&str] = &[
    "cloud",
    "scm",
    "ci",
    "registry",
    "messaging",
    "payment",
    "ai",
    "observability",
    "infra",
    "identity",
    "database",
    "private-key",
    "jwt",
    "framework",
    "credential-file",
    "generic",
];

#[test]
fn builtin_set_has_at_least_200_rules() {
    let rules = RuleSet::builtin();
    assert!(rules.len() >= 200, "only {} built-in rules", rules.len());
}

#[test]
fn every_builtin_rule_passes_its_examples_with_prefilter_on_and_off() {
    let rules = RuleSet::builtin_with_examples();
    let failures: Vec<String> = rules
        .rules()
        .iter()
        .flat_map(check_rule_examples)
        .map(|f| format!("{}: {}", f.rule_id, f.message))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_builtin_rule_is_well_formed() {
    let rules = RuleSet::builtin();
    let scanner = Scanner::new(rules.clone()).unwrap();
    let mut problems = Vec::new();
    for (i, rule) in rules.rules().iter().enumerate() {
        if let Err(e) = rule.validate() {
            problems.push(e.to_string());
        }
        // Rules scoped to some files may do without keywords (their formats have none).
        if rule.keywords.is_empty() && rule.paths.is_empty() {
            problems.push(format!("{}: no keywords", rule.id));
        }
        if !scanner.rule_is_bounded(i) {
            problems.push(format!("{}: unbounded pattern", rule.id));
        }
        if !rule.tags.iter().any(|t| CATEGORIES.contains(&t.as_str())) {
            problems.push(format!("{}: no category tag in {:?}", rule.id, rule.tags));
        }
        // Path patterns are searched together, all matches at once, over every path: a
        // counted repetition (`[^/]{0,60}`) multiplies the states of that search (one of
        // them cost a rails scan a third of its time). Paths are short; `*` and `+` do.
        for p in rule.paths.iter().chain(&rule.allow_paths) {
            if let Some(n) = largest_repetition_bound(p).filter(|&n| n > 8) {
                problems.push(format!("{}: path pattern counts to {n}: {p}", rule.id));
            }
        }
        if rule.name.is_empty() || rule.description.is_empty() {
            problems.push(format!("{}: missing name or description", rule.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every example and negative example of every rule in one haystack, separated by filler:
/// the full rule set must report exactly the same findings with the prefilter on and off.
#[test]
fn prefilter_contract_holds_on_all_examples_together() {
    let rules = RuleSet::builtin_with_examples();
    let mut hay = String::new();
    for rule in rules.rules() {
        for ex in &rule.examples {
            hay.push_str(&ex.text);
            hay.push_str("\n\nfiller line of ordinary source text\n\n");
        }
        for text in rule.negative_examples.iter().map(|n| &n.text) {
            hay.push_str(text);
            hay.push_str("\n\nfiller line of ordinary source text\n\n");
        }
    }
    let on = Scanner::new(rules.clone()).unwrap();
    let off = ScannerBuilder::new()
        .prefilter(false)
        .build(rules.clone())
        .unwrap();
    let found_on = on.scan(&mut on.scratch(), hay.as_bytes());
    let found_off = off.scan(&mut off.scratch(), hay.as_bytes());
    let key = |f: &keysweep::Finding| (f.range.clone(), f.rule_id.to_string());
    let a: Vec<_> = found_on.iter().map(key).collect();
    let b: Vec<_> = found_off.iter().map(key).collect();
    assert_eq!(a, b);
    // Each rule's examples are found in the mixed haystack too (by some rule).
    let total_examples: usize = rules.rules().iter().map(|r| r.examples.len()).sum();
    assert!(
        found_on.len() >= total_examples / 2,
        "{} findings",
        found_on.len()
    );
}

fn scan_builtin(text: &str) -> Vec<keysweep::Finding> {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    scanner.scan(&mut scanner.scratch(), text.as_bytes())
}

fn assert_nothing_found(cases: &[&str]) {
    for case in cases {
        let found = scan_builtin(case);
        let ids: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
        assert!(
            found.is_empty(),
            "expected no finding in {case:?}, got {ids:?}"
        );
    }
}

#[test]
fn documentation_examples_are_not_findings() {
    assert_nothing_found(&[
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ]);
}

#[test]
fn placeholders_are_not_findings() {
    assert_nothing_found(&[
        "api_key = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
        "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        "OPENAI_API_KEY=your_api_key_here",
        "token: <token>",
        "password: <YOUR-PASSWORD>",
        "GITHUB_TOKEN=${GITHUB_TOKEN}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "password: \"{{ secrets.DB_PASSWORD }}\"",
        "password = \"changeme\"",
        "const apiKey = process.env.API_KEY;",
        "api_key = os.environ[\"API_KEY\"]",
        "secret = os.environ.get('SECRET_KEY')",
        "DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost:5432/app",
    ]);
}

#[test]
fn public_keys_and_certificates_are_not_findings() {
    assert_nothing_found(&[
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\nRTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n-----END CERTIFICATE-----\n",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7Yq3x9Lm2Zp8Rt4Wv6Kb1Nd5Hj0Gf user@host",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk3ZmQ2YjZlYzk4ZTQ1ZjFhMmIzYzRkNWU2Zjc4 deploy@ci",
    ]);
}

#[test]
fn hashes_and_uuids_without_secret_context_are_not_findings() {
    assert_nothing_found(&[
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "\"integrity\": \"sha512-Vq7rT2pLx9hZ4kw9Qp2mG8m2kq9Zwr8fK2mQ9xLp3RXk29vLmq4T==\"",
        "id: 123e4567-e89b-12d3-a456-426614174000",
        "request_id=f47ac10b-58cc-4372-a567-0e02b2c3d479 status=200",
        "md5sum d41d8cd98f00b204e9800998ecf8427e  empty.txt",
        "<PackageReference Include=\"Newtonsoft.Json\" Version=\"13.0.3\" />",
        "version = \"1.2.3\"",
    ]);
}

#[test]
fn a_checksum_failure_lowers_confidence() {
    let rules = RuleSet::builtin_with_examples();
    let rule = rules
        .rules()
        .iter()
        .find(|r| r.check == Some(keysweep::Check::Base62Crc32))
        .expect("a rule with the base62-crc32 check");
    let ex = &rule.examples[0];
    let scanner = Scanner::new(rules.clone()).unwrap();
    let good = scanner.scan(&mut scanner.scratch(), ex.text.as_bytes());
    let good = good.iter().find(|f| f.rule_id == rule.id).unwrap();
    assert_eq!(good.check_passed, Some(true));
    assert_eq!(good.confidence, rule.confidence);

    // Change the last checksum digit.
    let mut bad_secret = ex.secret.clone().into_bytes();
    let last = bad_secret.len() - 1;
    bad_secret[last] = if bad_secret[last] == b'A' { b'B' } else { b'A' };
    let bad_secret = String::from_utf8(bad_secret).unwrap();
    let text = ex.text.replace(&ex.secret, &bad_secret);
    let bad = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    let bad = bad.iter().find(|f| f.rule_id == rule.id).unwrap();
    assert_eq!(bad.check_passed, Some(false));
    assert_eq!(bad.confidence, Confidence::Low);
}

#[test]
fn fingerprints_ignore_location_and_honour_the_key() {
    let rules = RuleSet::builtin();
    let scanner = Scanner::new(rules.clone()).unwrap();
    let text_a = "token = \"T5kR9mW2xQ7vL3pZ8nB4yJ6c\"";
    let text_b = "\n\n\n    other_token: 'T5kR9mW2xQ7vL3pZ8nB4yJ6c'";
    let a = scanner.scan(&mut scanner.scratch(), text_a.as_bytes());
    let b = scanner.scan(&mut scanner.scratch(), text_b.as_bytes());
    assert_eq!(a[0].fingerprint, b[0].fingerprint);
    assert_ne!(a[0].line, b[0].line);
    let keyed = ScannerBuilder::new()
        .fingerprint_key(b"k".to_vec())
        .build(rules)
        .unwrap();
    let c = keyed.scan(&mut keyed.scratch(), text_a.as_bytes());
    assert_ne!(a[0].fingerprint, c[0].fingerprint);
    // The fingerprint reveals nothing of the secret.
    assert!(!a[0].fingerprint.to_string().contains("T5kR"));
}

#[test]
fn scanner_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scanner>();
    fn assert_send<T: Send>() {}
    assert_send::<keysweep::Scratch>();
}

#[test]
fn scanning_invalid_utf8_and_binary_bytes_works() {
    let mut hay = vec![0xff, 0xfe, 0x00, 0xc3, 0x28];
    hay.extend_from_slice(b"\napi_key = \"q8Xv2LmZ7pRt4YwK9sNb3Jd6\"\n");
    hay.extend_from_slice(&[0x80, 0x81, 0x00]);
    let found = scan_builtin_bytes(&hay);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
    assert!(scan_builtin_bytes(b"").is_empty());
}

fn scan_builtin_bytes(hay: &[u8]) -> Vec<keysweep::Finding> {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    scanner.scan(&mut scanner.scratch(), hay)
}

#[test]
fn one_secret_matched_by_two_specific_rules_is_reported_once() {
    // `sk_live_` keys of Paystack are also shaped like Stripe keys.
    let found =
        scan_builtin("PAYSTACK_SECRET_KEY=sk_live_4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e3b6d9a2f");
    let ranges: Vec<_> = found.iter().map(|f| f.range.clone()).collect();
    let mut deduped = ranges.clone();
    deduped.dedup();
    assert_eq!(
        ranges,
        deduped,
        "{:?}",
        found.iter().map(|f| &*f.rule_id).collect::<Vec<_>>()
    );
    assert!(!found.is_empty());
}

#[test]
fn default_database_passwords_are_not_findings() {
    assert_nothing_found(&[
        "DATABASE_URL=postgres://postgres:postgres@localhost:5432/app_test",
        "AMQP_URL=amqp://guest:guest@localhost:5672/",
    ]);
}

/// Randomised form of the prefilter contract: fragments of every rule's examples (cut at random
/// points, so matches start and end near window and lane edges) spliced with random bytes.
#[test]
fn prefilter_contract_holds_on_spliced_examples() {
    let rules = RuleSet::builtin_with_examples();
    let texts: Vec<&[u8]> = rules
        .rules()
        .iter()
        .flat_map(|r| r.examples.iter().map(|e| e.text.as_bytes()))
        .collect();
    let on = Scanner::new(rules.clone()).unwrap();
    let off = ScannerBuilder::new()
        .prefilter(false)
        .build(rules.clone())
        .unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0..8 {
        let mut hay = Vec::new();
        while hay.len() < 6000 {
            let t = texts[rand(texts.len())];
            let (a, b) = (rand(t.len() / 3 + 1), t.len() - rand(t.len() / 3 + 1));
            hay.extend_from_slice(&t[a.min(b)..b.max(a)]);
            for _ in 0..rand(4) {
                hay.push(b" \n=:\"'_-Ax0\x00\xff"[rand(13)]);
            }
        }
        let key = |f: &keysweep::Finding| (f.range.clone(), f.rule_id.to_string());
        let a: Vec<_> = on.scan(&mut on.scratch(), &hay).iter().map(key).collect();
        let b: Vec<_> = off.scan(&mut off.scratch(), &hay).iter().map(key).collect();
        assert_eq!(a, b, "round {round}");
    }
}

/// A scratch made by one scanner cannot be used with another (its caches are sized for the
/// other rule set): a documented panic, not a wrong answer.
#[test]
#[should_panic(expected = "a Scratch must be used with the Scanner that made it")]
fn a_scratch_from_another_scanner_is_refused() {
    let a = Scanner::new(RuleSet::builtin()).unwrap();
    let b = Scanner::new(RuleSet::builtin()).unwrap();
    let mut scratch = a.scratch();
    b.scan(&mut scratch, b"token = abc");
}

/// The largest count of a counted repetition (`{2,12}` and `{12,}` give 12) written in
/// `pattern`, if any.
fn largest_repetition_bound(pattern: &str) -> Option<usize> {
    let b = pattern.as_bytes();
    let mut best = None;
    for (i, _) in pattern.match_indices('{') {
        if i > 0 && b[i - 1] == b'\\' {
            continue;
        }
        let Some(len) = pattern[i + 1..].find('}') else {
            continue;
        };
        let inner = &pattern[i + 1..i + 1 + len];
        // `{40}`, `{0,40}` and `{40,}` all count to 40.
        if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit() || c == b',') {
            let n = inner
                .split(',')
                .filter_map(|n| n.parse::<usize>().ok())
                .max();
            best = best.max(n);
        }
    }
    best
}
