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

/// A path pattern under `(?i)` matches its file names in any case: the names it can match are
/// read from the pattern without the flag and compared without case, and the pattern itself
/// decides with it.
#[test]
fn case_insensitive_path_patterns_match_names_in_any_case() {
    let src = r#"
[[rule]]
id = "t.ci"
name = "ci"
description = "ci"
paths = ['(?i)(?:^|/)(?:App|Web)Secrets\.ya?ml$']
keywords = ["ff="]
pattern = 'ff=(?P<secret>[a-z0-9]{8})'
confidence = "high"
tags = ["credential-file"]
examples = [{ text = "ff=k3j4h5g6", secret = "k3j4h5g6", path = "AppSecrets.yml" }]
"#;
    let rules = keysweep::RuleSet::from_toml(src, "t.toml").unwrap();
    let scanner = keysweep::Scanner::new(rules).unwrap();
    for path in [
        "conf/appsecrets.yml",
        "conf/APPSECRETS.YAML",
        "WebSecrets.Yml",
        "a/b/websecrets.yaml",
    ] {
        assert!(scanner.rule_applies(0, path), "{path}");
        let name = path.rsplit('/').next().unwrap();
        assert!(scanner.may_scope_name(name.as_bytes()), "{name}");
    }
    for path in [
        "conf/appsecrets.yml.bak",
        "conf/secrets.yml",
        "appsecrets.json",
    ] {
        assert!(!scanner.rule_applies(0, path), "{path}");
    }
    assert!(!scanner.may_scope_name(b"secrets.json"));
}

/// Path patterns that end with a file name are searched only for files so named; the others
/// (a directory's files, patterns not anchored at the end, `allow_paths`) for every path. Both
/// kinds decide as one regex would.
#[test]
fn path_patterns_by_name_and_by_directory_decide_alike() {
    let rule = |id: &str, scope: &str, key: &str| {
        format!(
            r#"
[[rule]]
id = "t.{id}"
name = "{id}"
description = "{id}"
{scope}
keywords = ["{key}="]
pattern = '{key}=(?P<secret>[a-z0-9]{{8}})'
confidence = "high"
tags = ["credential-file"]
examples = [{{ text = "{key}=k3j4h5g6", secret = "k3j4h5g6", path = "x/.kube/y.conf" }}]
"#
        )
    };
    let src = [
        rule("named", r"paths = ['(?:^|/)y\.conf$']", "aa"),
        rule("dir", r"paths = ['(?:^|/)\.kube/[^/]+$']", "bb"),
        rule("open", r"paths = ['(?:^|/)\.kube/']", "cc"),
        rule("allowed", r"allow_paths = ['(?i)(?:^|/)locales?/']", "dd"),
        rule(
            "both",
            r"paths = ['(?:^|/)y\.conf$']
allow_paths = ['(?:^|/)vendor/']",
            "ee",
        ),
    ]
    .concat();
    let rules = keysweep::RuleSet::from_toml(&src, "t.toml").unwrap();
    let scanner = keysweep::Scanner::new(rules).unwrap();
    let applies =
        |path: &str| -> Vec<usize> { (0..5).filter(|&i| scanner.rule_applies(i, path)).collect() };
    assert_eq!(applies("etc/y.conf"), [0, 3, 4]);
    assert_eq!(applies("y.conf"), [0, 3, 4]);
    assert_eq!(
        applies("etc/Y.CONF"),
        [3],
        "the name filter ignores case, the pattern does not"
    );
    assert_eq!(applies("etc/y.conf.bak"), [3]);
    assert_eq!(applies("home/.kube/config"), [1, 2, 3]);
    assert_eq!(applies("home/.kube/y.conf"), [0, 1, 2, 3, 4]);
    assert_eq!(applies("home/.kube/cache/z"), [2, 3]);
    assert_eq!(applies("app/Locales/en.yml"), Vec::<usize>::new());
    assert_eq!(applies("vendor/etc/y.conf"), [0, 3]);
    assert!(scanner.path_has_scoped_rules("etc/y.conf"));
    assert!(scanner.path_has_scoped_rules("home/.kube/cache/z"));
    assert!(!scanner.path_has_scoped_rules("src/main.rs"));
    assert!(!scanner.path_has_scoped_rules("locales/q.txt"));
    // Names: fixed names only; a directory's files are decided on the whole path.
    assert!(scanner.may_scope_name(b"y.conf") && scanner.may_scope_name(b"Y.Conf"));
    assert!(!scanner.may_scope_name(b"config"));

    let text = b"aa=k3j4h5g6\nbb=q7w8e9r2\ncc=m2n3b4v5\ndd=z9x8c7v6\nee=p0o9i8u7\n";
    let found = |path: &str| -> Vec<String> {
        let found = scanner.scan_file(&mut scanner.scratch(), text, Some(path));
        found.iter().map(|f| f.rule_id.to_string()).collect()
    };
    assert_eq!(
        found("home/.kube/y.conf"),
        ["t.named", "t.dir", "t.open", "t.allowed", "t.both"]
    );
    assert_eq!(found("vendor/y.conf"), ["t.named", "t.allowed"]);
    assert_eq!(found("locales/x/.kube/q"), ["t.dir", "t.open"]);
    // Without a path, no path-scoped rule runs; the others do.
    let found = scanner.scan(&mut scanner.scratch(), text);
    let ids: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
    assert_eq!(ids, ["t.allowed"]);
}

#[test]
fn a_reject_may_name_several_groups() {
    let src = GOOD.replace(
        "tags",
        "reject = [{ group = [\"secret\", \"prefix\"], pattern = '^x' }]\ntags",
    );
    let set = RuleSet::from_toml(&src, "team/rules.toml").unwrap();
    let groups: Vec<_> = set.rules()[0].rejects.iter().map(|r| &*r.group).collect();
    assert_eq!(groups, ["secret", "prefix"]);
    let e = error_of(&GOOD.replace("tags", "reject = [{ group = [], pattern = '^x' }]\ntags"));
    assert!(e.contains("field `reject`") && e.contains("`group`"), "{e}");
    let e = error_of(&GOOD.replace("tags", "reject = [{ group = [1], pattern = '^x' }]\ntags"));
    assert!(e.contains("field `reject`") && e.contains("`group`"), "{e}");
    let e = error_of(&GOOD.replace(
        "tags",
        "reject = [{ group = [\"nope\"], pattern = '^x' }]\ntags",
    ));
    assert!(e.contains("field `reject`") && e.contains("nope"), "{e}");
}
