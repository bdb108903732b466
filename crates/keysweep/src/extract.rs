//! Structured extractors: formats where what makes a value secret is its place in a structure
//! that a bounded regex cannot see (every value under `data:` of a Kubernetes `Secret`, every
//! cell of a CSV column named `password`, every value an SQL `INSERT` puts in such a column).
//!
//! A rule with `extract` still has a pattern: it finds the structure's anchor (the `kind:
//! Secret` line, the CSV header, the `INSERT INTO … (columns) VALUES`), through the keyword
//! prefilter like any rule. The extractor then reads the structure around that match, within
//! fixed bounds, and yields each value; each one goes through the rule's gates (placeholder,
//! entropy, allowlists) as a match of a regex would.

use std::ops::Range;

/// A structure-aware extractor, named in a rule file with `extract = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Extract {
    /// Every value under top-level `data:` (base64, decoded) and `stringData:` of a YAML
    /// document whose top-level `kind` is `Secret`, or of a JSON object whose `kind` is
    /// `"Secret"`. The pattern matches the `kind: Secret` line or the `"kind": "Secret"` member.
    KubernetesSecret,
    /// Every cell of a credential column (`password`, `secret`, `api_key`, `access_token`,
    /// ...) of a CSV/TSV file. The pattern matches the header line.
    CsvColumns,
    /// Every cell of a credential column of a Markdown table (`| host | user | password |`,
    /// a delimiter row, then rows). The pattern matches the header line.
    MarkdownColumns,
    /// Every cell of a credential column of a DokuWiki table (`^ Benutzer ^ Passwort ^` as the
    /// header row, then `| admin | ... |` rows). The pattern matches the header line.
    DokuwikiColumns,
    /// Every cell of a credential column of a MediaWiki table (`{|`, a header row
    /// `! Host !! User !! Password`, then rows `| db01 || sa || ...` between `|-` lines). The
    /// pattern matches the `{|` line that opens the table.
    MediawikiColumns,
    /// Every cell of a credential column of a plain-text table aligned with spaces, its
    /// columns marked by a rule line of dashes or equals signs (`---- ------ -----` under the
    /// header, as `net user`-style listings and reStructuredText simple tables draw them), or
    /// with no rule line, three or more named cells parted by two spaces or more or a tab (a
    /// handover document turned into text, an OCR scan). The pattern matches the rule line,
    /// or a line that may be the header of a table without one (the extractor decides).
    AlignedColumns,
    /// Every cell of a credential column of an HTML table (`<th>Password</th>` in the header
    /// row), and the value cell of a row headed by a credential (`<th>Password</th><td>...`).
    /// The pattern matches a `<th>` tag; the first of its row reads the row.
    HtmlTable,
    /// Every string literal that an SQL `INSERT INTO t (cols) VALUES (...), ...` puts in a
    /// credential column. The pattern matches up to `VALUES`, with the column list as the
    /// group `columns`.
    SqlInsert,
    /// Every string member of a JSON object that maps user names to passwords (Orthanc's
    /// `"RegisteredUsers": { "admin": "...", ... }`): the name is the user, the value the
    /// password. The pattern's match ends at the object's `{`.
    JsonUserMap,
}

impl Extract {
    /// Every extractor, in the order rule-file errors list them.
    pub const ALL: [Extract; 9] = [
        Extract::KubernetesSecret,
        Extract::CsvColumns,
        Extract::MarkdownColumns,
        Extract::DokuwikiColumns,
        Extract::MediawikiColumns,
        Extract::AlignedColumns,
        Extract::HtmlTable,
        Extract::SqlInsert,
        Extract::JsonUserMap,
    ];

    /// The name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Extract::KubernetesSecret => "kubernetes-secret",
            Extract::CsvColumns => "csv-columns",
            Extract::MarkdownColumns => "markdown-columns",
            Extract::DokuwikiColumns => "dokuwiki-columns",
            Extract::MediawikiColumns => "mediawiki-columns",
            Extract::AlignedColumns => "aligned-columns",
            Extract::HtmlTable => "html-table",
            Extract::SqlInsert => "sql-insert",
            Extract::JsonUserMap => "json-user-map",
        }
    }

    /// Parses an extractor name as written in rule files.
    pub fn parse(s: &str) -> Option<Extract> {
        Extract::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One value found by an extractor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extracted {
    /// The key or column name.
    pub key: Range<usize>,
    /// The value as written (without quotes).
    pub value: Range<usize>,
    /// Whether the value is base64 that holds the secret (a `data:` value).
    pub base64: bool,
    /// Whether the value must look random (a column named `token` or `key`, not `password`).
    pub needs_entropy: bool,
    /// The quote that the value doubles to escape itself (`""` in CSV, `''` in SQL).
    pub doubled: Option<u8>,
    /// Not a secret (a Secret's `username`), but the extractor knows what the value is: a
    /// generic `key = value` rule does not report it either.
    pub claim_only: bool,
    /// The key is the user whose password the value is (a map of users to passwords): the
    /// value counts whatever its length, and the key is reported as the `user` part.
    pub user_key: bool,
}

impl Extracted {
    /// A table cell or a value read under `key`: plain text (not base64), reported.
    fn cell(
        key: Range<usize>,
        value: Range<usize>,
        needs_entropy: bool,
        doubled: Option<u8>,
    ) -> Extracted {
        Extracted {
            key,
            value,
            base64: false,
            needs_entropy,
            doubled,
            claim_only: false,
            user_key: false,
        }
    }

    /// The value's bytes, with doubled quotes undone.
    pub(crate) fn unescaped(&self, hay: &[u8]) -> Vec<u8> {
        let v = &hay[self.value.clone()];
        let Some(q) = self.doubled else {
            return v.to_vec();
        };
        let mut out = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            out.push(v[i]);
            i += if v[i] == q && v.get(i + 1) == Some(&q) {
                2
            } else {
                1
            };
        }
        out
    }
}

/// Values that identify or configure rather than authenticate, whatever their key says: an
/// e-mail address (`SMTP_FROM` in a Secret), a number (a port), a boolean.
pub(crate) fn plainly_public(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    if v.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if matches!(
        v.to_ascii_lowercase().as_slice(),
        b"true" | b"false" | b"yes" | b"no" | b"on" | b"off"
    ) {
        return true;
    }
    // A short URL without credentials or query (`tcp://10.0.0.5:5705`,
    // `https://api.example.com/v1`): an address. One with `user:password@` is found by the
    // connection-URL rules; a long one or one with a query may carry a token (a webhook).
    if let Some(scheme_end) = memchr::memmem::find(v, b"://") {
        let scheme = &v[..scheme_end];
        if !scheme.is_empty()
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
            && v.len() <= 64
            && !v
                .iter()
                .any(|&b| b"@?".contains(&b) || b.is_ascii_whitespace())
        {
            return true;
        }
    }
    // An absolute path (`/var/lib/app/uploads`): where something is, not a secret.
    if v.len() > 1
        && v[0] == b'/'
        && v[1..].contains(&b'/')
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        return true;
    }
    // A date or time (`2024-09-16T08:00:00Z`, Argo CD's `admin.passwordMtime`).
    if v.len() >= 8
        && v[..4].iter().all(u8::is_ascii_digit)
        && v[4] == b'-'
        && crate::filter::is_date_or_number(v)
    {
        return true;
    }
    // A list of names (`checkout_v2,new_search` under `FEATURE_FLAGS`): lower-case words
    // joined by commas.
    if v.contains(&b',')
        && v.split(|&b| b == b',').all(|w| {
            let w = w.trim_ascii();
            w.len() >= 2
                && w[0].is_ascii_lowercase()
                && w.iter()
                    .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        })
    {
        return true;
    }
    // user@domain.tld, nothing else around it.
    match memchr::memchr(b'@', v) {
        Some(at) if at > 0 => {
            let (user, domain) = (&v[..at], &v[at + 1..]);
            let dot = memchr::memrchr(b'.', domain);
            user.iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
                && dot.is_some_and(|d| {
                    d > 0
                        && domain.len() - d > 2
                        && domain[d + 1..].iter().all(u8::is_ascii_alphabetic)
                })
                && domain
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
        _ => false,
    }
}

/// Whether `v` is a host name (`tyrell.us.auth0.com`): lower-case labels of letters, digits
/// and `-`, and a country-code or common top-level domain. A password may read alike
/// (`meadow.river.lake`), so this only judges values under keys that name no credential.
pub(crate) fn host_name(v: &[u8]) -> bool {
    // With its port, as a client's setting names a server (`memcached.ils.svc:11211`).
    let v = match memchr::memrchr(b':', v) {
        Some(colon)
            if (2..=6).contains(&(v.len() - colon))
                && v[colon + 1..].iter().all(u8::is_ascii_digit) =>
        {
            &v[..colon]
        }
        _ => v,
    };
    let Some(dot) = memchr::memrchr(b'.', v) else {
        return false;
    };
    // Country codes and the generic domains of hosts in configuration, not any word: a
    // passphrase of words joined by dots (`quiet.river.stone.lamp`) is no host.
    const TLDS: &[&[u8]] = &[
        b"com",
        b"net",
        b"org",
        b"io",
        b"dev",
        b"app",
        b"cloud",
        b"ai",
        b"internal",
        // A Kubernetes service's name in its cluster (`redis.cache.svc`).
        b"svc",
        b"local",
        b"lan",
        b"corp",
        b"info",
        b"biz",
        b"tech",
        b"online",
        b"site",
        b"xyz",
        b"edu",
        b"gov",
    ];
    let tld = &v[dot + 1..];
    dot > 0
        && (tld.len() == 2 || TLDS.contains(&tld))
        && tld.iter().all(u8::is_ascii_lowercase)
        && v[..dot].split(|&b| b == b'.').all(|label| {
            !label.is_empty()
                && label
                    .iter()
                    .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Most rows or values one anchor yields: a dump of a million passwords is reported by its
/// first rows; the rest add nothing a reviewer needs to act.
const MAX_VALUES: usize = 1000;
/// How far past its anchor an extractor reads.
const MAX_REACH: usize = 1 << 20;

pub(crate) fn run(kind: Extract, hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    match kind {
        Extract::KubernetesSecret => kubernetes_secret(hay, anchor, out),
        Extract::CsvColumns => csv_columns(hay, anchor, out),
        Extract::MarkdownColumns => markdown_columns(hay, anchor, out),
        Extract::DokuwikiColumns => dokuwiki_columns(hay, anchor, out),
        Extract::MediawikiColumns => mediawiki_columns(hay, anchor, out),
        Extract::AlignedColumns => aligned_columns(hay, anchor, out),
        Extract::HtmlTable => html_table(hay, anchor, out),
        Extract::SqlInsert => sql_insert(hay, anchor, out),
        Extract::JsonUserMap => json_user_map(hay, anchor, out),
    }
}

/// Lines of `hay[range]` as (start, end without `\r\n`).
fn lines(hay: &[u8], range: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = range.start;
    let end = range.end;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let stop = memchr::memchr(b'\n', &hay[at..end]).map_or(end, |p| at + p);
        let line = at..stop;
        at = stop + 1;
        let mut e = line.end;
        if e > line.start && hay[e - 1] == b'\r' {
            e -= 1;
        }
        Some(line.start..e)
    })
}

fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ').count()
}

/// The line holding `at`: its start and its end (the `\n`, or the end of `hay`).
fn line_around(hay: &[u8], at: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &hay[at..]).map_or(hay.len(), |p| at + p);
    (start, end)
}

fn trim(hay: &[u8], mut r: Range<usize>) -> Range<usize> {
    while r.start < r.end && hay[r.start].is_ascii_whitespace() {
        r.start += 1;
    }
    while r.end > r.start && hay[r.end - 1].is_ascii_whitespace() {
        r.end -= 1;
    }
    r
}

/// A YAML scalar on one line: strips quotes, or a trailing ` # comment` of a plain scalar.
/// `None` for block scalars, flow collections, aliases and empty values.
fn yaml_scalar(hay: &[u8], r: Range<usize>) -> Option<Range<usize>> {
    let r = trim(hay, r);
    let v = &hay[r.clone()];
    match *v.first()? {
        q @ (b'"' | b'\'') => {
            let close = memchr::memchr(q, &v[1..])?;
            Some(r.start + 1..r.start + 1 + close)
        }
        b'|' | b'>' | b'[' | b'{' | b'*' | b'&' | b'!' | b'#' => None,
        _ => {
            let end = v
                .windows(2)
                .position(|w| w == b" #" || w == b"\t#")
                .unwrap_or(v.len());
            let r = trim(hay, r.start..r.start + end);
            (!r.is_empty()).then_some(r)
        }
    }
}

/// Whether `v` is a URL with a password in it (`https://deploy:…@nexus.corp/simple`): a
/// credential even under a key that names an address.
pub(crate) fn url_with_userinfo(v: &[u8]) -> bool {
    let Some(scheme_end) = memchr::memmem::find(v, b"://") else {
        return false;
    };
    let rest = &v[scheme_end + 3..];
    let authority = &rest[..rest
        .iter()
        .position(|b| b"/?#".contains(b))
        .unwrap_or(rest.len())];
    match memchr::memrchr(b'@', authority) {
        Some(at) => memchr::memchr(b':', &authority[..at]).is_some_and(|c| c + 1 < at),
        None => false,
    }
}

/// Whether `v` is a URL whose query string holds a key, token, signature or password
/// (`https://ads.example/vast?zone=1&key=e8su…`): a credential under a key that names an
/// address too.
pub(crate) fn url_with_secret_param(v: &[u8]) -> bool {
    const NAMES: &[&[u8]] = &[
        b"key",
        b"apikey",
        b"api_key",
        b"api-key",
        b"token",
        b"access_token",
        b"auth",
        b"auth_token",
        b"secret",
        b"client_secret",
        b"sig",
        b"signature",
        b"password",
        b"pwd",
        b"pass",
    ];
    let Some(q) = memchr::memchr(b'?', v) else {
        return false;
    };
    memchr::memmem::find(&v[..q], b"://").is_some()
        && v[q + 1..].split(|&b| b == b'&').any(|param| {
            let (name, value) = match memchr::memchr(b'=', param) {
                Some(e) => (&param[..e], &param[e + 1..]),
                None => return false,
            };
            value.len() >= 8 && NAMES.iter().any(|n| name.eq_ignore_ascii_case(n))
        })
}

