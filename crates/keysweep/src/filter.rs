//! Gates between a regex match and a finding: entropy and placeholder detection.

use std::collections::HashSet;
use std::sync::OnceLock;

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
    b"changeme",
    b"change_me",
    // Instructions in place of a value: `please-generate-with-openssl-rand`, `please_set_me`,
    // `replace-with-a-long-random-string`.
    b"please",
    b"replace-with",
    b"replace_with",
    b"random-string",
    b"random_string",
    b"generate-with",
    b"generate_with",
    b"openssl-rand",
    b"openssl_rand",
    b"change-me",
    b"placeholder",
    b"redacted",
    // BFG's replacement of a purged value.
    b"***removed***",
    b"process.env",
    b"os.environ",
    b"getenv",
    b"env(",
    b"env[",
    b"****",
    // Windows Setup's scrubbed unattend.xml values.
    b"*sensitive*data*deleted*",
    b"...",
    b"\xe2\x80\xa6", // the ellipsis character
    // "your" and "issued/enter here" in templates written in Russian, Chinese, Japanese and
    // Korean (`ваш_пароль`, `你的AccessKey`, `あなたのアクセスキー`, `발급받은_키`).
    "ваш".as_bytes(),
    // The same word in the legacy Cyrillic encodings (KOI8-R, Windows-1251) of old configs.
    b"\xd7\xc1\xdb",
    b"\xe2\xe0\xf8",
    "你的".as_bytes(),
    "あなたの".as_bytes(),
    "발급받은".as_bytes(),
    "여기에".as_bytes(),
    b"insert_",
    b"insert-",
    b"set-me",
    b"set_me",
    b"setme",
    b"fill-me",
    b"fill_me",
    b"fillme",
    b"replace_me",
    b"replaceme",
    // GitHub's fixed password for a token given as the user name (`.netrc`, Basic auth).
    b"x-oauth-basic",
    // Filled in by a pipeline: `REPLACED_AT_DEPLOY`, `injected-at-build`, `SET_BY_RELEASE`.
    b"replaced_",
    b"replaced-",
    b"_at_deploy",
    b"-at-deploy",
    b"injected_at",
    b"injected-at",
    b"set_by_",
    b"set-by-",
    b"dummy",
    // Values that say what they are: `fake-password`, `do-not-use-in-prod`.
    b"fake-",
    b"fake_",
    b"-fake",
    b"_fake",
    b"do-not-use",
    b"do_not_use",
    b"donotuse",
    b"not-a-real",
    b"not_a_real",
    b"notareal",
    b"not-real",
    b"not_real",
    b"notreal",
    b"not-used-in-prod",
    b"not_used_in_prod",
    b"not-for-prod",
    b"not_for_prod",
    b"not-for-production",
    b"not_for_production",
    b"not-secret",
    b"not_secret",
    b"notsecret",
    b"not-a-secret",
    b"not_a_secret",
    // Interpolation in Ruby, Python %-formatting and friends: the value is built at run time.
    b"#{",
    b"%{",
    // A value that spells out "password" is a sample (`42password`, `my-passwords`).
    b"password",
    b"passwd",
    // The same in other languages: "password" (`MeinPasswort2024`) and "example" (`beispiel`,
    // `exemplo`, `ejemplo`). Seven letters or more: no random value holds one by chance.
    b"passwort",
    b"kennwort",
    b"wachtwoord",
    b"contrasena",
    b"motdepasse",
    b"mot_de_passe",
    b"beispiel",
    b"exemplo",
    b"ejemplo",
    b"esempio",
    b"przyklad",
    b"voorbeeld",
    // "Enter", "insert" and "replace" (with "here") in translated templates (six letters and
    // more: one turns up in a random value about once in 10^9 positions): Czech
    // `zadejte_heslo`, Turkish `BURAYA_SIFRE_GIRIN`, Italian `inserisci_qui`, German
    // `hier_eintragen`, Spanish `ingrese_su_clave`, Portuguese `digite_a_senha`.
    b"zadejte",
    b"buraya",
    b"_girin",
    b"-girin",
    b"inserisci",
    b"inserire",
    b"eintragen",
    b"ersetzen",
    b"ingrese",
    b"ingresa",
    b"reemplazar",
    b"digite",
    b"substituir",
    b"remplacer",
    b"sostituire",
    b"wprowadz",
    b"invullen",
    b"vervangen",
    // "Your password" and "password" in other scripts (`ваш_пароль`, `你的密码`): a template
    // value in a translated sample config.
    "пароль".as_bytes(),
    "ваш_".as_bytes(),
    "ваш-".as_bytes(),
    "你的".as_bytes(),
    "您的".as_bytes(),
    "密码".as_bytes(),
    "密碼".as_bytes(),
    "パスワード".as_bytes(),
    "あなたの".as_bytes(),
    "비밀번호".as_bytes(),
    // Sample sequences.
    b"abcd1234",
    b"1234abcd",
    b"a1b2c3d4",
    b"1a2b3c4d",
];

/// Starts of values (compared ASCII-case-insensitively) that address the reader in another
/// language, as `your_` does in English: `sua_chave_api_aqui`, `dein-token`, `votre_cle`.
/// Only at the start: inside a random value these short runs occur by chance.
const PLACEHOLDER_PREFIXES: &[&[u8]] = &[
    // Encrypted in place by the application that reads it (a ServiceNow MID server's
    // `encrypt:...`, `encrypted:...` in several Java tools): the key is not in the file.
    b"encrypt:",
    b"encrypted:",
    b"sua_",
    b"sua-",
    b"seu_",
    b"seu-",
    b"tu_clave",
    b"tu-clave",
    b"tu_token",
    b"tu-token",
    b"dein_",
    b"dein-",
    b"deine_",
    b"deine-",
    b"deinpass",
    b"deintoken",
    b"votre_",
    b"votre-",
    b"twoj_",
    b"twoje_",
    b"twoj-",
    b"jouw_",
    b"jouw-",
    b"il_tuo",
    b"la_tua",
];

/// Prefixes of keys that are public by design, made to be shipped in browser and app code:
/// Stripe's, Clerk's and Paystack's publishable keys, PostHog's project key, Mapbox's public
/// tokens, RevenueCat's app-specific SDK keys, New Relic's browser keys and Branch's SDK keys
/// (their secret counterparts are `sk_live_`, `phx_`, `sk.eyJ`, RevenueCat's `sk_`, `NRAK-`
/// and `secret_live_`).
const PUBLIC_PREFIXES: &[&[u8]] = &[
    b"pk_live_",
    b"pk_test_",
    b"phc_",
    b"pk.eyJ",
    b"appl_",
    b"goog_",
    b"amzn_",
    b"NRJS-",
    b"key_live_",
    b"key_test_",
];

/// Whole values (compared ASCII-case-insensitively) that are words, not secrets.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"password",
    b"passwd",
    // The word in Portuguese, Spanish and Russian (`postgresql://usuario:senha@...`).
    b"senha",
    "contraseña".as_bytes(),
    "пароль".as_bytes(),
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
    b"todo",
    b"tbd",
    b"fixme",
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
    // MinIO's documented default root user and password, and the GreenMail test mail
    // server's default account.
    b"minioadmin",
    b"greenmail",
    // ActiveMQ's shipped jetty-realm.properties (`admin: admin, admin`, `user: user, user`).
    b"user",
    // The passphrase of the xkcd comic, quoted in docs and tests.
    b"correct-horse-battery-staple",
    // "Change it" in templates written in other languages (Turkish `DEGISTIR`, Spanish
    // `CAMBIAR`, Portuguese `ALTERAR`, German `AENDERN`).
    b"degistir",
    b"cambiar",
    b"cambiame",
    b"alterar",
    b"aendern",
    b"zmienic",
    b"modifier",
    // The word "password" itself in other languages, as a template's stand-in
    // (`postgresql://usuario:contrase\u{f1}a@localhost`).
    "contrase\u{f1}a".as_bytes(),
    b"contrasena",
    b"senha",
    b"passwort",
    b"kennwort",
    b"wachtwoord",
    b"haslo",
    "has\u{142}o".as_bytes(),
    b"motdepasse",
    b"parola",
    "l\u{f6}senord".as_bytes(),
    b"salasana",
];

/// The word "password" capitalised in English, German, Dutch, Spanish and French, as password
/// policies make people start a password.
const POLICY_WORDS: &[&[u8]] = &[
    b"Password",
    b"Passwort",
    b"Kennwort",
    b"Wachtwoord",
    b"Contrasena",
    b"Motdepasse",
];

/// `Password1!`, `Password@123`, `Kennwort6875!`: the word "password" (in English, German,
/// Dutch, Spanish or French) capitalised, then digits and a symbol, as password policies
/// demand. Samples spell the word plainly (`password`, `mypassword`, `password123`); this
/// shape is the weak password people really set, so the placeholder word in it does not excuse
/// it. Returns the part after the word.
fn policy_password_rest(s: &[u8]) -> Option<&[u8]> {
    let rest = POLICY_WORDS.iter().find_map(|w| s.strip_prefix(*w))?;
    let symbol = |b: &u8| b"!@#$%^&*?+".contains(b);
    ((2..=8).contains(&rest.len())
        && rest.iter().all(|b| b.is_ascii_digit() || symbol(b))
        && rest.iter().any(u8::is_ascii_digit)
        && rest.iter().any(symbol))
    .then_some(rest)
}

/// `Password1`, `Passwort2024`: a password policy's word capitalised, then one to eight
/// digits. A placeholder in code and samples (`password: "Password123"` in a test), but the
/// weak password somebody set where a value is read as one set for an account: a credential
/// column of an export, a Kubernetes Secret's `password`.
pub(crate) fn is_policy_word_with_digits(s: &[u8]) -> bool {
    POLICY_WORDS
        .iter()
        .chain(&[&b"Welcome"[..], b"Changeme"])
        .find_map(|w| s.strip_prefix(*w))
        .is_some_and(|rest| (1..=8).contains(&rest.len()) && rest.iter().all(u8::is_ascii_digit))
}

