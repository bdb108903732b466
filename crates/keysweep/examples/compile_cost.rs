//! What each built-in rule costs to compile, slowest first: a scan compiles the regexes of
//! the rules whose keywords occur in its input, on first use, so a rule that is slow to
//! compile costs every run that meets its keyword.
//!
//! `cargo run --release -p keysweep --example compile_cost [-- N]` (N rules listed, default 15)

use std::time::Instant;

use keysweep::{RuleSet, Scanner};

fn main() {
    let shown: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(15);
    let mut times = Vec::new();
    for rule in RuleSet::builtin().rules() {
        let mut one = RuleSet::empty();
        one.push(rule.clone()).expect("one rule, unique id");
        let scanner = Scanner::new(one).expect("built-in rules build");
        let t = Instant::now();
        let broken = scanner.compile_all();
        assert!(broken.is_empty(), "{}: {broken:?}", rule.id);
        times.push((t.elapsed().as_secs_f64() * 1e3, rule.id.to_string()));
    }
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = times.iter().map(|t| t.0).sum();
    println!(
        "{} rules compile in {total:.1} ms in all (one thread)",
        times.len()
    );
    for (ms, id) in times.iter().take(shown) {
        println!("{ms:>8.2} ms  {id}");
    }
}