/// Keys of a Kubernetes Secret whose values are not secret: certificates and CA bundles are
/// public, and names, hosts and ports identify rather than authenticate. A connection URL or
/// a private key under any key is still found by its own rule, through the base64 decoder.
fn public_secret_key(key: &[u8]) -> bool {
    let k = key.to_ascii_lowercase();
    // SSH host keys a client trusts (Flux's and Argo CD's `known_hosts`): public.
    if k.ends_with(b"known_hosts") || k.ends_with(b"known-hosts") {
        return true;
    }
    // The public half of a key pair (`LANGFUSE_PUBLIC_KEY`, `JWT_PUBLIC_KEY`) or a key made
    // for browsers (`STRIPE_PUBLISHABLE_KEY`): the word before `key` decides.
    if [
        &b"public_key"[..],
        b"public-key",
        b"publickey",
        b"publishable_key",
        b"publishablekey",
    ]
    .iter()
    .any(|p| k.ends_with(p))
    {
        return true;
    }
    // The last word of the key decides: `SMTP_HOST`, `db-user`, `redis.port`.
    let k = k
        .rsplit(|b| matches!(b, b'_' | b'-' | b'.'))
        .next()
        .filter(|w| !w.is_empty())
        .unwrap_or(&k);
    // `apiAddress`, `smtpHost`, `dbUsername`: the same words at the end of a camelCase key
    // (lowercased above; short words like `id` or `ca` only as whole words).
    const TAILS: &[&[u8]] = &[
        b"username",
        b"user",
        b"login",
        b"email",
        b"hostname",
        b"host",
        b"port",
        b"address",
        b"endpoint",
        b"namespace",
        b"region",
        b"bucket",
        b"database",
        b"dbname",
        b"url",
        b"uri",
        b"domain",
        b"realm",
        b"index",
        b"model",
        b"version",
        b"organization",
        b"cluster",
        b"location",
        b"timezone",
        b"environment",
        b"binddn",
    ];
    TAILS.iter().any(|t| k.len() > t.len() && k.ends_with(t))
        || k.ends_with(b".crt")
        || k.ends_with(b".cert")
        || k.ends_with(b".pub")
        || k.ends_with(b"certificate")
        || k.ends_with(b"_crt")
        || [
            &b"ca"[..],
            b"namespace",
            b"username",
            b"user",
            b"login",
            b"email",
            b"host",
            b"hostname",
            b"port",
            b"database",
            b"dbname",
            b"db",
            b"region",
            b"bucket",
            b"endpoint",
            b"url",
            b"uri",
            b"domain",
            b"realm",
            b"server",
            b"address",
            b"name",
            b"type",
            b"id",
            // A signing key's id (`kid`, `key-id`), named in JWT headers.
            b"kid",
            b"keyid",
            b"crt",
            b"cert",
            b"pub",
            b"project",
            // An LDAP bind DN (`LDAP_BIND_DN`, `bindDn`): the account's name.
            b"dn",
            b"binddn",
            // Settings that ride along in an app's Secret (`PINECONE_INDEX`, `OPENAI_MODEL`,
            // `APP_ENV`): names and modes, not credentials.
            b"index",
            b"model",
            b"version",
            b"org",
            b"organization",
            b"tenant",
            b"topic",
            b"queue",
            b"channel",
            b"cluster",
            b"zone",
            b"location",
            b"path",
            b"dir",
            b"level",
            b"mode",
            b"env",
            b"environment",
            b"timezone",
            b"locale",
            b"language",
            // Feature switches (`FEATURE_FLAGS: eta_v2=true,...`) and schedules
            // (`PUBLISH_CRON: "*/15 * * * *"`), not credentials.
            b"cron",
            b"schedule",
            // A framework's settings module (`DJANGO_SETTINGS_MODULE: app.settings.prod`).
            b"module",
            b"interval",
            b"flags",
            b"flag",
            b"features",
            b"toggles",
        ]
        .contains(&k)
}

fn kubernetes_secret(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    if hay.get(anchor.start) == Some(&b'"') {
        return kubernetes_secret_json(hay, anchor, out);
    }
    // The YAML document around the anchor: from after the previous `---` line to the next.
    let start = {
        let mut s = 0;
        let before = &hay[anchor.start.saturating_sub(MAX_REACH)..anchor.start];
        let base = anchor.start - before.len();
        let mut at = before.len();
        while let Some(p) = memchr::memrchr(b'\n', &before[..at]) {
            if before[p + 1..].starts_with(b"---") {
                s = base + p + 1;
                break;
            }
            at = p;
        }
        if s == 0 {
            s = base;
        }
        s
    };
    let limit = (anchor.end + MAX_REACH).min(hay.len());
    let mut section: Option<(bool, Option<usize>)> = None; // (is data, child indent)
    for line in lines(hay, start..limit) {
        let text = &hay[line.clone()];
        if text.starts_with(b"---") && line.start > anchor.start {
            break;
        }
        if text.iter().all(|b| b.is_ascii_whitespace()) || trim(hay, line.clone()).is_empty() {
            continue;
        }
        let ind = indent(text);
        if hay[line.start + ind] == b'#' {
            continue;
        }
        if ind == 0 {
            section =
                if text.starts_with(b"data:") && trim(hay, line.start + 5..line.end).is_empty() {
                    Some((true, None))
                } else if text.starts_with(b"stringData:")
                    && trim(hay, line.start + 11..line.end).is_empty()
                {
                    Some((false, None))
                } else {
                    None
                };
            continue;
        }
        let Some((is_data, child)) = section.as_mut() else {
            continue;
        };
        let child = *child.get_or_insert(ind);
        if ind != child {
            continue; // a deeper line: a block scalar's body
        }
        let Some(colon) = memchr::memchr(b':', text) else {
            continue;
        };
        let mut key = trim(hay, line.start + ind..line.start + colon);
        if key.len() >= 2 && matches!(hay[key.start], b'"' | b'\'') {
            key = key.start + 1..key.end - 1;
        }
        let Some(value) = yaml_scalar(hay, line.start + colon + 1..line.end) else {
            continue;
        };
        if key.is_empty() || value.is_empty() {
            continue;
        }
        let claim_only = public_secret_key(&hay[key.clone()]);
        let url = &hay[value.clone()];
        if claim_only && !*is_data && (url_with_userinfo(url) || url_with_secret_param(url)) {
            continue; // `DATABASE_URL: postgres://app:…@db`: the URL rules read it
        }
        out.push(Extracted {
            key,
            value,
            base64: *is_data,
            needs_entropy: false,
            doubled: None,
            claim_only,
            user_key: false,
        });
        if out.len() >= MAX_VALUES {
            return;
        }
    }
}

/// Whether a key mentions a credential anywhere (`node.session.auth.password_in`,
/// `apiPassword`, `DB_PASS`, `signing-key`, `DB_PW`, `creds`): looser than
/// [`credential_column`], for deciding whether a short value counts. The looser words (`pw`,
/// `cred`, `auth`) do not count in a key that names a user (`auth.username_in`).
pub(crate) fn names_credential(key: &[u8]) -> bool {
    if credential_column(key).is_some() {
        return true;
    }
    let k = key.to_ascii_lowercase();
    let has = |w: &[u8]| memchr::memmem::find(&k, w).is_some();
    [&b"pass"[..], b"pwd", b"secret", b"token", b"key"]
        .iter()
        .any(|w| has(w))
        || [&b"pw"[..], b"cred", b"auth"].iter().any(|w| has(w))
            && ![&b"user"[..], b"login", b"name"].iter().any(|w| has(w))
}

/// The JSON form (`kubectl get secret -o json`, a manifest written as JSON, an item of a
/// `List`): the object holding the anchor's `"kind": "Secret"` member, and the string members
/// of its `data` (base64) and `stringData` objects.
fn kubernetes_secret_json(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let start = anchor.start.saturating_sub(MAX_REACH);
    let limit = (anchor.end + MAX_REACH).min(hay.len());
    let Some(object) = enclosing_object(hay, anchor.start, start) else {
        return;
    };
    json_members(hay, object, limit, &mut |key, value| {
        let is_data = match &hay[key] {
            b"data" => true,
            b"stringData" => false,
            _ => return,
        };
        if hay.get(value.start) != Some(&b'{') {
            return;
        }
        json_members(hay, value.start, limit, &mut |key, value| {
            if out.len() >= MAX_VALUES || hay.get(value.start) != Some(&b'"') {
                return;
            }
            let inner = value.start + 1..value.end - 1;
            if key.is_empty() || inner.is_empty() {
                return;
            }
            let claim_only = public_secret_key(&hay[key.clone()]);
            let url = &hay[inner.clone()];
            if claim_only && !is_data && (url_with_userinfo(url) || url_with_secret_param(url)) {
                return; // the URL rules read it
            }
            out.push(Extracted {
                key,
                value: inner,
                base64: is_data,
                needs_entropy: false,
                doubled: None,
                claim_only,
                user_key: false,
            });
        });
    });
}

/// [`Extract::JsonUserMap`]: the string members of the object whose `{` ends the anchor (or
/// follows it after white space), each a user and its password.
fn json_user_map(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let limit = (anchor.end + MAX_REACH).min(hay.len());
    let open = match anchor.end.checked_sub(1).map(|i| hay[i]) {
        Some(b'{') => anchor.end - 1,
        _ => skip_ws(hay, anchor.end, limit),
    };
    if hay.get(open) != Some(&b'{') {
        return;
    }
    json_members(hay, open, limit, &mut |key, value| {
        if out.len() >= MAX_VALUES || key.is_empty() || hay.get(value.start) != Some(&b'"') {
            return;
        }
        let inner = value.start + 1..value.end - 1;
        if inner.is_empty() {
            return;
        }
        out.push(Extracted {
            key,
            value: inner,
            base64: false,
            needs_entropy: false,
            doubled: None,
            claim_only: false,
            user_key: true,
        });
    });
}

