//! Gates between a regex match and a finding: entropy and placeholder detection.

/// Shannon entropy of `bytes`, in bits per byte (0.0 for an empty slice).
///
/// ```
/// assert_eq!(keysweep::shannon_entropy(b"aaaa"), 0.0);
/// assert!((keysweep::shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
/// ```
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Substrings (compared ASCII-case-insensitively) that mark a value as a placeholder or a
/// reference to a secret kept elsewhere, never a secret itself.
const PLACEHOLDER_NEEDLES: &[&[u8]] = &[
    b"example",
    b"xxxxx",
    b"your_",
    b"your-",
    b"yourapi",
    b"yourtoken",
    b"yoursecret",
    b"yourpass",
    b"${",
    b"{{",
    b"}}",
    b"$(",
    b"%(",
    b"changeme",
    b"change_me",
    b"change-me",
    b"placeholder",
    b"redacted",
    b"process.env",
    b"os.environ",
    b"getenv",
    b"env(",
    b"env[",
    b"****",
    b"...",
    b"\xe2\x80\xa6", // the ellipsis character
    b"insert_",
    b"replace_me",
    b"replaceme",
    b"dummy",
    // Interpolation in Ruby, Python %-formatting and friends: the value is built at run time.
    b"#{",
    b"%{",
    // A value that spells out "password" is a sample (`42password`, `my-passwords`).
    b"password",
    b"passwd",
];

/// Whole values (compared ASCII-case-insensitively) that are words, not secrets.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"secret",
    b"token",
    b"apikey",
    b"api_key",
    b"api-key",
    b"null",
    b"nil",
    b"none",
    b"true",
    b"false",
    b"undefined",
    b"test",
    b"admin",
    b"root",
    b"default",
    b"empty",
    b"string",
    b"value",
    b"required",
    b"optional",
    b"secretkey",
    b"secret_key",
    b"accesskey",
    b"access_key",
    b"privatekey",
    b"private_key",
    b"mypassword",
    b"pass",
    // Well-known default passwords of local databases and brokers (`postgres:postgres@`,
    // `guest:guest@`): configuration for a developer's machine, not a leaked credential.
    b"postgres",
    b"guest",
    b"mysql",
    b"redis",
    b"rabbitmq",
    b"mongo",
    b"mypass",
    b"letmein",
    b"qwerty",
];

/// Whether `secret` is a placeholder rather than a secret: a documentation example
/// (`AKIAIOSFODNN7EXAMPLE`), a template (`${TOKEN}`, `{{ secrets.X }}`, `<token>`), a
/// reference to the environment (`process.env.X`, `os.environ[...]`), a mask (`****`), a
/// repeated or ascending run (`xxxxxxxx`, `0000000000`, `12345678`), or a bare word
/// (`password`, `changeme`).
///
/// ```
/// use keysweep::is_placeholder;
/// assert!(is_placeholder(b"AKIAIOSFODNN7EXAMPLE"));
/// assert!(is_placeholder(b"your_api_key_here"));
/// assert!(is_placeholder(b"<token>"));
/// assert!(is_placeholder(b"${GITHUB_TOKEN}"));
/// assert!(is_placeholder(b"changeme"));
/// assert!(!is_placeholder(b"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"));
/// ```
pub fn is_placeholder(secret: &[u8]) -> bool {
    let s = trim_quotes(secret);
    if s.is_empty() {
        return true;
    }
    if PLACEHOLDER_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    if needles().is_match(s) {
        return true;
    }
    // Angle-bracket or square-bracket templates: `<token>`, `[API_KEY]`.
    let (first, last) = (s[0], s[s.len() - 1]);
    if (first == b'<' && last == b'>') || (first == b'[' && last == b']') {
        return true;
    }
    if s.contains(&b'<') && s.contains(&b'>') {
        return true;
    }
    // Shell-style references: `$TOKEN`, `$env:TOKEN`.
    if first == b'$' && s.len() > 1 && (s[1].is_ascii_alphabetic() || s[1] == b'_') {
        return true;
    }
    // Password hashes (bcrypt, argon2, crypt): derived from a secret, not usable as one.
    if [
        &b"$2a$"[..],
        b"$2b$",
        b"$2y$",
        b"$argon2",
        b"$6$",
        b"$5$",
        b"$1$",
    ]
    .iter()
    .any(|p| s.starts_with(p))
    {
        return true;
    }
    let (longest_repeat, longest_ascending) = runs(s);
    longest_repeat >= (s.len() / 3).max(8) || longest_ascending >= 8
}

