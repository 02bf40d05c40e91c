//! The checked-in JSON Schemas under `schemas/` match the Rust types.
//! Regenerate with `IMGCTL_BLESS=1 cargo test -p imgctl-core --test schema`.

use std::path::PathBuf;

fn check(file: &str, generated: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(file);
    if std::env::var_os("IMGCTL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/{file} is stale: regenerate it with `IMGCTL_BLESS=1 cargo test -p imgctl-core --test schema` and commit it"
    );
}

#[test]
fn manifest_schema_is_current() {
    check("images.schema.json", imgctl_core::manifest::json_schema());
}

#[test]
fn os_definitions_schema_is_current() {
    check("os-definitions.schema.json", imgctl_core::manifest::os_definitions_schema());
}

#[test]
fn schema_rejects_unknown_keys() {
    let schema: serde_json::Value = serde_json::from_str(&imgctl_core::manifest::json_schema()).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["$defs"]["VariantSpec"]["additionalProperties"], false);
}
