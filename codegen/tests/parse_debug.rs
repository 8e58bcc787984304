use gitpod_codegen::parse::{load_spec_dir, parse_pages};
use std::path::Path;

#[test]
#[ignore]
fn dump() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let (pages, ov) = load_spec_dir(&dir).unwrap();
    match parse_pages(&pages, ov.as_ref()) {
        Ok(p) => {
            std::fs::write("/tmp/model.json", serde_json::to_string_pretty(&p.model).unwrap()).unwrap();
            for w in &p.warnings {
                println!("{w}");
            }
            println!("{}", serde_json::to_string_pretty(&p.stats).unwrap());
        }
        Err(e) => {
            for d in e {
                println!("{d}");
            }
        }
    }
}
