//! The model of a page must not change when its whitespace is collapsed (or was never collapsed).

mod parse_common;

use gitpod_codegen::parse::parse_pages;
use gitpod_codegen::SpecPage;
use parse_common::{collapse, fixture, spec_pages};

fn model_of(pages: &[SpecPage]) -> gitpod_codegen::model::Model {
    match parse_pages(pages, None) {
        Ok(p) => p.model,
        Err(e) => panic!("{}", e.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")),
    }
}

#[test]
fn every_spec_page_alone_gives_the_same_model_collapsed() {
    let (pages, _) = spec_pages();
    assert_eq!(pages.len(), 5);
    for page in &pages {
        let flat = SpecPage { file: page.file.clone(), text: collapse(&page.text) };
        assert_eq!(model_of(std::slice::from_ref(page)), model_of(&[flat]), "{}", page.file);
    }
}

#[test]
fn intact_fixtures_give_the_same_model_as_their_collapsed_form() {
    let page = fixture("nested.intact.python.md");
    assert!(page.text.lines().count() > 50, "the fixture keeps its newlines");
    let flat = SpecPage { file: page.file.clone(), text: collapse(&page.text) };
    assert_eq!(model_of(std::slice::from_ref(&page)), model_of(&[flat]));
}

/// Where only indentation can tell where a nested message ends, the page that kept it is read exactly and
/// its collapsed form warns with the candidate readings.
#[test]
fn indentation_settles_what_the_collapsed_form_can_only_warn_about() {
    let page = fixture("policies.intact.python.md");
    let intact = model_of(std::slice::from_ref(&page));
    let request = intact.messages.iter().find(|m| m.name == "ListRunnerPoliciesRequest").unwrap();
    assert_eq!(request.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["pagination", "runnerId"]);
    let flat = SpecPage { file: page.file.clone(), text: collapse(&page.text) };
    let warnings = parse_pages(&[flat], None).unwrap().warnings;
    assert!(
        warnings.iter().any(|w| w.message.contains("ambiguous nesting: `runner_id` may belong to `pagination`")),
        "{warnings:?}"
    );
}

#[test]
fn intact_policies_fixture_reads_like_the_published_page() {
    let intact = model_of(&[fixture("policies.intact.python.md")]);
    let (pages, _) = spec_pages();
    // The whole spec: its HTTP page settles where the flattened request's `pagination` ends.
    let published = model_of(&pages);
    for name in [
        "CreateRunnerPolicyRequest",
        "CreateRunnerPolicyResponse",
        "ListRunnerPoliciesRequest",
        "ListRunnerPoliciesResponse",
        "RunnerPolicy",
    ] {
        let a = intact.messages.iter().find(|m| m.name == name).unwrap();
        let b = published.messages.iter().find(|m| m.name == name).unwrap();
        assert_eq!(a, b, "{name}");
    }
    let list = |m: &gitpod_codegen::model::Model| {
        m.services.iter().flat_map(|s| &s.methods).find(|x| x.name == "ListRunnerPolicies").cloned().unwrap()
    };
    assert_eq!(list(&intact).query, list(&published).query);
    assert_eq!(list(&intact).pagination, list(&published).pagination);
    assert_eq!(list(&intact).examples.python, list(&published).examples.python);
    assert_eq!(list(&intact).examples.response, list(&published).examples.response);
}

#[test]
fn intact_nesting_is_recovered_from_the_flat_form() {
    let model = model_of(&[SpecPage { file: "n.md".into(), text: collapse(&fixture("nested.intact.python.md").text) }]);
    let fields = |n: &str| {
        model.messages.iter().find(|m| m.name == n).unwrap().fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(fields("UpdateRunnerRequest"), ["name", "runnerId", "spec"]);
    assert_eq!(fields("Spec"), ["configuration", "desiredPhase"]);
    assert_eq!(fields("SpecConfiguration"), ["autoUpdate", "logLevel", "metrics", "updateWindow"]);
    assert_eq!(fields("SpecConfigurationMetrics"), ["enabled", "url"]);
    assert_eq!(fields("UpdateWindowParam"), ["endHour", "startHour"]);
}
