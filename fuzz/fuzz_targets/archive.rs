//! The archive reader (zip, tar, gzip, nested) over arbitrary bytes, with small limits: no
//! panic, and never more inflated than the limits allow.
#![no_main]

use keysweep_archive as archive;
use libfuzzer_sys::fuzz_target;

struct Count {
    bytes: u64,
}

impl archive::Visitor for Count {
    fn entry(&mut self, _path: &str, _entries: &[String], data: &[u8]) {
        self.bytes += data.len() as u64;
    }
    fn problem(&mut self, _message: String) {}
    fn warning(&mut self, _message: String) {}
}

fuzz_target!(|data: &[u8]| {
    let limits = archive::Limits {
        depth: 3,
        entries: 1000,
        total: 8 << 20,
        entry: 4 << 20,
        ratio: 200,
    };
    let mut count = Count { bytes: 0 };
    archive::walk("fuzz", data, limits, &mut count);
    assert!(count.bytes <= limits.total);
});
