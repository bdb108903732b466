//! Every built-in HTTP validator and revocation, end to end: the rule's first example is
//! scanned for its real finding (secret and parts), the request is rendered by the engine and
//! sent, through an origin override, to a local server on 127.0.0.1 that replays the
//! provider's recorded answers from `providers.toml` (live, invalid, revoked), then
//! rate-limited, redirecting, slow and oversized ones.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keysweep::{Finding, Rule, RuleSet, ScannerBuilder};
use keysweep_validate::{RevokeOutcome, Status, Validation, Validator, ValidatorBuilder};
use support::{Recorded, Reply, Server};

/// One `[[provider]]` entry of `providers.toml`.
struct Entry {
    rule: String,
    expect_in_request: Option<String>,
    live: Option<toml::Table>,
    invalid: Option<toml::Table>,
    invalid_verdict: Option<Status>,
    revoked: Option<toml::Table>,
}

fn entries() -> Vec<Entry> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/providers.toml");
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: toml::Table = src.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
    let table = |p: &toml::Table, k: &str| p.get(k).and_then(|v| v.as_table()).cloned();
    file["provider"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_table().unwrap();
            Entry {
                rule: p["rule"].as_str().unwrap().to_string(),
                expect_in_request: p
                    .get("expect_in_request")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                live: table(p, "live"),
                invalid: table(p, "invalid"),
                invalid_verdict: p.get("invalid_verdict").and_then(|v| v.as_str()).map(
                    |v| match v {
                        "invalid" => Status::Invalid,
                        "unknown" => Status::Unknown,
                        other => panic!("{:?}: invalid_verdict {other:?}", p["rule"]),
                    },
                ),
                revoked: table(p, "revoked"),
            }
        })
        .collect()
}

/// A recorded answer as the server sends it.
fn reply(answer: &toml::Table) -> Reply {
    let status = answer["status"].as_integer().unwrap() as u16;
    let body = answer.get("body").and_then(|b| b.as_str()).unwrap_or("");
    let mut r = Reply::new(status, body);
    if let Some(h) = answer.get("headers").and_then(|h| h.as_table()) {
        for (n, v) in h {
            r = r.header(n, v.as_str().unwrap());
        }
    }
    r
}

/// The finding the rule reports on its first example (scanned as its path, the rule alone).
fn first_finding(rule: &Rule) -> Result<Finding, String> {
    let ex = rule
        .examples
        .first()
        .ok_or_else(|| "no example".to_string())?;
    let mut set = RuleSet::empty();
    set.push(rule.clone()).map_err(|e| e.to_string())?;
    let scanner = ScannerBuilder::new()
        .build(set)
        .map_err(|e| e.to_string())?;
    let mut found = scanner.scan_file(
        &mut scanner.scratch(),
        ex.text.as_bytes(),
        ex.path.as_deref(),
    );
    if found.len() != 1 || found[0].secret != ex.secret.as_bytes() {
        return Err(format!(
            "the first example gives {} finding(s), not its secret alone",
            found.len()
        ));
    }
    Ok(found.remove(0))
}

/// The origin of a URL template (`https://api.example.com`), its `{{ part }}` expressions
/// filled from the finding (only plain names can occur in a host).
fn origin_of(url: &str, f: &Finding) -> String {
    let rest = url
        .strip_prefix("https://")
        .expect("built-in URLs are https");
    let mut host = rest[..rest.find('/').unwrap_or(rest.len())].to_string();
    while let Some(open) = host.find("{{") {
        let close = open + host[open..].find("}}").unwrap();
        let name = host[open + 2..close].trim();
        let value = f
            .parts
            .iter()
            .find(|p| &*p.name == name)
            .map(|p| String::from_utf8_lossy(&p.value).into_owned())
            .unwrap_or_default();
        host.replace_range(open..close + 2, &value);
    }
    format!("https://{host}")
}

