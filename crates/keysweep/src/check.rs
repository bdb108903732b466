//! Structural checks that token formats publish: checksums and encodings.

use crate::rule::Check;

/// Runs `check` on a secret. `true` means the secret has the published structure.
pub(crate) fn passes(check: Check, secret: &[u8]) -> bool {
    match check {
        Check::Base62Crc32 => base62_crc32(secret),
        Check::Jwt => jwt(secret),
        Check::Base58Check => base58check(secret),
        Check::SaslPlain => sasl_plain(secret),
        Check::BasicAuth => basic_auth(secret),
        Check::Base64Text => base64_text(secret).is_some(),
        Check::BitlockerRecovery => bitlocker_recovery(secret),
    }
}

/// A BitLocker recovery password (`252516-623524-...`, eight groups of six digits): each group
/// is 16 bits of the recovery key times 11, so a multiple of 11 below 65,536 * 11. Random
/// digits pass one group in eleven, all eight about once in 200 million.
fn bitlocker_recovery(secret: &[u8]) -> bool {
    // Eight groups of six and seven dashes: 55 bytes that split into six-digit groups are
    // eight of them.
    secret.len() == 55
        && secret.split(|&b| b == b'-').all(|g| {
            g.len() == 6 && g.iter().all(u8::is_ascii_digit) && {
                let n = g.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
                n % 11 == 0 && n < 65_536 * 11
            }
        })
}

/// Base64 of printable text (no control bytes; UTF-8 beyond ASCII allowed) of at least 4
/// bytes, as LDIF writes a value that is not plain ASCII or starts with a space, `:` or `<`.
fn base64_text(secret: &[u8]) -> Option<Vec<u8>> {
    let bytes = base64_decode(secret)?;
    (bytes.len() >= 4 && bytes.iter().all(|&b| b >= 0x20 && b != 0x7f) && {
        std::str::from_utf8(&bytes).is_ok()
    })
    .then_some(bytes)
}

/// The credentials of HTTP Basic authentication (RFC 7617): base64 of printable text
/// `user-id:password`, a user of at least one byte and a password of at least 4.
fn basic_auth(secret: &[u8]) -> bool {
    let Some(bytes) = base64_text(secret) else {
        return false;
    };
    match bytes.iter().position(|&b| b == b':') {
        Some(colon) => colon > 0 && bytes.len() - colon > 4,
        None => false,
    }
}

/// `[authzid] NUL authcid NUL password` in base64 (RFC 4616): two NULs, an identity of at
/// least one byte, a password of at least 4, no control bytes elsewhere.
fn sasl_plain(secret: &[u8]) -> bool {
    let Some(bytes) = base64_decode(secret) else {
        return false;
    };
    let mut fields = bytes.split(|&b| b == 0);
    let (Some(_authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    !authcid.is_empty() && password.len() >= 4 && bytes.iter().all(|&b| b == 0 || b >= 0x20)
}

/// Bitcoin's base58 alphabet: no `0`, `O`, `I` or `l`.
const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Decodes base58 (big-endian, each leading `1` a zero byte); `None` for other characters or
/// more than 128 characters (no format checked here is longer).
fn base58_decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() > 128 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    for &c in s {
        let mut carry = BASE58.iter().position(|&a| a == c)? as u32;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let mut bytes = vec![0; zeros];
    bytes.extend(out);
    Some(bytes)
}

fn base58check(secret: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let Some(bytes) = base58_decode(secret) else {
        return false;
    };
    if bytes.len() < 5 {
        return false;
    }
    let (payload, sum) = bytes.split_at(bytes.len() - 4);
    Sha256::digest(Sha256::digest(payload))[..4] == *sum
}

const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, the one zlib computes).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC32_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to 6 digits (a u32 needs at most 6).
pub(crate) fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// GitHub (`ghp_` and kin) and npm (`npm_`) tokens: after the prefix, 30 random base62 chars,
/// then their CRC-32 in 6 base62 digits.
fn base62_crc32(secret: &[u8]) -> bool {
    let Some(us) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() != 36 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    base62_6(crc32(random)) == checksum
}

/// A JWT: `header.payload.signature` in base64url, the header a JSON object naming its `alg`.
fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(h), Some(p)) = (base64_decode(header), base64_decode(payload)) else {
        return false;
    };
    let h = trim_ascii(&h);
    h.first() == Some(&b'{')
        && memchr::memmem::find(h, b"\"alg\"").is_some()
        && trim_ascii(&p).first() == Some(&b'{')
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

/// Decodes standard or URL-safe base64, padded or not. `None` on any other byte.
pub(crate) fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    base64_decode_into(input, &mut out).then_some(out)
}

