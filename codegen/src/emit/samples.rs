//! Sample values for every request and response, and a test that sends each one over real HTTP.
//!
//! `tests/samples/mod.rs` builds a filled request and response for every method from the model:
//! every field set, every kind of value exercised (int64 beyond 2^53, nanosecond timestamps,
//! durations, bytes, nested lists and messages, unknown enum values in responses).
//! `tests/every_method.rs` serves them from an implementation of every server trait that checks
//! the request it receives, and calls every method with the generated clients.

use super::names::{self, Names, UNKNOWN_VARIANT};
use super::types::TypeIndex;
use super::{moved, str_lit, Moved};
use crate::model::{Model, Streaming, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rustc_hash::FxHashMap;
use std::cell::RefCell;

/// How deep sample messages nest before fields are left at their defaults (recursive types).
const MAX_DEPTH: usize = 5;

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Response,
}

struct Sampler<'a, 'm> {
    index: &'a TypeIndex<'m>,
    side: Side,
    /// The sample of each message at each depth, built once: many methods share messages, and a copy of a sample
    /// is cheap (its few top-level tokens; the braced fields are shared, not copied).
    built: RefCell<FxHashMap<(&'m str, usize), TokenStream>>,
}

impl<'a, 'm> Sampler<'a, 'm> {
    fn new(index: &'a TypeIndex<'m>, side: Side) -> Self {
        Sampler { index, side, built: RefCell::default() }
    }

    fn message(&self, name: &'m str, depth: usize) -> TokenStream {
        if let Some(tokens) = self.built.borrow().get(&(name, depth)) {
            return tokens.clone();
        }
        let tokens = self.build_message(name, depth);
        self.built.borrow_mut().insert((name, depth), tokens.clone());
        tokens
    }