/// The literal pieces of a URL template's path and query, in order (the `{{ }}` left out).
fn path_literals(url: &str) -> Vec<String> {
    let rest = url.strip_prefix("https://").unwrap();
    // The path starts at the first `/` outside a `{{ }}` (a host may be a template).
    let (mut i, mut depth) = (0, false);
    let b = rest.as_bytes();
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            depth = true;
        } else if b[i..].starts_with(b"}}") {
            depth = false;
        } else if b[i] == b'/' && !depth {
            break;
        }
        i += 1;
    }
    let mut out = Vec::new();
    let mut rest = &rest[i..];
    while let Some(open) = rest.find("{{") {
        out.push(rest[..open].to_string());
        let close = open + rest[open..].find("}}").unwrap();
        rest = &rest[close + 2..];
    }
    out.push(rest.to_string());
    out.retain(|s| !s.is_empty());
    out
}

/// `path` holds every piece of `pieces` in order, the first at its start.
fn path_matches(path: &str, pieces: &[String]) -> bool {
    let mut at = 0;
    for (i, p) in pieces.iter().enumerate() {
        match path[at..].find(p.as_str()) {
            Some(0) => at += p.len(),
            Some(k) if i > 0 => at += k + p.len(),
            _ => return false,
        }
    }
    true
}

/// The URL (path and query), header values and body of a request, as one text.
fn request_text(r: &Recorded) -> String {
    let mut s = r.path.clone();
    for (_, v) in &r.headers {
        s.push('\n');
        s.push_str(v);
    }
    s.push('\n');
    s.push_str(&String::from_utf8_lossy(&r.body));
    s
}

/// Whether anything shown of a validation (reason, identity, `Debug`) holds the secret.
fn leaks(v: &Validation, f: &Finding) -> Option<String> {
    let shown = format!(
        "{}\n{v:?}\n{}",
        v.reason,
        v.identity
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<String>()
    );
    let secret = String::from_utf8_lossy(&f.secret).into_owned();
    if shown.contains(&secret) {
        return Some("the secret".into());
    }
    None
}

/// What the engine should read for each identity field from a recorded answer: `Some(value)`
/// for a string at a JSON path, `None` when the field is there but not a plain string. A
/// source the answer does not have at all (not even as `null`) is an `Err`: a wrong path.
fn expected_identity(
    sources: &[(String, String)],
    answer: &toml::Table,
) -> Result<Vec<(String, Option<String>)>, String> {
    let body = answer.get("body").and_then(|b| b.as_str()).unwrap_or("");
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let mut out = Vec::new();
    for (field, source) in sources {
        if let Some(path) = source.strip_prefix("json:") {
            let got = json.as_ref().and_then(|j| {
                path.split('.').try_fold(j, |v, seg| match v {
                    serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
                    serde_json::Value::Object(o) => o.get(seg),
                    _ => None,
                })
            });
            match got {
                None => return Err(format!("{field} reads {source}, which the answer lacks")),
                Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::String(s)) if s.chars().count() <= 200 => {
                    out.push((field.clone(), Some(s.clone())))
                }
                Some(_) => out.push((field.clone(), None)),
            }
        } else if let Some(name) = source.strip_prefix("header:") {
            let h = answer
                .get("headers")
                .and_then(|h| h.as_table())
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                });
            match h {
                Some(v) => out.push((field.clone(), Some(v.to_string()))),
                None => return Err(format!("{field} reads {source}, which the answer lacks")),
            }
        }
    }
    Ok(out)
}

/// A local provider: answers with whatever `answer` holds at the time.
struct Provider {
    server: Server,
    answer: Arc<Mutex<Reply>>,
}

impl Provider {
    fn start() -> Provider {
        let answer = Arc::new(Mutex::new(Reply::new(500, "")));
        let a = Arc::clone(&answer);
        let server = Server::start(move |_, _| a.lock().unwrap().clone());
        Provider { server, answer }
    }

    fn answer(&self, r: Reply) {
        *self.answer.lock().unwrap() = r;
    }
}

/// The rules of the entries with their first example's finding; an entry whose finding
/// cannot be had is a failure.
struct Case<'a> {
    entry: &'a Entry,
    rule: &'a Rule,
    finding: Finding,
    secret: String,
}