/// Whether `secret` is a placeholder rather than a secret: a documentation example
/// (`AKIAIOSFODNN7EXAMPLE`), a template (`${TOKEN}`, `{{ secrets.X }}`, `<token>`), a
/// reference to the environment (`process.env.X`, `os.environ[...]`), a mask (`****`), a
/// value encrypted in place (Jasypt's `ENC(...)`, SOPS's `ENC[...]`), a reference into a secret
/// store (`vault:kv/app`, `op://...`), a repeated or ascending run (`xxxxxxxx`, `0000000000`,
/// `12345678`), a bare word (`password`, `changeme`), or a key public by design (a Stripe
/// `pk_live_…` publishable key, a PostHog `phc_…` project key).
///
/// ```
/// use keysweep::is_placeholder;
/// assert!(is_placeholder(b"AKIAIOSFODNN7EXAMPLE"));
/// assert!(is_placeholder(b"your_api_key_here"));
/// assert!(is_placeholder(b"<token>"));
/// assert!(is_placeholder(b"${GITHUB_TOKEN}"));
/// assert!(is_placeholder(b"changeme"));
/// assert!(is_placeholder(b"zadejte_heslo"));
/// assert!(is_placeholder(b"BURAYA_SIFRE_GIRIN"));
/// assert!(is_placeholder("ваш_пароль".as_bytes()));
/// assert!(is_placeholder("你的AccessKeySecret".as_bytes()));
/// assert!(is_placeholder(b"ENC(t2ZZX9eVM0BdY04assAauyFCnrv1WaPH)"));
/// assert!(is_placeholder(b"ENC[AES256_GCM,data:DKXZN1iXQkHk,iv:/bf2lP8i1om=,type:str]"));
/// assert!(is_placeholder(b"2.HPjfcdh/TyRvhGMaGZcpgw==|99vaaOL8sahAiwPpfCFPLseo84xqIyPW63mx4rkh0u4=|Aq0Dmq+7/T5zjitQktEgvu2ELZQ2Wp2hrKqdXZSPGdE="));
/// assert!(is_placeholder(b"EJ[1:z3KLEWPfBwG2Az/Kw5dwEjeCiRF=:ImPNZpYqRllrx:ui8ATsUQFpBYj]"));
/// assert!(is_placeholder(b"AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq8Kv3XjrQbPsJ0wKHq1nEEvdGzYdUu0WjZd8tFc"));
/// assert!(!is_placeholder(b"AgKy3i4OJSWK+PiTySYZZA9rO43cGDEq8Kv3XjrQbPsJ0wKHq1nEEvdGzYdUu0WjZd8tFc"));
/// // MuleSoft's encrypted secure properties.
/// assert!(is_placeholder(b"![r8weir+b1BDTUD0RS13eg==]"));
/// assert!(!is_placeholder(b"![Summer 2024]"));
/// // WebLogic's encrypted values.
/// assert!(is_placeholder(b"{AES256}0mQ8wJlQKLCQWONBKcGtlFtQz8+e520geaEHeV07eqU="));
/// // Splunk's encrypted `$7$` values; a Mosquitto PBKDF2 hash stays.
/// assert!(is_placeholder(b"$7$Qh2mZ8xvKt0rB4nW6cYpL1sJ9dF3gA5eU7iO2kX0vRbM4tN8q=="));
/// assert!(!is_placeholder(b"$7$101$Rk2XbQ9mTz4LpW8v$Zm3cT8nQ2vXk7Lp4Wn9cYb3Hd6Jf1Sg0Ae5uKiO2zR7mT9vLp4Wn8cBYh3JdF6sG1aEu0iO5zK2xR7mV9pL4wN8c=="));
/// assert!(is_placeholder(b"%GITHUB_TOKEN%"));
/// assert!(is_placeholder(b"!DB_PASS!"));
/// assert!(!is_placeholder(b"!Summer2024!"));
/// // A DPAPI blob (NuGet's encrypted `Password`).
/// assert!(is_placeholder(b"wcFMA/xDdHCJBTolAQ//ZNu2qK1k8f6K0xwQ3H1m0x9wRt5LpQk2vXz8mN3bYc7sW"));
/// assert!(!is_placeholder(b"wcFMAxDdHCJBTolAQ2ZNu2qK1k8f6"));
/// assert!(is_placeholder(b"!dHKuDK0ncfvNELxENH1uAHukbej1pxDH3SM7Fa1Q"));
/// assert!(is_placeholder(b"anystring:$MAILCHIMP_KEY"));
/// assert!(is_placeholder(b"_env:YESOD_PGPASS"));
/// assert!(!is_placeholder(b"_env:YESOD_PGPASS:Kq8zTw3mLx4n"));
/// assert!(is_placeholder(b"0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b"));
/// assert!(!is_placeholder(b"0x3f, 0x9a, 0x0b, 0x71, 0xc4, 0x2e, 0x88, 0x15, 0xd0, 0x6b"));
/// assert!(is_placeholder(b"/run/secrets/snowflake_password"));
/// assert!(!is_placeholder(b"deploy:Xk9$mQ2vLw"));
/// assert!(is_placeholder(b"{AQAAABAAAAAQnS/PK6qe4thgr2C8soc5CA1JnRoGP82h4d8duJmF5TVBA4G6=}"));
/// assert!(is_placeholder(b"AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAAhIi/fgkkx2UsVCjOr3EiXsBUQgGirmMjWCGuR1iPm+SQqCNV+533fwjCVekCiQkRGViTbXYIiDae"));
/// assert!(is_placeholder(b"vault:kv/gateway#password"));
/// assert!(is_placeholder(b"@Microsoft.KeyVault(VaultName=kv-prod;SecretName=JwtKey)"));
/// assert!(is_placeholder(b"please-generate-with-openssl-rand"));
/// assert!(is_placeholder(b"phc_0y0riFGskOVoPjUVNkjS7ZxPhHMckHVWAqHjyjbrzZ0"));
/// // Random punctuation is no template (a WordPress salt), `{name}` is.
/// assert!(!is_placeholder(b"8#CZo4->*w8L1<xKzd0Tq};3nX?YoL%5*0SYphdwoonS#arbh(2eph^G,TPlh_Wt"));
/// assert!(is_placeholder(b"{{ .Values.apiKey }}"));
/// // A reference, and a password that starts with `$`.
/// assert!(is_placeholder(b"$DbPassword"));
/// assert!(!is_placeholder(b"$Juniper2021"));
/// assert!(!is_placeholder(b"$HfPI6XCtdf#"));
/// assert!(is_placeholder(b"$HOME/.config/token"));
/// assert!(is_placeholder(b"$env:API_TOKEN"));
/// assert!(!is_placeholder(b"$P$BriOme8eF6.AyGI8YsR373.Qm8UU3HFU"));
/// // Substitutions, and a Django key's random punctuation.
/// assert!(is_placeholder(b"$(cat /run/secrets/db_password)"));
/// assert!(is_placeholder(b"$($acct.Content)"));
/// assert!(is_placeholder(b"$($pw2)"));
/// assert!(is_placeholder(b"$(DB_PASS2)"));
/// assert!(!is_placeholder(b"w($(fnnu1d)(1vsuys3^_!rbt@%bhum#cu8k^jcf8!syrq$_5_"));
/// assert!(is_placeholder(b"&&app_pwd"));
/// assert!(is_placeholder(b"&app_pwd"));
/// assert!(!is_placeholder(b"&Summer2024"));
/// assert!(is_placeholder(b"%(db_password)s"));
/// assert!(is_placeholder(b"##PARTNER_PORTAL_CLIENT_SECRET##"));
/// assert!(is_placeholder(b"__DbPassword__"));
/// assert!(!is_placeholder(b"&OejSz%lZ(B#ARMWG#58LpIMD_l=%(oSYWWJY^XD&Gsi+h17*P"));
/// // A host under a name reserved for documentation, and somebody's own server.
/// assert!(is_placeholder(b"https://chat.example.com/hooks/a1ue2wd47j1swkwqp3r03bai4f"));
/// assert!(!is_placeholder(b"https://chat.example.dev/hooks/a1ue2wd47j1swkwqp3r03bai4f"));
/// assert!(is_placeholder(b"https://chat.example.dev/hooks/example"));
/// assert!(is_placeholder(b"Kq8zTw3mLx{}"));
/// assert!(!is_placeholder(b"Summer{2024}!"));
/// assert!(!is_placeholder(b"ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u"));
/// assert!(is_placeholder(b"ACCAQFODXMPL4YFHP7DZE"));
/// assert!(!is_placeholder(b"jug8Q~xmplM9dvfrr775-9IVJ~TA~ajVGSJnpRP1"));
/// // Code, not a value: an f-string's call, `env(NAME)`, a regex group, a concatenation.
/// assert!(is_placeholder(b"{dbutils.secrets.get("));
/// assert!(is_placeholder(b"env(RESEND_API_KEY)"));
/// assert!(is_placeholder(b"os.environ/REDIS_PASSWORD"));
/// assert!(is_placeholder(b"(.+)"));
/// assert!(is_placeholder(b"UkVQTEFDRV9NRQ=="));
/// assert!(is_placeholder(b"%%env_DD_PG_PASSWORD%%"));
/// assert!(is_placeholder(b"Y2hhbmdlbWU="));
/// assert!(!is_placeholder(b"S3E4I3ZMbTJYejlw"));
/// assert!(is_placeholder(br"^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^\w]).{24,}$"));
/// assert!(!is_placeholder(b"Tr0ub4(?=dor"));
/// assert!(is_placeholder(b" & pwd & "));
/// assert!(!is_placeholder(b"(Tr0ub4dor&3)"));
/// assert!(!is_placeholder(b"(Passw0rd+)"));
/// // Dots inside a whole crypt hash are its alphabet; a hash cut short with `...` is no hash.
/// let sha512 = b"$6$cg1XqiVF5cqHlXP5$GPveys82IjoZsywafBuna9IvAE8UI4pygXUm7hBN...\
///     uEgYLRGsQ0E1R7LaUN.oEbNxj4tkn5CYgdV1VAq5I6L";
/// assert!(!is_placeholder(sha512));
/// assert!(is_placeholder(b"$6$cg1XqiVF5cqHlXP5$GPveys82IjoZsywa..."));
/// ```
pub fn is_placeholder(secret: &[u8]) -> bool {
    let s = trim_quotes(secret);
    if s.is_empty() {
        return true;
    }
    if PLACEHOLDER_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    if starts_with_any(s, PLACEHOLDER_PREFIXES) {
        return true;
    }
    // A public prefix counts before a key's body (more than 8 bytes), not alone: `pk_live_`
    // by itself is the name of the format. Compared exactly: `NRJS-`, `pk.eyJ`.
    if is_public_value(s)
        || PUBLIC_PREFIXES
            .iter()
            .any(|p| s.len() > p.len() + 8 && s.starts_with(p))
    {
        return true;
    }
    if needles().is_match(s) && !dots_of_whole_crypt_hash(s) {
        // The policy shape excuses its word only: the rest must hold no needle either
        // (`Password****1` is masked). So does a URL's host that is not one reserved for
        // documentation: `chat.example.dev` is somebody's server.
        match policy_password_rest(s).or_else(|| url_without_private_host(s)) {
            Some(rest) if !needles().is_match(rest) => {}
            _ => return true,
        }
    }
    // Documentation ids: AWS abbreviates EXAMPLE as XMPL (`ACCAQFODXMPL4YFHP7DZE`), in capitals;
    // compared ignoring case it turns up in one random 40-character secret in a few thousand.
    // Ids are short: in a longer key (an 88-character Azure account key) it is chance.
    if s.len() <= 40 && memchr::memmem::find(s, b"XMPL").is_some() {
        return true;
    }
    // Angle-bracket or square-bracket templates: `<token>`, `[API_KEY]`; a whole value in
    // braces that is no JSON object: Jenkins' `{AQAAAB…}` ciphertext (encrypted with the
    // instance's master key; well-formed ones are reported by their own rule).
    let (first, last) = (s[0], s[s.len() - 1]);
    if (first == b'<' && last == b'>')
        || (first == b'[' && last == b']')
        || (first == b'{' && last == b'}' && !s.contains(&b'"'))
    {
        return true;
    }
    if is_replacement_token(s) {
        return true;
    }
    if has_substitution(s) {
        return true; // `$(cat /run/secrets/db)`, `$(DB_PASSWORD)`, `%(db_password)s`
    }
    // SQL*Plus substitution variables: `IDENTIFIED BY "&&app_pwd"`, `&1`, `&app_pwd`, `&pw.`;
    // not `&Summer2024`, which reads as a password behind one `&`.
    if first == b'&' {
        let double = s.starts_with(b"&&");
        let name = if double { &s[2..] } else { &s[1..] };
        let (name, dot) = match name.strip_suffix(b".") {
            Some(n) => (n, true),
            None => (name, false),
        };
        let identifier = name.first().is_some_and(u8::is_ascii_alphabetic)
            && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if (!name.is_empty() && name.iter().all(u8::is_ascii_digit))
            || (identifier && (double || dot || name.contains(&b'_')))
        {
            return true;
        }
    }
    if has_template_slot(s, b'<', b'>') || has_template_slot(s, b'{', b'}') {
        return true; // `<token>`, `{registry_id}-auth-token`, `{{ .Values.key }}`
    }
    // systemd specifiers for a unit's directories: `%d/api-key` is a file of the unit's
    // credentials directory (`LoadCredential=`), `%h/.token` one in the user's home.
    if s.len() > 3 && first == b'%' && b"dhtTSCLEVy".contains(&s[1]) && s[2] == b'/' {
        return true;
    }
    // Shell-style references: `$TOKEN`, `$env:TOKEN`; not a capitalised word and a number
    // behind a `$` (`$Juniper2021`, `$Summer24!`): the shape of a person's password, which
    // variable names do not take.
    // A byte no reference holds (`$HfPI6XCtdf#`, `$C4p8.s+VD$a`) makes it a password.
    if first == b'$'
        && s.len() > 1
        && (s[1].is_ascii_alphabetic() || s[1] == b'_')
        && !dollar_password(&s[1..])
        && !crypt_hash(s)
        && s[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_.:/-${}()[];,'\"\\".contains(&b))
    {
        return true;
    }
    // Azure Resource Manager template expressions cut short at their first quote (a rule's
    // value stops there): `[parameters(` of `"[parameters('adminPassword')]"`. Whole ones
    // end with `]` and are caught above. Function names are camelCase.
    if first == b'[' && s.get(1).is_some_and(u8::is_ascii_lowercase) {
        let name = s[1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name >= 2 && s.get(1 + name) == Some(&b'(') {
            return true;
        }
    }
    // A Python f-string's or JS template's call cut short at its first quote (a rule's value
    // stops there): `{dbutils.secrets.get(` of `f'password="{dbutils.secrets.get("kv", "pw")}"'`.
    if first == b'{'
        && s.get(1)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        let name = s[1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
            .count();
        if s.get(1 + name) == Some(&b'(') {
            return true;
        }
    }
    // LiteLLM's config.yaml reads `os.environ/NAME` from the environment.
    if let Some(name) = s.strip_prefix(b"os.environ/") {
        if !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return true;
        }
    }
    // Supabase's config.toml (and others) resolve `env(NAME)` from the environment.
    if s.len() > 5 && s[..4].eq_ignore_ascii_case(b"env(") && last == b')' {
        let inner = &s[4..s.len() - 1];
        if inner
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            return true;
        }
    }
    // A regex group standing where a URL's password goes (`redis://(\w+):(.+)@(.+)`): code that
    // parses such URLs.
    if first == b'(' && last == b')' && s.len() <= 16 {
        let inner = &s[1..s.len() - 1];
        let regex = |b: &u8| b"\\.+*?[]^-$|".contains(b) || b.is_ascii_alphanumeric();
        let token = |t: &[u8]| memchr::memmem::find(inner, t).is_some();
        if inner.iter().all(regex) && (token(b".+") || token(b".*") || token(b"\\") || token(b"["))
        {
            return true;
        }
    }
    // Datadog Autodiscovery's template variables (`%%env_DD_PG_PASSWORD%%`, `%%host%%`):
    // the agent fills them in.
    if s.len() > 4 && s.starts_with(b"%%") && s.ends_with(b"%%") {
        return true;
    }
    // A placeholder written in base64, as Secret templates hold them (`UkVQTEFDRV9NRQ==` is
    // `REPLACE_ME`, `Y2hhbmdlbWU=` is `changeme`). Only short values are decoded: the words
    // sought are 64 bytes at most, and longer keys need not pay for a decode.
    if (8..=88).contains(&s.len()) && s.len().is_multiple_of(4) {
        if let Some(text) = crate::check::base64_decode(s) {
            // A word or name (`REPLACE_ME`), not a document (`{"UserID": ...}` of a token).
            let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
            if (4..=64).contains(&text.len()) && text.iter().all(word) && is_placeholder(&text) {
                return true;
            }
        }
    }
    // A password policy's regex (`^(?=.*[A-Z])(?=.*\d).{12,}$`): lookaheads are regex syntax
    // that a password would hold only by chance, and never together with `.*` or a class.
    let token = |t: &[u8]| memchr::memmem::find(s, t).is_some();
    if (token(b"(?=") || token(b"(?!")) && (token(b".*") || token(b".{") || token(b"[")) {
        return true;
    }
    // A string concatenated around a variable, as VBScript and Basic write it, cut at the
    // quotes: `" & pwd & "` of `"...;Password=" & pwd & ";"`.
    let bare = s.trim_ascii();
    if bare.len() > 2 && bare[0] == b'&' && bare[bare.len() - 1] == b'&' {
        return true;
    }
    // Windows (cmd, NuGet.Config, MSBuild) environment references: `%GITHUB_TOKEN%`, and
    // delayed expansion in batch files: `!DB_PASS!`.
    if s.len() > 2 && first == last && (first == b'%' || first == b'!') {
        let name = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_';
        let inner = &s[1..s.len() - 1];
        if inner
            .iter()
            .all(|b| name(b) || first == b'%' && b.is_ascii_lowercase())
        {
            return true;
        }
    }
    // Encrypted in place, with the key kept elsewhere.
    if is_encrypted_value(s) {
        return true;
    }
    // Yesod's `_env:NAME` (the value of the environment variable NAME); `_env:NAME:default`
    // falls back to a default written here, which is a value like any other.
    if let Some(name) = s.strip_prefix(b"_env:") {
        if !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
            return true;
        }
    }
    // A byte array of one repeated byte (`0x0b, 0x0b, ...`, the key of RFC 4231's first HMAC
    // test case; `0x00`s of a zeroed buffer): a test vector or filler, not key material.
    if s.len() >= 24 && s.starts_with(b"0x") {
        if let Some(hex) = byte_array_hex(s) {
            if hex.len() >= 16 && hex.chunks(2).all(|byte| byte == &hex[..2]) {
                return true;
            }
        }
    }
    // Django's mark of an account with no usable password (`set_unusable_password()`): `!`
    // and 40 random letters and digits, in `dumpdata` fixtures and user tables. No password
    // hashes to it.
    if s.len() == 41 && s[0] == b'!' && s[1..].iter().all(u8::is_ascii_alphanumeric) {
        return true;
    }
    if is_secret_reference(s) {
        return true;
    }
    // A user name and an interpolated variable (`"anystring:$MAILCHIMP_KEY"` in PHP or shell,
    // `user:$env:PASS` in PowerShell): the password is the variable's, not written here.
    if let Some(colon) = memchr::memmem::rfind(s, b":$") {
        let var = &s[colon + 2..];
        let var = var.strip_prefix(b"env:").unwrap_or(var);
        if var.len() >= 3
            && (var[0].is_ascii_alphabetic() || var[0] == b'_')
            && var.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
            && s[..colon].iter().all(|&b| !b.is_ascii_whitespace())
        {
            return true;
        }
    }
    let (longest_repeat, longest_ascending) = runs(s);
    longest_repeat >= (s.len() / 3).max(8) || longest_ascending >= 8
}

