//! The model of the spec pages: every method, its messages, and every response checked against its JSON example.

mod parse_common;

use gitpod_codegen::model::{Message, Model, Type};
use gitpod_codegen::parse::parse_pages;
use gitpod_codegen::SpecPage;
use parse_common::{parse_spec, spec_pages};
use serde_json::Value;
use std::collections::BTreeMap;

/// (service, rpc, items field of a paginated list method)
const METHODS: &[(&str, &str, Option<&str>)] = &[
    ("RunnerService", "CheckAuthenticationForHost", None),
    ("RunnerService", "CheckRepositoryAccess", None),
    ("RunnerService", "CreateRunner", None),
    ("RunnerService", "CreateRunnerLogsToken", None),
    ("RunnerService", "CreateRunnerPolicy", None),
    ("RunnerService", "CreateRunnerToken", None),
    ("RunnerService", "DeleteRunner", None),
    ("RunnerService", "DeleteRunnerPolicy", None),
    ("RunnerService", "GetRunner", None),
    ("RunnerService", "ListRunnerPolicies", Some("policies")),
    ("RunnerService", "ListRunners", Some("runners")),
    ("RunnerService", "ListSCMOrganizations", None),
    ("RunnerService", "ParseContextURL", None),
    ("RunnerService", "SearchRepositories", None),
    ("RunnerService", "UpdateRunner", None),
    ("RunnerService", "UpdateRunnerPolicy", None),
    ("RunnerConfigurationService", "CreateEnvironmentClass", None),
    ("RunnerConfigurationService", "CreateHostAuthenticationToken", None),
    ("RunnerConfigurationService", "CreateSCMIntegration", None),
    ("RunnerConfigurationService", "DeleteHostAuthenticationToken", None),
    ("RunnerConfigurationService", "DeleteSCMIntegration", None),
    ("RunnerConfigurationService", "GetEnvironmentClass", None),
    ("RunnerConfigurationService", "GetHostAuthenticationToken", None),
    ("RunnerConfigurationService", "GetRunnerConfigurationSchema", None),
    ("RunnerConfigurationService", "GetSCMIntegration", None),
    ("RunnerConfigurationService", "ListEnvironmentClasses", Some("environmentClasses")),
    ("RunnerConfigurationService", "ListHostAuthenticationTokens", Some("tokens")),
    ("RunnerConfigurationService", "ListSCMIntegrations", Some("integrations")),
    ("RunnerConfigurationService", "UpdateEnvironmentClass", None),
    ("RunnerConfigurationService", "UpdateHostAuthenticationToken", None),
    ("RunnerConfigurationService", "UpdateSCMIntegration", None),
    ("RunnerConfigurationService", "ValidateRunnerConfiguration", None),
    ("ProjectService", "CreateProjectPolicy", None),
    ("ProjectService", "DeleteProjectPolicy", None),
    ("ProjectService", "ListProjectPolicies", Some("policies")),
    ("ProjectService", "UpdateProjectPolicy", None),
];

fn messages(model: &Model) -> BTreeMap<&str, &Message> {
    model.messages.iter().map(|m| (m.name.as_str(), m)).collect()
}

