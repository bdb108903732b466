//! `need`: how a test that needs an external tool says so. Included by the workspace's
//! end-to-end tests (tests/common) and by crates' own tests (`#[path]`).

/// For a test that needs an external tool (`present`: whether it was found). Missing, the test
/// fails with what to install, unless `KEYSWEEP_SKIP` names the tool (comma-separated, or
/// `all`): then it says SKIPPED on stderr and the caller returns early. Never a silent pass.
pub fn need(tool: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    let skip = std::env::var("KEYSWEEP_SKIP").unwrap_or_default();
    let skipped = skip
        .split(',')
        .any(|t| t.trim() == tool || t.trim() == "all");
    assert!(
        skipped,
        "this test needs {tool}, which is missing: {install} (or set KEYSWEEP_SKIP={tool} to skip it)"
    );
    eprintln!("SKIPPED: {tool} is missing ({install})");
    false
}