/// Whether `s` is a token that a deployment replaces or a tool's mask, never a value: Auth0
/// Deploy CLI keyword replacement (`##CLIENT_SECRET##`, `@@ALLOWED_URLS@@`), tokenizers of
/// release pipelines (`__FROM_VAULT__`; `#{DbPassword}#` is caught as a `{...}` slot), and
/// Ansible's `no_log` mask. Checked for every rule, those that keep placeholder-like words
/// too (weak passwords).
pub(crate) fn is_replacement_token(s: &[u8]) -> bool {
    if s == b"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" {
        return true;
    }
    [&b"##"[..], b"@@", b"__"].iter().any(|mark| {
        s.strip_prefix(*mark)
            .and_then(|r| r.strip_suffix(*mark))
            .is_some_and(|inner| {
                !inner.is_empty()
                    && inner
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                    && inner.iter().any(u8::is_ascii_alphabetic)
            })
    })
}

/// Whether `s` (quotes trimmed) is a value encrypted in place with a key kept elsewhere:
/// Jasypt, SOPS, Bitwarden, Sealed Secrets, EJSON, MuleSoft, WebLogic and Liberty, Splunk,
/// OpenPGP, Jenkins, DPAPI, KMS, PAN-OS and F5 ciphertexts. No rule reports one, not even
/// those that skip the placeholder filter (weak passwords): only the key's holder decrypts it.
pub(crate) fn is_encrypted_value(s: &[u8]) -> bool {
    let Some(&last) = s.last() else {
        return false;
    };
    // Encrypted in place, with the key kept elsewhere: Jasypt's `ENC(...)`, SOPS's
    // `ENC[AES256_GCM,data:...]`.
    if s.len() > 5
        && (s[..4].eq_ignore_ascii_case(b"ENC(") && last == b')'
            || s[..4].eq_ignore_ascii_case(b"ENC[") && (last == b']' || s.contains(&b',')))
    {
        return true;
    }
    // Bitwarden's EncString (`2.<iv>|<ciphertext>|<mac>`, base64 parts), as its encrypted
    // exports and its database hold every field: decrypted only with the account's key.
    if s.len() > 40
        && s[0].is_ascii_digit()
        && s[1] == b'.'
        && s.contains(&b'|')
        && s[2..]
            .split(|&b| b == b'|')
            .all(|p| p.len() >= 16 && is_base64_text(p))
    {
        return true;
    }
    // A Sealed Secrets ciphertext (a SealedSecret's `encryptedData`): two bytes of the
    // length of the RSA-encrypted session key (0x0200 for the controller's 4096-bit key, so
    // `AgA`...), the key, then the AES-GCM box. Only the cluster's controller decrypts it.
    if s.len() >= 64 && s.starts_with(b"Ag") && matches!(s[2], b'A'..=b'D') && is_base64_text(s) {
        return true;
    }
    // PAN-OS's `-AQ==<base64>` (secrets of a running config, IKE pre-shared keys) and F5
    // BIG-IP's `$M$<salt>$<base64>`: encrypted with the device's master key.
    if s.len() >= 20
        && (s.starts_with(b"-AQ==") && is_base64_text(&s[5..])
            || s.starts_with(b"$M$") && s[3..].contains(&b'$'))
    {
        return true;
    }
    // EJSON's `EJ[1:<public key>:<nonce>:<box>]`: encrypted to the file's `_public_key`.
    if s.starts_with(b"EJ[1:") && (last == b']' || s.len() > 64) {
        return true;
    }
    // MuleSoft's secure configuration properties, `![<base64>]`: encrypted with the key the
    // runtime is started with (`-Dmule.key`), never in the file.
    if s.len() >= 12 && s.starts_with(b"![") && last == b']' && is_base64_text(&s[2..s.len() - 1]) {
        return true;
    }
    // WebLogic's `{AES}`, `{AES256}`, `{3DES}` and Liberty's `{aes}`/`{aesgcm}` values:
    // encrypted with the domain's SerializedSystemIni.dat or the server's key (Liberty's
    // reversible `{xor}` is a rule's to report).
    if let Some(rest) = [&b"{AES}"[..], b"{AES256}", b"{AESGCM}", b"{3DES}"]
        .iter()
        .find_map(|p| {
            (s.len() > p.len() && s[..p.len()].eq_ignore_ascii_case(p)).then(|| &s[p.len()..])
        })
    {
        if rest.len() >= 16 && is_base64_text(rest) {
            return true;
        }
    }
    // Splunk's `$7$<base64>` (server.conf, authentication.conf, outputs.conf after a
    // restart): encrypted with the host's `splunk.secret`. Not the `$7$` of scrypt or
    // Mosquitto hashes, whose fields are split by `$`.
    if s.len() >= 40 && s.starts_with(b"$7$") && is_base64_text(&s[3..]) {
        return true;
    }
    // An OpenPGP message in base64 without its armour (Renovate's `encrypted` host rules,
    // values of tools that encrypt to a team's public key): it opens with a packet holding the
    // session key encrypted to a public key, new format (`wc..`, RSA 2048/3072/4096; `wV4D`,
    // ECDH) or old format (`hQ..`, `hF4D`). Only the private key's holder decrypts it.
    if s.len() >= 32
        && [
            &b"wcBMA"[..],
            b"wcDMA",
            b"wcFMA",
            b"wV4D",
            b"hQEMA",
            b"hQGMA",
            b"hQIMA",
            b"hF4D",
        ]
        .iter()
        .any(|p| s.starts_with(p))
        && is_base64_text(s)
    {
        return true;
    }
    // Jenkins' `{AQAAABAAAA...}` (credentials.xml, job configs): encrypted with the
    // instance's master key, which lives in JENKINS_HOME/secrets, not in the file, like
    // WebLogic's `{AES}` values with their domain's key.
    let inner = s
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}"))
        .unwrap_or(s);
    if inner.len() >= 30 && inner.starts_with(b"AQAAABAAAA") && is_base64_text(inner) {
        return true;
    }
    // Ciphertext blobs in base64 that only their key's holder decrypts: Windows DPAPI (the
    // blob's version 1 and provider GUID, as `nuget sources add` stores passwords) and AWS KMS
    // (a `CiphertextBlob`'s version and key-ARN header). Long enough to hold a payload.
    if s.len() >= 100
        && (s.starts_with(b"AQAAANCMnd8BFdERjHoAwE/Cl+sB")
            || s.starts_with(b"AQICAH")
            || s.starts_with(b"AQIBAH"))
    {
        return true;
    }
    false
}