#[test]
fn all_36_methods_with_paths_messages_query_and_pagination() {
    let model = parse_spec().model;
    let msgs = messages(&model);
    let counts: BTreeMap<&str, usize> =
        model.services.iter().map(|s| (s.short_name.as_str(), s.methods.len())).collect();
    assert_eq!(
        counts,
        BTreeMap::from([("ProjectService", 4), ("RunnerConfigurationService", 16), ("RunnerService", 16)])
    );
    for &(service, rpc, items) in METHODS {
        let svc = model.services.iter().find(|s| s.short_name == service).unwrap();
        assert_eq!(svc.name, format!("gitpod.v1.{service}"));
        let m = svc.methods.iter().find(|m| m.name == rpc).unwrap_or_else(|| panic!("{rpc} missing"));
        assert_eq!(m.path, format!("/gitpod.v1.{service}/{rpc}"));
        assert_eq!(m.request, format!("{rpc}Request"));
        assert_eq!(m.response, format!("{rpc}Response"));
        assert!(
            msgs.contains_key(m.request.as_str()) && msgs.contains_key(m.response.as_str()),
            "{rpc}: messages exist"
        );
        assert!(!m.doc.is_empty(), "{rpc}: doc");
        assert!(m.examples.response.is_some(), "{rpc}: JSON example kept");
        let request = msgs[m.request.as_str()];
        match items {
            Some(items) => {
                let p = m.pagination.as_ref().unwrap_or_else(|| panic!("{rpc}: pagination"));
                assert_eq!(p.items, items);
                assert_eq!(p.next_token, "pagination.nextToken");
                let q: Vec<(&str, &Type)> = m.query.iter().map(|f| (f.name.as_str(), &f.ty)).collect();
                assert_eq!(q, [("token", &Type::String), ("pageSize", &Type::Int32)], "{rpc}: query");
                // The body keeps `pagination { token, pageSize }`; the query parameters are not body fields.
                assert!(request.fields.iter().all(|f| f.name != "token" && f.name != "pageSize"), "{rpc}");
                let pag = request.fields.iter().find(|f| f.name == "pagination").expect("body pagination");
                assert_eq!(pag.ty, Type::Message { name: "PaginationRequest".into() });
                let resp = msgs[m.response.as_str()];
                let item_field = resp.fields.iter().find(|f| f.name == items).unwrap();
                assert_eq!(item_field.ty, Type::List { item: Box::new(Type::Message { name: p.item_type.clone() }) });
            }
            None => assert!(m.pagination.is_none(), "{rpc}: no pagination"),
        }
    }
    let list_scm = &model.services.iter().flat_map(|s| &s.methods).find(|m| m.name == "ListSCMOrganizations").unwrap();
    assert_eq!(list_scm.query.len(), 2, "ListSCMOrganizations takes token/pageSize in the query too");
}

#[test]
fn doc_names_are_aliases_and_request_response_pagination_differ() {
    let model = parse_spec().model;
    let msgs = messages(&model);
    let m = model.services.iter().flat_map(|s| &s.methods).find(|m| m.name == "CreateRunnerPolicy").unwrap();
    assert_eq!(m.doc_aliases.request.as_deref(), Some("PolicyCreateParams"));
    assert_eq!(m.doc_aliases.response.as_deref(), Some("PolicyCreateResponse"));
    assert_eq!(m.resource, "runners.policies");
    assert_eq!(m.sdk_name.as_deref(), Some("create"));
    assert!(m.examples.python.as_deref().unwrap().starts_with("client.runners.policies.create("));
    assert_eq!(m.examples.requests[0].title, "Create admin policy: Grants admin access to a group.");
    let project = model.services.iter().flat_map(|s| &s.methods).find(|m| m.name == "CreateProjectPolicy").unwrap();
    assert_eq!(project.resource, "projects.policies");
    assert_eq!(project.doc_aliases.response.as_deref(), Some("PolicyCreateResponse"));

    let names = |n: &str| msgs[n].fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>();
    assert_eq!(names("PaginationRequest"), ["token", "pageSize"]);
    assert_eq!(names("PaginationResponse"), ["nextToken"]);
    assert_eq!(names("EnvironmentClass"), ["id", "runnerId", "configuration", "description", "displayName", "enabled"]);
    assert_eq!(names("RunnerConfigurationSchemaEnvironmentClass")[..3], ["id", "bool", "description"]);
    assert!(msgs["RunnerSpec"].aliases.contains(&"RunnerSpecParam".to_string()));
    assert!(msgs["UpdateWindow"].aliases.contains(&"UpdateWindowParam".to_string()));
    // Every type name is unique.
    let mut all: Vec<&str> =
        model.messages.iter().map(|m| m.name.as_str()).chain(model.enums.iter().map(|e| e.name.as_str())).collect();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n);
}

