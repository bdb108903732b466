//! The SSH key check against a real OpenSSH server (a throwaway `sshd` on a free 127.0.0.1
//! port; see `support/sshd.rs`).

mod support;

use std::time::Duration;

use keysweep::{Finding, RuleSet, Scanner};
use keysweep_validate::ssh::{targets_in, SshTarget};
use keysweep_validate::{Status, Validation, Validator};
use support::sshd::{current_user, free_port, keygen, need_sshd, KeyPair, Sshd};

/// The finding a scan of `text` reports (exactly one), with its rule.
fn found(text: &str) -> (keysweep::Rule, Finding) {
    let rules = RuleSet::builtin();
    let scanner = Scanner::new(rules.clone()).unwrap();
    let mut findings = scanner.scan(&mut scanner.scratch(), text.as_bytes());
    assert_eq!(findings.len(), 1, "one finding in {text}");
    let f = findings.remove(0);
    let rule = rules.get(&f.rule_id).unwrap().clone();
    assert_eq!(rule.validate.as_ref().unwrap().kind, "ssh", "{}", rule.id);
    (rule, f)
}

fn validator(allow_internal: bool) -> Validator {
    Validator::builder()
        .allow_internal(allow_internal)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn check(key: &str, targets: &[SshTarget], allow_internal: bool) -> Validation {
    let (rule, f) = found(key);
    validator(allow_internal).validate_at(&rule, &f, targets)
}

/// Nothing shown holds any line of the private key's body.
fn assert_no_key(v: &Validation, key: &KeyPair) {
    let shown = format!("{} {:?} {v:?}", v.reason, v.identity);
    for line in key.private.lines().filter(|l| !l.starts_with("-----")) {
        let line = line.trim();
        if line.len() >= 16 {
            assert!(!shown.contains(line), "key material shown: {shown}");
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    sshd: Sshd,
    user: String,
    ed25519: KeyPair,
    rsa: KeyPair,
    rsa_pem: KeyPair,
    ecdsa: KeyPair,
    ecdsa_pem: KeyPair,
    stranger: KeyPair,
    encrypted: KeyPair,
}

impl Fixture {
    fn target(&self) -> SshTarget {
        SshTarget::new(&self.user, "127.0.0.1", self.sshd.port)
    }
}

fn fixture() -> Option<Fixture> {
    if !need_sshd() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ed25519 = keygen(d, "id_ed25519", "ed25519", &[], "");
    let rsa = keygen(d, "id_rsa", "rsa", &[], "");
    let rsa_pem = keygen(d, "id_rsa_pem", "rsa", &["-m", "PEM"], "");
    let ecdsa = keygen(d, "id_ecdsa", "ecdsa", &["-b", "256"], "");
    let ecdsa_pem = keygen(d, "id_ecdsa_pem", "ecdsa", &["-b", "384", "-m", "PEM"], "");
    let stranger = keygen(d, "id_stranger", "ed25519", &[], "");
    let encrypted = keygen(d, "id_encrypted", "ed25519", &[], "correct horse");
    let sshd = Sshd::start(
        d,
        &[
            &ed25519.public,
            &rsa.public,
            &rsa_pem.public,
            &ecdsa.public,
            &ecdsa_pem.public,
            &encrypted.public,
        ],
    );
    Some(Fixture {
        _dir: dir,
        sshd,
        user: current_user(),
        ed25519,
        rsa,
        rsa_pem,
        ecdsa,
        ecdsa_pem,
        stranger,
        encrypted,
    })
}

#[test]
fn accepted_keys_are_live_and_say_where() {
    let Some(fx) = fixture() else { return };
    assert!(fx
        .rsa_pem
        .private
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(fx
        .ed25519
        .private
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    for (name, key) in [
        ("ed25519", &fx.ed25519),
        ("rsa", &fx.rsa),
        ("rsa (PEM)", &fx.rsa_pem),
        ("ecdsa", &fx.ecdsa),
        ("ecdsa P-384 (SEC1 PEM)", &fx.ecdsa_pem),
    ] {
        let v = check(&key.private, &[fx.target()], true);
        assert_eq!(
            v.status,
            Status::Live,
            "{name}: {v:?}\n{}",
            fx.sshd.log_text()
        );
        let account = format!("{}@127.0.0.1:{}", fx.user, fx.sshd.port);
        assert!(
            v.identity.contains(&("account".into(), account.clone())),
            "{name}: {v:?}"
        );
        assert!(
            v.identity
                .contains(&("fingerprint".into(), key.fingerprint.clone())),
            "{name}: {v:?} (ssh-keygen says {})",
            key.fingerprint
        );
        assert_no_key(&v, key);
    }
    let log = fx.sshd.log_text();
    assert_eq!(log.matches("Accepted publickey for").count(), 5, "{log}");
    // Authenticated, then gone: no session was opened, nothing ran.
    assert!(!log.contains("session opened"), "{log}");
    assert!(!log.contains("Starting session"), "{log}");
}

#[test]
fn a_key_the_host_does_not_know_is_invalid() {
    let Some(fx) = fixture() else { return };
    let v = check(&fx.stranger.private, &[fx.target()], true);
    assert_eq!(v.status, Status::Invalid, "{v:?}\n{}", fx.sshd.log_text());
    assert_eq!(v.reason, "refused by the one host named in the file");
    assert_no_key(&v, &fx.stranger);
    // Another user on the same host refuses the right key too: two hosts tried, both refused.
    let other = SshTarget::new("keysweep-no-such-user", "127.0.0.1", fx.sshd.port);
    let v = check(&fx.stranger.private, &[fx.target(), other], true);
    assert_eq!(v.status, Status::Invalid, "{v:?}");
    assert_eq!(v.reason, "refused by all 2 hosts named in the file");
}

#[test]
fn a_closed_port_is_an_error_and_the_next_host_is_tried() {
    let Some(fx) = fixture() else { return };
    let closed = SshTarget::new(&fx.user, "127.0.0.1", free_port());
    let v = check(&fx.ed25519.private, std::slice::from_ref(&closed), true);
    assert_eq!(v.status, Status::Error, "{v:?}");
    assert!(v.reason.contains("connection refused"), "{v:?}");
    assert!(v.reason.contains(&closed.to_string()), "{v:?}");

    let v = check(&fx.ed25519.private, &[closed.clone(), fx.target()], true);
    assert_eq!(v.status, Status::Live, "{v:?}");

    // One refusal and one unreachable host: not every host refused it.
    let v = check(&fx.stranger.private, &[closed, fx.target()], true);
    assert_eq!(v.status, Status::Error, "{v:?}");
    assert!(v.reason.starts_with("refused by 1 of 2 hosts"), "{v:?}");
}

#[test]
fn encrypted_keys_and_keys_without_a_host_are_unknown() {
    let Some(fx) = fixture() else { return };
    let before = fx.sshd.connections();
    let v = check(&fx.encrypted.private, &[fx.target()], true);
    assert_eq!(v.status, Status::Unknown, "{v:?}");
    assert_eq!(v.reason, "encrypted; passphrase not known");

    let v = check(&fx.ed25519.private, &[], true);
    assert_eq!(v.status, Status::Unknown, "{v:?}");
    assert_eq!(v.reason, "no host named in the file");
    assert_eq!(fx.sshd.connections(), before, "{}", fx.sshd.log_text());
}

#[test]
fn loopback_is_refused_without_allow_internal() {
    let Some(fx) = fixture() else { return };
    let before = fx.sshd.connections();
    let v = check(&fx.ed25519.private, &[fx.target()], false);
    assert_eq!(v.status, Status::Error, "{v:?}");
    assert!(v.reason.contains("internal address refused"), "{v:?}");
    let named = SshTarget::new(&fx.user, "localhost", fx.sshd.port);
    let v = check(&fx.ed25519.private, &[named], false);
    assert_eq!(v.status, Status::Error, "{v:?}");
    assert_eq!(fx.sshd.connections(), before, "{}", fx.sshd.log_text());
}

#[test]
fn hosts_come_from_the_file_the_key_is_in() {
    let Some(fx) = fixture() else { return };
    let file = format!(
        "# deploy\n{}\n\ndeploy:\n  script: ssh -p {} {}@127.0.0.1 'true'\n",
        fx.ed25519.private.trim_end(),
        fx.sshd.port,
        fx.user
    );
    let targets = targets_in(file.as_bytes());
    assert_eq!(targets, [fx.target()]);
    let (rule, f) = found(&file);
    let v = validator(true);
    let first = v.validate_at(&rule, &f, &targets);
    assert_eq!(first.status, Status::Live, "{first:?}");
    // One login per distinct key and targets: the second answer is the cache's.
    assert_eq!(v.validate_at(&rule, &f, &targets), first);
    assert_eq!(v.stats().cache_hits, 1);
    assert_eq!(
        fx.sshd.log_text().matches("Accepted publickey for").count(),
        1
    );
    // Other targets are another question.
    assert_eq!(v.validate_at(&rule, &f, &[]).status, Status::Unknown);
}

#[test]
fn a_key_escaped_in_json_is_read() {
    let Some(fx) = fixture() else { return };
    let escaped = fx.ed25519.private.trim_end().replace('\n', "\\n");
    let file = format!(
        "{{\"deploy_key\": \"{escaped}\\n\", \"ssh_host\": \"127.0.0.1\", \"ssh_user\": \"{}\", \"ssh_port\": {}}}\n",
        fx.user, fx.sshd.port
    );
    let targets = targets_in(file.as_bytes());
    assert_eq!(targets, [fx.target()]);
    let (rule, f) = found(&file);
    let v = validator(true).validate_at(&rule, &f, &targets);
    assert_eq!(v.status, Status::Live, "{v:?}");
}