/// Whether `s` holds only the characters of standard base64 (letters, digits, `+`, `/`, `=`).
fn is_base64_text(s: &[u8]) -> bool {
    s.iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

/// A reference to a secret kept in a secret store: `vault:kv/app#password`, `op://vault/item`,
/// `arn:aws:secretsmanager:...`, `ssm:/app/db`, `keyvault:app-db`. Such schemes never start a
/// random secret.
fn is_secret_reference(s: &[u8]) -> bool {
    const SCHEMES: [&[u8]; 13] = [
        b"vault:",
        // Docker and Kubernetes secret files (`DB_PASSWORD_FILE=/run/secrets/db`).
        b"/run/secrets/",
        b"/var/run/secrets/",
        // Azure App Service and Functions settings resolved from Key Vault.
        b"@microsoft.keyvault(",
        b"op://",
        b"ssm:",
        b"secretsmanager:",
        b"arn:aws:secretsmanager:",
        b"arn:aws:ssm:",
        b"keyvault:",
        b"gcpsm:",
        b"bws:",
        b"infisical:",
    ];
    starts_with_any(s, &SCHEMES)
}

/// An `https://` or `http://` URL's path and query when its host is no documentation host:
/// not under the names RFC 2606 reserves (`example.com`, `.net`, `.org`, `*.example`,
/// `*.test`, `*.invalid`, `localhost`) and with no other placeholder word in it.
fn url_without_private_host(s: &[u8]) -> Option<&[u8]> {
    let rest = s
        .strip_prefix(b"https://")
        .or_else(|| s.strip_prefix(b"http://"))?;
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    // User info (`user:changeme@`) is checked like the path.
    let (userinfo, host) = match host.iter().rposition(|&b| b == b'@') {
        Some(at) => (&host[..at], &host[at + 1..]),
        None => (&host[..0], &host[..]),
    };
    if needles().is_match(userinfo) {
        return None;
    }
    let host = host.split(|&b| b == b':').next().unwrap_or(host);
    let reserved = [
        &b"example.com"[..],
        b"example.net",
        b"example.org",
        b"example",
        b"test",
        b"invalid",
        b"localhost",
    ]
    .iter()
    .any(|r| host == *r || (host.ends_with(r) && host[..host.len() - r.len()].ends_with(b".")));
    let other_needle = host
        .split(|&b| b == b'.' || b == b'-')
        .any(|w| w != b"example" && needles().is_match(w))
        || host.windows(4).any(|w| w == b"your");
    (!reserved && !other_needle).then_some(&rest[end..])
}

/// A shell or make substitution (`$(cat /run/secrets/db)`, `$(DB_PASSWORD)`) or a Python
/// `%(name)s` slot: the opening, a name (letters, `_`, then the characters of a command line),
/// and the closing. A Django key's random punctuation (`...%(oSYWWJY^XD&G...`) does not close.
fn has_substitution(s: &[u8]) -> bool {
    let closes = |rest: &[u8], command: bool| {
        // PowerShell's subexpression of a variable: `$($acct.Content)`.
        let (rest, variable) = match rest {
            [b'$', tail @ ..] if command => (tail, true),
            _ => (rest, false),
        };
        if !rest
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        {
            return false;
        }
        let name = rest
            .iter()
            .take_while(|&&b| {
                b.is_ascii_alphanumeric() || b == b'_' || command && b" ./:-=~'\"|".contains(&b)
            })
            .count();
        if rest.get(name) != Some(&b')') {
            return false;
        }
        if !command {
            return rest.get(name + 1).is_some_and(|b| b"sdifr".contains(b));
        }
        // A command has words (`cat /run/secrets/db`), a variable is a name in one case
        // (`DB_PASSWORD`, `password`) or PowerShell's `$($pw2)`; letters and digits in lower
        // case alone (`$(fnnu1d)` in a Django key's random punctuation) are neither.
        let word = &rest[..name];
        variable
            || word.iter().any(|b| b" ./:=~'\"|".contains(b))
            || word
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            || word
                .iter()
                .all(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'-')
    };
    memchr::memmem::find_iter(s, b"$(").any(|i| closes(&s[i + 2..], true))
        || memchr::memmem::find_iter(s, b"%(").any(|i| closes(&s[i + 2..], false))
}

/// Whether every needle in `s` is made of the dots of a whole hash in the modular crypt format
/// (`$6$salt$` and the 86 characters of a SHA-512 crypt): its alphabet has `.` and `/`, so
/// `...` turns up in about one hash in forty, and a hash that long was not cut short.
fn dots_of_whole_crypt_hash(s: &[u8]) -> bool {
    let Some(last) = s.rsplit(|&b| b == b'$').next() else {
        return false;
    };
    let whole = s[0] == b'$'
        && crypt_hash(s)
        // MD5, SHA-256 (and yescrypt), SHA-512 crypt; bcrypt's 22-byte salt and 31-byte hash.
        && matches!(last.len(), 22 | 43 | 53 | 86)
        && last.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    if !whole {
        return false;
    }
    let undotted: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'.' { b'A' } else { b })
        .collect();
    !needles().is_match(&undotted)
}

