//! serde support (feature `serde`): each value serialises as the string keysweep prints for it
//! (`"high"`, `"base64"`, `"inline"`, a fingerprint's 32 hex digits) and parses back from it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::{Confidence, Encoding, Fingerprint, Suppression};

/// A string visitor that parses with `parse` and names `expected` in errors.
struct ParseVisitor<T> {
    parse: fn(&str) -> Option<T>,
    expected: &'static str,
}

impl<T> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        // The message names what was expected, never the value (it could be a secret).
        (self.parse)(v).ok_or_else(|| E::custom(format_args!("expected {}", self.expected)))
    }
}

macro_rules! as_string {
    ($ty:ty, $show:expr, $parse:expr, $expected:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[allow(clippy::redundant_closure_call)]
                s.collect_str(&($show)(self))
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                d.deserialize_str(ParseVisitor {
                    parse: $parse,
                    expected: $expected,
                })
            }
        }
    };
}

as_string!(
    Confidence,
    |c: &Confidence| c.as_str(),
    Confidence::parse,
    "low, medium or high"
);
as_string!(
    Encoding,
    |e: &Encoding| e.as_str(),
    Encoding::parse,
    "base64, hex, percent, escape, json or utf16"
);
as_string!(
    Suppression,
    |s: &Suppression| s.as_str(),
    Suppression::parse,
    "placeholder, allowlist, inline, baseline or ignorefile"
);
as_string!(
    Fingerprint,
    |f: &Fingerprint| f.to_string(),
    |s: &str| s.parse().ok(),
    "a fingerprint (32 hexadecimal digits)"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_as_strings() {
        let fp = Fingerprint::of(b"value", None);
        let json =
            serde_json::to_string(&(Confidence::High, Encoding::Base64, Suppression::Inline, fp))
                .unwrap();
        assert_eq!(json, format!("[\"high\",\"base64\",\"inline\",\"{fp}\"]"));
        let back: (Confidence, Encoding, Suppression, Fingerprint) =
            serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            (Confidence::High, Encoding::Base64, Suppression::Inline, fp)
        );
        let err = serde_json::from_str::<Fingerprint>("\"ghp_notafingerprint\"").unwrap_err();
        assert!(!err.to_string().contains("ghp_"), "{err}");
    }
}