/// [`base64_decode`] appending to `out`; false (with `out` partly written) on invalid input.
pub(crate) fn base64_decode_into(input: &[u8], out: &mut Vec<u8>) -> bool {
    let input = match input.iter().position(|&b| b == b'=') {
        Some(p) if input[p..].iter().all(|&b| b == b'=') && input.len() - p <= 2 => &input[..p],
        Some(_) => return false,
        None => input,
    };
    if input.len() % 4 == 1 {
        return false;
    }
    out.reserve(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return false,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        // zlib.crc32(b"123456789") == 0xCBF43926, the standard check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn bitlocker_recovery_groups_are_multiples_of_eleven() {
        assert!(bitlocker_recovery(
            b"252516-623524-032329-414414-104027-714725-434181-047245"
        ));
        // One group off by one, a group of 11 * 65,536, seven groups, a letter.
        assert!(!bitlocker_recovery(
            b"252517-623524-032329-414414-104027-714725-434181-047245"
        ));
        assert!(!bitlocker_recovery(
            b"720896-623524-032329-414414-104027-714725-434181-047245"
        ));
        assert!(!bitlocker_recovery(
            b"252516-623524-032329-414414-104027-714725-434181"
        ));
        assert!(!bitlocker_recovery(
            b"25251a-623524-032329-414414-104027-714725-434181-047245"
        ));
    }

    #[test]
    fn base62_padding() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn github_checksum_round_trip() {
        let body = b"R8x2mQ7vLp4nZ1cT9bW3kY6hJ0sD5f";
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(body);
        token.extend_from_slice(&base62_6(crc32(body)));
        assert!(base62_crc32(&token));
        let last = token.len() - 1;
        token[last] = if token[last] == b'a' { b'b' } else { b'a' };
        assert!(!base62_crc32(&token));
        assert!(!base62_crc32(b"ghp_short"));
    }

    #[test]
    fn jwt_structure() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1"} . sig
        assert!(jwt(
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        ));
        assert!(!jwt(b"eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"));
        assert!(!jwt(b"abc.def"));
    }

    #[test]
    fn base58check_of_bitcoin_formats() {
        // The private key 1 as WIF, uncompressed and compressed (Bitcoin wiki).
        assert!(base58check(
            b"5HpHagT65TZzG1PH3CSu63k8DbpvD8s5ip4nEB3kEsreAnchuDf"
        ));
        assert!(base58check(
            b"KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn"
        ));
        assert!(!base58check(
            b"KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWo"
        ));
        assert!(!base58check(b"0OIl"));
        assert_eq!(base58_decode(b"11").unwrap(), vec![0, 0]);
    }

    #[test]
    fn sasl_plain_responses() {
        // "\0alerts@example.test\0MapleRocket4!" and with an authzid.
        assert!(sasl_plain(
            b"AGFsZXJ0c0BleGFtcGxlLnRlc3QATWFwbGVSb2NrZXQ0IQ=="
        ));
        assert!(sasl_plain(b"dXNlcgB1c2VyAGh1bnRlcjI="));
        // One NUL, three, an empty identity, a short password, not base64.
        assert!(!sasl_plain(b"dXNlcgBodW50ZXIy"));
        assert!(!sasl_plain(b"AHUAcABxAHI="));
        assert!(!sasl_plain(b"AABodW50ZXIy"));
        assert!(!sasl_plain(b"AHVzZXIAcHc="));
        assert!(!sasl_plain(b"not base64!"));
    }

    #[test]
    fn basic_auth_credentials_and_base64_text() {
        // "apikey:0f3c9a1b2d4e", "a9d7…:bbeb…" (a Mailjet key pair), "Hudson2022#".
        assert!(basic_auth(b"YXBpa2V5OjBmM2M5YTFiMmQ0ZQ=="));
        assert!(basic_auth(b"YTlkNzQ4NjJmNzc4ZGJkOTpiYmViOTlmYWZhOGNkMWI4"));
        assert!(base64_text(b"SHVkc29uMjAyMiM=").is_some());
        // No colon, an empty user, a short password, binary bytes, not base64.
        assert!(!basic_auth(b"SHVkc29uMjAyMiM="));
        assert!(!basic_auth(b"OnNlY3JldDE="));
        assert!(!basic_auth(b"dXNlcjpwdw=="));
        assert!(!basic_auth(b"AAECAwQFBgc6AAECAwQ="));
        assert!(!basic_auth(b"realm=x"));
        assert!(base64_text(b"AAECAwQFBgc=").is_none());
    }

    #[test]
    fn base64_variants() {
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode(b"-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode(b"a=b=").is_none());
        assert!(base64_decode(b"a").is_none());
    }
}
