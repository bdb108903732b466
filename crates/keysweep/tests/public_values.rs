//! Credentials that vendors publish are suppressed as placeholders; the same shape with any
//! other value is still reported.

use keysweep::{RuleSet, ScannerBuilder, Suppression};

const AZURITE: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn texts(value: &str) -> Vec<String> {
    vec![
        format!(
            "AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={value};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\"\n"
        ),
    ]
}

fn verdicts(text: &str) -> Vec<(String, Option<Suppression>)> {
    let scanner = ScannerBuilder::new()
        .keep_suppressed(true)
        .build(RuleSet::builtin())
        .unwrap();
    scanner
        .scan(&mut scanner.scratch(), text.as_bytes())
        .into_iter()
        .map(|f| (f.rule_id.to_string(), f.suppressed))
        .collect()
}

#[test]
fn published_values_are_suppressed_as_placeholders() {
    let cases = [
        texts(AZURITE).remove(0),
        "STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc\n".to_string(),
        "Authorization: Bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a\n".to_string(),
        "token = \"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\"\n".to_string(),
    ];
    for text in cases {
        let found = verdicts(&text);
        assert!(!found.is_empty(), "no rule saw it at all: {text}");
        for (rule, verdict) in found {
            assert_eq!(verdict, Some(Suppression::Placeholder), "{rule} in {text}");
        }
    }
}

#[test]
fn the_same_shape_with_another_value_is_reported() {
    let other = AZURITE.replace("Eby8", "Fby8");
    let cases = [
        texts(&other).remove(0),
        "STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dQ\n".to_string(),
    ];
    for text in cases {
        let found = verdicts(&text);
        assert!(
            found.iter().any(|(_, v)| v.is_none()),
            "{found:?} in {text}"
        );
    }
}

/// A key a specific rule recognises and rejects as public by design (a Firebase web config's
/// Google API key) is not reported by a generic rule instead; the same key used by a server is.
#[test]
fn a_value_a_specific_rule_rejects_is_not_guessed_at_by_generic_rules() {
    let key = "AIzaXUcltKSAtnRORnrMkf9icivOTig9Wy_eNs6";
    let web = format!(
        "const firebaseConfig = {{\n  apiKey: '{key}',\n  authDomain: 'acme-7.firebaseapp.com',\n}};\n"
    );
    let plist = format!("\t<key>API_KEY</key>\n\t<string>{key}</string>\n");
    let dropped = ScannerBuilder::new()
        .keep_suppressed(true)
        .keep_dropped(true)
        .build(RuleSet::builtin())
        .unwrap();
    for text in [&web, &plist] {
        assert_eq!(verdicts(text), [], "{text}");
        let found: Vec<_> = dropped
            .scan(&mut dropped.scratch(), text.as_bytes())
            .into_iter()
            .map(|f| (f.rule_id.to_string(), f.suppressed))
            .collect();
        assert_eq!(
            found,
            [("google.api_key".to_string(), Some(Suppression::Rejected))],
            "{text}"
        );
    }
    let server = format!("const gemini = new GoogleGenerativeAI({{ apiKey: '{key}' }});\n");
    assert_eq!(verdicts(&server), [("google.api_key".to_string(), None)]);
}

/// A published key written as a byte array in source (FIPS-197's AES-128 example key, which
/// RFC 4493 uses for AES-CMAC) is suppressed; one byte changed, it is reported.
#[test]
fn a_published_key_written_as_bytes_is_suppressed() {
    let source = |last: &str| {
        format!(
            "static const uint8 rfc4493_key[16] = {{\n    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,\n    0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, {last}\n}};\n"
        )
    };
    let scanner = ScannerBuilder::new()
        .keep_suppressed(true)
        .build(RuleSet::builtin())
        .unwrap();
    let verdicts = |text: &str| -> Vec<(String, Option<Suppression>)> {
        scanner
            .scan_file(
                &mut scanner.scratch(),
                text.as_bytes(),
                Some("test/unit/test_cmac.c"),
            )
            .into_iter()
            .map(|f| (f.rule_id.to_string(), f.suppressed))
            .collect()
    };
    assert_eq!(
        verdicts(&source("0x3c")),
        [(
            "generic.secret.key_bytes".to_string(),
            Some(Suppression::Placeholder)
        )]
    );
    assert_eq!(
        verdicts(&source("0x3d")),
        [("generic.secret.key_bytes".to_string(), None)]
    );
}