    fn build_message(&self, name: &'m str, depth: usize) -> TokenStream {
        let ty = self.index.names.type_ident(name);
        let Some(message) = self.index.message(name) else { return quote!(types::#ty::default()) };
        if depth >= MAX_DEPTH || message.fields.is_empty() {
            return quote!(types::#ty::default());
        }
        // Each value is moved into the code around it (`moved`): nested messages are not copied per level.
        let fields: Vec<Moved> = message
            .fields
            .iter()
            .zip(self.index.names.fields(name))
            .map(|(field, id)| {
                let value = self.value(&field.ty, &field.name, depth + 1);
                let is_collection = matches!(field.ty, Type::List { .. } | Type::Map { .. });
                let boxed = self.index.is_boxed(&message.name, &field.name);
                let value = if boxed {
                    let value = moved(value);
                    quote!(Box::new(#value))
                } else {
                    value
                };
                let value = moved(value);
                moved(if field.optional && !is_collection { quote!(#id: Some(#value)) } else { quote!(#id: #value) })
            })
            .collect();
        let rest = if message.undocumented_fields.is_empty() { quote!() } else { quote!(..Default::default()) };
        quote!(types::#ty { #( #fields, )* #rest })
    }

    fn value(&self, ty: &'m Type, wire: &str, depth: usize) -> TokenStream {
        match ty {
            Type::String => {
                let s = str_lit(&format!("{wire}-value"));
                quote!(#s.to_string())
            }
            Type::Bool => quote!(true),
            Type::Int32 => quote!(-7),
            Type::Uint32 => quote!(7),
            // Beyond 2^53: survives only if the wire writes int64 as a string.
            Type::Int64 => quote!(9_007_199_254_740_993),
            Type::Uint64 => quote!(18_446_744_073_709_551_615),
            Type::Float => quote!(1.5),
            Type::Double => quote!(2.25),
            Type::Bytes => quote!(Vec::from([0, 1, 2, 251, 254, 255])),
            Type::Timestamp => quote!("2024-02-29T12:34:56.123456789Z".parse().unwrap()),
            Type::Duration => quote!(::std::time::Duration::new(1, 500_000_000)),
            Type::Any => quote!(::serde_json::json!({ "nested": [1, "two", null] })),
            Type::Message { name } => self.message(name, depth),
            Type::Enum { name } => self.enum_value(name, false),
            Type::List { item } => {
                let first = self.value(item, wire, depth);
                let second = match &**item {
                    // A value from a newer server must survive a round trip through the client.
                    Type::Enum { name } if self.side == Side::Response => self.enum_value(name, true),
                    _ => first.clone(),
                };
                let (first, second) = (moved(first), moved(second));
                quote!(Vec::from([#first, #second]))
            }
            Type::Map { value } => {
                let v = moved(self.value(value, wire, depth));
                quote!([("key".to_string(), #v)].into_iter().collect())
            }
        }
    }

    fn enum_value(&self, name: &str, unknown: bool) -> TokenStream {
        let ty = self.index.names.type_ident(name);
        if unknown || self.index.enum_values(name).is_none_or(<[String]>::is_empty) {
            let variant = format_ident!("{}", UNKNOWN_VARIANT);
            let raw = str_lit(&format!("{}_FROM_THE_FUTURE", names::shouty(name)));
            return quote!(types::#ty::#variant(#raw.to_string()));
        }
        // The last documented value: never the default, so it is always written.
        let variant = self.index.names.variants(name).last().expect("values is not empty");
        quote!(types::#ty::#variant)
    }
}

/// `tests/samples/mod.rs`: `{method}_request()` and `{method}_response()` for every method.
pub fn emit_samples<'m>(model: &'m Model, index: &TypeIndex<'m>) -> TokenStream {
    let names = &index.names;
    let krate = &names.krate;
    let mut fns = Vec::new();
    let (requests, responses) = (Sampler::new(index, Side::Request), Sampler::new(index, Side::Response));
    for (service, service_names) in model.services.iter().zip(&names.services) {
        for (method, method_names) in service.methods.iter().zip(&service_names.methods) {
            let (request_fn, response_fn) = (&method_names.request_fn, &method_names.response_fn);
            let request_ty = names.type_ident(&method.request);
            let response_ty = names.type_ident(&method.response);
            let request = moved(requests.message(&method.request, 0));
            let response = moved(responses.message(&method.response, 0));
            let request_doc = str_lit(&format!(" A filled `{}` for `{}`.", method.request, method.path));
            let response_doc = str_lit(&format!(" A filled `{}` for `{}`.", method.response, method.path));
            fns.push(moved(quote! {
                #[doc = #request_doc]
                pub fn #request_fn() -> types::#request_ty { #request }
                #[doc = #response_doc]
                pub fn #response_fn() -> types::#response_ty { #response }
            }));
        }
    }
    quote! {
        //! Filled sample requests and responses for every method, built from the model.
        #![allow(dead_code, deprecated, clippy::all)]

        use #krate::types;

        #( #fns )*
    }
}

/// `tests/every_method.rs`: every method of every service over 127.0.0.1.
pub fn emit_every_method_test(model: &Model, names: &Names) -> TokenStream {
    let krate = &names.krate;
    let mut impls = Vec::new();
    let mut registrations = Vec::new();
    let mut calls = Vec::new();
    for (service, service_names) in model.services.iter().zip(&names.services) {
        let module = &service_names.module;
        let trait_name = &service_names.trait_name;
        let client_ty = &service_names.client;
        let client_var = &service_names.client_var;
        let mut methods = Vec::new();
        let mut service_calls = Vec::new();
        for (method, method_names) in service.methods.iter().zip(&service_names.methods) {
            let func = &method_names.func;
            let (request_fn, response_fn) = (&method_names.request_fn, &method_names.response_fn);
            let request_ty = names.type_ident(&method.request);
            let response_ty = names.type_ident(&method.response);
            let path = str_lit(&method.path);
            if method.streaming == Streaming::Server {
                // A stream of two sample messages, read back one by one.
                methods.push(quote! {
                    async fn #func(&self, context: RequestContext, request: types::#request_ty) -> Result<MessageStream<types::#response_ty>, ConnectError> {
                        check(&context, &request, &samples::#request_fn())?;
                        Ok(MessageStream::iter(vec![Ok(samples::#response_fn()), Ok(samples::#response_fn())]))
                    }
                });
                service_calls.push(quote! {
                    let mut stream = #client_var.#func(samples::#request_fn());
                    let mut messages = Vec::new();
                    while let Some(message) = stream.message().await.unwrap_or_else(|e| panic!("{}: {e}", #path)) {
                        messages.push(message);
                    }
                    assert_eq!(messages, vec![samples::#response_fn(), samples::#response_fn()], "{}", #path);
                    called += 1;
                });
                continue;
            }
            methods.push(quote! {
                async fn #func(&self, context: RequestContext, request: types::#request_ty) -> Result<types::#response_ty, ConnectError> {
                    check(&context, &request, &samples::#request_fn())?;
                    Ok(samples::#response_fn())
                }
            });
            service_calls.push(quote! {
                let response = #client_var.#func(samples::#request_fn()).await.unwrap_or_else(|e| panic!("{}: {e}", #path));
                assert_eq!(response, samples::#response_fn(), "{}", #path);
                called += 1;
            });
        }
        impls.push(quote! {
            impl #module::#trait_name for Checked {
                #( #methods )*
            }
        });
        registrations.push(quote!(let router = #module::register(router, service.clone());));
        calls.push(quote! {
            let #client_var = #krate::#client_ty::new(config.clone()).unwrap();
            #( #service_calls )*
        });
    }
    let total: usize = model.services.iter().map(|s| s.methods.len()).sum();
    let streams = model.services.iter().flat_map(|s| &s.methods).any(|m| m.streaming == Streaming::Server);
    let stream_import = if streams { quote!(use #krate::runtime::server::MessageStream;) } else { quote!() };
    let modules = names.services.iter().map(|s| &s.module);
    quote! {
        //! Every method of every service: the generated client sends a filled request to a server
        //! built from the generated traits over 127.0.0.1; the server checks it and answers a
        //! filled response, which must come back unchanged.
        #![allow(deprecated)]

        mod samples;

        use #krate::runtime::client::ClientConfig;
        use #krate::runtime::server::{ConnectRouter, RequestContext};
        #stream_import
        use #krate::{types, ConnectError};
        use #krate::{ #( #modules ),* };
        use std::sync::Arc;

        /// Answers every method with its sample response after checking the request.
        struct Checked;

        fn check<T: PartialEq + std::fmt::Debug>(context: &RequestContext, got: &T, want: &T) -> Result<(), ConnectError> {
            if context.bearer_token() != Some("sample-token") {
                return Err(ConnectError::unauthenticated("missing bearer token"));
            }
            if got != want {
                return Err(ConnectError::invalid_argument(format!("request differs from the sample:\n got: {got:?}\nwant: {want:?}")));
            }
            Ok(())
        }

        #( #impls )*

        #[tokio::test]
        async fn every_method_round_trips_over_http() {
            let service = Arc::new(Checked);
            let router = ConnectRouter::new();
            #( #registrations )*
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(#krate::runtime::server::serve(listener, router.into_axum()));
            let config = ClientConfig::new().base_url(format!("http://{addr}")).bearer_token("sample-token").max_retries(0);
            let mut called = 0;
            #( #calls )*
            assert_eq!(called, #total);
            server.abort();
        }
    }
}

/// `tests/examples.rs`: every JSON response example of the reference decodes into its response
/// type and encodes back to the same JSON.
pub fn emit_example_tests(model: &Model, names: &Names) -> TokenStream {
    let krate = &names.krate;
    let methods = || model.services.iter().zip(&names.services).flat_map(|(s, n)| s.methods.iter().zip(&n.methods));
    let responses = methods().filter_map(|(method, method_names)| {
        let example = raw_string(&pretty_json(method.examples.response.as_ref()?));
        let name = &method_names.response_example_test;
        let ty = names.type_ident(&method.response);
        let doc = str_lit(&format!(" The documented response of `{}`.", method.path));
        Some(quote! {
            #[doc = #doc]
            #[test]
            fn #name() {
                assert_json_round_trip::<types::#ty>(#example);
            }
        })
    });
    // The request examples (YAML blocks and Python calls), as the parser read them against the
    // request type: each must decode into the generated request type and encode back unchanged.
    let requests = methods().filter_map(|(method, method_names)| {
        let values: Vec<&serde_json::Value> = method
            .examples
            .requests
            .iter()
            .filter_map(|r| r.value.as_ref())
            .chain(method.examples.python_args.as_ref())
            .collect();
        if values.is_empty() {
            return None;
        }
        let examples = values.iter().map(|v| raw_string(&serde_json::to_string_pretty(v).unwrap_or_default()));
        let name = &method_names.request_examples_test;
        let ty = names.type_ident(&method.request);
        let doc = str_lit(&format!(" The documented request examples of `{}` (YAML and Python).", method.path));
        Some(quote! {
            #[doc = #doc]
            #[test]
            fn #name() {
                #( assert_json_round_trip::<types::#ty>(#examples); )*
            }
        })
    });
    let tests: Vec<TokenStream> = responses.chain(requests).collect();
    // A model without examples gets an empty test file, without imports it would not use.
    let imports = if tests.is_empty() {
        quote!()
    } else {
        quote! {
            use #krate::runtime::testing::assert_json_round_trip;
            use #krate::types;
        }
    };
    quote! {
        //! The reference's examples, decoded into the generated types and encoded back: JSON
        //! responses into response types, YAML and Python request examples into request types. The
        //! result must equal the example as JSON (key order aside; well-known types compared by
        //! value, e.g. `"+1.5s"` and `"1.5s"`).
        #![allow(deprecated)]

        #imports

        #( #tests )*
    }
}

/// The JSON text pretty-printed, so it reads well in the generated file (unchanged if it is not JSON).
fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

/// A raw string literal (`r#"..."#`) with enough hashes for `text`.
fn raw_string(text: &str) -> proc_macro2::Literal {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}").parse().expect("a raw string literal always lexes")
}