fn cases<'a>(rules: &'a RuleSet, all: &'a [Entry], fails: &mut Vec<String>) -> Vec<Case<'a>> {
    let mut out = Vec::new();
    for entry in all {
        let Some(rule) = rules.get(&entry.rule) else {
            fails.push(format!("{}: no such rule", entry.rule));
            continue;
        };
        match first_finding(rule) {
            Ok(finding) => out.push(Case {
                entry,
                rule,
                secret: String::from_utf8_lossy(&finding.secret).into_owned(),
                finding,
            }),
            Err(m) => fails.push(format!("{}: {m}", entry.rule)),
        }
    }
    out
}

/// A validator sending every validation and revocation origin of `cases` to `server`:
/// internal addresses allowed (the server is on loopback), no pacing, short deadlines.
fn builder_for(cases: &[Case], server: &Server) -> ValidatorBuilder {
    let mut b = Validator::builder()
        .allow_internal(true)
        .host_interval(Duration::ZERO)
        .timeout(Duration::from_secs(5));
    let mut origins = std::collections::BTreeSet::new();
    for c in cases {
        if let Some(r) = c.rule.validate.as_ref().and_then(|v| v.request.as_ref()) {
            origins.insert(origin_of(&r.url, &c.finding));
        }
        if let Some(r) = &c.rule.revoke {
            origins.insert(origin_of(&r.request.url, &c.finding));
        }
    }
    for o in origins {
        b = b.origin_override(&o, &server.origin());
    }
    b
}

fn http_request(rule: &Rule) -> Option<&keysweep::RequestSpec> {
    rule.validate.as_ref().and_then(|v| v.request.as_ref())
}

/// Checks the one request a validation or revocation sent.
fn check_request(
    what: &str,
    sent: &[Recorded],
    spec: &keysweep::RequestSpec,
    expect: Option<&str>,
    errs: &mut Vec<String>,
) {
    if sent.len() != 1 {
        errs.push(format!("{} requests for {what}", sent.len()));
    }
    let Some(r) = sent.first() else { return };
    if r.method != spec.method {
        errs.push(format!(
            "{what}: method {} instead of {}",
            r.method, spec.method
        ));
    }
    let want = path_literals(&spec.url);
    if !path_matches(&r.path, &want) {
        errs.push(format!(
            "{what}: path {:?} does not follow {want:?}",
            r.path
        ));
    }
    if let Some(x) = expect {
        if !request_text(r).contains(x) {
            errs.push(format!(
                "{what}: the request does not contain expect_in_request"
            ));
        }
    }
}

fn report(what: &str, mut fails: Vec<String>, total: usize) {
    if fails.is_empty() {
        return;
    }
    fails.sort();
    panic!(
        "{what}: {} of {total} entries failed:\n{}",
        fails.len(),
        fails.join("\n")
    );
}

