//! `check_rule`: template syntax and names, checked without any network.

use keysweep::RuleSet;
use keysweep_validate::check_rule;

fn rule_with(validate: &str) -> Result<(), String> {
    let src = format!(
        "[[rule]]\nid = \"t.rule\"\nname = 't'\ndescription = 't'\nkeywords = ['tkn_']\npattern = 'tkn_(?P<key_id>[a-z]{{4}}):(?P<secret>[a-z0-9]{{20}})'\nparts = ['key_id']\n{validate}"
    );
    let rules = RuleSet::from_toml(&src, "t.toml").unwrap();
    check_rule(&rules.rules()[0])
}

#[test]
fn every_builtin_rule_passes() {
    for rule in RuleSet::builtin().rules() {
        check_rule(rule).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
    }
}

#[test]
fn good_templates() {
    rule_with(
        "[rule.validate]\nurl = \"https://x.test/{{key_id}}?t={{ now }}\"\nheaders = { A = \"{{ key_id ~ ':' ~ secret | base64 }}\", B = \"{{ now_iso8601 | hmac_sha256(secret) | hex }}\", C = \"{{now_rfc1123}}\" }\nbody = '{\"k\":\"{{ secret | json }}\"}'\nlive = { status = 200 }\nidentity = { account = \"json:a.0.b\", scopes = \"header:x-scopes\" }\n",
    )
    .unwrap();
}

#[test]
fn errors_name_the_field() {
    let cases = [
        ("[rule.validate]\nurl = \"https://x.test/{{ user }}\"\nlive = { status = 200 }\n", "validate.url: unknown name `user`"),
        ("[rule.validate]\nurl = \"https://x.test/\"\nheaders = { Authorization = \"{{ secret | rot13 }}\" }\nlive = { status = 200 }\n", "validate.headers.Authorization: "),
        ("[rule.validate]\nurl = \"https://x.test/\"\nbody = '{{ secret '\nlive = { status = 200 }\n", "validate.body: "),
        ("[rule.validate]\nurl = \"https://x.test/\"\nheaders = { A = \"{{ secret | hmac_sha256(token) }}\" }\nlive = { status = 200 }\n", "unknown name `token`"),
        ("[rule.validate]\nurl = \"https://x.test/\"\nlive = { status = 200 }\nidentity = { account = \"body:login\" }\n", "validate.identity.account"),
        ("[rule.revoke]\nurl = \"https://x.test/{{ secrt }}\"\ndone = { status = 200 }\n", "revoke.url: unknown name `secrt`"),
    ];
    for (toml, want) in cases {
        let e = rule_with(toml).unwrap_err();
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
}