/// A hash in the modular crypt format: `$id$` and more (`$P$B...` of phpass, `$apr1$...`,
/// `$2y$10$...`), not a `$NAME` reference.
fn crypt_hash(s: &[u8]) -> bool {
    let id = s[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    (1..=8).contains(&id) && s.get(1 + id) == Some(&b'$') && s.len() > id + 10
}

/// A capitalised word of at least four letters, then two or more digits and at most a few
/// marks (`Juniper2021`, `Summer24!`): what follows the `$` of a password, not of a variable.
fn dollar_password(s: &[u8]) -> bool {
    let letters = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let digits = s[letters..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let rest = &s[letters + digits..];
    letters >= 4
        && s[0].is_ascii_uppercase()
        && s[1..letters].iter().all(u8::is_ascii_lowercase)
        && digits >= 2
        && rest.len() <= 3
        && rest.iter().all(|b| b"!@#%&*?.".contains(b))
}

/// Whether `s` holds a template slot: `open`, a name, then `close`. A name starts with a
/// letter, `_`, `.`, `$`, `%`, `:` or a space (`<your-api-key>`, `{registry_id}`,
/// `{{ .Values.key }}`, `<%= ENV['KEY'] %>`, `{:>8}`) or is one or two digits (`{0}`), and
/// goes on in letters, digits and the punctuation of template expressions; `{}` is a slot too.
/// Random punctuation (a WordPress salt's `->*w8L1<xKzd0Tq};3nX`) rarely closes what it
/// opens over such characters alone.
fn has_template_slot(s: &[u8], open: u8, close: u8) -> bool {
    let slot_char =
        |b: u8| b.is_ascii_alphanumeric() || b" _.-:|$'\"%=[]/()!@".contains(&b) || b == open;
    let mut from = 0;
    while let Some(i) = memchr::memchr(open, &s[from..]) {
        let start = from + i + 1;
        let len = s[start..]
            .iter()
            .take(81)
            .take_while(|&&b| slot_char(b))
            .count();
        let inner = &s[start..start + len];
        let named = match inner.iter().position(|&b| b != open) {
            None => open == b'{' && len <= 1, // `{}`, `{{}}`
            Some(first) => {
                let rest = &inner[first..];
                rest[0].is_ascii_alphabetic()
                    || b"_.$%: ".contains(&rest[0])
                    || (rest.len() <= 2 && rest.iter().all(u8::is_ascii_digit))
            }
        };
        if s.get(start + len) == Some(&close) && len <= 80 && named {
            return true;
        }
        from = start;
    }
    false
}

fn starts_with_any(s: &[u8], prefixes: &[&[u8]]) -> bool {
    prefixes
        .iter()
        .any(|p| s.len() > p.len() && s[..p.len()].eq_ignore_ascii_case(p))
}

/// Whether a value caught by a generic rule (`password = …`) looks like a literal secret rather
/// than code or data that merely sits next to a secret-sounding name.
///
/// Not literals:
/// - identifiers, member paths, symbols and type names: a value of letters, digits and
///   `_ . : / # ? ! @ &` whose words (split at case changes, letter/digit changes and
///   separators) average three or more characters (`self.password`, `@user.auth_token`,
///   `CanonicalNameCredentialSourcer`, `x25519.X25519PrivateKey`, `Incomplete`; four or
///   more when under a quarter of its letters are vowels), or such an identifier after a
///   sigil (`:BCryptPassword`). Random tokens split into 1-2 character words.
/// - UUIDs (pagination and change tokens in API examples), base64-encoded JSON without the
///   dots of a JWT (`eyJOZXh0VG9rZW4iOi…`: a cursor), and dates, times and numbers.
///
/// ```
/// use keysweep::looks_like_literal;
/// assert!(looks_like_literal(b"Tr0ub4dor&3"));
/// assert!(looks_like_literal(b"e9Tq4Lm2Zx7Vb5Rk8Wp3Ny6H"));
/// assert!(looks_like_literal(b"d41d8cd98f00b204e9800998ecf8427e"));
/// assert!(looks_like_literal(b"GkTOuRHS0faysXAszGGuSWvOVvinfuIL"));
/// assert!(looks_like_literal(b"k3jx9qmz2wpe8rtu4ynb5vc7"));
/// assert!(looks_like_literal(b"QSVBdIeDKJLCKnLcY.d"));
/// assert!(looks_like_literal(b"LShIQ8R4NgnfVzkrlonWNULthluDhliC"));
/// assert!(looks_like_literal(b"@JRMtlk4ggMe@VY1Ge2w2eK"));
/// assert!(looks_like_literal(b"6bvsoRdoxmzpyUoabIK6JywBBAVptxjw"));
/// assert!(looks_like_literal(b"gocngfrmxhk03hobc23qdmiieufdekv6"));
/// assert!(looks_like_literal(b"5_UVKsl3ZAasrWYInp7IJgESWfzUPSvjbJ282XqpsEc"));
/// assert!(looks_like_literal(b"id4JJVOX-YsDGONLsiTuhWfuu_0atGZysie4"));
/// assert!(looks_like_literal(b"BWTNgb5BIqrynmjWBNNNTVRcmpZem69B"));
/// assert!(looks_like_literal(b"xoxp-4055515051-9859979925-5kQ8fZ2xW9mN3pL7rT4vB1yH"));
/// assert!(looks_like_literal(b"KQWHT7RZMXBNCV4PADSE"));
/// assert!(looks_like_literal(b"QZTRN3XVCGKWWLPAMDSH"));
/// assert!(!looks_like_literal(b"SHA256WITHRSAENCRYPTION"));
/// assert!(!looks_like_literal(b"HTTP2ServerPushHandler"));
/// assert!(!looks_like_literal(b"dhSinglePass-stdDH-sha1kdf-scheme"));
/// assert!(!looks_like_literal(b"XMLHttpRequest.getElementById"));
/// assert!(!looks_like_literal(b"TLS13_CHACHA20_POLY1305_SHA256_INTERNAL"));
/// assert!(!looks_like_literal(b"self.password"));
/// assert!(!looks_like_literal(b"request_token"));
/// assert!(!looks_like_literal(b"@old_request_forgery_protection_token"));
/// assert!(!looks_like_literal(b":BCryptPassword"));
/// assert!(!looks_like_literal(b"Rails.env.test?"));
/// assert!(!looks_like_literal(b"CanonicalNameCredentialSourcer"));
/// assert!(!looks_like_literal(b"x25519.X25519PrivateKey"));
/// assert!(!looks_like_literal(b"9f4d9f69-275a-41fe-b58e-2b837bd9ba48"));
/// assert!(!looks_like_literal(b"eyJOZXh0VG9rZW4iOiBudWxsfQ=="));
/// assert!(!looks_like_literal(b"2016-09-08T21:47:36Z"));
/// ```
pub fn looks_like_literal(secret: &[u8]) -> bool {
    if is_uuid(secret) || is_date_or_number(secret) {
        return false;
    }
    if secret.starts_with(b"eyJ") && !secret.contains(&b'.') {
        return false;
    }
    let code_chars = secret.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'.' | b'-' | b'#' | b'/' | b'?' | b':' | b'!' | b'@' | b'&'
            )
    });
    if !code_chars {
        return true;
    }
    // A sigil before an identifier (`@user.auth_token`, `:BCryptPassword`) is code; before
    // random characters (`@JRMtlk4ggMe@VY1Ge2w2eK`) it is the first character of a password.
    if let [b'@' | b':' | b'!' | b'&', rest @ ..] = secret {
        return !rest.is_empty() && looks_like_literal(rest);
    }
    if is_random_mix(secret) || is_random_case(secret) || consonant_clusters(secret) >= 2 {
        return true;
    }
    // A random run of 16 or more letters and digits among a few `_`/`-` separated parts
    // (`5_UVKsl3ZAasrWYInp7IJgESWfzUPSvjbJ282XqpsEc`, a Slack token's `xoxp-405…-985…-5kQ8…`,
    // `id4JJVOX-YsDGONLsiTuhWfuu_0atGZysie4`): constants and paths are made of short words.
    let mut runs = secret.split(|&b| b == b'_' || b == b'-');
    if secret.len() >= 32
        && secret.iter().filter(|&&b| b == b'_' || b == b'-').count() <= 4
        && runs.any(|run| run.len() >= 16 && is_random_mix(run))
    {
        return true;
    }
    // Random letters have few vowels (about one in five, `LShIQ8R4NgnfVzkrlonWNULthluDhliC`);
    // identifiers are made of words (`getElementById`: two in five).
    let (letters, vowels) = secret.iter().fold((0usize, 0usize), |(l, v), &b| {
        let vowel = matches!(b.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u');
        (l + b.is_ascii_alphabetic() as usize, v + vowel as usize)
    });
    // Only for letters and digits alone: names joined by separators
    // (`dhSinglePass-stdDH-sha1kdf-scheme`) abbreviate their words.
    let alnum = secret.iter().all(u8::is_ascii_alphanumeric);
    let sparse_vowels =
        letters >= 12 && vowels * 4 < letters && secret.iter().any(u8::is_ascii_digit) && alnum;
    // Almost no vowels at all (under one letter in eight, `BWTNgb5BIqrynmjWBNNNTVRcmpZem69B`):
    // no run of words, abbreviated or not, spells that few.
    if letters >= 16 && vowels * 8 < letters && alnum {
        return true;
    }
    // Words: maximal runs of `[A-Z]?[a-z]+`, `[A-Z]+` or `[0-9]+`.
    let (mut words, mut chars) = (0usize, 0usize);
    let mut prev: Option<u8> = None;
    for &b in secret {
        if !b.is_ascii_alphanumeric() {
            prev = None;
            continue;
        }
        chars += 1;
        let starts_word = match prev {
            None => true,
            Some(p) => {
                (p.is_ascii_digit() != b.is_ascii_digit())
                    || (p.is_ascii_lowercase() && b.is_ascii_uppercase())
            }
        };
        words += starts_word as usize;
        prev = Some(b);
    }
    words == 0 || chars < 3 * words || (sparse_vowels && chars < 4 * words)
}

