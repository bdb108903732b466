//! Quoted-printable decoding of e-mail bodies never panics, and never grows its input: an
//! escape is three bytes in and one out, a soft break two or more in and none out, and each
//! body gains at most the line break that ends it.
#![no_main]

use keysweep::{decode_layer, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(out) = decode_layer(Encoding::QuotedPrintable, data) {
        let bodies = data.len() / 2 + 1;
        assert!(out.len() <= data.len() + bodies);
    }
});
