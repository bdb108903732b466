//! The escape and JSON-string decoders never panic; `\uXXXX` (6 bytes) becomes at most 3
//! bytes of UTF-8 and a surrogate pair (12 bytes) 4, so output never outgrows input.
#![no_main]

use keysweep::{decode_layer, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for e in [Encoding::Escape, Encoding::Json] {
        if let Some(out) = decode_layer(e, data) {
            assert!(out.len() <= data.len());
        }
    }
});
