//! The emitter on a hand-built model of edge cases: snapshots of every file, and the output compiles.

use gitpod_codegen::emit::{emit, EmitOptions};
use gitpod_codegen::model::Model;
use std::path::Path;

fn edge_model() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emit_fixtures/edge_cases.model.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn edge_cases_snapshot() {
    for file in emit(&edge_model(), &EmitOptions::default()).unwrap().files {
        insta::assert_snapshot!(format!("edge_cases__{}", file.path.replace('/', "__")), file.contents);
    }
}

#[test]
fn emit_is_deterministic() {
    assert_eq!(
        emit(&edge_model(), &EmitOptions::default()).unwrap(),
        emit(&edge_model(), &EmitOptions::default()).unwrap()
    );
}
