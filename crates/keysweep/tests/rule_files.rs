//! Malformed rule files are errors that name the file, the rule id and the field.

use keysweep::RuleSet;

const GOOD: &str = include_str!("../../../tests/fixtures/acme.toml");

fn error_of(src: &str) -> String {
    RuleSet::from_toml(src, "team/rules.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn good_file_loads() {
    let set = RuleSet::from_toml(GOOD, "team/rules.toml").unwrap();
    assert_eq!(&*set.rules()[0].origin, "team/rules.toml");
    assert!(keysweep::check_rule_examples(&set.rules()[0]).is_empty());
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let e = error_of("[[rule]]\nid = \"a.b\"\nname = \n");
    assert!(e.starts_with("rule file team/rules.toml:3"), "{e}");
}

#[test]
fn bad_regex_names_rule_and_field() {
    let e = error_of(&GOOD.replace("{16})", "{16}"));
    assert!(
        e.contains("`acme.key`") && e.contains("field `pattern`"),
        "{e}"
    );
    assert!(e.contains("team/rules.toml:3"), "{e}");
}

#[test]
fn backtracking_only_syntax_is_rejected() {
    let e = error_of(&GOOD.replace(r"\b(?P<secret>", r"(?<=k = )(?P<secret>"));
    assert!(e.contains("field `pattern`"), "{e}");
    let e = error_of(&GOOD.replace(r")\b'", r")\1'"));
    assert!(e.contains("field `pattern`"), "{e}");
}

#[test]
fn unknown_field_wrong_type_and_bad_values_are_named() {
    let e = error_of(&GOOD.replace("confidence = \"high\"", "confidance = \"high\""));
    assert!(e.contains("field `confidance`: unknown field"), "{e}");
    let e = error_of(&GOOD.replace("confidence = \"high\"", "confidence = \"certain\""));
    assert!(e.contains("field `confidence`"), "{e}");
    let e = error_of(&GOOD.replace("keywords = [\"acme_\"]", "keywords = \"acme_\""));
    assert!(e.contains("field `keywords`"), "{e}");
    let e = error_of(&GOOD.replace("keywords = [\"acme_\"]", "keywords = [\"ac\"]"));
    assert!(e.contains("shorter than 3 bytes"), "{e}");
    let e = error_of(&GOOD.replace("tags", "min_entropy = 9.5\ntags"));
    assert!(e.contains("field `min_entropy`"), "{e}");
    let e = error_of(&GOOD.replace("tags", "check = \"luhn9\"\ntags"));
    assert!(e.contains("field `check`"), "{e}");
    let e = error_of(&GOOD.replace("id = \"acme.key\"", "id = \"Acme Key\""));
    assert!(e.contains("field `id`"), "{e}");
    let e = error_of(&GOOD.replace("name = \"Acme key\"\n", ""));
    assert!(e.contains("field `name`: is required"), "{e}");
}

#[test]
fn duplicate_ids_are_rejected() {
    let e = error_of(&format!("{GOOD}\n{GOOD}"));
    assert!(e.contains("duplicate id"), "{e}");
    let mut builtin = RuleSet::builtin();
    let mine = RuleSet::from_toml(&GOOD.replace("acme.key", "jwt.token"), "mine.toml").unwrap();
    assert!(builtin
        .extend(mine)
        .unwrap_err()
        .to_string()
        .contains("builtin:"));
}

#[test]
fn rules_outside_rule_tables_are_rejected() {
    let e = error_of("title = \"my rules\"\n");
    assert!(e.contains("unknown top-level key `title`"), "{e}");
}

#[test]
fn check_reports_an_example_without_any_keyword() {
    // The pattern matches `beta_…` too, but the keyword is only `acme_`: the prefilter would
    // never look at the example, so `rules check` must say so.
    let src = GOOD
        .replace(r"acme_[a-z0-9]{16}", r"(?:acme|beta)_[a-z0-9]{16}")
        .replace(
            "k = acme_q8w7e6r5t4y3u2i1\", secret = \"acme_",
            "k = beta_q8w7e6r5t4y3u2i1\", secret = \"beta_",
        );
    let set = RuleSet::from_toml(&src, "team/rules.toml").unwrap();
    let failures = keysweep::check_rule_examples(&set.rules()[0]);
    let messages: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages.contains(&"example #1: contains none of the keywords"),
        "{messages:?}"
    );
    // And the prefilter indeed misses it: the on/off comparison fails too.
    assert!(
        messages.iter().any(|m| m.contains("(prefilter on)")),
        "{messages:?}"
    );
}

/// Several rules scoped to the same files all run there (the path patterns are matched with
/// all-matches semantics, not leftmost-first).
#[test]
fn rules_sharing_a_path_pattern_all_run() {
    let src = r#"
[[rule]]
id = "t.a"
name = "a"
description = "a"
paths = ['(?:^|/)x\.conf$']
pattern = '(?m)^aa=(?P<secret>[a-z0-9]{8})$'
confidence = "high"
tags = ["credential-file"]
examples = [{ text = "aa=k3j4h5g6", secret = "k3j4h5g6", path = "x.conf" }]
negative_examples = ["aa=k3j4h5g6"]

[[rule]]
id = "t.b"
name = "b"
description = "b"
paths = ['(?:^|/)x\.conf$']
pattern = '(?m)^bb=(?P<secret>[a-z0-9]{8})$'
confidence = "high"
tags = ["credential-file"]
examples = [{ text = "bb=q7w8e9r2", secret = "q7w8e9r2", path = "x.conf" }]
negative_examples = ["bb=q7w8e9r2"]
"#;
    let rules = keysweep::RuleSet::from_toml(src, "t.toml").unwrap();
    let scanner = keysweep::Scanner::new(rules).unwrap();
    let found = scanner.scan_file(
        &mut scanner.scratch(),
        b"aa=k3j4h5g6\nbb=q7w8e9r2\n",
        Some("etc/x.conf"),
    );
    let ids: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
    assert_eq!(ids, ["t.a", "t.b"]);
    assert!(scanner.rule_applies(0, "x.conf") && scanner.rule_applies(1, "x.conf"));
    assert!(!scanner.rule_applies(0, "y.conf"));
}