/// Each entry in turn against one local provider that replays its recorded answers: the
/// live one (`live`, with the identity the spec reads), the invalid one (the recorded
/// verdict, no identity), each in one request with the spec's method and path holding
/// `expect_in_request`; the revocation's dry run (no secret, nothing sent) and the real one
/// against the recorded `revoked` answer. The secret shows nowhere.
#[test]
fn every_builtin_validator_and_revocation_against_its_recorded_answers() {
    let rules = RuleSet::builtin_with_examples();
    let all = entries();
    let mut fails = Vec::new();
    let cases = cases(&rules, &all, &mut fails);
    let validators = cases
        .iter()
        .filter(|c| http_request(c.rule).is_some())
        .count();
    let revocations = cases.iter().filter(|c| c.rule.revoke.is_some()).count();
    assert!(
        validators >= 80,
        "{validators} validators in providers.toml"
    );
    let p = Provider::start();
    // One validator per phase: each caches a credential's first answer.
    let live_v = builder_for(&cases, &p.server).build().unwrap();
    let invalid_v = builder_for(&cases, &p.server).build().unwrap();
    let mut seen = 0;
    let mut sent = |p: &Provider| {
        let all = p.server.requests();
        let new = all[seen..].to_vec();
        seen = all.len();
        new
    };
    for c in &cases {
        let (e, rule, f) = (c.entry, c.rule, &c.finding);
        let mut errs = Vec::new();
        if let (Some(spec), Some(req)) = (rule.validate.as_ref(), http_request(rule)) {
            let live = e
                .live
                .as_ref()
                .expect("validator entries have a live answer");
            p.answer(reply(live));
            let v = live_v.validate(rule, f);
            if v.status != Status::Live {
                errs.push(format!("live answer gave {} ({})", v.status, v.reason));
            } else {
                let got: Vec<&str> = v.identity.iter().map(|(k, _)| k.as_str()).collect();
                let expected = expected_identity(&spec.identity, live).unwrap_or_else(|m| {
                    errs.push(format!("identity: {m}"));
                    Vec::new()
                });
                for (field, want) in expected {
                    match v.identity.iter().find(|(k, _)| *k == field) {
                        None => errs.push(format!("identity lacks {field} (has {got:?})")),
                        Some((_, val)) => {
                            if let Some(w) = want.filter(|w| !w.contains(&c.secret)) {
                                if *val != w {
                                    errs.push(format!("identity {field} is {val:?}, not {w:?}"));
                                }
                            }
                        }
                    }
                }
            }
            if let Some(l) = leaks(&v, f) {
                errs.push(format!("{l} leaked into the live validation"));
            }
            match &e.expect_in_request {
                Some(x) => check_request("the live check", &sent(&p), req, Some(x), &mut errs),
                None => errs.push("no expect_in_request".into()),
            }

            let invalid = e
                .invalid
                .as_ref()
                .expect("validator entries have an invalid answer");
            p.answer(reply(invalid));
            let v = invalid_v.validate(rule, f);
            let want = e
                .invalid_verdict
                .expect("validator entries have invalid_verdict");
            if v.status != want {
                errs.push(format!(
                    "invalid answer gave {} ({}), not {want}",
                    v.status, v.reason
                ));
            }
            if !v.identity.is_empty() {
                errs.push(format!(
                    "identity read from a non-live answer: {:?}",
                    v.identity
                ));
            }
            if let Some(l) = leaks(&v, f) {
                errs.push(format!("{l} leaked into the invalid validation"));
            }
            check_request("the invalid check", &sent(&p), req, None, &mut errs);
        }

        if let Some(spec) = &rule.revoke {
            match live_v.revoke(rule, f, true) {
                RevokeOutcome::DryRun(req) => {
                    if format!("{req}\n{req:?}").contains(&c.secret) {
                        errs.push("the secret is in the dry run".into());
                    }
                    if req.method != spec.request.method {
                        errs.push(format!("dry run method {}", req.method));
                    }
                }
                other => errs.push(format!("dry run gave {other:?}")),
            }
            if !sent(&p).is_empty() {
                errs.push("the dry run sent a request".into());
            }
            match &e.revoked {
                None => errs.push("no revoked answer".into()),
                Some(done) => {
                    p.answer(reply(done));
                    let out = live_v.revoke(rule, f, false);
                    let shown = format!("{out:?}");
                    if shown.contains(&c.secret) {
                        errs.push("the secret is in the revoke outcome".into());
                    } else if !matches!(out, RevokeOutcome::Revoked { .. }) {
                        errs.push(format!("revoke gave {shown}"));
                    }
                    check_request("the revocation", &sent(&p), &spec.request, None, &mut errs);
                }
            }
        }
        if !errs.is_empty() {
            // Even a fake secret is not printed (a path may carry it).
            let msg = errs.join("; ").replace(&c.secret, "[SECRET]");
            fails.push(format!("{}: {msg}", e.rule));
        }
    }
    report(
        &format!("{validators} validators, {revocations} revocations"),
        fails,
        all.len(),
    );
}

