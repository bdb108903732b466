//! Finding the SSH hosts a file names: where a private key found in it may be used.
//!
//! Read line by line, in one pass per kind of mention, with no regular expressions: ssh
//! config blocks (`Host`, `HostName`, `User`, `Port`), `ssh://user@host:port` URLs,
//! `user@host` in `ssh`, `scp`, `sftp` and `rsync` commands (with `-p`/`-P` and `-l`),
//! `git@host:owner/repo` remotes, and key/value pairs (YAML, JSON, INI, `.env`, Ansible
//! inventories) whose keys name a host, a user or a port.

use std::fmt;

/// The most hosts one key is tried against.
pub const MAX_TARGETS: usize = 5;

/// A place to try an SSH key: a user on a host, as the file names them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SshTarget {
    /// The user to log in as.
    pub user: String,
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The port (22 unless the file names another).
    pub port: u16,
}

impl SshTarget {
    /// A target; `port` 22 is SSH's.
    pub fn new(user: impl Into<String>, host: impl Into<String>, port: u16) -> SshTarget {
        SshTarget {
            user: user.into(),
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for SshTarget {
    /// `user@host:port` (`user@[::1]:22` for IPv6).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// The hosts `text` names with a user, in the order they first appear, without duplicates,
/// at most [`MAX_TARGETS`]. A host named without any user is left out: user names are never
/// guessed.
///
/// ```
/// use keysweep_validate::ssh::{targets_in, SshTarget};
///
/// let file = "deploy:\n  script: scp -P 2222 build.tgz deploy@203.0.113.7:/srv/\n";
/// assert_eq!(targets_in(file.as_bytes()), [SshTarget::new("deploy", "203.0.113.7", 2222)]);
///
/// let config = "Host web\n  HostName web1.acme.io\n  User ubuntu\n  Port 2200\n";
/// assert_eq!(targets_in(config.as_bytes()), [SshTarget::new("ubuntu", "web1.acme.io", 2200)]);
///
/// assert!(targets_in(b"ssh web1.acme.io").is_empty(), "no user: nothing is guessed");
/// ```
pub fn targets_in(text: &[u8]) -> Vec<SshTarget> {
    let text = String::from_utf8_lossy(text);
    // Escaped newlines (a key in a JSON string) separate lines too.
    let text = text.replace("\\r\\n", "\n").replace("\\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Vec<(usize, SshTarget)> = Vec::new();
    ssh_config(&lines, &mut found);
    for (n, line) in lines.iter().enumerate() {
        urls(line, n, &mut found);
        commands(line, n, &mut found);
        git_remotes(line, n, &mut found);
    }
    key_values(&lines, &mut found);
    found.sort_by_key(|(line, _)| *line);
    let mut out: Vec<SshTarget> = Vec::new();
    for (_, t) in found {
        if !out.contains(&t) {
            out.push(t);
        }
        if out.len() == MAX_TARGETS {
            break;
        }
    }
    out
}

/// A host name (letters, digits, `-`, `.`, `_`, with a letter or a dot), an IPv4 address, or
/// an IPv6 address; not a placeholder of the reserved example domains.
fn host_ok(h: &str) -> bool {
    if h.is_empty() || h.len() > 253 {
        return false;
    }
    if h.contains(':') {
        return h.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if !h
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        || h.starts_with(['-', '.'])
        || h.ends_with('-')
    {
        return false;
    }
    if h.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return h.parse::<std::net::Ipv4Addr>().is_ok();
    }
    let lower = h.trim_end_matches('.').to_ascii_lowercase();
    let reserved = ["example", "test", "invalid"];
    let last = lower.rsplit('.').next().unwrap_or("");
    let second = lower.rsplit('.').nth(1).unwrap_or("");
    !(reserved.contains(&last) || second == "example" || lower == "host" || lower == "hostname")
}

/// A user name as OpenSSH accepts one (letters, digits, `.`, `_`, `-`), not a placeholder.
fn user_ok(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !u.starts_with('-')
        && !matches!(u.to_ascii_lowercase().as_str(), "user" | "username")
}

fn port_of(p: &str) -> Option<u16> {
    p.parse::<u16>().ok().filter(|&p| p != 0)
}

fn push(found: &mut Vec<(usize, SshTarget)>, line: usize, user: &str, host: &str, port: u16) {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if user_ok(user) && host_ok(host) {
        found.push((line, SshTarget::new(user, host, port)));
    }
}

/// `user@host`, `user@host:port` (URL) or `user@[v6]:port`, as `(user, host, rest)`.
fn split_user_host(s: &str) -> Option<(&str, &str, &str)> {
    let (user, rest) = s.split_once('@')?;
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return Some((user, host, after));
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .unwrap_or(rest.len());
    Some((user, &rest[..end], &rest[end..]))
}

/// ssh config: a `Host` line opens a block; `HostName`, `User`, `Port` fill it.
fn ssh_config(lines: &[&str], found: &mut Vec<(usize, SshTarget)>) {
    struct Block<'a> {
        line: usize,
        alias: Option<&'a str>,
        name: Option<&'a str>,
        user: Option<&'a str>,
        port: u16,
    }
    fn close(b: Option<Block<'_>>, found: &mut Vec<(usize, SshTarget)>) {
        let Some(b) = b else { return };
        let host = b.name.or(b.alias.filter(|a| !a.contains(['*', '?', '!'])));
        if let (Some(h), Some(u)) = (host, b.user) {
            push(found, b.line, u, h, b.port);
        }
    }
    let mut block: Option<Block<'_>> = None;
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim();
        let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k,
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => continue,
        };
        let value = value.split_whitespace().next().unwrap_or("");
        match key.to_ascii_lowercase().as_str() {
            "host" | "match" => {
                close(block.take(), found);
                block = (key.eq_ignore_ascii_case("host")).then_some(Block {
                    line: n,
                    alias: Some(value),
                    name: None,
                    user: None,
                    port: 22,
                });
            }
            "hostname" => {
                if let Some(b) = &mut block {
                    b.name = Some(value);
                }
            }
            "user" => {
                if let Some(b) = &mut block {
                    b.user = Some(value);
                }
            }
            "port" => {
                if let Some(b) = &mut block {
                    b.port = port_of(value).unwrap_or(22);
                }
            }
            _ => {}
        }
    }
    close(block, found);
}

/// `ssh://user@host:port/...` (also `sftp://`, `git+ssh://`, `ssh+git://`).
fn urls(line: &str, n: usize, found: &mut Vec<(usize, SshTarget)>) {
    let lower = line.to_ascii_lowercase();
    for scheme in ["ssh://", "sftp://"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(scheme) {
            let start = from + at + scheme.len();
            from = start;
            let authority = line[start..]
                .split(['/', ' ', '"', '\'', '`', '\t', '<', '>'])
                .next()
                .unwrap_or("");
            let Some((user, host, rest)) = split_user_host(authority) else {
                continue;
            };
            // `user:password@host` (a password in the URL): the user is before the colon.
            let user = user.split(':').next().unwrap_or("");
            let port = match rest.strip_prefix(':') {
                Some(p) => match port_of(p) {
                    Some(p) => p,
                    None => continue,
                },
                None => 22,
            };
            push(found, n, user, host, port);
        }
    }
}

/// `ssh [-p PORT] [-l USER] user@host`, `scp -P PORT f user@host:path`, `sftp`, `rsync -e
/// 'ssh -p PORT' f user@host:path`.
fn commands(line: &str, n: usize, found: &mut Vec<(usize, SshTarget)>) {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ';' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut i = 0;
    while i < words.len() {
        let cmd = words[i].rsplit('/').next().unwrap_or("");
        if !matches!(cmd, "ssh" | "scp" | "sftp" | "rsync") {
            i += 1;
            continue;
        }
        let mut port = 22;
        let mut login: Option<&str> = None;
        let mut j = i + 1;
        while j < words.len() {
            let w = words[j];
            if matches!(w, "&&" | "||" | "|") {
                break;
            }
            let next = words.get(j + 1).copied().unwrap_or("");
            let port_flag = if cmd == "ssh" { "-p" } else { "-P" };
            if w == port_flag || (cmd == "rsync" && w == "-p") {
                if let Some(p) = port_of(next) {
                    port = p;
                }
                j += 2;
                continue;
            }
            if let Some(p) = w.strip_prefix(port_flag).and_then(port_of) {
                port = p;
            } else if w == "-l" && cmd == "ssh" {
                login = Some(next);
                j += 2;
                continue;
            } else if matches!(w, "-i" | "-o" | "-F" | "-J" | "-e") {
                j += 2;
                continue;
            } else if !w.starts_with('-') {
                if let Some((user, host, rest)) = split_user_host(w) {
                    if rest.is_empty() || rest.starts_with(':') {
                        push(found, n, user, host, port);
                    }
                } else if let (Some(user), "ssh") = (login, cmd) {
                    push(found, n, user, w, port);
                }
            }
            j += 1;
        }
        i = j;
    }
}

/// `git@host:owner/repo.git`, an SSH remote in scp form.
fn git_remotes(line: &str, n: usize, found: &mut Vec<(usize, SshTarget)>) {
    let mut from = 0;
    while let Some(at) = line[from..].find("git@") {
        let start = from + at;
        from = start + 4;
        if start > 0 && line.as_bytes()[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        if let Some((_, host, rest)) = split_user_host(&line[start..]) {
            if rest.starts_with(':') && !rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
                push(found, n, "git", host, 22);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    User,
    Port,
}

/// The field a key names: `host`, `ssh_host`, `ansible_host`, `SERVER`, `deploy.user`.
fn field_of(key: &str) -> Option<Field> {
    let key = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    let key = key.rsplit(['.', '/']).next().unwrap_or("");
    let key = key
        .strip_prefix("ansible_ssh_")
        .or_else(|| key.strip_prefix("ansible_"))
        .or_else(|| key.strip_prefix("ssh_"))
        .or_else(|| key.strip_prefix("sftp_"))
        .or_else(|| key.strip_prefix("deploy_"))
        .or_else(|| key.strip_prefix("remote_"))
        .unwrap_or(key);
    match key {
        "host" | "hostname" | "server" | "address" => Some(Field::Host),
        "user" | "username" | "login" => Some(Field::User),
        "port" => Some(Field::Port),
        _ => None,
    }
}

/// `key: value`, `"key": "value",`, `key=value`, `key = value`; several per line in INI
/// inventories (`web1 ansible_host=10.0.0.5 ansible_user=deploy`).
fn pairs(line: &str) -> Vec<(Field, &str)> {
    let mut out = json_pairs(line);
    if !out.is_empty() {
        return out;
    }
    let trimmed = line
        .trim()
        .trim_start_matches("- ")
        .trim_start_matches("export ");
    // YAML or JSON: one key per line.
    if let Some((k, v)) = trimmed.split_once(':') {
        if let Some(f) = field_of(k).filter(|_| !k.contains([' ', '='])) {
            let v = v
                .trim()
                .trim_end_matches(',')
                .trim()
                .trim_matches(['"', '\'']);
            out.push((f, v));
            return out;
        }
    }
    for word in trimmed.split_whitespace() {
        if let Some((k, v)) = word.split_once('=') {
            if let Some(f) = field_of(k) {
                out.push((f, v.trim_matches(['"', '\'', ','])));
            }
        }
    }
    if out.is_empty() {
        if let Some((k, v)) = trimmed.split_once('=') {
            if let Some(f) = field_of(k) {
                out.push((f, v.trim().trim_matches(['"', '\''])));
            }
        }
    }
    out
}

/// `"key": "value"` and `"key": 22`, any number per line (JSON on one line). Keyed on each
/// `":`, the key read back to its opening quote: a line may start inside a string.
fn json_pairs(line: &str) -> Vec<(Field, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find('"') {
        let quote = from + at;
        from = quote + 1;
        let Some(value) = line[quote + 1..].trim_start().strip_prefix(':') else {
            continue;
        };
        let Some(start) = line[..quote].rfind('"') else {
            continue;
        };
        let key = &line[start + 1..quote];
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            continue;
        }
        let value = value.trim_start();
        let v = match value.strip_prefix('"') {
            Some(q) => match q.find('"') {
                Some(end) => &q[..end],
                None => continue,
            },
            None => &value[..value.find([',', '}', ' ']).unwrap_or(value.len())],
        };
        if let Some(f) = field_of(key) {
            out.push((f, v));
        }
    }
    out
}

/// Key/value mentions: each host takes the user and the port named nearest to it (on its own
/// line first, as in an INI inventory; then the closest line).
fn key_values(lines: &[&str], found: &mut Vec<(usize, SshTarget)>) {
    let mut hosts = Vec::new();
    let mut users = Vec::new();
    let mut ports = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        for (f, v) in pairs(line) {
            match f {
                Field::Host if host_ok(v) => hosts.push((n, v)),
                Field::User if user_ok(v) => users.push((n, v)),
                Field::Port => {
                    if let Some(p) = port_of(v) {
                        ports.push((n, p));
                    }
                }
                _ => {}
            }
        }
    }
    fn nearest<T: Copy>(list: &[(usize, T)], n: usize) -> Option<T> {
        list.iter()
            .min_by_key(|(m, _)| (n.abs_diff(*m), *m > n))
            .map(|(_, v)| *v)
    }
    for &(n, host) in &hosts {
        if let Some(user) = nearest(&users, n) {
            let port = nearest(&ports, n).unwrap_or(22);
            push(found, n, user, host, port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: &str, host: &str, port: u16) -> SshTarget {
        SshTarget::new(user, host, port)
    }

    #[test]
    fn each_kind_of_mention() {
        let cases: &[(&str, &[SshTarget])] = &[
            (
                "Host bastion\n  HostName 198.51.100.10\n  User ops\n  Port 2022\nHost *\n  User nobody\n",
                &[t("ops", "198.51.100.10", 2022)],
            ),
            ("Host db1\n  User admin\n", &[t("admin", "db1", 22)]),
            (
                "remote = ssh://deploy@build.acme.io:2200/srv/app",
                &[t("deploy", "build.acme.io", 2200)],
            ),
            ("url: ssh://[2001:db8::5]:22", &[]),
            ("url: ssh://ci@[2001:db8::5]:22/x", &[t("ci", "2001:db8::5", 22)]),
            (
                "  - ssh -o StrictHostKeyChecking=no -p 2222 root@10.1.2.3 'systemctl restart app'",
                &[t("root", "10.1.2.3", 2222)],
            ),
            ("ssh -l admin -p 2200 jump.acme.io", &[t("admin", "jump.acme.io", 2200)]),
            ("scp -P 8022 dist.tgz www@static.acme.io:/var/www/", &[t("www", "static.acme.io", 8022)]),
            (
                "rsync -avz -e 'ssh -p 2201' ./ backup@nas.acme.lan:/backups/",
                &[t("backup", "nas.acme.lan", 2201)],
            ),
            ("git clone git@gitlab.acme.io:infra/deploy.git", &[t("git", "gitlab.acme.io", 22)]),
            (
                "web1 ansible_host=172.16.4.2 ansible_user=deploy ansible_port=2222",
                &[t("deploy", "172.16.4.2", 2222)],
            ),
            (
                "all:\n  hosts:\n    app:\n      ansible_host: app.acme.io\n      ansible_user: centos\n",
                &[t("centos", "app.acme.io", 22)],
            ),
            (
                "{\n  \"ssh_host\": \"203.0.113.9\",\n  \"ssh_user\": \"svc\",\n  \"ssh_port\": 2022\n}",
                &[t("svc", "203.0.113.9", 2022)],
            ),
            ("SSH_HOST=sftp.acme.io\nSSH_USERNAME=upload\n", &[t("upload", "sftp.acme.io", 22)]),
            (
                r#"{"name": "x", "server": "198.51.100.4", "login": "ops", "port": 2200}"#,
                &[t("ops", "198.51.100.4", 2200)],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(targets_in(text.as_bytes()), *want, "{text}");
        }
    }

    #[test]
    fn nothing_is_guessed() {
        for text in [
            "ssh web1.acme.io",
            "host: db.acme.io\nport: 5432\n",
            "ssh user@host",
            "ssh deploy@server.example.com",
            "email me: jane@acme.io",
            "git@github.com:22",
            "Host *\n  User root\n",
        ] {
            assert_eq!(targets_in(text.as_bytes()), [], "{text}");
        }
    }

    #[test]
    fn duplicates_go_and_the_count_is_capped() {
        let mut text = String::from("ssh root@10.0.0.1\nssh root@10.0.0.1\n");
        for i in 2..20 {
            text.push_str(&format!("ssh root@10.0.0.{i}\n"));
        }
        let got = targets_in(text.as_bytes());
        assert_eq!(got.len(), MAX_TARGETS);
        assert_eq!(got[0], t("root", "10.0.0.1", 22));
        assert_eq!(got[1], t("root", "10.0.0.2", 22));
    }

    #[test]
    fn escaped_newlines_separate_lines() {
        let text = r#"{"key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "cmd": "ssh -p 2022 ci@198.51.100.3"}"#;
        assert_eq!(targets_in(text.as_bytes()), [t("ci", "198.51.100.3", 2022)]);
    }

    /// Untrusted bytes: every prefix of tricky lines, with multi-byte characters at every
    /// place a slice could cut, never panics and never yields more than the cap.
    #[test]
    fn any_bytes_are_safe() {
        let lines = [
            "ssh -p 2222 -l é root@[::1 ssh://ü@[2001:db8::1]:x/ git@é:",
            "\"host\": \"ä\", \"user\": \"ö\"x\": 22, \"port\":",
            "Host\tä\n  HostName=ü\n  User é\n  Port 99999\nMatch all",
            "rsync -e 'ssh -p' x@y: scp -P -P sftp://@:22 ansible_host= ansible_user=\u{0}",
        ];
        for line in lines {
            let bytes = line.as_bytes();
            for end in 0..=bytes.len() {
                let got = targets_in(&bytes[..end]);
                assert!(got.len() <= MAX_TARGETS);
                let mut mixed = bytes[..end].to_vec();
                mixed.extend_from_slice("\u{10348}é".as_bytes());
                mixed.extend_from_slice(&bytes[end..]);
                assert!(targets_in(&mixed).len() <= MAX_TARGETS);
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(t("root", "10.0.0.1", 22).to_string(), "root@10.0.0.1:22");
        assert_eq!(t("root", "::1", 2222).to_string(), "root@[::1]:2222");
    }
}
