//! The emitter on a hand-built model of edge cases (`fixtures/model-edge-cases/model.json`): the output is
//! checked in and compiled as the crate `fixtures/model-edge-cases/`; here, that emitting it is deterministic.

use gitpod_codegen::emit::{emit, EmitOptions};
use gitpod_codegen::model::Model;
use std::path::Path;

fn edge_model() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/model-edge-cases/model.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn emit_is_deterministic() {
    assert_eq!(
        emit(&edge_model(), &EmitOptions::default()).unwrap(),
        emit(&edge_model(), &EmitOptions::default()).unwrap()
    );
}
