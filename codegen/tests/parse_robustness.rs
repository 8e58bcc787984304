//! Malformed input gives diagnostics, never a panic.

mod parse_common;

use gitpod_codegen::diag::Severity;
use gitpod_codegen::emit::{emit, EmitOptions};
use gitpod_codegen::model::Model;
use gitpod_codegen::parse::parse_pages;
use gitpod_codegen::SpecPage;
use parse_common::mutate::{mutants, Lcg};
use parse_common::{fixture, spec_pages};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn mutated_pages_give_a_model_or_diagnostics_never_a_panic() {
    let (pages, _) = spec_pages();
    let mut rng = Lcg(7);
    let mut runs = 0;
    let mut errs = 0;
    let mut emitted = 0;
    for page in pages.iter().filter(|p| p.text.len() < 20_000).chain(Some(&fixture("policies.intact.python.md"))) {
        for text in mutants(&page.text, &mut rng, 60, 5) {
            let mutated = SpecPage { file: page.file.clone(), text };
            let result = catch_unwind(AssertUnwindSafe(|| parse_pages(std::slice::from_ref(&mutated), None)));
            let result = result.unwrap_or_else(|_| panic!("panic on a mutant of {}:\n{}", page.file, mutated.text));
            match result {
                Ok(parsed) => {
                    emit_never_panics(&parsed.model, &mutated);
                    emitted += 1;
                }
                Err(diags) => {
                    errs += 1;
                    assert!(diags.iter().all(|d| d.severity == Severity::Error && d.file == page.file && d.line >= 1));
                }
            }
            runs += 1;
        }
    }
    // The large page: fewer, bigger cuts keep the test fast.
    let big = pages.iter().find(|p| p.file == "runners.python.md").unwrap();
    for text in mutants(&big.text, &mut rng, 8, 5) {
        let mutated = SpecPage { file: big.file.clone(), text };
        let result = catch_unwind(AssertUnwindSafe(|| parse_pages(std::slice::from_ref(&mutated), None)));
        if let Ok(parsed) = result.unwrap_or_else(|_| panic!("panic on a mutant of {}", big.file)) {
            emit_never_panics(&parsed.model, &mutated);
            emitted += 1;
        }
        runs += 1;
    }
    assert!(runs >= 290);
    assert!(errs > 0, "some mutants must be rejected with diagnostics");
    assert!(emitted > 0, "some mutants must parse, so the emitter sees them");
}

/// Mutants of every corpus page (both dialects, flat): no panic, and no parse over 1 s. Fixed seed, a few
/// mutants per page, so the run is deterministic and short.
#[test]
fn mutated_corpus_pages_never_panic_or_hang() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/pages-flat");
    let (pages, _) = gitpod_codegen::parse::load_spec_dir(&dir).expect("corpus/pages-flat/ is readable");
    let mut rng = Lcg(12);
    let mut runs = 0;
    for page in &pages {
        for text in mutants(&page.text, &mut rng, 5, 5) {
            let mutated = SpecPage { file: page.file.clone(), text };
            let start = std::time::Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| parse_pages(std::slice::from_ref(&mutated), None)));
            let took = start.elapsed();
            assert!(result.is_ok(), "panic on a mutant of {}", page.file);
            // Debug builds are several times slower than release: the bound is for a release build's second.
            let bound = if cfg!(debug_assertions) { 10.0 } else { 1.0 };
            assert!(took.as_secs_f64() < bound, "a mutant of {} took {took:?}", page.file);
            runs += 1;
        }
    }
    assert_eq!(runs, pages.len() * 5);
}

/// Whatever model a mutated page gives, the emitter returns files or an error: it never panics.
fn emit_never_panics(model: &Model, page: &SpecPage) {
    let emitted = catch_unwind(AssertUnwindSafe(|| emit(model, &EmitOptions::default())));
    assert!(emitted.is_ok(), "the emitter panicked on the model of a mutant of {}:\n{}", page.file, page.text);
}

#[test]
fn errors_name_file_line_column_and_excerpt() {
    let text = "# Policies\n\n## CreateRunnerPolicy\n\n**post** `/gitpod.v1.RunnerService/CreateRunnerPolicy`\n\n### Example\n\n```python\nclient.runners.policies.create(\n";
    let page = SpecPage { file: "broken.python.md".into(), text: text.into() };
    let errs = parse_pages(&[page], None).expect_err("unterminated fence");
    let e = &errs[0];
    assert_eq!((e.file.as_str(), e.line, e.column), ("broken.python.md", 9, 1));
    assert!(e.message.contains("unterminated code fence"), "{}", e.message);
    assert!(e.excerpt.starts_with("```python"), "{}", e.excerpt);
    assert!(e.to_string().contains("broken.python.md:9:1"));
}

#[test]
fn bad_overrides_are_errors_with_a_position() {
    let (pages, _) = spec_pages();
    let ov = SpecPage { file: "overrides.toml".into(), text: "[field_types]\n\"Runner.name\" = \"int9\"\n".into() };
    let errs = parse_pages(&pages, Some(&ov)).expect_err("bad type name");
    assert_eq!((errs[0].file.as_str(), errs[0].line), ("overrides.toml", 2));
}

/// A field listed twice in one list (a slip in the docs) would give a message with two fields of one wire
/// name: a JSON object that writes a key twice, and a crate that does not build warning-free. The model keeps
/// the first listing, and the page is told where the second is; with newlines kept and flattened alike.
#[test]
fn a_field_listed_twice_is_kept_once_with_a_warning() {
    let text = "# Dups\n\n## GetDup\n\n`dups.retrieve(DupRetrieveParams**kwargs) -> DupRetrieveResponse`\n\n\
                **post** `/test.v1.DupService/GetDup`\n\nGets a dup.\n\n### Parameters\n\n\
                - `id: Optional[str]`\n\n  id is the identifier\n\n- `id: Optional[str]`\n\n  id again\n\n\
                ### Returns\n\n- `class DupRetrieveResponse: …`\n\n  - `name: Optional[str]`\n\n\
                \x20 - `count: Optional[int]`\n\n  - `name: Optional[str]`\n\n    the name again\n";
    for (text, lines) in [(text.to_string(), [17, 29]), (parse_common::collapse(text), [1, 1])] {
        let page = SpecPage { file: "dups.python.md".into(), text };
        let parsed = parse_pages(&[page], None).expect("the page parses");
        let wire_names = |name: &str| {
            let m = parsed.model.messages.iter().find(|m| m.name == name).expect("the message exists");
            m.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(wire_names("GetDupRequest"), ["id"]);
        assert_eq!(wire_names("GetDupResponse"), ["name", "count"]);
        let twice: Vec<_> = parsed.warnings.iter().filter(|w| w.message.contains("twice")).collect();
        let found: Vec<_> = twice.iter().map(|w| (w.file.as_str(), w.line, w.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (
                    "dups.python.md",
                    lines[0],
                    "`GetDupRequest` lists the field `id` twice; the second listing is left out"
                ),
                (
                    "dups.python.md",
                    lines[1],
                    "`GetDupResponse` lists the field `name` twice; the second listing is left out"
                ),
            ]
        );
        let emitted = emit(&parsed.model, &EmitOptions::default()).expect("the model emits");
        assert!(emitted.warnings.is_empty(), "{:?}", emitted.warnings);
    }
}
