//! The whole scanner, decoding layers on, over arbitrary bytes: no panic, and every finding's
//! range lies inside the input with 1-based lines and columns.
#![no_main]

use std::sync::OnceLock;

use keysweep::{RuleSet, Scanner};
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(RuleSet::builtin()).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let s = scanner();
    let mut scratch = s.scratch();
    for f in s.scan(&mut scratch, data) {
        assert!(f.range.start <= f.range.end && f.range.end <= data.len());
        assert!(f.line >= 1 && f.column >= 1);
    }
});
