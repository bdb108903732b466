//! Translation, field by field, and every untranslatable case as an error naming the file,
//! the rule and the field.

use std::path::Path;

use keysweep::{Scanner, ScannerBuilder, Suppression};

use super::*;

const FILE: &str = "conf/.gitleaks.toml";

fn parse_ok(src: &str) -> Config {
    match parse(src, Path::new(FILE)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn parse_err(src: &str) -> RuleError {
    match parse(src, Path::new(FILE)) {
        Ok(_) => panic!("translated:\n{src}"),
        Err(e) => e,
    }
}

/// Secrets a scanner keeping suppressed findings reports for `text` at `path`, with why
/// each is suppressed.
fn scan(config: &Config, text: &str, path: Option<&str>) -> Vec<(String, Option<Suppression>)> {
    let scanner = ScannerBuilder::new()
        .keep_suppressed(true)
        .allow_values(&config.allowlist.values)
        .build(
            config
                .allowlist
                .apply_matches(config.rules.clone())
                .unwrap(),
        )
        .unwrap();
    scanner
        .scan_file(&mut scanner.scratch(), text.as_bytes(), path)
        .into_iter()
        .map(|f| (String::from_utf8(f.secret).unwrap(), f.suppressed))
        .collect()
}

fn secrets(config: &Config, text: &str) -> Vec<String> {
    scan(config, text, Some("app/settings.py"))
        .into_iter()
        .filter(|(_, s)| s.is_none())
        .map(|(s, _)| s)
        .collect()
}

const RULE: &str = r#"
title = "test"

[[rules]]
id = "acme-token"
description = "Acme token"
regex = '''(?i)(?:acme)(?:[0-9a-z_ .-]{0,20})(?:=|:)\s{0,3}['"]?([a-z0-9]{20})['"]?'''
secretGroup = 1
entropy = 3.0
keywords = ["ACME"]
tags = ["saas", "acme"]
"#;

#[test]
fn every_rule_field_is_translated() {
    let c = parse_ok(RULE);
    assert!(!c.use_default);
    let r = c.rules.get("acme-token").unwrap();
    assert_eq!(r.name, "Acme token");
    assert_eq!(r.description, "Acme token");
    assert_eq!(
        r.keywords,
        ["acme"],
        "lowercased, as gitleaks compares them"
    );
    assert!(!r.case_sensitive);
    assert_eq!(r.tags, ["saas", "acme"]);
    assert_eq!(&*r.origin, "gitleaks:conf/.gitleaks.toml");
    assert!(
        r.pattern.contains(r"(?P<secret>[a-z0-9]{20})"),
        "{}",
        r.pattern
    );
    // gitleaks drops entropy <= threshold: keysweep's minimum is just above it.
    assert!(r.min_entropy.unwrap() > 3.0 && r.min_entropy.unwrap() < 3.0001);

    assert_eq!(
        secrets(&c, "ACME_TOKEN = 'q8w7e6r5t4y3u2i1o9p0'\n"),
        ["q8w7e6r5t4y3u2i1o9p0"]
    );
    // Keywords are case-insensitive both ways.
    assert_eq!(secrets(&c, "acme: q8w7e6r5t4y3u2i1o9p0\n").len(), 1);
    // Entropy gate: 2 bits.
    assert!(secrets(&c, "acme = aaaaabbbbbcccccddddd\n").is_empty());
}

#[test]
fn entropy_equal_to_the_threshold_is_dropped_as_in_gitleaks() {
    // Four symbols, each five times: exactly 2.0 bits.
    let text = "acme = aaaaabbbbbcccccddddd\n";
    assert_eq!(keysweep::shannon_entropy(b"aaaaabbbbbcccccddddd"), 2.0);
    let at = |e: &str| scan(&parse_ok(&RULE.replace("entropy = 3.0", e)), text, None).len();
    assert_eq!(at("entropy = 2.0"), 0);
    assert_eq!(at("entropy = 1.99"), 1);
}

#[test]
fn secret_group_defaults_to_the_first_non_empty_group() {
    let c = parse_ok(
        r#"
[[rules]]
id = "no-group"
regex = '''tok_[a-z0-9]{12}'''
keywords = ["tok_"]

[[rules]]
id = "first-group"
regex = '''(?:key|pass)=(tok2_[a-z0-9]{12})(;)?'''
keywords = ["key=", "pass="]
"#,
    );
    assert_eq!(secrets(&c, "x tok_abcdef123456\n"), ["tok_abcdef123456"]);
    assert_eq!(
        secrets(&c, "key=tok2_abcdef123456;\n"),
        ["tok2_abcdef123456"]
    );
    let e = parse_err(
        "[[rules]]\nid = \"opt\"\nregex = '''(\\s*)(tok_[a-z0-9]{12})'''\nkeywords = [\"tok_\"]\n",
    );
    assert_eq!(e.rule_id.as_deref(), Some("opt"));
    assert_eq!(e.field.as_deref(), Some("secretGroup"));
    assert_eq!(e.line, Some(3));
}

#[test]
fn keywords_must_be_inside_the_match() {
    let e = parse_err(
        "[[rules]]\nid = \"stripe-ish\"\nregex = '''sk_live_[0-9a-z]{24}'''\nkeywords = [\"stripe\"]\n",
    );
    assert_eq!(e.field.as_deref(), Some("keywords"));
    assert_eq!(e.line, Some(4));
    // A keyword too short for keysweep's search, in every match: the rule runs everywhere.
    let c = parse_ok(
        "[[rules]]\nid = \"short\"\nregex = '''ab[0-9]{8}'''\nkeywords = [\"AB\", \"abc\"]\n",
    );
    assert!(c.rules.get("short").unwrap().keywords.is_empty());
    assert_eq!(secrets(&c, "x ab93817264\n"), ["ab93817264"]);
    // Without keywords the rule runs everywhere, as in gitleaks.
    let c = parse_ok("[[rules]]\nid = \"all\"\nregex = '''sk_live_[0-9a-z]{24}'''\n");
    assert!(c.rules.get("all").unwrap().keywords.is_empty());
}

#[test]
fn path_scopes_the_rule_and_a_path_only_rule_is_an_error() {
    let c = parse_ok(
        "[[rules]]\nid = \"env-token\"\npath = '''\\.env$'''\nregex = '''TOKEN=([a-z0-9]{16})'''\nkeywords = [\"token=\"]\n",
    );
    assert_eq!(c.rules.get("env-token").unwrap().paths, [r"\.env$"]);
    let text = "TOKEN=q8w7e6r5t4y3u2i1\n";
    assert_eq!(scan(&c, text, Some("deploy/prod.env")).len(), 1);
    assert!(scan(&c, text, Some("README.md")).is_empty());

    let e = parse_err("[[rules]]\nid = \"pem-file\"\npath = '''\\.pem$'''\n");
    assert_eq!(
        e.to_string(),
        "rule file conf/.gitleaks.toml:3: rule `pem-file`: field `path`: a rule with `path` and \
         no `regex` reports a file by its name; keysweep reports secrets inside files, not \
         files: give the rule a `regex`"
    );
}

#[test]
fn rule_allowlists_translate_paths_regexes_and_stopwords() {
    let src = format!(
        "{RULE}
[[rules.allowlists]]
paths = ['''(?:^|/)fixtures/''']
[[rules.allowlists]]
regexes = ['''^q8w7''']
[[rules.allowlists]]
stopwords = ['''SAMPLE''']
[[rules.allowlists]]
regexTarget = \"match\"
regexes = ['''(?i)acme_demo''']
"
    );
    let c = parse_ok(&src);
    let r = c.rules.get("acme-token").unwrap();
    assert_eq!(r.allow_paths, [r"(?:^|/)fixtures/"]);
    assert_eq!(r.allow_values, [r"^q8w7", r"(?i:SAMPLE)"]);
    assert_eq!(r.rejects.len(), 1);
    let line = "acme_key = 'z9x8c7v6b5n4m3l2k1j0'\n";
    assert_eq!(scan(&c, line, Some("src/a.py")).len(), 1);
    assert!(scan(&c, line, Some("tests/fixtures/a.py")).is_empty());
    assert_eq!(
        scan(&c, "acme = 'q8w7e6r5t4y3u2i1o9p0'\n", None),
        [("q8w7e6r5t4y3u2i1o9p0".into(), Some(Suppression::Allowlist))]
    );
    assert_eq!(
        scan(&c, "acme = 'z9x8sample4y3u2i1o9p'\n", None),
        [("z9x8sample4y3u2i1o9p".into(), Some(Suppression::Allowlist))]
    );
    // regexTarget = "match": the whole match is tested; such matches are dropped.
    assert!(scan(&c, "ACME_DEMO = 'z9x8c7v6b5n4m3l2k1j0'\n", None).is_empty());

    // The older single table works the same.
    let old = format!("{RULE}\n[rules.allowlist]\nstopwords = ['''sample''']\n");
    assert_eq!(
        parse_ok(&old).rules.get("acme-token").unwrap().allow_values,
        ["(?i:sample)"]
    );
}

#[test]
fn untranslatable_allowlists_are_errors_naming_rule_and_field() {
    let cases = [
        ("commits = ['abc123']", "allowlists[1].commits", 14),
        (
            "regexTarget = 'line'\nregexes = ['x']",
            "allowlists[1].regexTarget",
            14,
        ),
        (
            "condition = 'AND'\npaths = ['x']\nregexes = ['y']",
            "allowlists[1].condition",
            14,
        ),
        (
            "condition = 'XOR'\npaths = ['x']",
            "allowlists[1].condition",
            14,
        ),
        (
            "regexTarget = 'nope'\nregexes = ['x']",
            "allowlists[1].regexTarget",
            14,
        ),
        ("description = 'nothing'", "allowlists[1]", 13),
        ("stopwords = ['']", "allowlists[1].stopwords", 14),
        ("regexes = ['(unclosed']", "allowlists[1].regexes", 14),
        ("colour = 'red'", "allowlists[1].colour", 14),
    ];
    for (body, field, line) in cases {
        let src = format!("{RULE}\n[[rules.allowlists]]\n{body}\n");
        let e = parse_err(&src);
        assert_eq!(e.origin, FILE, "{body}");
        assert_eq!(e.rule_id.as_deref(), Some("acme-token"), "{body}");
        assert_eq!(e.field.as_deref(), Some(field), "{body}: {e}");
        assert_eq!(e.line, Some(line), "{body}: {e}");
    }
    // AND within one kind is OR.
    let src =
        format!("{RULE}\n[[rules.allowlists]]\ncondition = 'AND'\nstopwords = ['a1', 'b2']\n");
    assert_eq!(
        parse_ok(&src)
            .rules
            .get("acme-token")
            .unwrap()
            .allow_values
            .len(),
        2
    );
}

#[test]
fn untranslatable_rule_fields_are_errors_naming_rule_and_field() {
    let cases = [
        ("[[rules.required]]\nid = 'x'", "required"),
        ("skipReport = true", "skipReport"),
        ("tokenEfficiency = true", "tokenEfficiency"),
        ("filter = 'true'", "filter"),
        ("colour = 'red'", "colour"),
        ("entropy = 9.0", "entropy"),
        ("secretGroup = -1", "secretGroup"),
        ("secretGroup = 2", "secretGroup"),
    ];
    for (body, field) in cases {
        let src = format!(
            "{}{body}\n",
            RULE.replace("secretGroup = 1\nentropy = 3.0\n", "")
        );
        let e = parse_err(&src);
        assert_eq!(e.rule_id.as_deref(), Some("acme-token"), "{body}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{body}: {e}");
        assert_eq!(e.origin, FILE);
        assert!(e.line.is_some());
    }
    // betterleaks' live validation and specificity change nothing keysweep reports by default.
    let src = format!("{RULE}validate = 'x'\nspecificity = 10\nskipReport = false\n");
    parse_ok(&src);
    // A regex keysweep cannot parse names the field.
    let e = parse_err("[[rules]]\nid = \"bad\"\nregex = '''a\\C'''\n");
    assert_eq!((e.field.as_deref(), e.line), (Some("regex"), Some(3)));
    let e = parse_err("[[rules]]\nid = \"nothing\"\ndescription = 'x'\n");
    assert_eq!(e.field.as_deref(), Some("regex"));
    let e = parse_err("prefilter = 'x'\n");
    assert_eq!(e.field.as_deref(), Some("prefilter"));
    let e = parse_err("[[rules]]\ndescription = 'x'\n");
    assert_eq!(e.field.as_deref(), Some("id"));
}

#[test]
fn rule_ids_are_kept_or_mapped() {
    let c = parse_ok(&format!(
        "{RULE}\n[[rules]]\nid = 'Generic Secret'\nregex = '''secret=([a-z]{{12}})'''\n"
    ));
    let g = c.rules.get("generic-secret").unwrap();
    assert_eq!(g.name, "Generic Secret");
    assert!(
        g.has_tag("generic"),
        "gitleaks' generic rules give way to specific ones"
    );
    assert!(!c.rules.get("acme-token").unwrap().has_tag("generic"));
    let e = parse_err(&format!("{RULE}{RULE}").replace("title = \"test\"\n", ""));
    assert_eq!(e.field.as_deref(), Some("id"));
    assert!(e.message.contains("duplicate"), "{e}");
}

#[test]
fn global_allowlist_is_returned_apart_and_target_rules_are_applied() {
    let src = format!(
        "{RULE}
[[allowlists]]
description = 'global'
paths = ['''(?:^|/)vendor/''']
regexes = ['''^q8w7''']
stopwords = ['example']

[[allowlists]]
regexTarget = 'match'
regexes = ['''acme_demo''']

[[allowlists]]
targetRules = ['acme-token']
paths = ['''\\.snap$''']
"
    );
    let c = parse_ok(&src);
    assert_eq!(c.allowlist.paths, [r"(?:^|/)vendor/"]);
    assert_eq!(c.allowlist.values, ["^q8w7", "(?i:example)"]);
    assert_eq!(c.allowlist.matches, ["acme_demo"]);
    let m = c.allowlist.path_matcher().unwrap().unwrap();
    assert!(m.is_match("third/vendor/x.go"));
    assert!(!m.is_match("src/x.go"));
    // targetRules: that rule's own allowlist.
    assert_eq!(c.rules.get("acme-token").unwrap().allow_paths, [r"\.snap$"]);
    assert_eq!(
        scan(&c, "acme = 'q8w7e6r5t4y3u2i1o9p0'\n", None),
        [("q8w7e6r5t4y3u2i1o9p0".into(), Some(Suppression::Allowlist))]
    );
    assert!(scan(&c, "acme_demo = 'z9x8c7v6b5n4m3l2k1j0'\n", None).is_empty());

    // The old single table, and the errors.
    let old = format!("{RULE}\n[allowlist]\npaths = ['x']\n");
    assert_eq!(parse_ok(&old).allowlist.paths, ["x"]);
    let both = format!("{RULE}\n[allowlist]\npaths = ['x']\n[[allowlists]]\npaths = ['y']\n");
    assert_eq!(parse_err(&both).field.as_deref(), Some("allowlist"));
    let e = parse_err(&format!("{RULE}\n[[allowlists]]\ncommits = ['abc']\n"));
    assert_eq!(
        (e.field.as_deref(), e.rule_id.as_deref()),
        (Some("allowlists[1].commits"), None)
    );
    let e = parse_err(&format!(
        "{RULE}\n[[allowlists]]\ntargetRules = ['nope']\npaths = ['x']\n"
    ));
    assert_eq!(e.field.as_deref(), Some("allowlists[1].targetRules"));
}

#[test]
fn use_default_keeps_builtins_and_maps_disabled_rules() {
    let c = parse_ok(&format!(
        "{RULE}\n[extend]\nuseDefault = true\ndisabledRules = ['generic-api-key', 'jwt']\n"
    ));
    assert!(c.use_default);
    assert_eq!(
        c.disabled_builtin,
        [
            BuiltinTarget::Tag("generic"),
            BuiltinTarget::Rule("jwt.token")
        ]
    );
    let e =
        parse_err("[extend]\nuseDefault = true\ndisabledRules = ['jwt', 'adobe-client-id', 'x']\n");
    assert_eq!(
        (e.field.as_deref(), e.line),
        (Some("extend.disabledRules"), Some(3))
    );
    assert!(e.message.contains("\"adobe-client-id\", \"x\""), "{e}");
    // Without anything extended, disabledRules disables nothing: an error.
    let e = parse_err("[extend]\ndisabledRules = ['jwt']\n");
    assert_eq!(e.field.as_deref(), Some("extend.disabledRules"));
    // Extending a default rule by id (no regex of its own) cannot be done.
    let e = parse_err("[extend]\nuseDefault = true\n[[rules]]\nid = 'gitlab-pat'\n[[rules.allowlists]]\nregexes = ['x']\n");
    assert_eq!(
        (e.rule_id.as_deref(), e.field.as_deref()),
        (Some("gitlab-pat"), Some("regex"))
    );
    let e = parse_err("[extend]\nurl = 'https://example.com/x.toml'\n");
    assert_eq!(e.field.as_deref(), Some("extend.url"));
}

#[test]
fn extend_path_merges_relative_to_the_file_and_refuses_cycles_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    put(
        "base.toml",
        &format!(
            "{RULE}
[[rules]]
id = 'base-only'
regex = '''base_[a-z]{{10}}'''
keywords = ['base_']

[[rules]]
id = 'dropped'
regex = '''drop_[a-z]{{10}}'''

[[allowlists]]
paths = ['''base-allowed''']
"
        ),
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    put(
        "sub/top.toml",
        "[extend]\npath = '../base.toml'\ndisabledRules = ['dropped']\n\n[[rules]]\nid = 'acme-token'\ndescription = 'Acme token, our way'\nkeywords = ['acme_token']\n[[rules.allowlists]]\nstopwords = ['sample']\n\n[[allowlists]]\npaths = ['''top-allowed''']\n",
    );
    let c = load(&dir.path().join("sub/top.toml")).unwrap();
    assert!(!c.use_default);
    let ids: Vec<&str> = c.rules.rules().iter().map(|r| &*r.id).collect();
    assert_eq!(ids, ["acme-token", "base-only"]);
    let r = c.rules.get("acme-token").unwrap();
    // Fields the extending file sets win; lists are joined; the rest is the base's.
    assert_eq!(r.name, "Acme token, our way");
    assert_eq!(r.keywords, ["acme", "acme_token"]);
    assert_eq!(r.allow_values, ["(?i:sample)"]);
    assert!(r.pattern.contains("(?P<secret>"));
    assert!(r.origin.ends_with("top.toml"), "{}", r.origin);
    assert!(c
        .rules
        .get("base-only")
        .unwrap()
        .origin
        .ends_with("base.toml"));
    assert_eq!(c.allowlist.paths, ["top-allowed", "base-allowed"]);

    // A rule the base does not have cannot be disabled.
    put(
        "sub/typo.toml",
        "[extend]\npath = '../base.toml'\ndisabledRules = ['nope']\n",
    );
    let e = load(&dir.path().join("sub/typo.toml")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("extend.disabledRules"));

    // A cycle, named file by file.
    put("a.toml", "[extend]\npath = 'b.toml'\n");
    put("b.toml", "[extend]\npath = 'a.toml'\n");
    let e = load(&dir.path().join("a.toml")).unwrap_err();
    assert_eq!((e.field.as_deref(), e.line), (Some("extend.path"), Some(2)));
    assert!(e.origin.ends_with("b.toml"), "{e}");
    assert!(e.message.starts_with("extends itself: "), "{e}");
    assert!(
        e.message.contains("a.toml -> ") && e.message.ends_with("a.toml"),
        "{e}"
    );

    // Deeper than gitleaks' two levels.
    put("d1.toml", "[extend]\npath = 'd2.toml'\n");
    put("d2.toml", "[extend]\npath = 'd3.toml'\n");
    put("d3.toml", "[extend]\npath = 'base.toml'\n");
    let e = load(&dir.path().join("d1.toml")).unwrap_err();
    assert!(e.origin.ends_with("d3.toml"), "{e}");
    assert!(e.message.contains("more than 2 files deep"), "{e}");
    put("d0.toml", "[extend]\npath = 'd3.toml'\n");
    assert_eq!(load(&dir.path().join("d0.toml")).unwrap().rules.len(), 3);

    // useDefault in the base reaches the top; its disabledRules too.
    put("def.toml", "[extend]\nuseDefault = true\n");
    put(
        "on-def.toml",
        "[extend]\npath = 'def.toml'\ndisabledRules = ['jwt']\n",
    );
    let c = load(&dir.path().join("on-def.toml")).unwrap();
    assert!(c.use_default);
    assert_eq!(c.disabled_builtin, [BuiltinTarget::Rule("jwt.token")]);

    put("dev.toml", "[extend]\npath = '/dev/null'\n");
    let e = load(&dir.path().join("dev.toml")).unwrap_err();
    assert!(e.message.ends_with("not a regular file"), "{e}");
    let e = load(&dir.path().join("missing.toml")).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    put(
        "both.toml",
        "[extend]\npath = 'base.toml'\nuseDefault = true\n",
    );
    assert_eq!(
        load(&dir.path().join("both.toml"))
            .unwrap_err()
            .field
            .as_deref(),
        Some("extend.path")
    );
}

#[test]
fn keys_are_case_insensitive_like_gitleaks() {
    let c = parse_ok("[[Rules]]\nID = 'x-key'\nRegex = '''xk_([a-z]{10})'''\nSecretGroup = 1\nKeywords = ['xk_']\n");
    assert!(c.rules.get("x-key").is_some());
}

#[test]
fn realistic_config_scans() {
    let src = include_str!("../../../tests/fixtures/gitleaks/.gitleaks.toml");
    let c = parse_ok(src);
    assert!(c.use_default);
    let scanner = Scanner::new(c.rules.clone()).unwrap();
    assert!(scanner.compile_all().is_empty());
    for r in c.rules.rules() {
        assert!(r.validate().is_ok());
    }
}
