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
