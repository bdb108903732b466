//! What a pre-commit hook pays before its first finding: parsing the built-in rules, building
//! the scanner, and the first scan of a small diff (which builds the keyword automaton and
//! compiles the regexes of the rules whose keywords occur); then the throughput on 16 MiB.
//!
//! `cargo run --release -p keysweep --example startup [-- --startup-only]`

use std::time::Instant;

use keysweep::{RuleSet, Scanner};

fn main() {
    // keysweep:allow (made-up values)
    let diff =
        "+GITHUB_TOKEN=ghp_R8bXq2LwT5nV9cZk3MfJ7aPyD1sHgE4uQ0Wi\n+password = \"Vq9!zR4mKp2x\"\n\
                +def handler(event):\n+    return requests.get(url, timeout=10)\n"
            .repeat(16);
    let mut best = [f64::MAX; 4];
    for _ in 0..15 {
        let t0 = Instant::now();
        let rules = RuleSet::builtin();
        let t1 = Instant::now();
        let scanner = Scanner::new(rules).unwrap();
        let t2 = Instant::now();
        let found = scanner.scan(&mut scanner.scratch(), diff.as_bytes());
        let t3 = Instant::now();
        assert!(!found.is_empty());
        let again = scanner.scan(&mut scanner.scratch(), diff.as_bytes());
        let t4 = Instant::now();
        assert_eq!(found.len(), again.len());
        for (b, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            *b = b.min(d.as_secs_f64() * 1e3);
        }
    }
    println!(
        "parse rules {:.2} ms, build scanner {:.2} ms, first scan of {} bytes {:.2} ms, second {:.2} ms; total to first finding {:.2} ms (best of 15)",
        best[0],
        best[1],
        diff.len(),
        best[2],
        best[3],
        best[0] + best[1] + best[2]
    );
    if std::env::args().any(|a| a == "--startup-only") {
        return;
    }
    let scanner = Scanner::new(RuleSet::builtin()).unwrap();
    let text = "let x = compute(a, b); // an ordinary line of code with words: key, token\n"
        .repeat(16 << 20 >> 6);
    let mut scratch = scanner.scratch();
    scanner.scan(&mut scratch, text.as_bytes());
    let t = Instant::now();
    for _ in 0..3 {
        scanner.scan(&mut scratch, text.as_bytes());
    }
    let mbs = 3.0 * text.len() as f64 / t.elapsed().as_secs_f64() / 1e6;
    println!(
        "throughput on {} MB of code-like text: {mbs:.0} MB/s",
        text.len() >> 20
    );
}