#[test]
fn well_known_types_and_markers() {
    let model = parse_spec().model;
    let msgs = messages(&model);
    let field =
        |m: &str, f: &str| msgs[m].fields.iter().find(|x| x.name == f).unwrap_or_else(|| panic!("{m}.{f}")).clone();
    assert_eq!(field("RunnerStatus", "publicKey").ty, Type::Bytes);
    assert_eq!(field("GatewayInfo", "latency").ty, Type::Duration);
    assert_eq!(field("Runner", "createdAt").ty, Type::Timestamp);
    assert_eq!(field("ValidateRunnerConfigurationRequestScmIntegration", "oauthEncryptedClientSecret").ty, Type::Bytes);
    assert_eq!(field("CheckAuthenticationForHostResponse", "supportsOauth2").proto_name, "supports_oauth2");
    assert_eq!(field("UpdateWindow", "startHour").ty, Type::Int32);
    assert!(field("UpdateWindow", "startHour").required_marker);
    assert!(!field("UpdateWindow", "startHour").doc.contains("+required"));
    assert!(field("CreateRunnerResponse", "accessToken").deprecated);
    assert!(!field("CreateRunnerResponse", "exchangeToken").deprecated);
    assert!(!field("Gateway", "name").optional);
    let expires = field("HostAuthenticationToken", "expiresAt");
    assert!(!expires.doc.contains("# JSON Mapping") && !expires.doc.contains("# Examples"), "{}", expires.doc);
    assert!(expires.doc.contains("RFC 3339"));
    assert!(msgs["DeleteRunnerResponse"].fields.is_empty());
    let role = model.enums.iter().find(|e| e.name == "ProjectRole").unwrap();
    assert_eq!(
        role.values,
        ["PROJECT_ROLE_UNSPECIFIED", "PROJECT_ROLE_ADMIN", "PROJECT_ROLE_USER", "PROJECT_ROLE_EDITOR"]
    );
    assert_eq!(msgs["RunnerConfiguration"].undocumented_fields, ["continuousProfiling", "encryptedHoneycombApiKey"]);
    assert_eq!(msgs["MetricsConfiguration"].undocumented_fields, ["includeVerboseMetrics"]);
}