/// Redirected, slow, oversized and rate-limited answers, for every HTTP validator: a
/// redirect is not followed (`unknown`), an answer past the deadline is an `error`, one past
/// the size cap (with and without a length) is `unknown`, each in one request; and a 429
/// with `Retry-After` is retried once and then reads the live answer.
#[test]
fn every_builtin_validator_survives_a_misbehaving_provider() {
    let rules = RuleSet::builtin_with_examples();
    let all: Vec<Entry> = entries()
        .into_iter()
        .filter(|e| rules.get(&e.rule).and_then(http_request).is_some())
        .collect();
    let mut fails = Vec::new();
    let cases = cases(&rules, &all, &mut fails);
    let items: Vec<(&Rule, &Finding)> = cases.iter().map(|c| (c.rule, &c.finding)).collect();
    let n = items.len();

    let mut big = vec![b'{', b'}'];
    big.extend(std::iter::repeat_n(b' ', 4096));
    let phases: Vec<(&str, Reply, Status, &str)> = vec![
        (
            "redirect",
            Reply::new(302, "").header("Location", "http://127.0.0.1:9/elsewhere"),
            Status::Unknown,
            "not followed",
        ),
        (
            "slow",
            Reply::new(200, "{}").delay(Duration::from_millis(1500)),
            Status::Error,
            "timed out",
        ),
        (
            "oversized",
            Reply::new(200, big.clone()),
            Status::Unknown,
            "too large",
        ),
        (
            "oversized, no length",
            Reply::new(200, big).no_length(),
            Status::Unknown,
            "too large",
        ),
    ];
    for (what, answer, want, reason) in &phases {
        let a = answer.clone();
        let server = Server::start(move |_, _| a.clone());
        // The phase's settings on a builder that also sends every origin to `server`.
        let b = builder_for(&cases, &server).concurrency(16);
        let b = match *what {
            "slow" => b.timeout(Duration::from_millis(300)),
            "redirect" => b,
            _ => b.max_response_bytes(2048),
        };
        let got = b.build().unwrap().validate_all(&items);
        for (c, v) in cases.iter().zip(&got) {
            if v.status != *want || !v.reason.contains(reason) {
                fails.push(format!(
                    "{}: {what}: {} ({})",
                    c.entry.rule,
                    v.status,
                    v.reason.replace(&c.secret, "[SECRET]")
                ));
            }
            if v.reason.contains(&c.secret) {
                fails.push(format!(
                    "{}: {what}: the secret is in the reason",
                    c.entry.rule
                ));
            }
        }
        // One request each: a redirect is not followed, a timeout or a size cap not retried.
        if server.count() != n {
            fails.push(format!(
                "{what}: {} requests for {n} credentials",
                server.count()
            ));
        }
    }

    // 429 with `Retry-After: 1`, then the live answer: on a sample (every 16th validator,
    // each against a server of its own, in parallel), since each waits a second.
    let sample: Vec<&Case> = cases.iter().step_by(16).collect();
    let out = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for c in &sample {
            let out = &out;
            s.spawn(move || {
                let live = reply(c.entry.live.as_ref().unwrap());
                let server = Server::start(move |_, n| {
                    if n == 0 {
                        Reply::new(429, "{\"error\":\"slow down\"}").header("Retry-After", "1")
                    } else {
                        live.clone()
                    }
                });
                let v = builder_for(std::slice::from_ref(*c), &server)
                    .build()
                    .unwrap();
                let got = v.validate(c.rule, &c.finding);
                if got.status != Status::Live || server.count() != 2 || v.stats().retries != 1 {
                    out.lock().unwrap().push(format!(
                        "{}: 429 then live: {} ({}), {} requests",
                        c.entry.rule,
                        got.status,
                        got.reason.replace(&c.secret, "[SECRET]"),
                        server.count()
                    ));
                }
            });
        }
    });
    fails.extend(out.into_inner().unwrap());
    assert!(sample.len() >= 10, "{} sampled", sample.len());
    report("misbehaving provider", fails, n);
}