/// [`looks_like_literal`] for a value under a password key. People choose passwords from
/// words: `breeze-pepper-43`, `violetoceankitten2`, `Company@123`, `Kenji.cactus#43` read as
/// identifiers to the general test, but code rarely puts letters and digits, or letters and
/// symbols, into the value of a password: the identifiers found there are member paths
/// (`self.password`, `config.db.pass`), names of other things (`password_input`,
/// `DB_PASSWORD`), sigils and calls, and single words (`Passwort`, `Incomplete`, labels).
///
/// ```
/// use keysweep::looks_like_password_literal;
/// assert!(looks_like_password_literal(b"breeze-pepper-43"));
/// assert!(looks_like_password_literal(b"violetoceankitten2"));
/// assert!(looks_like_password_literal(b"Company@123"));
/// assert!(looks_like_password_literal(b"Kenji.cactus#43"));
/// assert!(looks_like_password_literal(b"Maria.winter.14"));
/// assert!(looks_like_password_literal(b"Tr0ub4dor&3"));
/// assert!(looks_like_password_literal(b"meadow.compass.7881"));
/// assert!(looks_like_password_literal(b"!9xTXCtF!5nBH"));
/// assert!(looks_like_password_literal(b"Mailpass!2024"));
/// assert!(looks_like_password_literal(b"Fieldcrest#2024"));
/// assert!(!looks_like_password_literal(b"passwordField2"));
/// assert!(!looks_like_password_literal(b"testpass!"));
/// assert!(!looks_like_password_literal(b"self.password"));
/// assert!(!looks_like_password_literal(b"config.db.pass2"));
/// assert!(looks_like_password_literal(b"silver.maple11"));
/// assert!(looks_like_password_literal(b"Maple.umber6906"));
/// assert!(!looks_like_password_literal(b"Settings.password12"));
/// assert!(!looks_like_password_literal(b"Config.retries10"));
/// assert!(!looks_like_password_literal(b"Colors.black54"));
/// assert!(!looks_like_password_literal(b"Spacing.large16"));
/// assert!(looks_like_password_literal(b"Orchid.vortex13"));
/// assert!(looks_like_password_literal(b"Falcon.meridian34"));
/// assert!(looks_like_password_literal(b"osprey.Willow20"));
/// assert!(!looks_like_password_literal(b"self.Secret12"));
/// assert!(!looks_like_password_literal(b"settings.Password12"));
/// assert!(!looks_like_password_literal(b"self.secret12"));
/// assert!(!looks_like_password_literal(b"account.password12"));
/// assert!(!looks_like_password_literal(b"password_input"));
/// assert!(!looks_like_password_literal(b"DB_PASSWORD"));
/// assert!(!looks_like_password_literal(b"user_password2"));
/// assert!(!looks_like_password_literal(b"Passwort"));
/// assert!(!looks_like_password_literal(b"@user.password"));
/// assert!(!looks_like_password_literal(b"getPassword()"));
/// assert!(!looks_like_password_literal(b"testpass123"));
/// assert!(!looks_like_password_literal(b"correct_master_key_123!"));
/// assert!(looks_like_password_literal(b"thunder-sierra-blossom-jasper"));
/// assert!(!looks_like_password_literal(b"current-password"));
/// assert!(looks_like_password_literal(b"tqzbwmxkplrvsnjd"));
/// assert!(looks_like_password_literal(b"Lotus.Orbit80"));
/// assert!(!looks_like_password_literal(b"Settings.Default"));
/// assert!(looks_like_password_literal(b"Password1!"));
/// assert!(!looks_like_password_literal(b"Config.Db.Password2"));
/// assert!(!looks_like_password_literal(b"Resources.Strings1"));
/// assert!(!looks_like_password_literal(b"confirmationdialog"));
/// assert!(!looks_like_password_literal(b"pgsqlbackupdb"));
/// assert!(looks_like_password_literal(b"xYncKOiwquvrqG"));
/// assert!(looks_like_password_literal(b"DbBxizhGvzQMAWpg"));
/// assert!(!looks_like_password_literal(b"getHTTPSConnectionString"));
/// assert!(!looks_like_password_literal(b"SSLSetPeerID"));
/// assert!(!looks_like_password_literal(b"WebKitCSSMatrix"));
/// assert!(!looks_like_password_literal(b"CertFromPEM"));
/// assert!(!looks_like_password_literal(b"hunter42"));
/// assert!(looks_like_password_literal(b"Shadow_6345"));
/// assert!(looks_like_password_literal(b"HunterFalcon9"));
/// assert!(looks_like_password_literal(b"KARMeiMIzxnUgRTnbZqvjxoX"));
/// assert!(!looks_like_password_literal(b"XMLHttpRequestHandler"));
/// assert!(looks_like_password_literal(b"RSUBh_tciZlXRZ"));
/// assert!(!looks_like_password_literal(b"SQLConnString"));
/// assert!(looks_like_password_literal(b"xfRRQajhQvi"));
/// assert!(!looks_like_password_literal(b"getHTMLElement"));
/// assert!(looks_like_password_literal(b"@Mustang607"));
/// assert!(!looks_like_password_literal(b"@Override"));
/// assert!(looks_like_password_literal(b"@Welcome_01"));
/// assert!(!looks_like_password_literal(b"@types_20"));
/// assert!(!looks_like_password_literal(b"@settings.password"));
/// assert!(looks_like_password_literal(b"WalkIn.Skillet243"));
/// assert!(!looks_like_password_literal(b"KeySize.Bits256"));
/// assert!(!looks_like_password_literal(b"SslProtocols.Tls12"));
/// assert!(!looks_like_password_literal(b"AppSettings.DbPassword"));
/// ```
pub fn looks_like_password_literal(secret: &[u8]) -> bool {
    // A call: `getPassword()`, `env("DB_PASSWORD")`.
    if secret.ends_with(b")")
        && secret
            .iter()
            .take_while(|&&b| b != b'(')
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'$'))
        && secret.contains(&b'(')
    {
        return false;
    }
    if looks_like_literal(secret) || policy_password_rest(secret).is_some() {
        return true;
    }
    if is_uuid(secret) || is_date_or_number(secret) {
        return false;
    }
    // A capitalized word and a number after `@` (`@Mustang607`) is a password made to pass a
    // policy; annotations and instance variables (`@Override`, `@user`) end in no number.
    if let [b'@', rest @ ..] = secret {
        // `@Welcome_01`, `@Atlas-2024`: the word and the number may be joined by `_` or `-`.
        let joined = rest
            .iter()
            .position(|b| matches!(b, b'_' | b'-'))
            .filter(|&p| rest[p + 1..].len() >= 2 && rest[p + 1..].iter().all(u8::is_ascii_digit))
            .map(|p| [&rest[..p], &rest[p + 1..]].concat());
        let rest = joined.as_deref().unwrap_or(rest);
        if capitalized_words_and_number(rest) && !rest.contains(&b'.') {
            return true;
        }
    }
    if matches!(secret.first(), Some(b'@' | b':' | b'&' | b'$' | b'.')) {
        return false;
    }
    // Member paths and namespaces: identifiers joined by `.` or `::` (`self.password`, not
    // `Maria.winter.14` nor `Kenji.cactus#43`). Values with a `(` never get here:
    // `looks_like_literal` takes them for literals, and calls were rejected above.
    let identifier_chars = secret
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'));
    let member = identifier_chars
        && (secret.windows(3).any(|w| {
            w[0].is_ascii_alphabetic()
                && w[1] == b'.'
                && (w[2].is_ascii_alphabetic() || w[2] == b'_')
        }) || memchr::memmem::find(secret, b"::").is_some())
        && !secret
            .split(|&b| b == b'.' || b == b':')
            .any(|part| part.first().is_some_and(u8::is_ascii_digit))
        && !capitalized_words_and_number(secret)
        && !dotted_words_and_number(secret);
    let letters = secret.iter().any(u8::is_ascii_alphabetic);
    let digits = secret.iter().any(u8::is_ascii_digit);
    let symbols = secret
        .iter()
        .any(|b| b.is_ascii_punctuation() && !matches!(b, b'_' | b'-' | b'.'));
    // Constants and environment variable names: DB_PASSWORD, MYSQL_ROOT_PASSWORD_2.
    let constant = secret.contains(&b'_')
        && secret
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    // 16 random lower-case letters, a Gmail app password: words have vowels, about two letters
    // in five, and rarely four consonants in a row; random letters have about one vowel in five.
    // Only that length: shorter compounds of abbreviations (`pgsqlbackupdb`) read alike.
    let random_letters = secret.len() == 16 && secret.iter().all(u8::is_ascii_lowercase) && {
        let vowels = secret.iter().filter(|b| is_vowel(b)).count();
        vowels * 10 <= secret.len() * 3 && secret.windows(4).any(|w| !w.iter().any(is_vowel))
    };
    if !letters
        || member
        || constant
        || !(digits
            || symbols
            || random_letters
            || random_mixed_letters(secret)
            || is_word_passphrase(secret))
    {
        return false;
    }
    // Identifiers in snake_case: three or more words of letters (`correct_master_key_123!`).
    let snake_words = secret
        .split(|&b| b == b'_')
        .filter(|w| w.len() >= 3 && w.iter().all(u8::is_ascii_lowercase))
        .count();
    if snake_words >= 3 {
        return false;
    }
    // Names of other things that hold a password, and the words of test and example values
    // (`testpass123`, `hunter42`).
    const NAMES: [&[u8]; 19] = [
        b"pass",
        b"pwd",
        b"secret",
        b"token",
        b"field",
        b"input",
        b"param",
        b"utf8",
        b"sha",
        b"md5",
        b"base64",
        b"test",
        b"hunter",
        b"example",
        b"sample",
        b"demo",
        b"dummy",
        b"fake",
        b"changeme",
    ];
    // The names of the fields that hold a password, not of test values.
    const NAMES_OF_FIELDS: [&[u8]; 4] = [b"pass", b"pwd", b"secret", b"token"];
    // Words that end in `pass` (`compass`, `bypass`) are no names: `meadow.compass.7881`.
    const PASS_WORDS: [&[u8]; 7] = [b"com", b"by", b"sur", b"tres", b"over", b"under", b"en"];
    // A symbol no name holds (`Mailpass!2024`, `Secret#Ops2025`) makes the word of a field's
    // name part of a password; the words of test values stay names (`testpass!`).
    let strong_symbol = secret.iter().any(|b| {
        matches!(
            b,
            b'!' | b'@' | b'#' | b'%' | b'^' | b'&' | b'*' | b'+' | b'=' | b'?' | b'~'
        )
    });
    !NAMES.iter().any(|name| {
        if strong_symbol && NAMES_OF_FIELDS.contains(name) {
            return false;
        }
        secret.windows(name.len()).enumerate().any(|(i, w)| {
            let after = &secret[i + name.len()..];
            w.eq_ignore_ascii_case(name)
                && match *name {
                    b"pass" => !PASS_WORDS
                        .iter()
                        .any(|p| i >= p.len() && secret[i - p.len()..i].eq_ignore_ascii_case(p)),
                    // A digest's name (`sha256`, `sha-1`), not a word (`Shadow_6345`).
                    b"sha" => !after.first().is_some_and(u8::is_ascii_alphabetic),
                    // The meme `hunter2`, not a word of a password (`HunterFalcon9`).
                    b"hunter" => !after.iter().any(u8::is_ascii_alphabetic),
                    // A field's name ends its word (`passwordField`, `inputPwd`), a longer
                    // word goes on in lower case (`Fieldcrest#2024`, `Paramount!7`).
                    b"field" | b"input" | b"param" => {
                        !after.first().is_some_and(u8::is_ascii_lowercase)
                    }
                    _ => true,
                }
        })
    })
}

/// Letters of both cases at random: few vowels, a run of four consonants, and capitals where
/// no word starts. Sixteen letters or more (`KARMeiMIzxnUgRTnbZqvjxoX`): a quarter vowels at
/// most, three or more humps (a lowercase letter before a capital) and two or more runs of
/// capitals, or (`DbBxizhGvzQMAWpg`) two humps and a run, four together, and a run of lower-case
/// letters without a vowel. Ten to fifteen, or letters in two parts joined by one `_` (`KWhKRvkmnd`,
/// `RSUBh_tciZlXRZ`, `xfRRQajhQvi`): a fifth vowels at most, and a hump and two runs of
/// capitals or two humps and one run; or (`xYncKOiwquvrqG`) a third vowels at most (random
/// letters have about a quarter, `y` counted), four humps and runs together, and a run of
/// lower-case letters without a vowel. Identifiers in
/// camel case have the vowels of their words and a hump per word (`XMLHttpRequestHandler`: two
/// humps; `SQLConnString`: one run of capitals).
fn random_mixed_letters(s: &[u8]) -> bool {
    let joins = s.iter().filter(|&&b| b == b'_').count();
    let letters: Vec<u8> = s.iter().copied().filter(|&b| b != b'_').collect();
    if joins > 1
        || s.first() == Some(&b'_')
        || s.last() == Some(&b'_')
        || !letters.iter().all(u8::is_ascii_alphabetic)
    {
        return false;
    }
    let vowels = letters.iter().filter(|b| is_vowel(b)).count();
    let consonant_run = letters.windows(4).any(|w| !w.iter().any(is_vowel));
    let humps = letters
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    let capital_runs = letters
        .windows(2)
        .enumerate()
        .filter(|&(i, w)| {
            w[0].is_ascii_uppercase()
                && w[1].is_ascii_uppercase()
                && (i == 0 || !letters[i - 1].is_ascii_uppercase())
        })
        .count();
    let n = letters.len();
    // A run of two or more lower-case letters without a vowel between case changes (`nc` of
    // `xYncKOiwquvrqG`): random text has them, the words of names rarely (their runs are
    // words' tails, `et` of `SSLSetPeerID`).
    let bare_run = letters
        .split(|b| !b.is_ascii_lowercase())
        .any(|run| run.len() >= 2 && !run.iter().any(is_vowel));
    if n >= 16 && joins == 0 {
        vowels * 4 <= n
            && consonant_run
            && (humps >= 3 && capital_runs >= 2
                || bare_run && humps >= 2 && capital_runs >= 1 && humps + capital_runs >= 4)
    } else {
        n >= 10
            && consonant_run
            && (vowels * 5 <= n
                && (humps >= 1 && capital_runs >= 2 || humps >= 2 && capital_runs >= 1)
                || vowels * 3 <= n && bare_run && humps + capital_runs >= 4)
    }
}

/// Two words joined by a dot, the first lower-case or capitalized, the second lower-case and
/// ending in two or more digits (three after a capitalized word: `silver.maple11`,
/// `Maple.umber6906`): a person's password.
/// Member paths put no number of two digits on a field, and start with an object (`self`,
/// `config`, `Settings`) or name a credential (`account.password12`), which this leaves to the
/// member test. Only words of four letters or more count, so shorter objects (`env`, `app`)
/// need no entry.
fn dotted_words_and_number(s: &[u8]) -> bool {
    const OBJECTS: &[&[u8]] = &[
        b"self",
        b"this",
        b"config",
        b"conf",
        b"settings",
        b"options",
        b"opts",
        b"params",
        b"args",
        b"request",
        b"user",
        b"data",
        b"props",
        b"state",
        b"context",
        b"credentials",
        b"creds",
        b"auth",
        b"secrets",
        b"form",
        b"model",
    ];
    const CREDENTIALS: &[&[u8]] = &[b"pass", b"pwd", b"secret", b"key", b"token"];
    let Some(dot) = s.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (left, right) = (&s[..dot], &s[dot + 1..]);
    // The second word may be capitalized (`osprey.Willow20`, `comet.Cedar99`).
    let capitalized = usize::from(right.first().is_some_and(u8::is_ascii_uppercase));
    let letters = capitalized
        + right[capitalized..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase())
            .count();
    let digits = &right[letters..];
    // A capitalized first word that names a kind of design constant may be a type's constant
    // (`Colors.black54`, `Spacing.large16`): three digits. Other capitalized words are
    // passwords made of two words (`Orchid.vortex13`).
    const TYPES: &[&[u8]] = &[
        b"colors",
        b"color",
        b"icons",
        b"fonts",
        b"font",
        b"sizes",
        b"size",
        b"spacing",
        b"spacings",
        b"dimens",
        b"margins",
        b"padding",
        b"radius",
        b"typography",
        b"palette",
        b"shades",
        b"styles",
        b"durations",
        b"duration",
    ];
    let capital = left.first().is_some_and(u8::is_ascii_uppercase)
        && TYPES.iter().any(|t| t.eq_ignore_ascii_case(left));
    left.len() >= 4
        && left[0].is_ascii_alphabetic()
        && left[1..].iter().all(u8::is_ascii_lowercase)
        && letters >= 4
        && digits.len() >= if capital { 3 } else { 2 }
        && digits.iter().all(u8::is_ascii_digit)
        && !OBJECTS.iter().any(|o| o.eq_ignore_ascii_case(left))
        && !CREDENTIALS.iter().any(|c| {
            right[..letters]
                .windows(c.len())
                .any(|w| w.eq_ignore_ascii_case(c))
        })
}

