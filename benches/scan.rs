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
        group.bench_with_input(
            BenchmarkId::new("keysweep-parallel", name),
            input,
            |b, input| b.iter(|| scanner.scan_parallel(black_box(input)).len()),
        );
    }
    group.finish();
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

criterion_group!(benches, scan, startup);
criterion_main!(benches);
