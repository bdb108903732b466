//! The published schemas in `docs/schema/` are what the types generate. When a type changes,
//! regenerate them: `KEYSWEEP_BLESS=1 cargo test -p keysweep-report --test schema_files`.

use std::path::Path;

#[test]
fn published_schemas_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    let bless = std::env::var_os("KEYSWEEP_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in keysweep_report::schema::all() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas in docs/schema: {stale:?}; run KEYSWEEP_BLESS=1 cargo test -p keysweep-report --test schema_files"
    );
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    for (name, schema) in keysweep_report::schema::all() {
        let id = schema["$id"].as_str().unwrap().to_string();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(&id, schema).unwrap();
        let mut schemas = boon::Schemas::new();
        compiler
            .compile(&id, &mut schemas)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}