/// A vowel of either case, `y` included: what random letters have few of.
fn is_vowel(b: &u8) -> bool {
    b"aeiouyAEIOUY".contains(b)
}

/// Capitalized words joined by dots, the last one ending in a number of two digits or more (`Lotus.Orbit80`,
/// `Pelican.Lotus35`, `WalkIn.Skillet243`: a word before the last may be two run together
/// when the last word is a long one; enum members such as `KeySize.Bits256` and
/// `SslProtocols.Tls12` end in a short one): a password made of words, not a member path
/// (`Settings.Default`).
fn capitalized_words_and_number(s: &[u8]) -> bool {
    // Two digits or more: `Resources.Strings1` is a member with an index.
    let last_letters = s.rsplit(|&b| b == b'.').next().map_or(0, |p| {
        p.iter().take_while(|b| b.is_ascii_alphabetic()).count()
    });
    let parts = s.split(|&b| b == b'.').count();
    s.iter().rev().take_while(|b| b.is_ascii_digit()).count() >= 2
        && s.split(|&b| b == b'.').enumerate().all(|(i, part)| {
            let letters = part.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let camel = i + 1 < parts && last_letters >= 5;
            letters >= 3
                && part[0].is_ascii_uppercase()
                && part[1].is_ascii_lowercase()
                && part[1..letters]
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || camel && b.is_ascii_uppercase())
                && part[letters..].iter().all(u8::is_ascii_digit)
        })
}

/// A passphrase of words alone, as generators and password managers make them
/// (`thunder-sierra-blossom-jasper`): three or more words of 3 to 10 lowercase letters joined by
/// `-`, 16 characters or more, none of them a word that names or describes something else
/// (`existing-store-name`, `set-in-the-vault`; words of other names, `secret`, `token`,
/// `input`, are turned away after it by [`looks_like_password_literal`]'s own list). Kebab case
/// names in code are mostly one or two words (`current-password`, `new-password`); words joined
/// by dots are member paths, unless capitalized and ending in a number
/// ([`capitalized_words_and_number`]).
fn is_word_passphrase(s: &[u8]) -> bool {
    const STOP: &[&[u8]] = &[
        b"the",
        b"and",
        b"from",
        b"with",
        b"for",
        b"see",
        b"use",
        b"set",
        b"get",
        b"your",
        b"our",
        b"vault",
        b"env",
        b"key",
        b"keys",
        b"value",
        b"name",
        b"file",
        b"path",
        b"generated",
        b"generate",
        b"random",
        b"change",
        b"replace",
        b"default",
        b"none",
        b"empty",
        b"required",
        b"stored",
        b"managed",
        b"existing",
        b"helm",
        b"chart",
        b"release",
        b"service",
        b"app",
        b"database",
        b"user",
        b"admin",
        b"root",
        b"local",
        b"prod",
        b"production",
        b"staging",
        b"dev",
        b"here",
        b"this",
        b"not",
        b"must",
        b"should",
        b"only",
        b"auto",
        b"manual",
        b"hash",
        b"hashed",
        b"bcrypt",
        b"argon",
        b"plain",
        b"text",
        b"config",
        b"form",
        b"reset",
        b"forgot",
        b"login",
        b"page",
        b"creds",
        b"credentials",
        b"auth",
        b"cluster",
    ];
    if s.len() < 16 {
        return false;
    }
    let mut words = 0;
    for w in s.split(|&b| b == b'-') {
        if !(3..=10).contains(&w.len()) || !w.iter().all(u8::is_ascii_lowercase) {
            return false;
        }
        if STOP.contains(&w) {
            return false;
        }
        words += 1;
    }
    words >= 3
}

/// Random text of letters and digits, not an identifier, by two signs that words of code
/// lack: in code a lowercase letter is mostly followed by another (words are English), in
/// random mixed-case text by one in two or fewer (`GkTOuRHS0faysXAszGGuSWvOVvinfuIL`); and
/// code has few separate runs of digits, where a random token of letters and digits has many
/// (`k3j9x2m8q1w7e5r4`). Random tokens whose short words by chance average three characters
/// are then still literals. A token of three digit runs with six lower-case consonants in a
/// row (`gocngfrmxhk03hobc23qdmiieufdekv6`) is random too: words and the abbreviations code
/// strings together break such a run with a vowel sooner.
fn is_random_mix(s: &[u8]) -> bool {
    // Only for letters and digits alone: constants and paths (`TLS13_CHACHA20_POLY1305_SHA256`)
    // have separators and many digit runs.
    if s.len() < 16 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (mut lower_next, mut lower_lower, mut digit_runs) = (0usize, 0usize, 0usize);
    let (mut consonants, mut longest) = (0usize, 0usize);
    for (i, &b) in s.iter().enumerate() {
        if b.is_ascii_digit() && (i == 0 || !s[i - 1].is_ascii_digit()) {
            digit_runs += 1;
        }
        consonants = if b.is_ascii_lowercase() && !is_vowel(&b) {
            consonants + 1
        } else {
            0
        };
        longest = longest.max(consonants);
        if let Some(&next) = s.get(i + 1) {
            if b.is_ascii_lowercase() && next.is_ascii_alphanumeric() {
                lower_next += 1;
                lower_lower += next.is_ascii_lowercase() as usize;
            }
        }
    }
    (lower_next >= 6 && lower_lower * 5 < lower_next * 3)
        || digit_runs >= 4
        || (digit_runs >= 3 && longest >= 6 && s.len() >= 20)
}

/// Runs of four or more lower-case consonants (`xmzp`, `ptxjw`) in a token of 20 or more
/// letters and digits: words have at most one such run (`lengths`, `strengths`), names made
/// of them rarely two, and random letters have several (`6bvsoRdoxmzpyUoabIK6JywBBAVptxjw`).
/// In a token of capitals and digits, runs of capitals count alike
/// (`KQWHT7RZMXBNCV4PADSE`, a key; constants join their words with `_`).
fn consonant_clusters(s: &[u8]) -> usize {
    if s.len() < 20 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return 0;
    }
    let capitals = !s.iter().any(u8::is_ascii_lowercase) && s.iter().any(u8::is_ascii_digit);
    let (mut runs, mut len) = (0, 0);
    for &b in s.iter().chain([b'a'].iter()) {
        let letter = b.is_ascii_lowercase() || capitals && b.is_ascii_uppercase();
        if letter && !is_vowel(&b) {
            len += 1;
        } else {
            runs += usize::from(len >= 4);
            len = 0;
        }
    }
    runs
}

/// Letters whose case changes at random (`QSVBdIeDKJLCKnLcY.d`): two or more single lowercase
/// letters between capitals. Identifiers, acronyms included (`XMLHttpRequest`, `getElementById`),
/// have a capital start a word of several lowercase letters.
fn is_random_case(s: &[u8]) -> bool {
    s.windows(3)
        .filter(|w| {
            w[0].is_ascii_uppercase() && w[1].is_ascii_lowercase() && w[2].is_ascii_uppercase()
        })
        .count()
        >= 2
}

/// The entropy a value needs under a rule that asks for `min`: for a value of hex digits
/// (of one case, 16 or more), at most what all but about 1 in 1,500 random hex values of its
/// length reach (`4 - 30 / len` bits: 2.5 at 20 digits, 3.06 at 32, 3.25 at 40, 3.53 at 64).
/// A fixed threshold would drop one random 32-digit hex secret in five at 3.5 bits, and the
/// earlier `4 - 23 / len` still one in 70 (three API keys of a held-out set); counters and
/// patterns of few distinct digits stay below this floor. Under a rule for `passwords`, a
/// passphrase of words (`breeze-pepper-43`, see [`is_passphrase`]) needs 2.5 bits, and a
/// password of 8 or 9 characters mixing letters with digits or symbols 2.7. Hex in groups of
/// four joined by dashes is judged by its digits, the dashes' share of the entropy added.
pub(crate) fn entropy_floor(secret: &[u8], min: f64, passwords: bool) -> f64 {
    let hex = secret.len() >= 16
        && (secret
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            || secret
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')));
    // Hex in dash-separated groups of four (`6A9D-5A7F-E44A-BA5F-...`, as integration and
    // licence keys are shown), in one case and with a letter among the digits: judged as hex,
    // the floor of its digits plus what the dashes add to the whole string's entropy (their
    // share `p` of it: `h(p) + (1 - p) * floor`), so `1111-2222-3333-4444` stays below.
    let grouped = secret.len() >= 19
        && secret
            .split(|&b| b == b'-')
            .all(|g| g.len() == 4 && g.iter().all(u8::is_ascii_hexdigit))
        && secret
            .iter()
            .any(|b| matches!(b, b'a'..=b'f' | b'A'..=b'F'))
        && !(secret.iter().any(u8::is_ascii_lowercase)
            && secret.iter().any(u8::is_ascii_uppercase));
    if hex {
        min.min(4.0 - 30.0 / secret.len() as f64)
    } else if grouped {
        let digits = secret.iter().filter(|&&b| b != b'-').count() as f64;
        let p = 1.0 - digits / secret.len() as f64;
        let h = -p * p.log2() - (1.0 - p) * (1.0 - p).log2();
        min.min(h + (1.0 - p) * (4.0 - 30.0 / digits))
    } else if passwords && (is_passphrase(secret) || is_word_and_year(secret)) {
        min.min(2.5)
    } else if passwords
        && (8..=9).contains(&secret.len())
        && mixes_classes(secret)
        && !spells_password(secret)
    {
        // Eight characters reach 3 bits only when all differ: one repeat (`manager1`,
        // `E6DGA3AP`, a third of random 8-character passwords) gives 2.75.
        min.min(2.7)
    } else {
        min
    }
}

/// The password people make most: a capitalized word, a year or other number of two to four
/// digits and at most two symbols, before or after the number (`Otter2022!`, `Cargo2022*`,
/// `Harbor!24`). Its repeated digits keep it under the usual floor (`Otter2022!` has 2.65
/// bits a byte), though it is a real password, not a word.
fn is_word_and_year(s: &[u8]) -> bool {
    let symbol = |b: &u8| b"!@#$%^&*?.+_-~=".contains(b);
    let letters = s.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if !(3..=12).contains(&letters)
        || !s[0].is_ascii_uppercase()
        || !s[1..letters].iter().all(u8::is_ascii_lowercase)
    {
        return false;
    }
    let rest = &s[letters..];
    let before = rest.iter().take_while(|b| symbol(b)).count();
    let digits = rest[before..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let after = &rest[before + digits..];
    (2..=4).contains(&digits)
        && before + after.len() <= 2
        && after.iter().all(symbol)
        && s.len() >= 8
}

/// Whether `s` holds letters and a digit or a symbol: a password, not a word.
fn mixes_classes(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_alphabetic)
        && s.iter()
            .any(|b| !b.is_ascii_alphabetic() && !b.is_ascii_whitespace())
}

/// Whether `s` spells "passw" with digits and symbols for letters (`passw0rd`, `P@ssw0rd`): the
/// sample password of code and lists of common passwords, which the short-password floor of
/// [`entropy_floor`] does not lower the bar for.
fn spells_password(s: &[u8]) -> bool {
    let plain = |b: &u8| match b.to_ascii_lowercase() {
        b'@' | b'4' => b'a',
        b'5' | b'$' => b's',
        b'0' => b'o',
        b => b,
    };
    s.windows(5).any(|w| w.iter().map(plain).eq(*b"passw"))
}

/// Words joined by separators, 14 or more characters: `breeze-pepper-43`. Their letters
/// repeat as English text does, so their entropy per character is low, where their length
/// makes them as strong as a shorter random password.
fn is_passphrase(s: &[u8]) -> bool {
    let separators = s
        .iter()
        .filter(|b| matches!(b, b'-' | b'_' | b'.' | b' ' | b'+'))
        .count();
    s.len() >= 14 && separators >= 2 && s.iter().filter(|b| b.is_ascii_alphabetic()).count() >= 8
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Digits with date, time and number punctuation only: `2016-09-08T21:47:36Z`, `1.5e10`.
pub(crate) fn is_date_or_number(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_digit)
        && s.iter()
            .all(|&b| b.is_ascii_digit() || b"-:.+/ TZe".contains(&b))
}

/// The curated list of credentials that vendors publish (`public_values.tsv`): provider, value,
/// where it is published.
pub(crate) const PUBLIC_VALUES: &str = include_str!("public_values.tsv");

/// Each published value of [`PUBLIC_VALUES`] with its provider.
pub(crate) fn public_values() -> impl Iterator<Item = (&'static str, &'static str)> {
    PUBLIC_VALUES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?, cols.next()?))
        })
}

