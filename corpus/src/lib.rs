//! Uploads build artefacts.
const NPM_TOKEN: &str = "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";
pub fn token() -> &'static str { NPM_TOKEN }