/// Whether a value caught by a generic rule (`password = …`) looks like a literal secret rather
/// than code: an identifier, member path or symbol (`self.password`, `request_token`,
/// `@user.auth_token`, `:BCryptPassword`, `Rails.env.test?`, `routes#update`) is not.
///
/// A value made only of letters and `_ . - # / ? : !` (no digits, no other symbols) is code when
/// it starts with a sigil (`@`, `:`, `!`, `&`), contains a separator (`_ . # / ? :`) or has no
/// uppercase letter.
///
/// ```
/// use keysweep::looks_like_literal;
/// assert!(looks_like_literal(b"Tr0ub4dor&3"));
/// assert!(looks_like_literal(b"SuperSecretPhrase"));
/// assert!(!looks_like_literal(b"self.password"));
/// assert!(!looks_like_literal(b"request_token"));
/// assert!(!looks_like_literal(b"getpassword"));
/// assert!(!looks_like_literal(b"@old_request_forgery_protection_token"));
/// assert!(!looks_like_literal(b":BCryptPassword"));
/// assert!(!looks_like_literal(b"Rails.env.test?"));
/// ```
pub fn looks_like_literal(secret: &[u8]) -> bool {
    let code_chars = secret.iter().all(|&b| {
        b.is_ascii_alphabetic()
            || matches!(
                b,
                b'_' | b'.' | b'-' | b'#' | b'/' | b'?' | b':' | b'!' | b'@' | b'&'
            )
    });
    if !code_chars {
        return true;
    }
    let sigil = matches!(secret.first(), Some(b'@' | b':' | b'!' | b'&'));
    let has_upper = secret.iter().any(u8::is_ascii_uppercase);
    let has_separator = secret
        .iter()
        .any(|&b| matches!(b, b'_' | b'.' | b'#' | b'/' | b'?' | b':'));
    !sigil && has_upper && !has_separator
}

fn trim_quotes(s: &[u8]) -> &[u8] {
    let mut s = s;
    while let [b'"' | b'\'' | b'`', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b'"' | b'\'' | b'`'] = s {
        s = rest;
    }
    s
}

/// One case-insensitive automaton over [`PLACEHOLDER_NEEDLES`], built once: every match of
/// every rule passes through here, so this must not cost a pass per needle.
fn needles() -> &'static aho_corasick::AhoCorasick {
    static NEEDLES: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    NEEDLES.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PLACEHOLDER_NEEDLES)
            .expect("a few dozen short literals always build")
    })
}

/// Longest run of one repeated byte, and longest run of ASCII-ascending alphanumerics
/// (`0123…`, `abcd…`), compared case-insensitively.
fn runs(s: &[u8]) -> (usize, usize) {
    let (mut rep, mut best_rep, mut asc, mut best_asc) = (1, 1, 1, 1);
    for w in s.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        rep = if a == b { rep + 1 } else { 1 };
        asc = if a.is_ascii_alphanumeric() && b == a.wrapping_add(1) && b.is_ascii_alphanumeric() {
            asc + 1
        } else {
            1
        };
        best_rep = best_rep.max(rep);
        best_asc = best_asc.max(asc);
    }
    (best_rep, best_asc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_from_the_issue_are_rejected() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "xxxxxxxxxxxxxxxxxxxxxxxx",
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "your_api_key_here",
            "<token>",
            "<YOUR-TOKEN>",
            "${VAR}",
            "${{ secrets.GITHUB_TOKEN }}",
            "{{ secrets.X }}",
            "changeme",
            "process.env.API_KEY",
            "os.environ['API_KEY']",
            "os.environ.get(\"TOKEN\")",
            "$API_TOKEN",
            "AKIA0000000000000000",
            "1234567890abcdef",
            "********",
            "[REDACTED]",
            "password",
            "42password",
            "#{params[:password]}",
            "$2a$04$gF8RfZdoXHvyTjHhiU4ZsO.kQqV9oonYZu31PRE4hLQn3xM2qkpIy",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p} should be a placeholder");
        }
    }

    #[test]
    fn random_values_are_not_placeholders() {
        for s in [
            "AKIAZ4X7Q2M9R3T8V6WN",
            "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u",
            "Zq8#kL2!mN4@pR6$",
            "9f86d081884c7d659a2feaa0c55ad015",
            // DER-encoded keys have long runs of 'A'; a run under a third of the value is kept.
            "AAAAB3NzaC1yc2EAAAADAQABAAABAQDxAAAAAAAAAAAQz7Qm5pXr2LkW8vN3bT6yH1sJ4gF0dC9eA7uR2iO5",
        ] {
            assert!(
                !is_placeholder(s.as_bytes()),
                "{s} should not be a placeholder"
            );
        }
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert!((shannon_entropy(b"0123456789abcdef") - 4.0).abs() < 1e-9);
    }
}
