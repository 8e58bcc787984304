//! The emitter on names that are not Rust identifiers as they stand: it never panics, every file it
//! writes parses, every identifier is ASCII, and collisions are resolved the same way whatever the
//! model's order, each with a warning. (The names the pages can express are in `fixtures/names/`;
//! the others are in the hand-built `fixtures/names-model/model.json`, which regen also compiles.)

use gitpod_codegen::emit::{emit, EmitOptions, EmitWarning};
use gitpod_codegen::model::Model;
use proc_macro2::{TokenStream, TokenTree};
use std::collections::BTreeSet;
use std::path::Path;

fn names_model() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/names-model/model.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The model with the non-ASCII names in the procedure paths too (`/names.v2.Ünïcode/٣`), which the
/// fixture crate cannot serve over HTTP but the emitter must name.
fn non_ascii_paths() -> Model {
    let mut model = names_model();
    for service in &mut model.services {
        if service.short_name == "Ünïcode" {
            service.name = "names.v2.Ünïcode".to_string();
            for method in &mut service.methods {
                method.path = format!("/{}/{}", service.name, method.name);
            }
        }
    }
    assert!(model.services.iter().flat_map(|s| &s.methods).any(|m| m.path == "/names.v2.Ünïcode/٣"));
    model
}

fn idents(tokens: TokenStream, out: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                out.insert(ident.to_string());
            }
            TokenTree::Group(group) => idents(group.stream(), out),
            _ => {}
        }
    }
}

#[test]
fn hard_names_emit_parseable_ascii_code() {
    for model in [names_model(), non_ascii_paths()] {
        let emitted = emit(&model, &EmitOptions::default()).expect("the model emits");
        let mut all = BTreeSet::new();
        for file in &emitted.files {
            let tokens: TokenStream = file.contents.parse().unwrap_or_else(|e| panic!("{}: {e}", file.path));
            syn::parse2::<syn::File>(tokens.clone()).unwrap_or_else(|e| panic!("{}: {e}", file.path));
            idents(tokens, &mut all);
        }
        let not_ascii: Vec<&String> = all.iter().filter(|i| !i.is_ascii()).collect();
        assert!(not_ascii.is_empty(), "{not_ascii:?}");
        for expected in ["u0663", "gr_u00f6_u00df_e", "U00dcNU00efCode", "r#type", "self_", "super_", "crate_", "Self_"]
        {
            assert!(all.contains(expected), "`{expected}` missing");
        }
        assert!(!emitted.warnings.is_empty());
    }
}

fn warning_set(warnings: &[EmitWarning]) -> BTreeSet<String> {
    warnings.iter().map(ToString::to_string).collect()
}

/// Every collision the fixture has is reported with the name it got.
#[test]
fn collisions_are_warnings() {
    let warnings = warning_set(&emit(&names_model(), &EmitOptions::default()).unwrap().warnings);
    for expected in [
        "warning: emit: fields of message `Fields`: `fooBar` would be `foo_bar`, which collides with `foo_bar` after case conversion; it is named `foo_bar_fa08`",
        "warning: emit: types: `KIND` would be `Kind`, which collides with `Kind` after case conversion; it is named `Kind2383`",
        "warning: emit: types: `Option` would be `Option`, which is a name the generated code defines here; it is named `Option_`",
        "warning: emit: values of enum `Kind`: `a_b` would be `AB`, which collides with `a-b` after case conversion; it is named `AB6871`",
        "warning: emit: methods of service `names.v2.Unicode`: `ServicePrefix` would be `service_prefix`, which is a name the generated code defines here; it is named `service_prefix_rpc`",
    ] {
        assert!(warnings.contains(expected), "missing {expected}\n{warnings:#?}");
    }
}

/// The names do not depend on the order of services, methods, messages, enums, fields or values.
#[test]
fn names_do_not_depend_on_model_order() {
    let model = names_model();
    let mut reversed = model.clone();
    reversed.services.reverse();
    for service in &mut reversed.services {
        service.methods.reverse();
    }
    reversed.messages.reverse();
    reversed.enums.reverse();
    for message in &mut reversed.messages {
        message.fields.reverse();
    }
    for e in &mut reversed.enums {
        e.values.reverse();
    }
    let a = emit(&model, &EmitOptions::default()).unwrap();
    let b = emit(&reversed, &EmitOptions::default()).unwrap();
    assert_eq!(warning_set(&a.warnings), warning_set(&b.warnings));
    let paths =
        |files: &[gitpod_codegen::emit::GeneratedFile]| files.iter().map(|f| f.path.clone()).collect::<BTreeSet<_>>();
    assert_eq!(paths(&a.files), paths(&b.files));
}

/// The page-expressible names: the fixture's pages emit with the warnings regen prints.
#[test]
fn names_fixture_pages_warn() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/names/spec");
    let (pages, overrides) = gitpod_codegen::parse::load_spec_dir(&dir).unwrap();
    let parsed = gitpod_codegen::parse::parse_pages(&pages, overrides.as_ref()).unwrap_or_else(|e| panic!("{e:?}"));
    let options = EmitOptions { crate_name: "fixture_names".into(), readme: None };
    let warnings = warning_set(&emit(&parsed.model, &options).unwrap().warnings);
    for expected in [
        "warning: emit: services: `SameService` would be `SameService`, which collides with `SameService` after case conversion; it is named `BV1SameService`",
        "warning: emit: services: `Types` would be `Types`, which is a name the generated code defines here; it is named `NamesV1Types`",
        "warning: emit: methods of service `names.v1.ThingService`: `New` would be `new`, which is a name the generated code defines here; it is named `new_rpc`",
        "warning: emit: methods of service `names.v1.ThingService`: `ListThingsStream` would be `list_things_stream`, which collides with `ListThings` after case conversion; it is named `list_things_stream_4c76`",
        "warning: emit: types: `Get_ThingRequest` would be `GetThingRequest`, which collides with `GetThingRequest` after case conversion; it is named `GetThingRequest51CD`",
    ] {
        assert!(warnings.contains(expected), "missing {expected}\n{warnings:#?}");
    }
}

/// Two variants cannot share a wire name: a hand-built model whose enum lists a value twice is refused with
/// an error that names the enum and the value (the parser lists every value once).
#[test]
fn an_enum_value_listed_twice_is_refused() {
    let mut model = names_model();
    let e = model.enums.first_mut().expect("the names model has enums");
    let value = e.values[0].clone();
    e.values.push(value.clone());
    let name = e.name.clone();
    let err = emit(&model, &EmitOptions::default()).expect_err("a repeated value is refused");
    assert!(err.message.contains(&format!("enum `{name}` lists the value `{value}` twice")), "{err}");
}

#[test]
fn a_field_listed_twice_is_refused() {
    let mut model = names_model();
    let m = model.messages.iter_mut().find(|m| !m.fields.is_empty()).expect("the names model has fields");
    let field = m.fields[0].clone();
    m.fields.push(field.clone());
    let name = m.name.clone();
    let err = emit(&model, &EmitOptions::default()).expect_err("a repeated field is refused");
    assert!(err.message.contains(&format!("message `{name}` lists the field `{}` twice", field.name)), "{err}");
}
