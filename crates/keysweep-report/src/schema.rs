//! JSON Schemas (draft 2020-12) of keysweep's JSON outputs, generated from the types that write
//! and read them. The repository publishes them in `docs/schema/`; a test keeps those files
//! equal to what this module generates.

use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The schema of one finding: a line of `--format jsonl`, an element of `--format json`.
pub fn finding() -> Value {
    generate::<crate::Record>("https://keysweep.dev/schema/finding.json")
}

/// The schema of `keysweep inventory --format json`.
pub fn inventory() -> Value {
    generate::<crate::inventory::Doc<'static>>("https://keysweep.dev/schema/inventory.json")
}

/// The schema of a baseline file.
pub fn baseline() -> Value {
    generate::<crate::Baseline>("https://keysweep.dev/schema/baseline.json")
}

/// Every published schema: (file name under `docs/schema/`, schema).
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("finding.json", finding()),
        ("inventory.json", inventory()),
        ("baseline.json", baseline()),
    ]
}

fn generate<T: schemars::JsonSchema>(id: &str) -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), Value::String(id.into()));
    }
    schema
}
