//! A container layer stream (plain tar, gzip, zstd) over arbitrary bytes, with small limits:
//! no panic, never more kept than the limits allow, and the stream never inflated much past
//! them (the cap stops reading).
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
    fn listed(&mut self, _name: &str) {}
}

fuzz_target!(|data: &[u8]| {
    let limits = archive::Limits {
        depth: 2,
        entries: 1000,
        total: 8 << 20,
        entry: 4 << 20,
        ratio: 200,
    };
    let mut count = Count { bytes: 0 };
    let mut reader = data;
    archive::walk_stream("fuzz", &mut reader, Some(data.len() as u64), limits, &mut count);
    assert!(count.bytes <= limits.total);
});
