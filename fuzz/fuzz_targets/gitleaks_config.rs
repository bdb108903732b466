//! gitleaks configurations and `.gitleaksignore` files from arbitrary text: translated or
//! refused with an error, never a panic; every translated rule validates.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `[extend] path` reads other files: outside what an input decides.
    if !text.to_ascii_lowercase().contains("extend") {
        if let Ok(config) = keysweep_gitleaks::parse(text, "fuzz.toml".as_ref()) {
            for rule in config.rules.rules() {
                assert!(rule.validate().is_ok(), "{}", rule.id);
            }
        }
    }
    let _ = keysweep_gitleaks::IgnoreFile::parse(text, ".gitleaksignore");
});