/// The bytes of a byte-array literal (`0x2b, 0x7e,\n 0x15`: `0x` and two hex digits each, parted
/// by commas and white space) as lower-case hex, or `None` for anything else.
fn byte_array_hex(s: &[u8]) -> Option<Vec<u8>> {
    let mut hex = Vec::new();
    for item in s.split(|&b| b == b',') {
        let item = item.trim_ascii();
        if item.is_empty() {
            continue;
        }
        let digits = item
            .strip_prefix(b"0x")
            .or_else(|| item.strip_prefix(b"0X"))?;
        if digits.len() != 2 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        hex.extend(digits.iter().map(u8::to_ascii_lowercase));
    }
    (!hex.is_empty()).then_some(hex)
}

/// Whether `s` is, byte for byte, a credential a vendor publishes in its documentation (or a
/// token carrying the jwt.io debugger's sample claims).
pub(crate) fn is_public_value(s: &[u8]) -> bool {
    static SET: OnceLock<HashSet<&'static [u8]>> = OnceLock::new();
    let set = SET.get_or_init(|| public_values().map(|(_, v)| v.as_bytes()).collect());
    if set.contains(s) {
        return true;
    }
    // A published key written as a byte array (`0x2b, 0x7e, ...` in C, Java or Rust source).
    if byte_array_hex(s).is_some_and(|hex| set.contains(hex.as_slice())) {
        return true;
    }
    // The jwt.io debugger's sample claims (`{"sub":"1234567890","name":"John Doe",
    // "iat":1516239022}`) under any header and signature: documentation re-signs the published
    // sample with its own example secret; the token grants nothing anyone could hold.
    if s.starts_with(b"eyJ")
        && memchr::memmem::find(
            s,
            b".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.",
        )
        .is_some()
    {
        return true;
    }
    // A published crypt hash as Compose files escape it (`$$apr1$$...`), or as a rule reports
    // an apr1 hash: without its leading `$`, which would read as a shell reference.
    if memchr::memmem::find(s, b"$$").is_none() && !s.starts_with(b"apr1$") {
        return false;
    }
    let mut plain = Vec::with_capacity(s.len() + 1);
    if s.starts_with(b"apr1$") {
        plain.push(b'$');
    }
    let mut i = 0;
    while i < s.len() {
        plain.push(s[i]);
        i += if s[i..].starts_with(b"$$") { 2 } else { 1 };
    }
    set.contains(&plain[..])
}

pub(crate) fn trim_quotes(s: &[u8]) -> &[u8] {
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
    fn short_passwords_with_one_repeat_pass_the_password_floor() {
        // One repeated character of eight: 2.75 bits, under the 2.8 a password rule asks.
        for v in ["manager1", "E6DGA3AP", "$Orion55"] {
            let s = v.as_bytes();
            assert!(shannon_entropy(s) < 2.8, "{v}");
            assert!(shannon_entropy(s) >= entropy_floor(s, 2.8, true), "{v}");
            assert_eq!(entropy_floor(s, 2.8, false), 2.8, "{v}");
        }
        // Words, the sample password in disguise, longer values: the rule's own bar.
        for v in ["required", "passw0rd", "P@ssw0rd", "manager1x2"] {
            assert_eq!(entropy_floor(v.as_bytes(), 2.8, true), 2.8, "{v}");
        }
        // A capitalized word and a year, a symbol or two around it: under 2.8 for its repeats.
        for v in ["Otter2022!", "Harbor!22"] {
            let s = v.as_bytes();
            assert!(shannon_entropy(s) < 2.8, "{v}");
            assert!(shannon_entropy(s) >= entropy_floor(s, 2.8, true), "{v}");
        }
        // Not that shape: a word with a long number, lower case, code.
        for v in [
            "Build20221108",
            "otter2022!",
            "OTTER2022!",
            "Ab2022",
            "Otter2022!!!",
        ] {
            assert_eq!(entropy_floor(v.as_bytes(), 2.8, true), 2.8, "{v}");
        }
    }

    #[test]
    fn replacement_tokens_and_device_ciphertexts() {
        for t in [
            "__FROM_VAULT__",
            "##CLIENT_SECRET##",
            "@@DB_PASSWORD@@",
            "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        ] {
            assert!(is_replacement_token(t.as_bytes()), "{t}");
        }
        for t in ["__init__x", "____", "__12__", "Summer__2024__", "##"] {
            assert!(!is_replacement_token(t.as_bytes()), "{t}");
        }
        for v in [
            "-AQ==RWeFjIcipbAkYCrI87Malgc0SeE=ZgAl4Mq55Va1Lq88tTmrUw==",
            "$M$Yz$kq7vX2pLw9TzR4kN8sBfY3hJ==",
        ] {
            assert!(is_encrypted_value(v.as_bytes()), "{v}");
        }
        for v in ["-AQ==", "$M$", "AQ==RWeFjIcipbAkYCrI87Malgc0SeE="] {
            assert!(!is_encrypted_value(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn published_values_are_placeholders_and_near_misses_are_not() {
        let values: Vec<_> = public_values().collect();
        assert!(values.len() >= 6, "{values:?}");
        for (provider, value) in values {
            assert!(
                !provider.is_empty() && !provider.contains(' '),
                "{provider}"
            );
            assert!(is_placeholder(value.as_bytes()), "{provider}: {value}");
            // One character changed: a real key of the same shape is not excused.
            let mut other = value.as_bytes().to_vec();
            let i = other.len() / 2;
            other[i] = if other[i] == b'Q' { b'R' } else { b'Q' };
            assert!(!is_public_value(&other), "{provider}");
        }
        // Every line that is not a comment has provider, value and source.
        for line in PUBLIC_VALUES
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            assert_eq!(line.split('\t').count(), 3, "{line}");
        }
        // A published crypt hash escaped for Compose, and as the apr1 rule reports it.
        for form in [
            "$$apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/",
            "apr1$$H6uskkkW$$IgXLP6ewTrSuBkTrqE8wj/",
            "apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
        ] {
            assert!(is_public_value(form.as_bytes()), "{form}");
        }
        assert!(!is_public_value(b"apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj0"));
        // The jwt.io sample claims re-signed with another secret; other claims are no sample.
        assert!(is_public_value(b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fJOSMG9c5JBQ3ExaVG8o5IRzw"));
        assert!(!is_public_value(b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MjQyNDI0MjQyIiwibmFtZSI6IkphbmUgUm9lIiwiaWF0IjoxNzE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fJOSMG9c5JBQ3ExaVG8o5IRzw"));
    }

    #[test]
    fn policy_shaped_passwords_are_no_placeholders() {
        for p in [
            "Password1!",
            "Password123!",
            "Password@123",
            "Kennwort6875!",
        ] {
            assert!(!is_placeholder(p.as_bytes()), "{p}");
        }
        for p in [
            "password1!",
            "Password",
            "Password123",
            "Password!",
            "MyPassword1!",
            "Password_1",
            "Password.1",
            "Password****1",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        // Read as a password set for an account (a credential column), the policy word with
        // digits alone is the weak password somebody chose; with anything else it is not.
        for p in ["Password1", "Passwort2024", "Welcome123", "Changeme1"] {
            assert!(is_policy_word_with_digits(p.as_bytes()), "{p}");
        }
        for p in [
            "Password",
            "password1",
            "Password1!",
            "Password_1",
            "Password123456789",
        ] {
            assert!(!is_policy_word_with_digits(p.as_bytes()), "{p}");
        }
    }

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
            "[parameters('adminPassword')]",
            "[parameters(",
            "[listKeys(variables(",
            "AKIA0000000000000000",
            "1234567890abcdef",
            "********",
            "[REDACTED]",
            "REPLACED_AT_DEPLOY",
            "x-oauth-basic",
            "secret-injected-at-build",
            "password",
            "42password",
            "#{params[:password]}",
            "{registry_id}-auth-token",
            "generate-with-openssl-rand-base64-32",
            "%d/lob-api-key",
            "ваш_пароль",
            "你的密码",
            "ACCAQFODXMPL4YFHP7DZE",
            // Other languages' "your ...", "password" and "example".
            "sua_chave_api_aqui",
            "dein-geheimes-token",
            "votre_cle_secrete",
            "MeinPasswort2024",
            "beispiel-token-1234",
            "fake-token-1234",
            "insecure-test-secret-do-not-use",
            "test-jwt-secret-not-used-in-prod",
            "session_key_not_for_production",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p} should be a placeholder");
        }
    }

    #[test]
    fn passphrases_of_words_alone_are_passwords_and_kebab_names_are_not() {
        for p in [
            "thunder-sierra-blossom-jasper",
            "phoenix-cactus-granite",
            "mercury-salmon-badger-meteor-violet",
        ] {
            assert!(is_word_passphrase(p.as_bytes()), "{p}");
            assert!(looks_like_password_literal(p.as_bytes()), "{p}");
        }
        for n in [
            "current-password",
            "one-time-code",
            "existing-secret-name",
            "postgres-auth-creds",
            "set-in-the-vault",
            "phoenix-cactus.granite",
            "mercury.salmon.badger.meteor.violet",
            "Phoenix-Cactus-Granite",
            "thunder_sierra_blossom_jasper",
            "user-password-input",
        ] {
            assert!(!looks_like_password_literal(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn random_values_are_not_placeholders() {
        for s in [
            "AKIAZ4X7Q2M9R3T8V6WN",
            "ghp_R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5fA2gE8u",
            "Zq8#kL2!mN4@pR6$",
            "9f86d081884c7d659a2feaa0c55ad015",
            // Another language's "your" inside a random value is chance, not a placeholder.
            "hvb.AAAAAQl73_BS_SdeIn-oJjNnZLwAC6511En8WOXm",
            // XMPL by chance in a long key (Azure account keys are 88 characters).
            "XO/paScwbxSbsUroZn14NofI2C8wUxXMPL9aOd6178xwILnn77M/RSIYX6coHeLkgQTunZDd6JI2NDnkXP6SQg==",
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