/// The `{` of the innermost JSON object holding position `at` (outside any string), found by
/// walking back to it (not past `floor`): strings are skipped by their quotes, a quote after
/// an odd run of backslashes being escaped. Work in proportion to the object's size before
/// `at`, so a `List` of many Secrets is read once, not once per Secret from far back.
fn enclosing_object(hay: &[u8], at: usize, floor: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = at;
    while i > floor {
        i -= 1;
        match hay[i] {
            b'"' => {
                let backslashes = hay[floor..i]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                if backslashes % 2 == 0 {
                    in_string = !in_string;
                }
            }
            _ if in_string => {}
            b'}' | b']' => depth += 1,
            b @ (b'{' | b'[') => {
                if depth == 0 {
                    return (b == b'{').then_some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

fn skip_ws(hay: &[u8], mut i: usize, limit: usize) -> usize {
    while i < limit && hay[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The JSON string starting at `hay[i] == b'"'`: its contents and the index after it.
fn json_string(hay: &[u8], i: usize, limit: usize) -> Option<(Range<usize>, usize)> {
    let mut j = i + 1;
    while j < limit {
        match hay[j] {
            b'\\' => j += 2,
            b'"' => return Some((i + 1..j, j + 1)),
            b'\n' => return None,
            _ => j += 1,
        }
    }
    None
}

/// The end of the JSON value at `i` (any kind; nesting counted without recursion).
fn skip_value(hay: &[u8], i: usize, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < limit {
        match hay[j] {
            b'"' => {
                j = json_string(hay, j, limit)?.1;
                if depth == 0 {
                    return Some(j);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(j); // the end of a scalar before its container closes
                }
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            b',' if depth == 0 => return Some(j),
            _ => {}
        }
        j += 1;
    }
    (depth == 0).then_some(limit)
}

/// Calls `f(key, value)` for each member of the object at `hay[open] == b'{'` (value ranges
/// include a string's quotes). Stops at the first thing that is not JSON.
fn json_members(
    hay: &[u8],
    open: usize,
    limit: usize,
    f: &mut dyn FnMut(Range<usize>, Range<usize>),
) {
    let mut i = open + 1;
    loop {
        i = skip_ws(hay, i, limit);
        if i >= limit || hay[i] != b'"' {
            return;
        }
        let Some((key, next)) = json_string(hay, i, limit) else {
            return;
        };
        i = skip_ws(hay, next, limit);
        if i >= limit || hay[i] != b':' {
            return;
        }
        let v = skip_ws(hay, i + 1, limit);
        let Some(end) = skip_value(hay, v, limit) else {
            return;
        };
        f(key, v..end);
        i = skip_ws(hay, end, limit);
        if i >= limit || hay[i] != b',' {
            return;
        }
        i += 1;
    }
}

/// What a column or key name says of its values: `None` when it names no credential,
/// `Some(false)` for a password (any value counts), `Some(true)` for a key or token (the value
/// must look random: a `token` column may hold words).
pub(crate) fn credential_column(name: &[u8]) -> Option<bool> {
    // The word for password in the legacy encodings of Japanese, Korean and Chinese files
    // (Shift_JIS and EUC-JP パスワード, CP949 비밀번호, GBK 密码, Big5 密碼): spreadsheets saved
    // as CSV on Windows keep them. Compared as bytes: some of theirs are ASCII letters.
    const LEGACY: &[&[u8]] = &[
        b"\x83p\x83X\x83\x8f\x81[\x83h",
        b"\xa5\xd1\xa5\xb9\xa5\xef\xa1\xbc\xa5\xc9",
        b"\xba\xf1\xb9\xd0\xb9\xf8\xc8\xa3",
        b"\xc3\xdc\xc2\xeb",
        b"\xb1K\xbdX",
    ];
    let bare = name.trim_ascii();
    let bare = bare
        .strip_prefix(b"\"")
        .and_then(|b| b.strip_suffix(b"\""))
        .unwrap_or(bare);
    if LEGACY.contains(&bare) {
        return Some(false);
    }
    let n: Vec<u8> = name
        .iter()
        .filter(|b| !matches!(b, b'"' | b'\'' | b'`' | b'[' | b']'))
        .map(|b| match b.to_ascii_lowercase() {
            b'-' | b' ' | b'.' => b'_',
            b => b,
        })
        .collect();
    let n = n.as_slice();
    // Hashes and salts of passwords are reported as passwords: crackable offline.
    const PASSWORD: &[&[u8]] = &[
        b"password",
        b"passwd",
        b"pwd",
        b"pass",
        b"passphrase",
        b"user_password",
        b"db_password",
        b"password_hash",
        b"encrypted_password",
        b"hashed_password",
        b"crypted_password",
        b"login_password",
    ];
    const KEYLIKE: &[&[u8]] = &[
        b"secret",
        b"client_secret",
        b"secret_key",
        b"api_key",
        b"apikey",
        b"api_secret",
        b"api_token",
        b"access_key",
        b"access_token",
        b"auth_token",
        b"refresh_token",
        b"private_key",
        b"secret_access_key",
        b"token",
        b"bearer_token",
        b"app_secret",
        b"consumer_secret",
        b"credential",
        b"credentials",
        // Azure IoT Hub / DPS device exports: each device's symmetric key (`primary_key`
        // only in a table of devices: see `credential_columns`).
        b"symmetric_key",
        b"primary_symmetric_key",
        b"device_key",
        // SIM card batch files (the `.out` file a SIM vendor returns): each card's
        // authentication key and operator variant, which clone the card.
        b"ki",
        b"opc",
    ];
    // The word for password in other languages (a header written for its readers).
    const LOCALIZED: &[&str] = &[
        "passwort",
        "kennwort",
        "mot_de_passe",
        "contraseña",
        "contrasena",
        "senha",
        "wachtwoord",
        "lösenord",
        "passord",
        "adgangskode",
        "salasana",
        "hasło",
        "haslo",
        "heslo",
        "jelszó",
        "şifre",
        "sifre",
        "пароль",
        "κωδικός",
        "密码",
        "密碼",
        "パスワード",
        "비밀번호",
        "mật_khẩu",
        "kata_sandi",
        "nenosiri",
        "كلمة_المرور",
        "كلمة_السر",
        "পাসওয়ার্ড",
        "cyfrinair",
    ];
    // The word for key or token (`Schlüssel`, `Clé API`): values that look random count.
    const LOCALIZED_KEYS: &[&str] = &[
        "schlüssel",
        "api_schlüssel",
        "zugangsschlüssel",
        "clé",
        "clé_api",
        "clave",
        "clave_api",
        "chave",
        "chave_api",
        "chave_de_api",
        "chiave",
        "chiave_api",
        "sleutel",
        "api_sleutel",
        "klucz",
        "klucz_api",
        "nyckel",
        "api_nyckel",
        "jeton",
        "токен",
        "ключ",
        "密钥",
        "令牌",
        "トークン",
        "토큰",
    ];
    // Lower-cased once (Unicode: `Senha`, `Schlüssel`); a header cell is not a hot path.
    let lower = std::str::from_utf8(n).ok().map(str::to_lowercase);
    let localized = |words: &[&str]| lower.as_deref().is_some_and(|s| words.contains(&s));
    // German compounds (`Startpasswort`, `Initialkennwort`, `WLAN-Passwort`) and a few English
    // ones (`initial_password`, `temp_password`): the account's password all the same.
    let compound = lower.as_deref().is_some_and(|s| {
        let s = s.trim_matches('_');
        ["passwort", "kennwort"].iter().any(|w| {
            s.strip_suffix(w)
                .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_alphabetic() || c == '_'))
        }) || [
            "initial",
            "start",
            "temp",
            "temporary",
            "default",
            "wifi",
            "wlan",
            "admin",
            "root",
            "local_admin",
            "local",
            "bios",
            "device",
            "service",
            "svc",
        ]
        .iter()
        .any(|p| {
            s.strip_prefix(p)
                .map(|r| r.trim_start_matches('_'))
                .is_some_and(|r| r == "password" || r == "pw" || r == "pwd")
        })
            // What the password is for, run together with it (`folderPassword` of a copier's
            // address book, `smtpPassword`), not a flag or an action about one.
            || s.strip_suffix("password").is_some_and(|p| {
                let p = p.trim_end_matches('_');
                (2..=16).contains(&p.len())
                    && p.chars().all(|c| c.is_ascii_lowercase())
                    && ![
                        "has", "needs", "need", "reset", "forgot", "forget", "show", "hide",
                        "require", "required", "requires", "change", "must", "use", "uses",
                        "expire", "expired", "expires", "set", "no", "is", "with", "without",
                        "masked", "hidden", "confirm", "verify", "validate", "check", "save",
                        "remember", "store", "stored",
                    ]
                    .contains(&p)
            })
            // The word in another language with what kind of password it is
            // (`mot_de_passe_provisoire`, `contraseña_temporal`, `senha_inicial`), not a
            // hash of one or a rule about one.
            || LOCALIZED.iter().any(|w| {
                s.strip_prefix(w)
                    .and_then(|r| r.strip_prefix('_'))
                    .is_some_and(|r| {
                        (2..=16).contains(&r.chars().count())
                            && r.chars().all(char::is_alphabetic)
                            && ![
                                "hash", "hashe", "hashed", "chiffre", "chiffré", "crypte",
                                "crypté", "oublie", "oublié", "expire", "expiré", "expiration",
                                "date", "longueur", "politique", "indice", "hint", "length",
                                "policy", "reset", "cifrada", "cifrado", "criptografada",
                            ]
                            .contains(&r)
                    })
            })
            // A Wi-Fi or VPN pre-shared key (`wifi_psk`, `wpa2_psk`): the network's password.
            || matches!(s, "psk" | "pre_shared_key" | "preshared_key")
            || s.strip_suffix("psk").is_some_and(|p| {
                ["wifi", "wlan", "wpa", "wpa2", "wpa3", "ipsec", "vpn"]
                    .contains(&p.trim_end_matches(['_', '-']))
            })
    });
    // SNMP community strings (`community`, `snmp_ro`, `snmp_v2_rw`).
    let community = lower.as_deref().is_some_and(|s| {
        matches!(
            s,
            "community" | "community_string" | "snmp_community" | "ro_community" | "rw_community"
        ) || s.strip_prefix("snmp").is_some_and(|r| {
            let r = r.trim_start_matches(|c: char| c == '_' || c == 'v' || c.is_ascii_digit());
            let r = r.trim_start_matches(['c', '_']);
            r == "ro" || r == "rw"
        })
    });
    if PASSWORD.contains(&n) || localized(LOCALIZED) || compound {
        Some(false)
    } else if community || KEYLIKE.contains(&n) || localized(LOCALIZED_KEYS) {
        Some(true)
    } else {
        None
    }
}

/// What a table header written for people says of its column: [`credential_column`] for a
/// name, or a phrase with a password word in it (`Password / token`, `Initial password`,
/// `Admin-Passwort`) or ending in a key or token word after a qualifier (`API key`, `Access
/// token`). Phrases about passwords rather than holding one (`Password last changed`,
/// `Password policy`, `Has password`) name no credential.
pub(crate) fn header_column(name: &[u8]) -> Option<bool> {
    if let Some(kind) = credential_column(name) {
        return Some(kind);
    }
    let lower = String::from_utf8_lossy(name).to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 2 || words.len() > 5 {
        return None;
    }
    const ABOUT: &[&str] = &[
        "policy",
        "policies",
        "expires",
        "expiry",
        "expiration",
        "changed",
        "change",
        "reset",
        "last",
        "length",
        "age",
        "hint",
        "rotation",
        "rotated",
        "required",
        "manager",
        "strength",
        "set",
        "updated",
        "date",
        "status",
        "type",
        "location",
        "stored",
        "has",
        "is",
        "needs",
        "enabled",
        "min",
        "max",
        "count",
        "attempts",
        "failed",
        "score",
        "where",
        "how",
        "file",
        "path",
        "name",
        "id",
        "url",
        "vault",
        "ref",
        "reference",
        "format",
        "scope",
        "scopes",
        "fail",
        "number",
    ];
    if words.iter().any(|w| ABOUT.contains(w)) {
        return None;
    }
    // A password word in a phrase; not `pass` (`Pass rate`, `First pass yield`).
    if words
        .iter()
        .any(|w| *w != "pass" && *w != "parola" && credential_column(w.as_bytes()) == Some(false))
    {
        return Some(false);
    }
    // `Key / Secret`, `Secret / Token`, `API key / token`: nothing but words for a secret.
    const SECRET_WORDS: &[&str] = &["key", "secret", "token", "api", "access", "value"];
    if words.iter().all(|w| SECRET_WORDS.contains(w))
        && words.iter().any(|w| matches!(*w, "secret" | "token"))
    {
        return Some(true);
    }
    const QUALIFIER: &[&str] = &[
        "api", "access", "secret", "auth", "bearer", "private", "client", "app", "service",
        "personal", "deploy", "bot", "webhook", "signing", "master", "admin", "root", "shared",
    ];
    match words.as_slice() {
        [.., q, last] if QUALIFIER.contains(q) && matches!(*last, "key" | "token" | "secret") => {
            Some(true)
        }
        _ => None,
    }
}

/// The CSV record that starts with `line`: the line itself, or up to the line that closes a
/// quoted cell left open at its end (RFC 4180: a quoted cell may hold newlines, as LastPass and
/// Bitwarden exports' notes do), at most [`MAX_RECORD_LINES`] lines and not past `limit`. A
/// quote inside an unquoted cell (`24"`, `Pa"ss`) opens nothing.
fn quoted_record(hay: &[u8], line: Range<usize>, sep: u8, limit: usize) -> Range<usize> {
    if !open_quote_at_end(&hay[line.clone()], sep) {
        return line;
    }
    let Some(mut newline) = memchr::memchr(b'\n', &hay[line.end..limit]).map(|p| line.end + p)
    else {
        return line;
    };
    for _ in 0..MAX_RECORD_LINES {
        let next_end =
            memchr::memchr(b'\n', &hay[newline + 1..limit]).map_or(limit, |p| newline + 1 + p);
        // An odd number of quotes on a line inside the cell closes it (`""` is a quote).
        if memchr::memchr_iter(b'"', &hay[newline + 1..next_end]).count() % 2 == 1 {
            let mut end = next_end;
            if end > newline + 1 && hay[end - 1] == b'\r' {
                end -= 1;
            }
            return line.start..end;
        }
        if next_end >= limit {
            break;
        }
        newline = next_end;
    }
    line
}

/// Whether a CSV line ends inside a quoted cell: a cell that starts with `"` and is not
/// closed (`""` is a quote inside it).
fn open_quote_at_end(text: &[u8], sep: u8) -> bool {
    let mut in_quotes = false;
    let mut cell_start = true;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if in_quotes {
            if b == b'"' {
                if text.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if b == sep {
            cell_start = true;
            i += 1;
            continue;
        } else if b == b'"' && cell_start {
            in_quotes = true;
        }
        cell_start = false;
        i += 1;
    }
    in_quotes
}

/// Lines a quoted CSV cell may span ([`quoted_record`]).
const MAX_RECORD_LINES: usize = 50;

/// Splits one CSV record (a quoted cell may hold newlines: see [`quoted_record`]) into cell
/// ranges without their quotes.
fn csv_cells(hay: &[u8], line: Range<usize>, sep: u8, cells: &mut Vec<Range<usize>>) {
    cells.clear();
    let mut at = line.start;
    loop {
        if at < line.end && hay[at] == b'"' {
            // A quoted cell: up to the closing quote not followed by another.
            let mut i = at + 1;
            while i < line.end {
                if hay[i] == b'"' {
                    if i + 1 < line.end && hay[i + 1] == b'"' {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            cells.push(at + 1..i.min(line.end));
            at = memchr::memchr(sep, &hay[i.min(line.end)..line.end])
                .map_or(line.end + 1, |p| i + p + 1);
        } else {
            let end = memchr::memchr(sep, &hay[at..line.end]).map_or(line.end, |p| at + p);
            let cell = trim(hay, at..end);
            // Ricoh's address-book export wraps every cell in brackets (`[svc-scan]`).
            let inner = cell.start + 1..cell.end.saturating_sub(1);
            let bracketed = cell.len() >= 2
                && hay[cell.start] == b'['
                && hay[cell.end - 1] == b']'
                && !hay[inner.clone()].iter().any(|&b| b == b'[' || b == b']');
            cells.push(if bracketed { inner } else { cell });
            at = end + 1;
        }
        if at > line.end {
            break;
        }
    }
}

/// A note in a credential column rather than a credential: parenthesised (`(SSO managed)`)
/// or words separated by spaces (`in vault`, `ask IT`).
fn is_note(v: &[u8]) -> bool {
    // Words separated by spaces (`ask @alice`, `In Vault: secret/ops/web`, `same as above
    // (rotated 2024)`): a table's passwords do not hold spaces.
    if v.trim_ascii().iter().any(u8::is_ascii_whitespace) {
        return true;
    }
    // Text in another script, in whatever encoding (`（別途管理）` in Shift_JIS, whose second
    // bytes may be ASCII letters): a remark when at least half its bytes are not ASCII.
    // Passwords are mostly ASCII (`Contraseña2024!` has 2 such bytes in 16).
    let other = v.iter().filter(|b| !b.is_ascii()).count();
    if other > 0 && other * 2 >= v.len() {
        return true;
    }
    // Parenthesised, or in wiki italics (`''deaktiviert''`): a remark.
    let parenthesised = v.first() == Some(&b'(') && v.last() == Some(&b')')
        || v.len() > 4 && v.starts_with(b"''") && v.ends_with(b"''");
    let words = v
        .windows(2)
        .any(|w| w[0].is_ascii_alphabetic() && w[1] == b' ')
        && v.iter()
            .all(|b| b.is_ascii_alphabetic() || b" -'.".contains(b));
    parenthesised || words
}

/// `#` lines before a CSV file's header that are skipped (the rule's pattern allows as many).
const MAX_CSV_COMMENT_LINES: usize = 5;

fn csv_columns(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    // The header is the first line of the file, or of a section of it after an empty line
    // (or one of separators alone, as spreadsheets export an empty row), after the `#`
    // comment lines an export may start with (`# OPC UA users, imported ...`); or the line
    // after that one, when it is a title row (`Job,2024-031,Site,...` above its table).
    let (mut line_start, mut line_end) = line_around(hay, anchor.start);
    while line_end < hay.len() && is_empty_row(&hay[line_start..line_end]) {
        (line_start, line_end) = line_around(hay, line_end + 1);
    }
    let mut commented = false;
    for _ in 0..MAX_CSV_COMMENT_LINES {
        // `#,Host,User,Password`: a header whose first column is `#`, not a comment.
        let header_hash = hay
            .get(line_start + 1)
            .is_some_and(|b| matches!(b, b',' | b';' | b'\t' | b'|'));
        if hay.get(line_start) != Some(&b'#') || header_hash || line_end >= hay.len() {
            break;
        }
        (line_start, line_end) = line_around(hay, line_end + 1);
        commented = true;
    }
    let header_line = trim(hay, line_start..line_end);
    let header = &hay[header_line.clone()];
    let rows = (line_end + 1).min(hay.len());
    if let Some(sep) = csv_separator(header) {
        // After comments the first line may be data already (a file whose columns the
        // comment names): a header names its columns, with no number and no path among them.
        if commented && !names_columns(header, sep) {
            return;
        }
        if table_columns(hay, header_line, sep, rows, sep, false, out) || commented {
            return;
        }
    }
    if rows >= hay.len() {
        return;
    }
    // A title row (one cell, or fewer than the table below it once the empty cells a
    // spreadsheet pads rows with are left out) above a header that names its columns; the
    // first row of data under a header has as many cells as the header.
    let (next_start, next_end) = line_around(hay, rows);
    let next_line = trim(hay, next_start..next_end);
    let next = &hay[next_line.clone()];
    let Some(sep) = csv_separator(next) else {
        return;
    };
    let cells = |line: &[u8]| {
        let mut n = line.split(|&b| b == sep).count();
        n -= line
            .split(|&b| b == sep)
            .rev()
            .take_while(|cell| cell.trim_ascii().is_empty())
            .count();
        n
    };
    if cells(header) < cells(next) && names_columns(next, sep) {
        let rows = (next_end + 1).min(hay.len());
        table_columns(hay, next_line, sep, rows, sep, false, out);
    }
}

/// Whether a CSV line is an empty row: blanks and separators alone, as spreadsheets export a
/// row with nothing in it.
fn is_empty_row(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b',' | b';' | b'|' | b'\r'))
}

/// Whether a CSV line reads as a header: no cell of it is a number or a path.
fn names_columns(line: &[u8], sep: u8) -> bool {
    !line.split(|&b| b == sep).any(|cell| {
        let cell = cell.trim_ascii();
        cell.contains(&b'/') || !cell.is_empty() && cell.iter().all(u8::is_ascii_digit)
    })
}

/// The separator of a CSV header line: the most frequent of `,`, tab, `;` and `|`, if it
/// holds any.
fn csv_separator(header: &[u8]) -> Option<u8> {
    [b',', b'\t', b';', b'|']
        .into_iter()
        .max_by_key(|&s| memchr::memchr_iter(s, header).count())
        .filter(|&s| memchr::memchr(s, header).is_some())
}

/// The cells of a table's credential columns, row by row from `rows` until a line that is not
/// a row of the table (another number of cells). The header's cells are parted by
/// `header_sep`, the rows' by `sep` (they differ in DokuWiki tables). `markdown`: cells may be
/// wrapped in backticks, which are not part of the value. Whether the header names a credential
/// column (or is a table of names and values).
fn table_columns(
    hay: &[u8],
    header_line: Range<usize>,
    header_sep: u8,
    rows: usize,
    sep: u8,
    markdown: bool,
    out: &mut Vec<Extracted>,
) -> bool {
    let mut cells = Vec::new();
    csv_cells(hay, header_line, header_sep, &mut cells);
    let names: Vec<Range<usize>> = cells.iter().map(|c| strip_markup(hay, c.clone())).collect();
    let columns = credential_columns(hay, &names, markdown);
    // A table of names and values (`| Variable | Value |`): the value of each row whose name
    // names a credential.
    let value_column = names.iter().position(|n| is_value_header(&hay[n.clone()]));
    let name_column =
        value_column.and_then(|v| names.iter().position(|n| !n.is_empty()).filter(|&n| n < v));
    if columns.is_empty() && name_column.is_none() {
        return false;
    }
    let width = cells.len();
    let limit = (rows + MAX_REACH).min(hay.len());
    let mut row = Vec::new();
    // The end of a record whose quoted cell ran over several lines (a password manager's
    // note): the lines up to it are that record's, not rows of their own.
    let mut record_end = 0;
    // After an empty row (or one of separators alone): the next row may be the header of
    // another section, which names some of the same columns in the same places
    // (`Device,Model,IP,...` then `Intruder,Model,IP,...`); the table ends there.
    let mut after_empty = false;
    for line in lines(hay, rows..limit) {
        if line.start < record_end {
            continue;
        }
        let text = &hay[trim(hay, line.clone())];
        if text.is_empty() || !markdown && is_empty_row(text) {
            if markdown && text.is_empty() {
                break;
            }
            after_empty = true;
            continue;
        }
        // MediaWiki's `|-` between rows; no row of the other tables is one.
        if is_mediawiki_row_break(text) {
            continue;
        }
        let line = if markdown {
            line
        } else {
            quoted_record(hay, line, sep, limit)
        };
        record_end = line.end;
        csv_cells(hay, line, sep, &mut row);
        // A free-text last column with an unquoted comma in it (`deployers, antennas`): the
        // row is longer than the header, a cell after the last column's start begins with a
        // space as prose does, and none before it does; the cells before the last column are
        // still the table's (a comma in an earlier cell, `Acme, Inc`, would shift them).
        let spaced = |c: &Range<usize>| c.start > 0 && hay[c.start - 1] == b' ';
        let prose_tail = !markdown
            && width > 1
            && row.len() > width
            && row.len() <= width + 8
            && row[width..].iter().any(spaced)
            && !row[..width].iter().any(spaced);
        if row.len() != width && !prose_tail {
            // Not a row of this table (another section): stop trusting it.
            break;
        }
        if std::mem::take(&mut after_empty)
            && row
                .iter()
                .zip(&names)
                .filter(|(cell, name)| {
                    let cell = hay[(*cell).clone()].trim_ascii();
                    !cell.is_empty() && hay[(*name).clone()].trim_ascii().eq_ignore_ascii_case(cell)
                })
                .count()
                >= 2
        {
            break;
        }
        for (i, key, needs_entropy) in &columns {
            if prose_tail && *i >= width - 1 {
                continue;
            }
            let value = if markdown {
                strip_markup(hay, row[*i].clone())
            } else {
                row[*i].clone()
            };
            let v = &hay[value.clone()];
            if is_device_key_column(&hay[key.clone()]) && !is_symmetric_key(v) {
                continue;
            }
            if table_value(v, *needs_entropy) {
                out.push(Extracted::cell(
                    key.clone(),
                    value,
                    *needs_entropy,
                    (!markdown).then_some(b'"'),
                ));
            }
        }
        let name_value_columns = match (name_column, value_column) {
            (Some(n), Some(v)) if !prose_tail || n < width - 1 && v < width - 1 => Some((n, v)),
            _ => None,
        };
        if let Some((n, v)) = name_value_columns {
            let key = strip_markup(hay, row[n].clone());
            let value = if markdown {
                strip_markup(hay, row[v].clone())
            } else {
                row[v].clone()
            };
            out.extend(name_value(hay, key, value, (!markdown).then_some(b'"')));
        }
        if out.len() >= MAX_VALUES {
            return true;
        }
    }
    true
}

/// The value of a row of a table of names and values whose name names a credential
/// (`| DB password | Xk2#9vLm |`): not a public key's, a note or a reference.
fn name_value(
    hay: &[u8],
    key: Range<usize>,
    value: Range<usize>,
    doubled: Option<u8>,
) -> Option<Extracted> {
    let name = &hay[key.clone()];
    let cell = &hay[value.clone()];
    let needs_entropy = credential_column(name) != Some(false) && !is_password_name(name);
    (names_credential(name)
        && !names_public_key(name)
        && table_value(cell, needs_entropy)
        && !cell.iter().any(|b| b"{}<>".contains(b)))
    .then(|| Extracted::cell(key, value, needs_entropy, doubled))
}

/// Whether a header cell heads the value column of a table of names and values (`Value`,
/// `Wert`, `Valor`, ...: [`VALUE_WORDS`]).
fn is_value_header(name: &[u8]) -> bool {
    VALUE_WORDS.contains(&String::from_utf8_lossy(name).to_lowercase().as_str())
}

/// Headers of the value column of a table of names and values.
const VALUE_WORDS: &[&str] = &[
    "value",
    "values",
    "wert",
    "valeur",
    "valor",
    "valore",
    "waarde",
    "wartość",
    "hodnota",
    "değer",
    "значение",
    "值",
    "値",
    "값",
];

/// A name that says its value is a password (any value counts), not a key or token (the value
/// must look random): `DB_PASSWORD`, `smtp_pass`, `ADMIN_PWD`, `Passwort`.
fn is_password_name(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    [&b"pass"[..], b"pwd"]
        .iter()
        .any(|w| memchr::memmem::find(&n, w).is_some())
        || header_column(name) == Some(false)
}

/// Whether a table cell under a credential column is worth reporting: not blank, a note, a
/// variable name or a reference; under a key or token column (`needs_entropy`), letters with
/// digits or in both cases (`responsibilities` under `token` is a word).
fn table_value(v: &[u8], needs_entropy: bool) -> bool {
    if is_blank_cell(v) || is_note(v) || is_env_name(v) || is_reference_cell(v) {
        return false;
    }
    !needs_entropy
        || v.iter().any(u8::is_ascii_digit)
        || v.iter().any(u8::is_ascii_uppercase) && v.iter().any(u8::is_ascii_lowercase)
}

/// A cell that points at a secret rather than holding it: `secrets.NPM_TOKEN`, `env.X`, a
/// Markdown link, a path, an HTML-escaped `&lt;placeholder&gt;`, a column type
/// (`varchar(255)`).
fn is_reference_cell(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    let starts = |p: &[u8]| lower.starts_with(p);
    starts(b"secrets.")
        || starts(b"env.")
        || starts(b"vars.")
        || starts(b"&lt;")
        || starts(b"~/")
        || starts(b"./")
        || starts(b"/")
        || starts(b"[")
        || memchr::memmem::find(v, b"](").is_some()
        || v.ends_with(b")")
            && memchr::memchr(b'(', v).is_some_and(|p| {
                p > 0
                    && v[..p]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            })
}

/// A cell that says there is no value: empty, a dash, `n/a`, `none`, `null`, `tbd`, `?`, or
/// too short to be a password (`yes`, a check mark).
fn is_blank_cell(v: &[u8]) -> bool {
    let v = v.trim_ascii();
    let shortcode = v.len() > 2
        && v.starts_with(b":")
        && v.ends_with(b":")
        && v[1..v.len() - 1]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b"_+-".contains(b));
    v.len() < 4
        // Symbols, check marks, emoji, masked dots: no letter or digit at all.
        || !v.iter().any(u8::is_ascii_alphanumeric)
        || shortcode
        || v.iter().all(|b| b"-_?.*/".contains(b))
        || v == "\u{2014}".as_bytes()
        || [
            &b"n/a"[..],
            b"na",
            b"none",
            b"null",
            b"nil",
            b"tbd",
            b"empty",
            b"unknown",
            b"supported",
            b"unsupported",
            b"required",
            b"optional",
            b"enabled",
            b"disabled",
            b"hidden",
            b"masked",
            b"redacted",
            b"passed",
            b"failed",
        ]
        .iter()
        .any(|w| v.eq_ignore_ascii_case(w))
}

/// The name of a variable or secret, not its value (`DOCKERHUB_TOKEN`, `DB_PASSWORD`): a
/// table of the secrets a pipeline needs.
fn is_env_name(v: &[u8]) -> bool {
    v.first().is_some_and(u8::is_ascii_uppercase)
        && v.contains(&b'_')
        && v.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// A name that says its key is public by design, made to ship in browser or app code
/// (`Algolia search-only key`, `reCAPTCHA site key`, `Stripe publishable key`, `Paddle client
/// token`, `Sentry DSN`): a table of the keys a front end may embed.
fn names_public_key(name: &[u8]) -> bool {
    let n: Vec<u8> = name
        .iter()
        .map(|b| match b.to_ascii_lowercase() {
            b'-' | b'_' | b'.' => b' ',
            b => b,
        })
        .collect();
    [
        &b"public"[..],
        b"publishable",
        b"site key",
        b"sitekey",
        b"search only",
        b"searchonly",
        b"client token",
        b"client side",
        b"sentry dsn",
    ]
    .iter()
    .any(|w| memchr::memmem::find(&n, w).is_some())
        && memchr::memmem::find(&n, b"non public").is_none()
        && memchr::memmem::find(&n, b"nonpublic").is_none()
}

/// A header naming the account a row is for (`User`, `Username`, `User / var`, `Login`,
/// `Account`).
fn is_account_header(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    let mut words = n
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let first = words.next();
    first.is_some_and(|w| {
        [&b"user"[..], b"username", b"login", b"account", b"benutzer"].contains(&w)
    }) && !words.any(|w| [&b"agent"[..], b"url", b"uri", b"id", b"type", b"count"].contains(&w))
}

/// The label of a header cell without the type annotations some exports add after colons:
/// Cisco ISE's `Authentication Settings:RADIUS Shared Secret:String(128)` is labelled
/// `RADIUS Shared Secret` (the last part that is no `Type(...)`, `Required` or `Optional`).
fn column_label(name: &[u8]) -> &[u8] {
    if memchr::memchr(b':', name).is_none() {
        return name;
    }
    let annotation = |p: &[u8]| {
        let p = p.trim_ascii();
        p.eq_ignore_ascii_case(b"required")
            || p.eq_ignore_ascii_case(b"optional")
            || (p.ends_with(b")")
                && p.iter()
                    .position(|&b| b == b'(')
                    .is_some_and(|o| o > 0 && p[..o].iter().all(u8::is_ascii_alphabetic)))
    };
    if !name.split(|&b| b == b':').skip(1).any(annotation) {
        return name;
    }
    name.rsplit(|&b| b == b':')
        .find(|p| !annotation(p) && !p.trim_ascii().is_empty())
        .map_or(name, <[u8]>::trim_ascii)
}

/// [`header_column`] for a column of a table, which `accounts` says has an account column
/// ([`is_account_header`]): a header that says only "secret" (`Secret`, `Credentials`) beside
/// one holds the accounts' passwords, which count whatever they look like, as under a
/// `Password` header. Beside an SSID column (`ssids`) a `Key` column is the Wi-Fi passphrase
/// ([`wifi_key_column`]).
fn table_column(name: &[u8], accounts: bool, ssids: bool) -> Option<bool> {
    if let Some(wifi) = wifi_key_column(name, ssids) {
        return Some(wifi);
    }
    let needs_entropy = header_column(name)?;
    let bare_secret = || {
        let n = name.trim_ascii().to_ascii_lowercase();
        matches!(
            n.as_slice(),
            b"secret" | b"secrets" | b"credential" | b"credentials"
        )
    };
    Some(needs_entropy && !(accounts && bare_secret()))
}

/// The credential columns among a table's header cells `names` (their text without markup):
/// each one's index, name and whether its values must look random. A column counts by its own
/// name and by the others': beside an account column a bare `Secret` holds passwords, beside
/// an SSID column `Key` holds the Wi-Fi passphrase. `skip_pass`: a bare `Pass` column (in a
/// document, a test result more often than a password) is not one.
fn credential_columns(
    hay: &[u8],
    names: &[Range<usize>],
    skip_pass: bool,
) -> Vec<(usize, Range<usize>, bool)> {
    let accounts = names.iter().any(|n| is_account_header(&hay[n.clone()]));
    let ssids = names.iter().any(|n| is_ssid_header(&hay[n.clone()]));
    if names.iter().any(|n| judges_examples(&hay[n.clone()])) {
        return Vec::new();
    }
    // A table of devices (Azure IoT Hub and DPS exports): its `primary_key` and
    // `secondary_key` are the devices' symmetric keys, not a database's key columns.
    let devices = names.iter().any(|n| {
        let n = &hay[n.clone()];
        n.windows(6).any(|w| w.eq_ignore_ascii_case(b"device"))
    });
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let name = &hay[n.clone()];
            if skip_pass && name.eq_ignore_ascii_case(b"pass") {
                return None;
            }
            let label = column_label(name);
            let device_key = devices && is_device_key_column(label);
            if device_key {
                return Some((i, n.clone(), true));
            }
            table_column(label, accounts, ssids).map(|e| (i, n.clone(), e))
        })
        .collect()
}

/// `primary_key` / `secondary_key`: in a table of devices, their symmetric keys.
fn is_device_key_column(name: &[u8]) -> bool {
    [
        &b"primary_key"[..],
        b"secondary_key",
        b"primarykey",
        b"secondarykey",
    ]
    .iter()
    .any(|k| name.trim_ascii().eq_ignore_ascii_case(k))
}

/// An Azure IoT symmetric key's shape: base64 of 32 or 64 bytes (44 or 88 characters, `=`
/// padded), not a row id.
fn is_symmetric_key(v: &[u8]) -> bool {
    matches!(v.len(), 44 | 88)
        && v.ends_with(b"=")
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// A header that judges the table's passwords (`Why it is bad`, `Warum schlecht`,
/// `Strength`, `Time to crack`): a password policy's table of examples, not of accounts.
fn judges_examples(name: &[u8]) -> bool {
    const WORDS: [&str; 12] = [
        "why",
        "warum",
        "pourquoi",
        "por qué",
        "strength",
        "stärke",
        "crack",
        "entropy",
        "bewertung",
        "weakness",
        "schwäche",
        "zu schwach",
    ];
    let n = String::from_utf8_lossy(name.trim_ascii()).to_lowercase();
    WORDS.iter().any(|w| {
        n.match_indices(w).any(|(i, _)| {
            let before = n[..i].chars().next_back();
            let after = n[i + w.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphabetic)
        })
    })
}

/// A column headed `Key` (or `Schlüssel`, `Clave`, `Chave`, `Clé`, `Sleutel`, `Klucz`) in a
/// table that has an SSID column: the Wi-Fi network's passphrase. Elsewhere a `Key` column
/// holds names (`| Key | Value |`).
fn wifi_key_column(name: &[u8], ssids: bool) -> Option<bool> {
    if !ssids {
        return None;
    }
    let n = String::from_utf8_lossy(name.trim_ascii()).to_lowercase();
    matches!(
        n.as_str(),
        "key"
            | "wifi key"
            | "wlan key"
            | "network key"
            | "schl\u{fc}ssel"
            | "wlan-schl\u{fc}ssel"
            | "clave"
            | "chave"
            | "cl\u{e9}"
            | "sleutel"
            | "klucz"
            | "chiave"
    )
    .then_some(false)
}

/// A header that names a Wi-Fi network (`SSID`, `WLAN`, `Wi-Fi network`).
fn is_ssid_header(name: &[u8]) -> bool {
    let n = name.trim_ascii().to_ascii_lowercase();
    matches!(
        n.as_slice(),
        b"ssid" | b"wlan" | b"wifi" | b"wi-fi" | b"network" | b"network name" | b"wlan name"
    )
}

/// A table cell without the emphasis or code marks around it (`` `s3cret` ``, `**Password**`).
fn strip_markup(hay: &[u8], r: Range<usize>) -> Range<usize> {
    let mut r = trim(hay, r);
    for (open, close) in [
        (&b"**"[..], &b"**"[..]),
        (b"__", b"__"),
        (b"*", b"*"),
        (b"`", b"`"),
        (b"<code>", b"</code>"),
        (b"<nowiki>", b"</nowiki>"),
    ] {
        let v = &hay[r.clone()];
        if v.len() > open.len() + close.len() && v.starts_with(open) && v.ends_with(close) {
            r = trim(hay, r.start + open.len()..r.end - close.len());
        }
    }
    r
}

/// A Markdown (GitHub-flavoured) table whose header names a credential column: the anchor
/// starts at the header line, the delimiter row (`|---|:--:|`) follows it, then the rows.
/// Rows end at a blank line or a line with another number of cells.
fn markdown_columns(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let (line_start, line_end) = line_around(hay, anchor.start);
    let Some(delimiter) = lines(hay, (line_end + 1).min(hay.len())..hay.len()).next() else {
        return;
    };
    let d = &hay[delimiter.clone()];
    let is_delimiter = memchr::memmem::find(d, b"---").is_some()
        && d.iter()
            .all(|b| matches!(b, b'|' | b'-' | b':' | b'+' | b' ' | b'\t'));
    if !is_delimiter {
        return;
    }
    let header_line = trim(hay, line_start..line_end);
    // Past the delimiter line's `\n` (its range ends before a `\r`).
    let rows =
        memchr::memchr(b'\n', &hay[delimiter.end..]).map_or(hay.len(), |p| delimiter.end + p + 1);
    // A table under a heading or line about defaults or examples documents them: the text
    // from the nearest heading above it (at most 300 bytes back), not past a code fence
    // (`cp .env.example .env` in the setup steps above says nothing of the table).
    let mut from = line_start;
    let floor = line_start.saturating_sub(300);
    while from > floor {
        let start = hay[..from - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = trim(hay, start.max(floor)..from - 1);
        if hay[line.clone()].starts_with(b"```") || hay[line.clone()].starts_with(b"~~~") {
            break;
        }
        from = start.max(floor);
        if hay[line].starts_with(b"#") {
            break;
        }
    }
    let lower = hay[from..line_start].to_ascii_lowercase();
    if [
        &b"default"[..],
        b"example",
        b"sample",
        b"demo",
        b"placeholder",
        b"dummy",
    ]
    .iter()
    .any(|w| memchr::memmem::find(&lower, w).is_some())
    {
        return;
    }
    table_columns(hay, header_line, b'|', rows, b'|', true, out);
}

/// A DokuWiki table: the anchor's line is the header row, its cells parted by `^`; the rows
/// after it part theirs by `|` (a row of `^` cells is another header and ends the table, as
/// a blank line does).
fn dokuwiki_columns(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let (line_start, line_end) = line_around(hay, anchor.start);
    let header_line = trim(hay, line_start..line_end);
    if hay.get(header_line.start) != Some(&b'^') {
        return;
    }
    let rows = (line_end + 1).min(hay.len());
    table_columns(hay, header_line, b'^', rows, b'|', true, out);
}

/// A MediaWiki table: the anchor's line opens it (`{| class="wikitable"`); its header row is
/// the first line after it that starts with `!`, cells parted by `!!` (a caption `|+` and a
/// `|-` before it are passed over), and its rows are the lines after that, cells parted by
/// `||`, the `|-` lines between them passed over; `|}` ends it. Split on single `!` and `|`,
/// the header and a row have their cells at the same places. (The form with one cell per
/// line is not read.)
fn mediawiki_columns(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let (_, line_end) = line_around(hay, anchor.start);
    let limit = (line_end + MAX_REACH).min(hay.len());
    for line in lines(hay, (line_end + 1).min(hay.len())..limit) {
        let header_line = trim(hay, line.clone());
        let text = &hay[header_line.clone()];
        if text.is_empty() || text.starts_with(b"|+") || is_mediawiki_row_break(text) {
            continue;
        }
        if text.starts_with(b"!") && memchr::memmem::find(text, b"!!").is_some() {
            let rows = (line.end + 1).min(hay.len());
            table_columns(hay, header_line, b'!', rows, b'|', true, out);
        }
        return;
    }
}

/// A plain-text table aligned with spaces: the anchor's line is a rule of runs of `-` or `=`
/// parted by spaces (`------ -------- -----`), one run per column; the header is the line above
/// it and the rows the lines below, each cell the text under its run (up to the next run's
/// start; the last column to the line's end), counted in characters. A blank line or another
/// rule line ends it (a reStructuredText simple table's closing border).
fn aligned_columns(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    let (line_start, line_end) = line_around(hay, anchor.start);
    let rule_line = trim_end(hay, line_start..line_end);
    let Some(starts) = rule_runs(&hay[rule_line.clone()]) else {
        spaced_columns(hay, rule_line, out);
        return;
    };
    if line_start == 0 {
        return;
    }
    let (header_start, _) = line_around(hay, line_start - 1);
    let header = trim_end(hay, header_start..line_start - 1);
    let cell = |line: Range<usize>, i: usize| {
        let from = char_offset(hay, line.clone(), starts[i]);
        let to = starts
            .get(i + 1)
            .map_or(line.end, |&s| char_offset(hay, line.clone(), s));
        trim(hay, from..to)
    };
    let names: Vec<Range<usize>> = (0..starts.len()).map(|i| cell(header.clone(), i)).collect();
    let columns = credential_columns(hay, &names, false);
    if columns.is_empty() {
        return;
    }
    let limit = (line_end + MAX_REACH).min(hay.len());
    for line in lines(hay, (line_end + 1).min(hay.len())..limit) {
        let line = trim_end(hay, line);
        let text = &hay[line.clone()];
        if text.iter().all(u8::is_ascii_whitespace) || rule_runs(text).is_some() {
            break;
        }
        for (i, key, needs_entropy) in &columns {
            let value = strip_markup(hay, cell(line.clone(), *i));
            // A cell spilling over its column's end is no cell of this table.
            let spills = starts.get(i + 1).is_some_and(|&next| {
                let end = char_offset(hay, line.clone(), next);
                end > line.start && end < line.end && !hay[end - 1].is_ascii_whitespace()
            });
            if !spills && table_value(&hay[value.clone()], *needs_entropy) {
                out.push(Extracted::cell(key.clone(), value, *needs_entropy, None));
            }
        }
        if out.len() >= MAX_VALUES {
            return;
        }
    }
}

/// A plain-text table with no rule line: `header` is its header line (three named columns
/// or more), its cells (and every row's) parted by two spaces or more or a tab. Rows follow,
/// after at most one blank line, until a line with another number of cells or a blank line.
fn spaced_columns(hay: &[u8], header: Range<usize>, out: &mut Vec<Extracted>) {
    // Rows start after the header's line end (`\r\n`, trailing blanks), not after its text.
    let (_, line_end) = line_around(hay, header.start);
    let mut names = Vec::new();
    spaced_cells(hay, header.clone(), &mut names);
    // Three columns or more, named: two cells are a key and its value (`password    x`,
    // `DB password:  ...`), and a cell with a digit or ending in a colon is no column's name.
    let named = |c: &Range<usize>| {
        let cell = &hay[c.clone()];
        !cell.ends_with(b":") && !cell.iter().any(u8::is_ascii_digit)
    };
    if names.len() < 3 || !names.iter().all(named) {
        return;
    }
    // `Pass` is a test report's column (`Suite  Pass  Fail`), not a password's.
    let columns = credential_columns(hay, &names, true);
    if columns.is_empty() {
        return;
    }
    let limit = (line_end + MAX_REACH).min(hay.len());
    let mut row = Vec::new();
    let mut blank_lines = 0;
    let mut rows = 0;
    for line in lines(hay, (line_end + 1).min(hay.len())..limit) {
        // Every line with two blanks near a password word is an anchor: a cap on the rows
        // each one reads keeps a file of such lines linear.
        if rows >= MAX_SPACED_ROWS {
            break;
        }
        let line = trim_end(hay, line);
        if hay[line.clone()].iter().all(u8::is_ascii_whitespace) {
            blank_lines += 1;
            if rows > 0 || blank_lines > 1 {
                break;
            }
            continue;
        }
        spaced_cells(hay, line, &mut row);
        if row.len() != names.len() {
            break;
        }
        rows += 1;
        for (i, key, needs_entropy) in &columns {
            let value = strip_markup(hay, row[*i].clone());
            if table_value(&hay[value.clone()], *needs_entropy) {
                out.push(Extracted::cell(key.clone(), value, *needs_entropy, None));
            }
        }
        if out.len() >= MAX_VALUES {
            return;
        }
    }
}

/// Rows one header of a table without a rule line reads ([`spaced_columns`]).
const MAX_SPACED_ROWS: usize = 200;

/// The cells of `line` parted by two spaces or more or a tab (a single space stays inside a
/// cell: `Passwort / Secret`, `iLO esxi-01`).
fn spaced_cells(hay: &[u8], line: Range<usize>, cells: &mut Vec<Range<usize>>) {
    cells.clear();
    let text = &hay[line.clone()];
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut i = text.iter().position(|&b| !blank(b)).unwrap_or(text.len());
    let mut start = i;
    while i < text.len() {
        let gap = text[i] == b'\t' || (text[i] == b' ' && text.get(i + 1) == Some(&b' '));
        if gap {
            cells.push(line.start + start..line.start + i);
            while i < text.len() && blank(text[i]) {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        cells.push(line.start + start..line.start + text.len());
    }
}

/// The character columns where the runs of a rule line start (`--- ---- ---`: 0, 4, 9), if
/// the line is one: two or more runs of three or more `-` or `=`, parted by spaces.
fn rule_runs(line: &[u8]) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b' ' | b'\t' => i += 1,
            c @ (b'-' | b'=') => {
                let run = line[i..].iter().take_while(|&&b| b == c).count();
                if run < 3 {
                    return None;
                }
                starts.push(i);
                i += run;
            }
            _ => return None,
        }
    }
    (starts.len() >= 2).then_some(starts)
}

/// The byte offset in `hay[line]` of character column `col` (the line's end when shorter).
fn char_offset(hay: &[u8], line: Range<usize>, col: usize) -> usize {
    let mut chars = 0;
    for (i, &b) in hay[line.clone()].iter().enumerate() {
        // Each character starts with a byte that is not a UTF-8 continuation byte.
        if b & 0xC0 != 0x80 {
            if chars == col {
                return line.start + i;
            }
            chars += 1;
        }
    }
    line.end
}

fn trim_end(hay: &[u8], mut r: Range<usize>) -> Range<usize> {
    while r.end > r.start && hay[r.end - 1].is_ascii_whitespace() {
        r.end -= 1;
    }
    r
}

/// A MediaWiki table's row break: `|-`, with attributes or none (`|- style="..."`).
fn is_mediawiki_row_break(line: &[u8]) -> bool {
    line.starts_with(b"|-") && memchr::memchr(b'|', &line[1..]).is_none()
}

/// Finds `needle` (ASCII, lower case) in `hay[from..to]`, ignoring ASCII case.
fn find_tag(hay: &[u8], from: usize, to: usize, needle: &[u8]) -> Option<usize> {
    let mut at = from;
    while at < to {
        let p = at + memchr::memchr(b'<', &hay[at..to])?;
        if hay
            .get(p..p + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

/// Longest row of an HTML table that is read.
const MAX_ROW: usize = 1 << 16;

/// Finds the start tag `name` (`<tr`, ASCII, lower case) in `hay[from..to]`, ignoring ASCII
/// case: followed by `>` or white space, so that `<tr` is not `<track`.
fn find_element(hay: &[u8], from: usize, to: usize, name: &[u8]) -> Option<usize> {
    let mut at = from;
    loop {
        let p = find_tag(hay, at, to, name)?;
        if hay
            .get(p + name.len())
            .is_some_and(|&b| b == b'>' || b.is_ascii_whitespace())
        {
            return Some(p);
        }
        at = p + 1;
    }
}

/// One `<tr>` of an HTML table: its cells as (is a `<th>`, content without the tags around
/// it), and where the row ends. `None` past the table's end.
fn html_row(
    hay: &[u8],
    at: usize,
    limit: usize,
    cells: &mut Vec<(bool, Range<usize>)>,
) -> Option<usize> {
    cells.clear();
    let tr = find_element(hay, at, limit, b"<tr")?;
    let open_end = tr + memchr::memchr(b'>', &hay[tr..limit])? + 1;
    // The row ends at `</tr>` or where the next row starts; `limit` is the table's end.
    // (`</tr>` may be left out: the next row is looked for first, and `</tr` only before it.)
    let next = find_element(hay, open_end, limit, b"<tr");
    let close = find_tag(hay, open_end, next.unwrap_or(limit), b"</tr");
    let end = close.or(next).unwrap_or(limit);
    let mut i = open_end;
    let mut all_bold = true;
    while i < end {
        let Some(c) = find_tag(hay, i, end, b"<t") else {
            break;
        };
        let kind = hay.get(c + 2).map(u8::to_ascii_lowercase);
        let boundary = hay
            .get(c + 3)
            .is_some_and(|&b| b == b'>' || b.is_ascii_whitespace());
        if !matches!(kind, Some(b'd' | b'h')) || !boundary {
            i = c + 2;
            continue;
        }
        let Some(gt) = memchr::memchr(b'>', &hay[c..end]) else {
            break;
        };
        let content = c + gt + 1;
        let close = [&b"</td"[..], b"</th", b"<td", b"<th"]
            .iter()
            .filter_map(|n| find_tag(hay, content, end, n))
            .min()
            .unwrap_or(end);
        let inner = trim(hay, content..close);
        // Bold around the whole cell, not a bold word in it.
        let text = &hay[inner.clone()];
        let starts = |t: &[u8]| text.len() >= t.len() && text[..t.len()].eq_ignore_ascii_case(t);
        let ends = |t: &[u8]| {
            text.len() >= t.len() && text[text.len() - t.len()..].eq_ignore_ascii_case(t)
        };
        let bold = (starts(b"<b>") || starts(b"<b ")) && ends(b"</b>")
            || starts(b"<strong") && ends(b"</strong>");
        all_bold &= kind == Some(b'd') && bold;
        cells.push((kind == Some(b'h'), html_text(hay, content..close)));
        i = close + 1;
    }
    // A header row written as bold data cells (`<td><b>Host</b></td>`, as OneNote and Word
    // export tables): its cells are header cells.
    if cells.len() >= 2 && all_bold {
        for cell in cells.iter_mut() {
            cell.0 = true;
        }
    }
    Some(end)
}

/// A cell's text without the inline tags wrapped around it (`<code>`, `<span ...>`,
/// `<strong>`); a cell with markup inside its text is left as it is.
fn html_text(hay: &[u8], r: Range<usize>) -> Range<usize> {
    let mut r = trim(hay, r);
    while hay.get(r.start) == Some(&b'<') && r.end > r.start && hay[r.end - 1] == b'>' {
        let v = &hay[r.clone()];
        let (Some(open), Some(close)) = (memchr::memchr(b'>', v), memchr::memrchr(b'<', v)) else {
            break;
        };
        if open + 1 > close {
            break;
        }
        r = trim(hay, r.start + open + 1..r.start + close);
    }
    r
}

/// A value cell that looks like a password rather than a word or a sentence: no spaces,
/// letters with digits or symbols (`string`, `required` and `see vault` are not).
fn password_like_cell(v: &[u8]) -> bool {
    v.len() >= 6
        && !v.iter().any(u8::is_ascii_whitespace)
        && v.iter().any(u8::is_ascii_alphabetic)
        && v.iter().any(|b| !b.is_ascii_alphabetic())
}

fn html_table(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    // The header row holding the anchor's `<th>`.
    let floor = anchor.start.saturating_sub(4096);
    let Some(tr) = (floor..anchor.start).rev().find(|&i| {
        hay[i] == b'<' && hay[i..].len() >= 3 && hay[i..i + 3].eq_ignore_ascii_case(b"<tr")
    }) else {
        return;
    };
    // The anchor's row first (rows are short; a table of 10,000 rows headed by `<th>` has as
    // many anchors, each reading only its own row).
    let reach = (tr + MAX_REACH).min(hay.len());
    let mut cells = Vec::new();
    let Some(mut at) = html_row(hay, tr, (tr + MAX_ROW).min(reach), &mut cells) else {
        return;
    };
    // Each `<th>` is an anchor; the row's first reads it.
    let Some(first_th) = cells.iter().position(|(th, _)| *th) else {
        return;
    };
    if !(cells[first_th].1.start > anchor.start
        && cells
            .get(first_th.wrapping_sub(1))
            .is_none_or(|c| c.1.end < anchor.start))
    {
        return;
    }
    let accounts = cells
        .iter()
        .any(|(th, c)| *th && is_account_header(&hay[c.clone()]));
    // Beside an SSID column a `Key` column holds the Wi-Fi passphrase (as in Markdown).
    let ssids = cells
        .iter()
        .any(|(th, c)| *th && is_ssid_header(&hay[c.clone()]));
    let names: Vec<Option<bool>> = cells
        .iter()
        .map(|(th, c)| {
            let name = &hay[c.clone()];
            (*th && !name.eq_ignore_ascii_case(b"pass"))
                .then(|| table_column(name, accounts, ssids))
                .flatten()
        })
        .collect();
    // A row headed by a credential (`<th>Password</th><td>...</td>`, more cells after it):
    // the cell next to it. Further rows of such a table are anchored by their own `<th>`.
    if let [(true, key), (false, value), rest @ ..] = cells.as_slice() {
        if rest.iter().all(|(th, _)| !th)
            && names[0].is_some()
            && password_like_cell(&hay[value.clone()])
            && !is_reference_cell(&hay[value.clone()])
        {
            out.push(Extracted::cell(
                key.clone(),
                value.clone(),
                names[0] == Some(true),
                None,
            ));
        }
        return;
    }
    if cells.first().is_some_and(|(th, _)| *th) && cells.iter().skip(1).any(|(th, _)| !th) {
        // A row headed by something else in a table of such rows.
        return;
    }
    // A header row: of credential columns, or of names and values (`<th>Item</th>
    // <th>Valor</th>`, then `<td>Senha</td><td>...</td>`).
    let value_column = cells
        .iter()
        .position(|(th, c)| *th && is_value_header(&hay[c.clone()]));
    let name_column = value_column.filter(|&v| v > 0).map(|_| 0);
    if names.iter().all(Option::is_none) && name_column.is_none() {
        return;
    }
    // The table ends at `</table>`, searched for once per table (a row ends at `</tr>` or
    // the next `<tr>`).
    let limit = find_tag(hay, at, reach, b"</table").unwrap_or(reach);
    let width = cells.len();
    let mut row = Vec::new();
    while let Some(end) = html_row(hay, at, limit, &mut row) {
        at = end;
        if row.len() != width || row.iter().all(|(th, _)| *th) {
            continue;
        }
        for (i, kind) in names.iter().enumerate() {
            let Some(needs_entropy) = *kind else {
                continue;
            };
            if row[i].0 {
                // A header cell is a label, never a value.
                continue;
            }
            let value = row[i].1.clone();
            let v = &hay[value.clone()];
            if !table_value(v, needs_entropy) || memchr::memchr(b'<', v).is_some() {
                continue;
            }
            out.push(Extracted::cell(
                cells[i].1.clone(),
                value,
                needs_entropy,
                None,
            ));
        }
        if let (Some(n), Some(v)) = (name_column, value_column) {
            if !row[v].0 {
                out.extend(name_value(hay, row[n].1.clone(), row[v].1.clone(), None));
            }
        }
        if out.len() >= MAX_VALUES {
            return;
        }
    }
}

/// Parses the tuples after `VALUES`: `(1, 'a', 'b'), (2, 'c', NULL);`. Yields, per tuple, the
/// range of each field; a field that is a string literal is returned without its quotes and
/// flagged, anything else (numbers, NULL, function calls, bind parameters) is not a literal.
fn sql_tuples(
    hay: &[u8],
    mut at: usize,
    limit: usize,
    mut each: impl FnMut(&[(Range<usize>, bool)]) -> bool,
) {
    let mut fields: Vec<(Range<usize>, bool)> = Vec::new();
    loop {
        while at < limit && hay[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= limit || hay[at] != b'(' {
            return;
        }
        at += 1;
        fields.clear();
        let mut depth = 0usize;
        let mut field_start = at;
        let mut literal: Option<Range<usize>> = None;
        loop {
            if at >= limit {
                return;
            }
            match hay[at] {
                q @ (b'\'' | b'"') if depth == 0 => {
                    let open = at;
                    at += 1;
                    while at < limit {
                        if hay[at] == b'\\' {
                            at += 2;
                            continue;
                        }
                        if hay[at] == q {
                            if at + 1 < limit && hay[at + 1] == q {
                                at += 2;
                                continue;
                            }
                            break;
                        }
                        at += 1;
                    }
                    if at >= limit {
                        return;
                    }
                    // A literal is the whole field only if nothing but spaces surround it.
                    let lead = trim(hay, field_start..open).is_empty();
                    literal = lead.then_some(open + 1..at);
                    at += 1;
                }
                b'(' => {
                    depth += 1;
                    at += 1;
                }
                b')' if depth > 0 => {
                    depth -= 1;
                    at += 1;
                }
                c @ (b',' | b')') => {
                    let whole = trim(hay, field_start..at);
                    let field = match literal.take() {
                        Some(l) if whole.end == l.end + 1 => (l, true),
                        _ => (whole, false),
                    };
                    fields.push(field);
                    at += 1;
                    field_start = at;
                    if c == b')' {
                        break;
                    }
                }
                _ => at += 1,
            }
        }
        if !each(&fields) {
            return;
        }
        while at < limit && hay[at].is_ascii_whitespace() {
            at += 1;
        }
        if at < limit && hay[at] == b',' {
            at += 1;
        } else {
            return;
        }
    }
}

fn sql_insert(hay: &[u8], anchor: Range<usize>, out: &mut Vec<Extracted>) {
    // The anchor ends at VALUES; the column list is the last parenthesised group before it.
    let head = &hay[anchor.clone()];
    let Some(close) = memchr::memrchr(b')', head) else {
        return;
    };
    let Some(open) = memchr::memrchr(b'(', &head[..close]) else {
        return;
    };
    let mut columns = Vec::new();
    let mut at = anchor.start + open + 1;
    let end = anchor.start + close;
    for (i, piece) in hay[at..end].split(|&b| b == b',').enumerate() {
        let r = trim(hay, at..at + piece.len());
        if let Some(e) = credential_column(&hay[r.clone()]) {
            columns.push((i, r, e));
        }
        at += piece.len() + 1;
    }
    if columns.is_empty() {
        return;
    }
    let limit = (anchor.end + MAX_REACH).min(hay.len());
    sql_tuples(hay, anchor.end, limit, |fields| {
        for (i, key, needs_entropy) in &columns {
            if let Some((value, true)) = fields.get(*i) {
                // `!` and `*` in a hash column mark an account without a password.
                if hay[value.clone()].iter().any(u8::is_ascii_alphanumeric) {
                    out.push(Extracted::cell(
                        key.clone(),
                        value.clone(),
                        *needs_entropy,
                        Some(b'\''),
                    ));
                }
            }
        }
        out.len() < MAX_VALUES
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What extractor `kind` reads from `text`, anchored at the first `anchor`.
    fn extracted(kind: Extract, text: &str, anchor: &str) -> Vec<Extracted> {
        let start = text.find(anchor).unwrap();
        let mut out = Vec::new();
        run(kind, text.as_bytes(), start..start + anchor.len(), &mut out);
        out
    }

    fn values(kind: Extract, text: &str, anchor: &str) -> Vec<(String, String, bool)> {
        extracted(kind, text, anchor)
            .into_iter()
            .filter(|e| !e.claim_only)
            .map(|e| (text[e.key].to_string(), text[e.value].to_string(), e.base64))
            .collect()
    }

    #[test]
    fn keys_that_name_a_credential() {
        for k in [
            "DB_PW",
            "creds",
            "node.session.auth.password_in",
            "apiPassword",
            "signing-key",
        ] {
            assert!(names_credential(k.as_bytes()), "{k}");
        }
        for k in [
            "discovery.sendtargets.auth.username_in",
            "NODE_ENV",
            "LOG_LEVEL",
            "auth_login",
        ] {
            assert!(!names_credential(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn kubernetes_secret_values() {
        let doc = "apiVersion: v1\nkind: ConfigMap\ndata:\n  password: notme\n---\n\
                   apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n\
                   type: Opaque\ndata:\n  DB_PASSWORD: aHVudGVyMg==   # comment\n  \"api-key\": 'c2VjcmV0'\n\
                   \x20 ca.crt: LS0tLS1CRUdJTg==\n  username: YWRtaW4=\n  FEATURE_FLAGS: ZXRhX3YyPXRydWU=\n  config: |\n    nested: 1\n\
                   stringData:\n  token: \"s3cr3t-t0ken\"\n  PUBLISH_CRON: \"*/15 * * * *\"\n  # a comment\n  empty: \"\"\n---\n\
                   kind: Secret\ndata:\n  other: b3RoZXI=\n";
        let v = values(Extract::KubernetesSecret, doc, "kind: Secret");
        assert_eq!(
            v,
            vec![
                ("DB_PASSWORD".into(), "aHVudGVyMg==".into(), true),
                ("api-key".into(), "c2VjcmV0".into(), true),
                ("token".into(), "s3cr3t-t0ken".into(), false),
            ]
        );
        // Certificates and user names are not reported, but claimed from generic rules.
        let start = doc.find("kind: Secret").unwrap();
        let mut all = Vec::new();
        run(
            Extract::KubernetesSecret,
            doc.as_bytes(),
            start..start + 12,
            &mut all,
        );
        let claimed: Vec<&str> = all
            .iter()
            .filter(|e| e.claim_only)
            .map(|e| &doc[e.key.clone()])
            .collect();
        assert_eq!(
            claimed,
            ["ca.crt", "username", "FEATURE_FLAGS", "PUBLISH_CRON"]
        );
    }

    /// A sheet's header below a title row, and the sections of a sheet of several tables.
    #[test]
    fn csv_title_rows_and_sections() {
        let cells = |text: &str| -> Vec<String> {
            values(Extract::CsvColumns, text, &text[..1])
                .into_iter()
                .map(|(_, v, _)| v)
                .collect()
        };
        // A title row of one cell, or of fewer cells once a spreadsheet's padding is left out.
        let one_cell =
            "Commissioning sheet\nDevice,IP,User,Password\nnvr,10.0.0.2,admin,Qw7!rT2#pL\n";
        assert_eq!(cells(one_cell), ["Qw7!rT2#pL"]);
        let padded = "Job,2024-031,Site,Harbour,,\nDevice,Model,IP,Username,Password,Notes\n\
                      NVR,DS,10.0.0.2,admin,Qw7!rT2#pL,\n";
        assert_eq!(cells(padded), ["Qw7!rT2#pL"]);
        // A first row of data is no header, however it ends.
        assert!(cells("id,word\n1,password,\n2,hunter2,\n").is_empty());
        // After an empty row, a row starts the next section only where it repeats cells of
        // the header in their places.
        let rows = "Username,Password,Admin\nbob,Xk2#9vLm!,no\n\nadmin,Qw7!rT2#pL,yes\n";
        assert_eq!(cells(rows), ["Xk2#9vLm!", "Qw7!rT2#pL"]);
        let sections = "Device,Model,IP,User,Password\nnvr,DS,10.0.0.2,admin,Xk2#9vLm!\n\n\
                        Panel,Model,IP,Code,Notes\np1,Neo,10.0.0.40,1234,x\n";
        assert_eq!(cells(sections), ["Xk2#9vLm!"]);
    }

    #[test]
    fn csv_rows_with_a_comma_in_their_last_column() {
        let csv = "vendor,url,username,password,notes\n\
                   A,https://a.example,ops,\"tVega!64\",LEOP\n\
                   B,https://b.example,ops@b.example,\"Kestrel.magellan137\",deployers, antennas\n\
                   Acme, Inc,https://c.example,ops,Qx7!vLm2pR,no\n\
                   D,https://d.example,ops,\"tAndes!11\",x\n";
        let v: Vec<String> = values(Extract::CsvColumns, csv, "password")
            .into_iter()
            .map(|(_, value, _)| value)
            .collect();
        // The row with a comma in its first cell shifts every column: the table ends there.
        assert_eq!(v, ["tVega!64", "Kestrel.magellan137"]);
    }

    #[test]
    fn csv_credential_columns() {
        let csv = "id,email,Password,api_token,note\n1,a@x.io,hunter22,\"tok,3n\",x\n\
                   2,b@x.io,\"p\"\"w\",,y\n3,short\n4,c@x.io,zz,q,z\n";
        let v = values(Extract::CsvColumns, csv, "Password");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("Password", "hunter22"),
                ("api_token", "tok,3n"),
                ("Password", "p\"\"w"),
            ]
        );
        assert!(values(Extract::CsvColumns, "password\nabc\n", "password").is_empty());
        // Cisco ISE's import template annotates each header with its type.
        let ise = "Name:String(32):Required,IP Address:Subnets(a.b.c.d/m#....):Required,\
                   Authentication Settings:RADIUS Shared Secret:String(128),\
                   Authentication Settings:Enable KeyWrap:Bool(true|false)\n\
                   sw-1,10.0.0.1/32,Rk3vT9qLm2Xw8zNp,false\n";
        let v = values(Extract::CsvColumns, ise, "Name");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1, "Rk3vT9qLm2Xw8zNp");
        assert_eq!(column_label(b"Password:String(64)"), b"Password");
        assert_eq!(column_label(b"Protocol:Pass"), b"Protocol:Pass");
        // A Ricoh address book: a format line, a header naming `folderPassword`, cells in
        // brackets.
        let ricoh = "# Format Version:4.1.0.0\nindex,name,folderUser,folderPassword,mail\n\
                     [00001],[Scans],[WHS\\svc-scan],[Gavel2024#],[]\n";
        let v = values(Extract::CsvColumns, ricoh, "index");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1, "Gavel2024#");
    }

    #[test]
    fn dokuwiki_credential_columns() {
        let page =
            "===== Admin =====\n^ Benutzer ^ Passwort ^ Notiz ^\n| admin | V3nt0ux38? | NAS |\n\
                    | backup | Kq7#vLm2x | USB |\n\n| after | the | table |\n";
        let v = values(Extract::DokuwikiColumns, page, "^ Benutzer");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![("Passwort", "V3nt0ux38?"), ("Passwort", "Kq7#vLm2x")]
        );
        // A line that does not start with `^` is no DokuWiki header, even with `^` in it.
        assert!(values(
            Extract::DokuwikiColumns,
            "Host ^ Passwort\nx | Kq7#vLm2x\n",
            "Host"
        )
        .is_empty());
    }

    #[test]
    fn mediawiki_credential_columns() {
        let page = "== Zugänge ==\n{| class=\"wikitable\"\n|+ NAS\n! Dienst !! Benutzer !! Passwort !! Bemerkung\n\
                    |-\n| DSM || admin-it || Bergfried2023% || ''deaktiviert: admin''\n\
                    |- style=\"color:red\"\n| Backup || backup || <code>Kq7#vLm2x</code> || USB\n|}\n\
                    | after || the || table || x9Vb3kLm\n";
        let v = values(Extract::MediawikiColumns, page, "{|");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![("Passwort", "Bergfried2023%"), ("Passwort", "Kq7#vLm2x")]
        );
        // A table without a header row, or whose header names no credential, yields nothing.
        assert!(values(
            Extract::MediawikiColumns,
            "{|\n|-\n| a || Passwort\n|-\n| b || x9Vb3kLm\n|}\n",
            "{|"
        )
        .is_empty());
        assert!(values(
            Extract::MediawikiColumns,
            "{|\n! Host !! Notes\n|-\n| db01 || x9Vb3kLm\n|}\n",
            "{|"
        )
        .is_empty());
    }

    #[test]
    fn aligned_credential_columns() {
        let text = "OFFICE WIFI\n\nSSID         Security  Key                   VLAN\n\
                    ------------ --------- --------------------- ----\n\
                    HRO-Staff    WPA2-Ent  (AD login)            10\n\
                    HRO-PSK      WPA2-PSK  Driftwood2024*        11\n\
                    Caf\u{e9}-IoT     WPA2-PSK  KphR72qODdtHFYA0G7oD  30\n\n\
                    After        the       table                 x9Vb3kLm\n";
        let v = values(Extract::AlignedColumns, text, "------------");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![("Key", "Driftwood2024*"), ("Key", "KphR72qODdtHFYA0G7oD")]
        );
        // A reStructuredText simple table, closed by its border.
        let rst = "====== ==========\nUser   Passwort\n====== ==========\nadmin  Kq7#vLm2x\n====== ==========\nx      Zz9#vLm2x\n";
        let at = rst.find("====== ==========\nadmin").unwrap();
        let mut out = Vec::new();
        run(
            Extract::AlignedColumns,
            rst.as_bytes(),
            at..at + 17,
            &mut out,
        );
        let got: Vec<&str> = out
            .iter()
            .map(|e| std::str::from_utf8(&rst.as_bytes()[e.value.clone()]).unwrap())
            .collect();
        assert_eq!(got, vec!["Kq7#vLm2x"]);
        // A rule line under a header that names no credential yields nothing.
        assert!(values(
            Extract::AlignedColumns,
            "Name   Size\n------ -----\nx9Vb3kLm  12\n",
            "------"
        )
        .is_empty());
    }

    #[test]
    fn markdown_credential_columns() {
        let md = "Intro | text\n\n| Host | **Passwort** | Token | Note |\n|:--|---|---|---|\n\
                  | db | `Wx9!kq` | - | a |\n| ci | `CI_DB_PASSWORD` | xk4z | d |\n| web | n/a | tok9 | b |\n| api | in vault | xk4z | c |\n\
                  | short | row |\n| after | the | table | ends |\n";
        let v = values(Extract::MarkdownColumns, md, "| Host");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("Passwort", "Wx9!kq"),
                ("Token", "xk4z"),
                ("Token", "tok9"),
                ("Token", "xk4z")
            ]
        );
        // No delimiter row under the header: not a table.
        assert!(values(
            Extract::MarkdownColumns,
            "| a | password |\n| b | c |\n",
            "| a"
        )
        .is_empty());
        // A code block above the heading names an example file: the table is no example.
        let md = "```sh\ncp .env.example .env\n```\n\n## Accounts\n\nThe seed creates an owner:\n\n\
                  | env | login | password |\n|---|---|---|\n| staging | owner@lumen.test | `Comet88.` |\n";
        let v = values(Extract::MarkdownColumns, md, "| env");
        assert_eq!(v.len(), 1, "{v:?}");
        // Under a heading about examples, it is.
        let md = "## Example accounts\n\n| env | login | password |\n|---|---|---|\n| staging | owner | `Comet88.` |\n";
        assert!(values(Extract::MarkdownColumns, md, "| env").is_empty());
        assert_eq!(credential_column("Пароль".as_bytes()), Some(false));
        assert_eq!(credential_column(b"Mot de passe"), Some(false));
        assert_eq!(credential_column(b"Passage"), None);
    }

    #[test]
    fn markdown_name_value_rows() {
        let md = "| Variable | Value | Scope |\n|---|---|---|\n| `UPLOAD_DIR` | `/var/lib/up` | w |\n\
                  | `VONAGE_API_SECRET` | `kAj7JmnxbuQgrq07` | all |\n| `SMTP_PASSWORD` | `Sommer24` | all |\n\
                  | `CACHE_KEY` | `user:{id}` | all |\n| `API_TOKEN` | `${API_TOKEN}` | all |\n";
        let v = values(Extract::MarkdownColumns, md, "| Variable");
        assert_eq!(
            v.iter()
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("VONAGE_API_SECRET", "kAj7JmnxbuQgrq07"),
                ("SMTP_PASSWORD", "Sommer24")
            ]
        );
    }

    #[test]
    fn tables_people_write() {
        // CRLF line endings.
        let md = "| Service | Password |\r\n|---|---|\r\n| x | Tq4!vRm8#Lw2zK |\r\n";
        let v = values(Extract::MarkdownColumns, md, "| Service");
        assert_eq!(v.len(), 1, "{v:?}");
        // Results, check marks, masked values, notes, references are no passwords.
        let md = "| Test | Pass rate | Password |\n|---|---|---|\n| a | 98.5% | \u{2714}\u{fe0f} |\n\
                  | b | 100% | \u{2022}\u{2022}\u{2022}\u{2022}\u{2022}\u{2022} |\n| c | 1% | ask @alice |\n\
                  | d | 2% | secrets.NPM_TOKEN |\n| e | 3% | :white_check_mark: |\n| f | 4% | Supported |\n";
        assert!(values(Extract::MarkdownColumns, md, "| Test").is_empty());
        // Under a heading about defaults: documented, not leaked.
        let md = "### Default admin credentials\n\n| Field | Value |\n|---|---|\n| Password | `admin123` |\n";
        assert!(values(Extract::MarkdownColumns, md, "| Field").is_empty());
        // A table with a header cell on every row: labels are never values.
        let html = "<table><tr><th>password</th><td>string</td><td>the user's password</td></tr>\
                    <tr><th>timeout</th><td>int</td><td>seconds</td></tr></table>";
        assert!(values(Extract::HtmlTable, html, "<th>").is_empty());
        let html = "<table><tr><th>Field</th><th>Value</th><th>Notes</th></tr>\
                    <tr><th>Port</th><td>5432</td><td>-</td></tr>\
                    <tr><th>Password</th><td>Herbst2024!db</td><td>rotate</td></tr></table>";
        let at = html.find("<th>Password").unwrap();
        let mut out = Vec::new();
        run(Extract::HtmlTable, html.as_bytes(), at..at + 3, &mut out);
        let got: Vec<&str> = out.iter().map(|e| &html[e.value.clone()]).collect();
        assert_eq!(got, ["Herbst2024!db"]);
        // `<track>` is not a row.
        let html =
            "<table><tr><th>Password</th></tr><track src=a><tr><td>Kq9#vLm2x</td></tr></table>";
        assert_eq!(values(Extract::HtmlTable, html, "<th>").len(), 1);
    }

    #[test]
    fn header_phrases() {
        for (h, want) in [
            ("Password / token", Some(false)),
            ("Initial password", Some(false)),
            ("Admin-Passwort", Some(false)),
            ("API key", Some(true)),
            ("Access token", Some(true)),
            ("password", Some(false)),
            ("Password last changed", None),
            ("Password policy", None),
            ("Has password", None),
            ("Pass / Fail", None),
            ("Pass rate", None),
            ("First pass yield", None),
            ("Parola", None),
            ("Token count", None),
            ("Primary key", None),
        ] {
            assert_eq!(header_column(h.as_bytes()), want, "{h}");
        }
    }

    #[test]
    fn html_table_cells() {
        let html = "<table>\n<thead><tr><th>Host</th><th class=\"c\"><b>Password</b></th>\
                    <th>API key</th></tr></thead>\n<tbody>\n<tr><td>db</td><td><code>Wx9!kq2</code>\
                    </td><td>k1zz9</td></tr>\n<tr><td colspan=\"3\">maintenance</td></tr>\n<TR>\
                    <TD>web</TD><TD>-</TD><TD>k2<br>k3</TD></TR>\n</tbody></table>\n\
                    <table><tr><td>x</td><td>Outside1!</td></tr></table>";
        let anchor = html.find("<th>Host").unwrap();
        let mut out = Vec::new();
        run(
            Extract::HtmlTable,
            html.as_bytes(),
            anchor..anchor + 3,
            &mut out,
        );
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|e| (&html[e.key.clone()], &html[e.value.clone()]))
            .collect();
        assert_eq!(got, vec![("Password", "Wx9!kq2"), ("API key", "k1zz9")]);
        // The other header cells' anchors add nothing: the row's first reads the table.
        for other in ["<th class", "<th>API"] {
            let at = html.find(other).unwrap();
            out.clear();
            run(Extract::HtmlTable, html.as_bytes(), at..at + 3, &mut out);
            assert!(out.is_empty(), "{other}");
        }
        // A row headed by a credential.
        let kv = "<tr><th>Passwort</th><td>Herbst2024!</td></tr><tr><th>Passwort</th><td>string</td></tr>";
        let v = values(Extract::HtmlTable, kv, "<th>");
        assert_eq!(v, vec![("Passwort".into(), "Herbst2024!".into(), false)]);
        // A table of names and values (a Confluence page's `<p>` inside the cells).
        let nv = "<table><tbody><tr><th><p>Item</p></th><th><p>Valor</p></th></tr>\n\
                  <tr><td><p>URL</p></td><td><p>https://hml.loja.test/admin</p></td></tr>\n\
                  <tr><td><p>Senha</p></td><td><p>oFh7kjWSxu1A0</p></td></tr>\n\
                  <tr><td><p>Senha</p></td><td><p>ver cofre</p></td></tr></tbody></table>";
        let v = values(Extract::HtmlTable, nv, "<th>");
        assert_eq!(v, vec![("Senha".into(), "oFh7kjWSxu1A0".into(), false)]);
        // A `Key` column beside an SSID column; elsewhere a `Key` column holds names.
        let wifi = "<table><tr><th>SSID</th><th>Security</th><th>Key</th></tr>\n\
                    <tr><td>Staff</td><td>WPA2-Enterprise</td><td>(AD login)</td></tr>\n\
                    <tr><td>Guest</td><td>WPA2-PSK</td><td>otter-glacier2671!</td></tr></table>";
        let v = values(Extract::HtmlTable, wifi, "<th>");
        assert_eq!(v, vec![("Key".into(), "otter-glacier2671!".into(), false)]);
        let keys = "<table><tr><th>Key</th><th>Description</th></tr>\n\
                    <tr><td>otter-glacier2671!</td><td>x</td></tr></table>";
        assert!(values(Extract::HtmlTable, keys, "<th>").is_empty());
    }

    #[test]
    fn json_user_map_members() {
        let json = "  \"RegisteredUsers\" : {\n    \"admin\" : \"Cobalt@2537\",\n    \"research_ro\" : \"qDA*m9ryRGx+Dum-\",\n    \"viewer\" : { \"nested\": 1 }\n  },\n  \"Other\": \"x\"";
        let anchor_end = json.find('{').unwrap() + 1;
        let mut out = Vec::new();
        run(
            Extract::JsonUserMap,
            json.as_bytes(),
            0..anchor_end,
            &mut out,
        );
        let got: Vec<(&str, &str, bool)> = out
            .iter()
            .map(|e| (&json[e.key.clone()], &json[e.value.clone()], e.user_key))
            .collect();
        assert_eq!(
            got,
            vec![
                ("admin", "Cobalt@2537", true),
                ("research_ro", "qDA*m9ryRGx+Dum-", true),
            ]
        );
    }

    #[test]
    fn sql_insert_columns() {
        let sql = "INSERT INTO `users` (`id`, `email`, `password`, api_key) VALUES\n\
                   (1, 'a@x.io', 'hunter22', 'k1'),\n(2, 'b\\'s', CONCAT('a','b'), NULL),\n\
                   (3, 'c', 'it''s', ?);";
        let anchor_end = sql.find("VALUES").unwrap() + 6;
        let mut out = Vec::new();
        run(Extract::SqlInsert, sql.as_bytes(), 0..anchor_end, &mut out);
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|e| (&sql[e.key.clone()], &sql[e.value.clone()]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("`password`", "hunter22"),
                ("api_key", "k1"),
                ("`password`", "it''s"),
            ]
        );
    }

    #[test]
    fn public_values() {
        assert!(plainly_public(b"shop-noreply@ada-lab.net"));
        assert!(plainly_public(b"checkout_v2,new_search"));
        assert!(plainly_public(b"2024-09-16T08:00:00Z"));
        assert!(plainly_public(b"info, warn, error"));
        assert!(!plainly_public(b"admin,Xq8vLm2Tz9Kp4Rw"));
        assert!(plainly_public(b"5432"));
        assert!(plainly_public(b"True"));
        assert!(!plainly_public(b"p@ssw0rd!"));
        assert!(plainly_public(b"/var/lib/app/uploads"));
        assert!(!plainly_public(b"/Xq8vLm2Tz9Kp4Rw"));
        assert!(!plainly_public(b"user@host"));
        assert!(!plainly_public(b"Yf4!wQz8Rk2m"));
        assert!(plainly_public(b"tcp://127.0.0.1:5705"));
        assert!(plainly_public(b"https://api.example.com/v1"));
        assert!(!plainly_public(
            b"https://hooks.example.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
        ));
        assert!(!plainly_public(
            b"https://api.example.com/v1?token=Yf4wQz8Rk2m"
        ));
        assert!(!plainly_public(b"redis://:Yf4wQz8Rk2m@cache:6379"));
    }

    #[test]
    fn column_names() {
        assert_eq!(credential_column(b"\"Password\""), Some(false));
        assert_eq!(credential_column(b"api-key"), Some(true));
        assert_eq!(credential_column(b"password_reset_sent_at"), None);
        assert_eq!(credential_column(b"local_admin_pw"), Some(false));
        assert_eq!(credential_column(b"BIOS Password"), Some(false));
        assert_eq!(credential_column(b"local_admin"), None);
        assert_eq!(credential_column(b"folderPassword"), Some(false));
        assert_eq!(credential_column("Nenosiri".as_bytes()), Some(false));
        assert_eq!(credential_column("كلمة المرور".as_bytes()), Some(false));
        assert_eq!(credential_column(b"smtp_password"), Some(false));
        assert_eq!(credential_column(b"hasPassword"), None);
        assert_eq!(credential_column(b"resetPassword"), None);
        assert_eq!(credential_column(b"token_count"), None);
    }

    #[test]
    fn kubernetes_secret_json_values() {
        let doc = r#"{"apiVersion":"v1","items":[
 {"kind":"ConfigMap","data":{"password":"bm90bWU="}},
 {"apiVersion": "v1", "data": {"DB_PASSWORD": "aHVudGVyMg==", "username": "YWRtaW4=",
  "nested": {"x": "eQ=="}}, "kind": "Secret",
  "metadata": {"annotations": {"note": "a } brace and \"quotes\" {"}, "name": "db"},
  "stringData": {"token": "s3cr3t-t0ken", "n": 5}, "type": "Opaque"}]}"#;
        let v = values(Extract::KubernetesSecret, doc, "\"kind\": \"Secret\"");
        assert_eq!(
            v,
            vec![
                ("DB_PASSWORD".into(), "aHVudGVyMg==".into(), true),
                ("token".into(), "s3cr3t-t0ken".into(), false),
            ]
        );
    }

    #[test]
    fn kubernetes_secret_json_after_strings_with_braces_and_escaped_quotes() {
        let doc = r#"[{"kind": "Secret", "data": {"a": "b25l"}},
 {"data": {"DB_PASSWORD": "aHVudGVyMg=="}, "note": "a } brace, \"quotes\" {", "x": "\\",
  "kind": "Secret"}]"#;
        let second = doc.rfind("\"kind\"").unwrap();
        let mut out = Vec::new();
        run(
            Extract::KubernetesSecret,
            doc.as_bytes(),
            second..second + 16,
            &mut out,
        );
        let keys: Vec<&str> = out.iter().map(|e| &doc[e.key.clone()]).collect();
        assert_eq!(keys, ["DB_PASSWORD"]);
    }

    #[test]
    fn keys_naming_credentials() {
        for k in [
            "node.session.auth.password_in",
            "apiPassword",
            "DB_PASS",
            "signing-key",
        ] {
            assert!(names_credential(k.as_bytes()), "{k}");
        }
        for k in ["LOG_LEVEL", "mode", "replicas"] {
            assert!(!names_credential(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn urls_with_a_password() {
        for v in [
            "https://deploy:ci55Q2qj.34uANpG_@nexus.wayne.io/repository/pypi/simple",
            "postgres://app:Wq8vN3pL@db:5432/app?sslmode=require",
            "amqp://u:p@mq",
        ] {
            assert!(url_with_userinfo(v.as_bytes()), "{v}");
        }
        for v in [
            "https://nexus.wayne.io/repository/pypi/simple",
            "https://user@host/path",
            "https://host/path?redirect=a:b@c",
            "mailto:ops@example.com",
            "https://u:@host/",
        ] {
            assert!(!url_with_userinfo(v.as_bytes()), "{v}");
        }
        assert!(url_with_secret_param(
            b"https://ads.example.co.uk/vast/v4?zone=tv1&key=e8subq5k4yke51vk1anc&cb=[CB]"
        ));
        for v in [
            "https://ads.example.co.uk/vast/v4?zone=tv1&cb=1",
            "https://example.com/?key=abc",
            "key=e8subq5k4yke51vk1anc",
        ] {
            assert!(!url_with_secret_param(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn host_names() {
        for v in [
            "tyrell.us.auth0.com",
            "db.prod.internal",
            "cache-01.eu.example.de",
            "db.prod.internal:5432",
            "memcached.ils.svc:11211",
        ] {
            assert!(host_name(v.as_bytes()), "{v}");
        }
        // Passphrases of dotted words, values with capitals or other characters.
        for v in [
            "quiet.river.stone.lamp",
            "Tyrell.us.auth0.com",
            "db.prod.internal:5432a",
            "db.prod.internal:1234567",
            "localhost",
            ".com",
            "a..com",
        ] {
            assert!(!host_name(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn public_keys_in_name_value_tables() {
        let md = "| What | Value |\n|---|---|\n\
                  | Algolia search-only key | `07218e84cb6bbc98a195cd6714240187` |\n\
                  | reCAPTCHA site key | `6LDYcqvqtdkcUJoBaBZzzmImWytMbwtc37VTZoIP` |\n\
                  | Paddle client token | `live_843d7a758b494743a57b89bb8c6` |\n\
                  | Algolia admin key | `d1918e61fe8e5cee745fbbc4ea1a544f` |\n";
        let v = values(Extract::MarkdownColumns, md, "| What");
        let v: Vec<&str> = v.iter().map(|(_, value, _)| value.as_str()).collect();
        assert_eq!(v, ["d1918e61fe8e5cee745fbbc4ea1a544f"]);
    }

    #[test]
    fn a_secret_column_beside_accounts_holds_passwords() {
        let html = "<table><tr><th>System</th><th>User / var</th><th>Secret</th></tr>\n\
                    <tr><td>Jenkins</td><td>admin</td><td><code>Coffee@2019</code></td></tr>\n\
                    </table>";
        let found = |kind, text: &str, anchor: &str| {
            extracted(kind, text, anchor)
                .into_iter()
                .map(|e| (text[e.value].to_string(), e.needs_entropy))
                .collect::<Vec<_>>()
        };
        assert!(is_account_header(b"User / var"));
        assert!(!is_account_header(b"User agent"));
        assert!(!is_account_header(b"Accounting"));
        let want = [("Coffee@2019".to_string(), false)];
        assert_eq!(found(Extract::HtmlTable, html, "<th>System"), want);
        // Without an account column, a `Secret` column is judged as keys are.
        let md = "| Service | Secret |\n|---|---|\n| Jenkins | Coffee@2019 |\n";
        let want = [("Coffee@2019".to_string(), true)];
        assert_eq!(found(Extract::MarkdownColumns, md, "| Service"), want);
    }

    #[test]
    fn public_secret_keys() {
        for k in [
            "username",
            "DB_HOST",
            "apiAddress",
            "smtpUsername",
            "ca.crt",
            "redis.port",
            "known_hosts",
            "ssh-known-hosts",
            "krb5.conf.realm",
            "identity.pub",
            "project",
            "LANGFUSE_PUBLIC_KEY",
            "jwtPublicKey",
            "DJANGO_SETTINGS_MODULE",
        ] {
            assert!(public_secret_key(k.as_bytes()), "{k}");
        }
        for k in [
            "password",
            "apiPassword",
            "token",
            "ACCESS_KEY",
            "id_rsa",
            "ca-key",
            "LANGFUSE_SECRET_KEY",
            "PRIVATE_KEY",
        ] {
            assert!(!public_secret_key(k.as_bytes()), "{k}");
        }
    }
}
