//! A change to one page changes the files of that page's types only: generated types live in one module per
//! service (or resource, or `shared`), so a reviewer of a regen reads the part of the API that changed.

mod corpus_score;

use gitpod_codegen::emit::{emit, EmitOptions, GeneratedFile};
use gitpod_codegen::parse::parse_pages;
use gitpod_codegen::SpecPage;
use std::collections::BTreeMap;

fn corpus_pages() -> Vec<SpecPage> {
    let dir = corpus_score::corpus_dir().join("pages-flat");
    let mut pages: Vec<SpecPage> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| SpecPage {
            file: p.file_name().unwrap().to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    pages.sort_by(|a, b| a.file.cmp(&b.file));
    pages
}

fn files(pages: &[SpecPage]) -> BTreeMap<String, String> {
    let model = parse_pages(pages, None).unwrap_or_else(|e| panic!("{e:?}")).model;
    let emitted: Vec<GeneratedFile> = emit(&model, &EmitOptions::default()).unwrap().files;
    emitted.into_iter().map(|f| (f.path, f.contents)).collect()
}

#[test]
fn editing_one_page_changes_only_that_services_files() {
    let pages = corpus_pages();
    let before = files(&pages);
    // A reworded field description on the editors pages (both dialects document the field).
    let edited: Vec<SpecPage> = pages
        .iter()
        .map(|p| SpecPage {
            file: p.file.clone(),
            text: p.text.replace("url is the resolved editor URL", "url is the resolved editor URL, ready to open"),
        })
        .collect();
    assert_ne!(edited.iter().map(|p| &p.text).collect::<Vec<_>>(), pages.iter().map(|p| &p.text).collect::<Vec<_>>());
    let after = files(&edited);
    let changed: Vec<&String> = after.keys().filter(|path| before.get(*path) != after.get(*path)).collect();
    assert_eq!(changed, ["src/types/editor_service.rs"], "files changed by an edit of the editors pages");
    assert!(before.keys().eq(after.keys()));
}
