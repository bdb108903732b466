//! Multi-part credentials: one credential, one finding, with its parts.

use keysweep::{RuleSet, Scanner};

fn scan(text: &[u8]) -> Vec<keysweep::Finding> {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    scanner.scan(&mut scanner.scratch(), text)
}

#[test]
fn a_service_account_file_is_one_finding_with_its_key_and_email() {
    let text = std::fs::read("../../corpus/json/service-account.json").unwrap();
    let found = scan(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(&*f.rule_id, "gcp.service_account.key_file");
    assert_eq!(f.secret, b"ed46725a2a7b860dcd6c8a1f8b46287cced9041d");
    let names: Vec<&str> = f.parts.iter().map(|p| &*p.name).collect();
    assert_eq!(names, ["private_key", "client_email"]);
    let key = &f.parts[0];
    assert!(key.value.starts_with(b"-----BEGIN PRIVATE KEY-----"));
    assert_eq!(key.rule_id.as_deref(), Some("pem.pkcs8_private_key"));
    let email = &f.parts[1];
    assert_eq!(
        email.value,
        b"deployer@corpus-demo-4821.iam.gserviceaccount.com"
    );
    assert_eq!(email.rule_id, None, "an email is no finding of its own");
    // The finding starts at the key id and ends where its last part (the email) ends.
    let line_of = |needle: &[u8]| {
        let at = text
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        1 + text[..at].iter().filter(|&&b| b == b'\n').count()
    };
    assert_eq!(f.line, line_of(b"\"private_key_id\""));
    assert_eq!(f.end_line, line_of(b"\"client_email\""));
    assert_eq!(
        f.range.end - f.range.start,
        40,
        "the secret itself is the key id"
    );
}

#[test]
fn an_aws_key_pair_is_one_finding_and_a_lone_key_id_stays_a_finding() {
    let pair = b"[default]\naws_access_key_id = AKIAQYLPMN5HFIQR7XYA\nregion = eu-west-1\naws_secret_access_key = 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\n";
    let found = scan(pair);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(&*found[0].rule_id, "aws.secret_access_key");
    assert_eq!(found[0].parts[0].value, b"AKIAQYLPMN5HFIQR7XYA");

    // Two profiles: each secret pairs with its own id, not the first one.
    let two = b"[a]\naws_access_key_id = AKIAQYLPMN5HFIQR7XYA\naws_secret_access_key = 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\n[b]\naws_access_key_id = AKIAZ7RTW2N6K4PLM3QD\naws_secret_access_key = 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\n";
    let found = scan(two);
    let pairs: Vec<(&[u8], &[u8])> = found
        .iter()
        .map(|f| (&f.parts[0].value[..], &f.secret[..]))
        .collect();
    assert_eq!(
        pairs,
        [
            (
                &b"AKIAQYLPMN5HFIQR7XYA"[..],
                &b"5Tq1W0Q1bQ7mWc8hYp2VfJx9RkLzN4sD3gAeUo6T"[..]
            ),
            (
                &b"AKIAZ7RTW2N6K4PLM3QD"[..],
                &b"q8Vt2LmZx4Rk7Wn1Pb9Hc3Jd6Fs0Gy5Ta2Ue8Io4"[..]
            ),
        ]
    );

    // Secret first, id after (an .env written that way): each secret still pairs with its own.
    let after = b"AWS_SECRET_ACCESS_KEY=5Tq1W0Q1bQ7mWc8hYp2VfJx9RkLzN4sD3gAeUo6T\nAWS_ACCESS_KEY_ID=AKIAQYLPMN5HFIQR7XYA\n\nAWS_SECRET_ACCESS_KEY=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\nAWS_ACCESS_KEY_ID=AKIAZ7RTW2N6K4PLM3QD\n";
    let found = scan(after);
    let pairs: Vec<(&str, &[u8], &[u8])> = found
        .iter()
        .map(|f| (&*f.parts[0].name, &f.parts[0].value[..], &f.secret[..]))
        .collect();
    assert_eq!(
        pairs,
        [
            (
                "key_id",
                &b"AKIAQYLPMN5HFIQR7XYA"[..],
                &b"5Tq1W0Q1bQ7mWc8hYp2VfJx9RkLzN4sD3gAeUo6T"[..]
            ),
            (
                "key_id",
                &b"AKIAZ7RTW2N6K4PLM3QD"[..],
                &b"q8Vt2LmZx4Rk7Wn1Pb9Hc3Jd6Fs0Gy5Ta2Ue8Io4"[..]
            ),
        ],
        "{found:#?}"
    );

    // An id far from any secret is reported on its own.
    let lone = b"AWS_ACCESS_KEY_ID=AKIAQYLPMN5HFIQR7XYA\n";
    let found = scan(lone);
    assert_eq!(found.len(), 1);
    assert_eq!(&*found[0].rule_id, "aws.access_key_id");
    assert!(found[0].parts.is_empty());
}

#[test]
fn a_part_naming_no_group_is_a_rule_error() {
    let src = "[[rule]]\nid = 'acme.pair'\nname = 'x'\ndescription = 'x'\nkeywords = ['acme_']\npattern = '(?P<secret>acme_[a-z]{8})'\nparts = ['user']\nconfidence = 'low'\ntags = ['generic']\nreferences = []\nexamples = [{ text = 'acme_abcdefgh', secret = 'acme_abcdefgh' }]\nnegative_examples = ['x']\n";
    let err = RuleSet::from_toml(src, "t.toml").unwrap_err().to_string();
    assert!(err.contains("parts") && err.contains("user"), "{err}");
}

/// The parts validators need to address a request (issue 17): the names each rule declares
/// and the values from its text.
fn parts_of(text: &[u8], rule: &str) -> Vec<(String, String)> {
    let found = scan(text);
    let f = found
        .iter()
        .find(|f| &*f.rule_id == rule)
        .unwrap_or_else(|| panic!("{rule} not found in {found:#?}"));
    f.parts
        .iter()
        .map(|p| {
            (
                p.name.to_string(),
                String::from_utf8(p.value.clone()).unwrap(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_twilio_auth_token_carries_the_account_sid_before_it() {
    let text = b"TWILIO_ACCOUNT_SID=AC0705c15f5e40326848a6cc282369f2f5\nTWILIO_AUTH_TOKEN=4c5c3aa5f9d29827ef9c8c2195279913\n";
    assert_eq!(
        parts_of(text, "twilio.auth_token"),
        pairs(&[("account_sid", "AC0705c15f5e40326848a6cc282369f2f5")])
    );
    // Without a SID the token is still found, with no part.
    let found = scan(b"TWILIO_AUTH_TOKEN=4c5c3aa5f9d29827ef9c8c2195279913\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].secret, b"4c5c3aa5f9d29827ef9c8c2195279913");
    assert!(found[0].parts.is_empty(), "{found:#?}");
}

#[test]
fn url_shaped_credentials_carry_the_parts_their_validators_address() {
    assert_eq!(
        parts_of(
            b"MAILCHIMP_API_KEY=d2375ee60e2208dbebb35e542822218f-us21",
            "mailchimp.api_key"
        ),
        pairs(&[("dc", "us21")])
    );
    assert_eq!(
        parts_of(
            b"CLOUDINARY_URL=cloudinary://832753898527051:VZ2iMYCiYIL0CNe3vRHyWhWrA0v@shopmedia",
            "cloudinary.url"
        ),
        pairs(&[("api_key", "832753898527051"), ("cloud_name", "shopmedia")])
    );
    let hook = b"https://discord.com/api/webhooks/4011758922086376442/iwrQSWPF6qJ7LsovVSeNj0tiKsKDNBMH9QHsQTw1coh-jEDflV4uoFOmqwy5KOPFClbm";
    assert_eq!(
        parts_of(hook, "discord.webhook"),
        pairs(&[
            ("webhook_id", "4011758922086376442"),
            (
                "webhook_token",
                "iwrQSWPF6qJ7LsovVSeNj0tiKsKDNBMH9QHsQTw1coh-jEDflV4uoFOmqwy5KOPFClbm"
            ),
        ])
    );
}

#[test]
fn dropped_matches_are_listed_with_why_only_when_asked() {
    use keysweep::{ScannerBuilder, Suppression};
    let text =
        b"NextToken = \"AAAAB3NzaC1yc2EAAAADAQABAAABAQDeXk\"\nsecret = \"q8Vt2LmZx4Rk7Wn1Pb9H\"\n";
    let plain = ScannerBuilder::new()
        .keep_suppressed(true)
        .build(RuleSet::builtin())
        .unwrap();
    let found = plain.scan(&mut plain.scratch(), text);
    assert!(found.iter().all(|f| f.suppressed.is_none()), "{found:#?}");
    let dropped = ScannerBuilder::new()
        .keep_suppressed(true)
        .keep_dropped(true)
        .build(RuleSet::builtin())
        .unwrap();
    let found = dropped.scan(&mut dropped.scratch(), text);
    let why: Vec<(usize, Option<Suppression>)> =
        found.iter().map(|f| (f.line, f.suppressed)).collect();
    assert!(why.contains(&(1, Some(Suppression::Rejected))), "{why:?}");
    assert!(why.contains(&(2, None)), "{why:?}");
}

#[test]
fn a_kubernetes_secret_is_read_by_its_extractor_not_guessed_at_by_generic_rules() {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    // Values decode to "quobyte2", "mpass" (short, still passwords), "password" (a
    // placeholder), a user name and an address: no generic finding on the base64 text.
    let text = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: chap\ndata:\n  \
        node.session.auth.password: cXVvYnl0ZTI=\n  \
        node.session.auth.password_in: bXBhc3M=\n  \
        discovery.auth.password: cGFzc3dvcmQ=\n  \
        apiUsername: c3RvcmFnZW9z\n  \
        apiAddress: dGNwOi8vMTI3LjAuMC4xOjU3MDU=\n";
    let found = scanner.scan_file(
        &mut scanner.scratch(),
        text,
        Some("deploy/chap-secret.yaml"),
    );
    let got: Vec<(&str, &[u8])> = found
        .iter()
        .map(|f| (&*f.rule_id, f.secret.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            ("kubernetes.secret.value", &b"quobyte2"[..]),
            ("kubernetes.secret.value", &b"mpass"[..]),
        ],
        "{found:#?}"
    );
}

/// A data value that decodes to binary (a Kerberos keytab, a keystore, a random AES key) is
/// still a secret of the Secret: reported as written, not dropped for not being text.
#[test]
fn a_kubernetes_secret_value_that_decodes_to_binary_is_reported_as_written() {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let keytab = "BQIAAABHAAIAC0NPUlAuRVhBTVBMRQAEaG9zdAAPd2ViMDEuY29ycC5sb2NhbAAAAAFmA7qsAgASACDH2pY1qL8xV0mK4fR7sT9bW3kY6hJ0sD5fA2gE8uQ=";
    let aes = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web01\ntype: Opaque\ndata:\n  \
         krb5.keytab: {keytab}\n  aes.key: {aes}\n  tiny: AAEC\n"
    );
    let found = scanner.scan_file(
        &mut scanner.scratch(),
        text.as_bytes(),
        Some("k8s/web01.yaml"),
    );
    let got: Vec<(&[u8], usize)> = found
        .iter()
        .map(|f| (f.secret.as_slice(), f.line))
        .collect();
    assert_eq!(
        got,
        [(keytab.as_bytes(), 7), (aes.as_bytes(), 8)],
        "{found:#?}"
    );
    // A keytab with a well-formed header is its own rule's; the AES key only the Secret's.
    assert_eq!(&*found[0].rule_id, "kerberos.keytab.base64");
    assert_eq!(&*found[1].rule_id, "kubernetes.secret.value");
}
