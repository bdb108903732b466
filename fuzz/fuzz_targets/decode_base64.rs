//! The base64 decoder never panics, and what it returns is bounded by its input.
#![no_main]

use keysweep::{decode_layer, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(out) = decode_layer(Encoding::Base64, data) {
        assert!(out.len() <= data.len());
    }
});