#[test]
fn types_read_from_example_values_say_so_in_their_docs_not_in_warnings() {
    let parsed = parse_spec();
    let msgs = messages(&parsed.model);
    let doc = |m: &str, f: &str| msgs[m].fields.iter().find(|x| x.name == f).unwrap().doc.clone();
    assert!(doc("GatewayInfo", "latency").ends_with(
        "\n\nOn the wire this is a Duration (`\"1.5s\"`): the reference's JSON example shows `\"+9125115.360s\"`."
    ));
    assert!(doc("RunnerStatus", "publicKey").ends_with(
        "On the wire this is bytes (base64): the reference's JSON example shows `\"U3RhaW5sZXNzIHJvY2tz\"`."
    ));
    // Spelled bytes (`Union[str, Base64FileInput]`) needs no such sentence.
    let spelled = doc("ValidateRunnerConfigurationRequestScmIntegration", "oauthEncryptedClientSecret");
    assert!(!spelled.contains("On the wire"));
    assert_eq!(parsed.stats.inferred_from_examples, 3);
    assert!(parsed.warnings.iter().all(|w| !w.message.contains("On the wire")));

    // An `int` whose example is a string is an int64, said the same way.
    let page = SpecPage { file: "things.python.md".into(), text: INT64_PAGE.into() };
    let parsed = parse_pages(&[page], None).unwrap_or_else(|e| panic!("{e:?}"));
    let thing = parsed.model.messages.iter().find(|m| m.name == "Thing").unwrap();
    let size = thing.fields.iter().find(|f| f.name == "sizeBytes").unwrap();
    assert_eq!(size.ty, Type::Int64);
    assert_eq!(
        size.doc,
        "a count\n\nOn the wire this is a 64-bit integer written as a string: \
         the reference's JSON example shows `\"1024\"`."
    );
    assert_eq!(thing.fields.iter().find(|f| f.name == "count").unwrap().ty, Type::Int32);
    assert_eq!(parsed.stats.inferred_from_examples, 1);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

const INT64_PAGE: &str =
    "# Things ## GetThing `things.retrieve(ThingRetrieveParams**kwargs) -> ThingRetrieveResponse` \
    **post** `/gitpod.v1.ThingService/GetThing` Gets a thing. ### Parameters - `id: Optional[str]` ### Returns \
    - `class ThingRetrieveResponse: …` - `thing: Thing` - `count: Optional[int]` \
    - `size_bytes: Optional[int]` a count ### Example ```python thing = client.things.retrieve( id=\"t-1\", ) ``` \
    #### Response ```json { \"thing\": { \"count\": 3, \"sizeBytes\": \"1024\" } } ```";

#[test]
fn http_numbers_are_typed_from_the_python_pages_or_warned_and_query_params_can_be_overridden() {
    let query = |model: &Model, name: &str| {
        let m = model.services.iter().flat_map(|s| &s.methods).find(|m| m.name == "ListProjectPolicies").unwrap();
        m.query.iter().find(|f| f.name == name).unwrap().ty.clone()
    };
    // With the Python pages: `page_size: Optional[int]` types the HTTP `number`.
    let full = parse_spec();
    assert_eq!(query(&full.model, "pageSize"), Type::Int32);
    assert!(full.warnings.iter().all(|w| !w.message.contains("HTTP `number`")));
    let methods = || full.model.services.iter().flat_map(|s| &s.methods);
    assert_eq!(methods().filter(|m| m.resource == "projects.policies").count(), 4);

    // The HTTP page alone: both `pageSize`s (query and body) are read as double, each with a warning.
    let (pages, _) = spec_pages();
    let http: Vec<SpecPage> = pages.into_iter().filter(|p| p.file == "projects-policies.http.md").collect();
    let alone = parse_pages(&http, None).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(query(&alone.model, "pageSize"), Type::Double);
    let numbers: Vec<&str> = alone
        .warnings
        .iter()
        .filter(|w| w.message.contains("is an HTTP `number`"))
        .map(|w| w.message.as_str())
        .collect();
    assert!(numbers.iter().any(|m| m.starts_with("`ListProjectPoliciesRequest.query.pageSize`")), "{numbers:?}");
    assert!(numbers.iter().any(|m| m.contains(".pageSize`") && !m.contains(".query.")), "{numbers:?}");

    // spec/overrides.toml reaches a query parameter by `{Rpc}Request.query.{field}`.
    let ov = SpecPage {
        file: "overrides.toml".into(),
        text: "[field_types]\n\"ListProjectPoliciesRequest.query.pageSize\" = \"int32\"\n".into(),
    };
    let overridden = parse_pages(&http, Some(&ov)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(query(&overridden.model, "pageSize"), Type::Int32);
    assert!(overridden.warnings.iter().all(|w| !w.message.contains("query.pageSize")));
}

/// Checks `value` against message `name` both ways, recursively; returns the mismatches.
fn check(model_msgs: &BTreeMap<&str, &Message>, name: &str, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(msg) = model_msgs.get(name) else {
        errors.push(format!("{path}: no message {name}"));
        return;
    };
    let Value::Object(obj) = value else {
        errors.push(format!("{path}: expected an object for {name}"));
        return;
    };
    for key in obj.keys() {
        if !msg.fields.iter().any(|f| &f.name == key) && !msg.undocumented_fields.contains(key) {
            errors.push(format!("{path}.{key}: in the example, not in {name}"));
        }
    }
    if obj.is_empty() {
        return;
    }
    for f in &msg.fields {
        let Some(v) = obj.get(&f.name) else {
            errors.push(format!("{path}.{}: in {name}, not in the example", f.name));
            continue;
        };
        check_type(model_msgs, &f.ty, v, &format!("{path}.{}", f.name), errors);
    }
}

fn check_type(msgs: &BTreeMap<&str, &Message>, ty: &Type, v: &Value, path: &str, errors: &mut Vec<String>) {
    match (ty, v) {
        (Type::Message { name }, _) => check(msgs, name, v, path, errors),
        (Type::List { item }, Value::Array(items)) => {
            items.iter().for_each(|i| check_type(msgs, item, i, path, errors))
        }
        (Type::List { .. }, _) => errors.push(format!("{path}: list expected")),
        (
            Type::String | Type::Bytes | Type::Timestamp | Type::Duration | Type::Enum { .. } | Type::Int64,
            Value::String(_),
        ) => {}
        (Type::Bool, Value::Bool(_)) => {}
        (Type::Int32 | Type::Double, Value::Number(_)) => {}
        (Type::Any, _) => {}
        (t, v) => errors.push(format!("{path}: {t:?} does not match example {v}")),
    }
}

#[test]
fn every_response_matches_its_json_example_both_ways() {
    let model = parse_spec().model;
    let msgs = messages(&model);
    let mut errors = vec![];
    let mut checked = 0;
    for m in model.services.iter().flat_map(|s| &s.methods) {
        let text = m.examples.response.as_deref().expect("example");
        let value: Value = serde_json::from_str(text).expect("canonical example is JSON");
        check(&msgs, &m.response, &value, &m.name, &mut errors);
        checked += 1;
    }
    assert_eq!(checked, 36);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
