//! UTF-16 detection and transcoding never panic; each 2-byte code unit becomes at most 3
//! bytes of UTF-8.
#![no_main]

use keysweep::{decode_layer, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(out) = decode_layer(Encoding::Utf16, data) {
        assert!(out.len() <= data.len() / 2 * 3);
        assert!(std::str::from_utf8(&out).is_ok());
    }
});
