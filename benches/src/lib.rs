//! Deterministic inputs for keysweep's benchmarks (no files, no network): each behaves
//! differently on the scanner's hot path.

/// A small xorshift generator, so inputs are identical on every run and machine.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// Next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[(self.next_u64() % 62) as usize] as char)
            .collect()
    }
}

const IDENTS: &[&str] = &[
    "user", "account", "request", "response", "config", "value", "index", "buffer", "count",
    "handler", "result", "client", "session", "options", "payload", "message", "router", "cache",
    "record", "items", "params", "context", "logger", "service", "model", "query", "status",
];

/// Source-like text: code in several languages, comments, a few secret-ish words (`token`,
/// `password`, `key`) at realistic density, and one real-looking secret per ~100 KB.
pub fn source_like(len: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5eed);
    let mut out = String::with_capacity(len + 256);
    while out.len() < len {
        let a = rng.pick(IDENTS);
        let b = rng.pick(IDENTS);
        let line = match rng.next_u64() % 16 {
            0 => format!("    // Returns the {a} for the given {b}, or None.\n"),
            1 => format!("def {a}_{b}(self, {b}):\n        return self.{a}.get({b})\n"),
            2 => format!("  const {a} = await fetch(`/api/{b}/${{id}}`, {{ method: 'GET' }});\n"),
            3 => format!(
                "    if {a}.len() > {} {{ return Err(Error::TooLong); }}\n",
                rng.next_u64() % 1000
            ),
            4 => format!("func ({a} *{b}) Validate(token string) error {{ return nil }}\n"),
            5 => format!("  {a}_{b}: {}\n", rng.next_u64() % 65536),
            6 => format!("    let password_hash = hash(&{a}.password, &salt);\n"),
            7 => format!("<{a} name=\"{b}\" enabled=\"true\"/>\n"),
            8 => format!("    {a}.insert(\"{b}\".to_string(), {b}.clone());\n"),
            9 => format!("import {{ {a}, {b} }} from './{a}';\n"),
            10 => format!("        self.{a} = {b}  # keep the api key out of logs\n"),
            11 if rng.next_u64().is_multiple_of(200) => {
                format!("API_TOKEN = \"{}\"\n", rng.alnum(32))
            }
            _ => format!(
                "    {a}.{b}({}, {});\n",
                rng.next_u64() % 100,
                rng.pick(IDENTS)
            ),
        };
        out.push_str(&line);
    }
    out.into_bytes()
}

/// Text where almost every line has a keyword hit: assignments to `password`, `token`,
/// `secret`, `api_key`, AWS-like and Slack-like prefixes; a third confirm as findings.
pub fn candidate_dense(len: usize) -> Vec<u8> {
    let mut rng = Rng::new(0xdead);
    let mut out = String::with_capacity(len + 256);
    while out.len() < len {
        let line = match rng.next_u64() % 8 {
            0 => format!("password = \"{}\"\n", rng.alnum(14)),
            1 => format!("token: {}\n", rng.pick(IDENTS)),
            2 => format!("client_secret={}\n", rng.alnum(28)),
            3 => format!("aws_access_key_id = AKIA{}\n", rng.alnum(16).to_uppercase()),
            4 => format!("the api_key field holds the {} key\n", rng.pick(IDENTS)),
            5 => "Authorization: Bearer $TOKEN\n".to_string(),
            6 => format!(
                "slack: xoxb-{}-{}\n",
                rng.next_u64() % 1_000_000_000,
                rng.alnum(24)
            ),
            _ => format!("secret_name: {}-{}\n", rng.pick(IDENTS), rng.pick(IDENTS)),
        };
        out.push_str(&line);
    }
    out.into_bytes()
}

/// Prose with no keyword of any rule: the prefilter's best case.
pub fn no_candidates(len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "river", "flows",
        "under", "bridge", "morning", "light", "falls", "on", "quiet", "hills", "and",
    ];
    let mut rng = Rng::new(0xbeef);
    let mut out = String::with_capacity(len + 64);
    while out.len() < len {
        out.push_str(rng.pick(WORDS));
        out.push(if rng.next_u64().is_multiple_of(12) {
            '\n'
        } else {
            ' '
        });
    }
    out.into_bytes()
}
