//! Scanner throughput on inputs that behave differently, each next to a baseline measured in
//! the same run: a byte-counting pass over the same bytes (memory bandwidth, the floor).
//!
//! Run: `cargo bench -p keysweep-benches`. Criterion prints MB/s (Throughput::Bytes); the
//! ratio to the baseline is the number to compare across machines.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keysweep::{RuleSet, Scanner};
use keysweep_benches::{candidate_dense, no_candidates, source_like};

const LEN: usize = 8 << 20;

fn scan(c: &mut Criterion) {
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    // The same rules without decoding layers: what decoding costs.
    let raw = keysweep::ScannerBuilder::new()
        .decode_depth(0)
        .build(RuleSet::builtin())
        .unwrap();
    let inputs = [
        ("source-like", source_like(LEN)),
        ("candidate-dense", candidate_dense(LEN)),
        ("no-candidates", no_candidates(LEN)),
    ];
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    for (name, input) in &inputs {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("baseline-bytecount", name),
            input,
            |b, input| b.iter(|| byte_count(black_box(input))),
        );
        let mut scratch = scanner.scratch();
        group.bench_with_input(
            BenchmarkId::new("keysweep-1-thread", name),
            input,
            |b, input| b.iter(|| scanner.scan(&mut scratch, black_box(input)).len()),
        );
        let mut raw_scratch = raw.scratch();
        group.bench_with_input(
            BenchmarkId::new("keysweep-1-thread-no-decoding", name),
            input,
            |b, input| b.iter(|| raw.scan(&mut raw_scratch, black_box(input)).len()),
        );
        group.bench_with_input(
            BenchmarkId::new("keysweep-parallel", name),
            input,
            |b, input| b.iter(|| scanner.scan_parallel(black_box(input)).len()),
        );
    }
    group.finish();
}

/// The C ABI's cost over the Rust API on the same scanner and input: taking scratch from the
/// pool, and copying findings into C structs with their fingerprints as hex strings.
fn ffi(c: &mut Criterion) {
    use keysweep_ffi::{keysweep_findings_free, keysweep_findings_len, keysweep_scan};
    use keysweep_ffi::{keysweep_scanner_free, keysweep_scanner_new};
    use std::ptr;

    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    // SAFETY: NULL options and error pointer are allowed; the handle is freed below.
    let handle = unsafe { keysweep_scanner_new(ptr::null(), ptr::null_mut()) };
    assert!(!handle.is_null());
    let mut group = c.benchmark_group("ffi");
    group.sample_size(10);
    for (name, input) in [
        ("source-like", source_like(LEN)),
        ("candidate-dense", candidate_dense(LEN)),
    ] {
        group.throughput(Throughput::Bytes(input.len() as u64));
        let mut scratch = scanner.scratch();
        group.bench_with_input(BenchmarkId::new("rust-api", name), &input, |b, input| {
            b.iter(|| scanner.scan(&mut scratch, black_box(input)).len())
        });
        group.bench_with_input(BenchmarkId::new("c-abi", name), &input, |b, input| {
            b.iter(|| {
                // SAFETY: a live scanner and a valid buffer; the findings are freed at once.
                unsafe {
                    let found =
                        keysweep_scan(handle, input.as_ptr(), input.len(), 0, ptr::null_mut());
                    let n = keysweep_findings_len(found);
                    keysweep_findings_free(found);
                    n
                }
            })
        });
    }
    group.finish();
    // SAFETY: created above, no longer used.
    unsafe { keysweep_scanner_free(handle) };
}

fn startup(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group.bench_function("load-builtin-and-build", |b| {
        b.iter(|| Scanner::new(RuleSet::builtin()).unwrap())
    });
    group.finish();
}

/// The floor: one pass over the bytes looking for a byte that never occurs.
fn byte_count(hay: &[u8]) -> usize {
    hay.iter().filter(|&&b| b == 0).count()
}

criterion_group!(benches, scan, ffi, startup);
criterion_main!(benches);
