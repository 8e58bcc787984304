//! One service → `src/{service}.rs`: procedure constants, the client (feature `client`) and the
//! server trait with its router (feature `server`).

use super::docs::doc_attrs;
use super::literal::LiteralWriter;
use super::names::{MethodNames, ServiceNames};
use super::types::TypeIndex;
use super::{moved, str_lit, EmitError};
use crate::model::{Method, Service, Streaming, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The request and response types of a method, as a service module spells them.
fn method_types(method: &Method, index: &TypeIndex) -> (TokenStream, TokenStream) {
    let request = index.names.type_ident(&method.request);
    let response = index.names.type_ident(&method.response);
    (quote!(types::#request), quote!(types::#response))
}

pub fn emit_service(
    service: &Service,
    names: &ServiceNames,
    index: &TypeIndex,
    examples: &ExampleWriter,
) -> Result<TokenStream, EmitError> {
    let constants = service.methods.iter().zip(&names.methods).map(|(m, MethodNames { constant, .. })| {
        let path = str_lit(&m.path);
        let doc = moved(doc_attrs(&format!("`{}`", m.name)));
        moved(quote!(#doc pub const #constant: &str = #path;))
    });
    // The client, the server and every doc are moved into the file's code (`moved`), not copied.
    let client = moved(emit_client(service, names, index, examples)?);
    let server = moved(emit_server(service, names, index));
    let module_doc = format!(
        "`{}`: procedure paths, the client (feature `client`) and the server trait (feature `server`).",
        service.name
    );
    let service_path = str_lit(&format!("/{}/", service.name));
    let names_doc = moved(doc_attrs(&format!("Procedure paths of `{}`, as the router matches them.", service.name)));
    let module_doc = module_doc.lines().map(|l| str_lit(&format!(" {l}")));
    Ok(quote! {
        #( #![doc = #module_doc] )*

        #[cfg(any(feature = "client", feature = "server"))]
        use crate::types;

        #names_doc
        pub mod procedures {
            /// The prefix every procedure path of this service starts with.
            pub const SERVICE_PREFIX: &str = #service_path;
            #( #constants )*
        }

        #client
        #server
    })
}

fn method_doc(method: &Method) -> String {
    let mut doc = method.doc.trim().to_string();
    if !doc.is_empty() {
        doc.push_str("\n\n");
    }
    doc.push_str(&format!("Procedure: `{}`.", method.path));
    if let Some(sdk) = &method.sdk_name {
        doc.push_str(&format!(" Python SDK: `{}.{}`.", method.resource, sdk));
    }
    doc
}

/// The method doc, plus where the query parameters the reference lists end up on the server.
fn server_method_doc(method: &Method) -> String {
    let mut doc = method_doc(method);
    if method.streaming == Streaming::Server {
        doc.push_str(
            "\n\nServer stream: answer with a `MessageStream` (an `Err` item ends it with that error). Each message \
             is sent as it is produced; the stream is dropped when the client leaves or the deadline passes.",
        );
    }
    if !method.query.is_empty() {
        let params: Vec<String> = method.query.iter().map(|q| format!("`{}`", q.name)).collect();
        let params = params.join(", ");
        if method.pagination.is_some() {
            doc.push_str(&format!(
                "\n\nThe query parameters {params} (how the SDKs ask for later pages) are already applied to \
                 `request.pagination`."
            ));
        } else {
            doc.push_str(&format!(
                "\n\nThe reference also lists the query parameters {params}: read them with \
                 `context.query_param(..)`."
            ));
        }
    }
    doc
}

/// Clippy reads some method names as promises about `self` (`from_*` takes none, `into_*` takes it by
/// value, `*_mut` by `&mut`) or as a std trait's method (`cmp`); a method named so by the reference
/// keeps its name and says so.
fn name_lints(func: &proc_macro2::Ident) -> TokenStream {
    let name = func.to_string();
    let name = name.trim_start_matches("r#");
    let mut lints = Vec::new();
    if ["from_", "into_"].iter().any(|p| name.starts_with(p)) || name.ends_with("_mut") {
        lints.push(quote!(clippy::wrong_self_convention));
    }
    if ["cmp", "partial_cmp"].contains(&name) {
        lints.push(quote!(clippy::should_implement_trait));
    }
    if lints.is_empty() {
        quote!()
    } else {
        quote!(#[allow(#(#lints),*)])
    }
}

fn deprecated_attr(method: &Method) -> TokenStream {
    if method.deprecated {
        quote!(#[deprecated])
    } else {
        quote!()
    }
}

fn emit_client(
    service: &Service,
    names: &ServiceNames,
    index: &TypeIndex,
    examples: &ExampleWriter,
) -> Result<TokenStream, EmitError> {
    let client = &names.client;
    let client_doc =
        moved(doc_attrs(&format!("Client for `{}`. Cheap to clone: clones share one connection pool.", service.name)));
    let mut methods = Vec::new();
    for (method, method_names) in service.methods.iter().zip(&names.methods) {
        let MethodNames { func, constant, .. } = method_names;
        let (request, response) = method_types(method, index);
        let mut doc = method_doc(method);
        if method.streaming == Streaming::Server {
            doc.push_str(
                "\n\nServer stream: the messages arrive one by one as the server sends them (read them with \
                 `.message().await` or as a `Stream`). Opening the stream is bounded by the timeout and retried; \
                 nothing is retried once it is open. Dropping the stream closes the connection.",
            );
            if let Some(example) = examples.client_example(names, method, func) {
                doc.push_str("\n\n# Example\n\n");
                doc.push_str(&example);
            }
            let docs = moved(doc_attrs(&doc));
            let deprecated = deprecated_attr(method);
            methods.push(moved(quote! {
                #docs
                #deprecated
                pub fn #func(&self, request: #request) -> ::gitpod_runtime::client::ResponseStream<#response> {
                    self.transport.server_stream(procedures::#constant, &request)
                }
            }));
            continue;
        }
        // A create sent twice makes two resources: retry it only when it surely was not processed.
        let call = if method.idempotent {
            quote!(unary)
        } else {
            doc.push_str(
                "\n\nNot idempotent: retried only when the request surely was not processed \
                 (no connection, or the server answered 429/503), never after a timeout or a 5xx.",
            );
            quote!(unary_non_idempotent)
        };
        if let Some(example) = examples.client_example(names, method, func) {
            doc.push_str("\n\n# Example\n\n");
            doc.push_str(&example);
        }
        let docs = moved(doc_attrs(&doc));
        let deprecated = deprecated_attr(method);
        let lints = name_lints(func);
        // `func_with_response`: the same call, with the answer's status, headers and request id.
        let with_response = &method_names.with_response;
        let call_with_response = quote::format_ident!("{call}_with_response");
        let with_response_doc = moved(doc_attrs(&format!(
            "[`{0}`](Self::{0}), returning the message with the HTTP status, the response headers and the \
             request id (`x-request-id`).",
            func.to_string().trim_start_matches("r#")
        )));
        methods.push(moved(quote! {
            #docs
            #deprecated
            #lints
            pub async fn #func(&self, request: #request) -> Result<#response, ::gitpod_runtime::Error> {
                self.transport.#call(procedures::#constant, &request).await
            }

            #with_response_doc
            #deprecated
            pub async fn #with_response(
                &self,
                request: #request,
            ) -> Result<::gitpod_runtime::client::Response<#response>, ::gitpod_runtime::Error> {
                self.transport.#call_with_response(procedures::#constant, &request).await
            }
        }));
        if method.pagination.is_some() {
            methods.push(moved(emit_stream_method(method, method_names, index)?));
        }
    }
    Ok(quote! {
        #[cfg(feature = "client")]
        #client_doc
        #[derive(Debug, Clone)]
        pub struct #client {
            transport: ::gitpod_runtime::client::Transport,
        }

        #[cfg(feature = "client")]
        impl #client {
            /// Creates a client from a configuration (base URL, token, timeout, retries).
            pub fn new(config: ::gitpod_runtime::client::ClientConfig) -> Result<Self, ::gitpod_runtime::Error> {
                Ok(Self { transport: ::gitpod_runtime::client::Transport::new(config)? })
            }

            /// Creates a client that shares an existing transport with other clients.
            pub fn from_transport(transport: ::gitpod_runtime::client::Transport) -> Self {
                Self { transport }
            }

            /// A copy of this client whose calls use `options`: timeout, retries, headers, query
            /// parameters, extra body fields, an idempotency key.
            pub fn with_options(&self, options: ::gitpod_runtime::client::CallOptions) -> Self {
                Self { transport: self.transport.with_options(options) }
            }

            #( #methods )*
        }
    })
}

/// `list_x_stream`: every item over all pages, following `nextToken`.
fn emit_stream_method(method: &Method, names: &MethodNames, index: &TypeIndex) -> Result<TokenStream, EmitError> {
    let pagination = method.pagination.as_ref().expect("caller checked");
    let MethodNames { func, constant, .. } = names;
    let stream_fn = names.stream.as_ref().ok_or_else(|| EmitError::new(format!("{}: no stream name", method.path)))?;
    let (request, response) = method_types(method, index);
    let item = index.names.type_ident(&pagination.item_type);
    let items_field = response_field(index, &method.response, &pagination.items)?;
    let next_token = next_token_expr(index, &method.response, &pagination.next_token)?;
    let doc = doc_attrs(&format!(
        "Every item of [`{0}`](Self::{0}) across all pages: follows `{1}` until it is empty.\n\n\
         The request's own pagination token is where the first page starts. At most `max_pages` \
         pages are fetched (`ClientConfig::max_pages`, `CallOptions::max_pages`, default 10,000): \
         then `Error::TooManyPages` ends the stream.",
        func.to_string().trim_start_matches("r#"),
        pagination.next_token
    ));
    let deprecated = deprecated_attr(method);
    let lints = name_lints(stream_fn);
    Ok(quote! {
        #doc
        #deprecated
        #lints
        pub fn #stream_fn(
            &self,
            request: #request,
        ) -> impl ::gitpod_runtime::Stream<Item = Result<types::#item, ::gitpod_runtime::Error>> + Send + 'static {
            let transport = self.transport.clone();
            self.transport.paginate(
                move |token: Option<String>| {
                    let transport = transport.clone();
                    let request = request.clone();
                    async move { transport.unary_page::<_, #response>(procedures::#constant, &request, token.as_deref()).await }
                },
                |response: #response| (response.#items_field, #next_token),
            )
        }
    })
}

/// The Rust field name of the response field with wire name `wire`.
fn response_field(index: &TypeIndex, message: &str, wire: &str) -> Result<proc_macro2::Ident, EmitError> {
    let msg = index.message(message).ok_or_else(|| EmitError::new(format!("unknown message `{message}`")))?;
    msg.fields
        .iter()
        .zip(index.names.fields(message))
        .find(|(f, _)| f.name == wire)
        .map(|(_, n)| n.clone())
        .ok_or_else(|| EmitError::new(format!("message `{message}` has no field `{wire}`")))
}

/// An expression of type `Option<String>` that takes the next-page token (a dotted path such as
/// `pagination.nextToken`) out of an owned `response`, through optional and required fields alike.
fn next_token_expr(index: &TypeIndex, message: &str, path: &str) -> Result<TokenStream, EmitError> {
    let mut current = message.to_string();
    let mut acc: Option<TokenStream> = None;
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let msg = index.message(&current).ok_or_else(|| EmitError::new(format!("unknown message `{current}`")))?;
        let (field, id) =
            msg.fields.iter().zip(index.names.fields(&current)).find(|(f, _)| f.name == *segment).ok_or_else(|| {
                EmitError::new(format!("pagination path `{path}`: `{current}` has no field `{segment}`"))
            })?;
        acc = Some(match (acc, field.optional) {
            (None, true) => quote!(response.#id),
            (None, false) => quote!(Some(response.#id)),
            (Some(acc), true) => quote!(#acc.and_then(|m| m.#id)),
            (Some(acc), false) => quote!(#acc.map(|m| m.#id)),
        });
        let last = i + 1 == segments.len();
        match (&field.ty, last) {
            (Type::String, true) => {}
            (Type::Message { name }, false) => current = name.clone(),
            _ => return Err(EmitError::new(format!("pagination path `{path}` does not lead to a string"))),
        }
    }
    let acc = acc.ok_or_else(|| EmitError::new("empty pagination path"))?;
    Ok(quote!(#acc.filter(|token| !token.is_empty())))
}

fn emit_server(service: &Service, names: &ServiceNames, index: &TypeIndex) -> TokenStream {
    let trait_name = &names.trait_name;
    let trait_doc = moved(doc_attrs(&format!(
        "The server side of `{0}`: implement the methods you serve, then [`router`] or [`register`] it.\n\n\
         Every method has a default body that answers `unimplemented`, so a method added to the reference \
         never breaks an existing implementation.",
        service.name
    )));
    let mut trait_methods = Vec::new();
    let mut routes = Vec::new();
    for (method, MethodNames { func, constant, .. }) in service.methods.iter().zip(&names.methods) {
        let (request, response) = method_types(method, index);
        let docs = moved(doc_attrs(&server_method_doc(method)));
        let deprecated = deprecated_attr(method);
        let lints = name_lints(func);
        // A server-streaming method answers a stream of messages and is registered as one.
        let (output, register, paged) = if method.streaming == Streaming::Server {
            (quote!(::gitpod_runtime::server::MessageStream<#response>), format_ident!("server_stream"), quote!())
        } else {
            let paged = method.pagination.is_some();
            (quote!(#response), format_ident!("unary"), quote!(#paged,))
        };
        trait_methods.push(moved(quote! {
            #docs
            #deprecated
            #lints
            fn #func(
                &self,
                context: ::gitpod_runtime::server::RequestContext,
                request: #request,
            ) -> impl ::std::future::Future<Output = Result<#output, ::gitpod_runtime::ConnectError>> + Send {
                let _ = (context, request);
                ::std::future::ready(Err(::gitpod_runtime::ConnectError::unimplemented(procedures::#constant)))
            }
        }));
        routes.push(moved(quote! {
            .#register(procedures::#constant, #paged {
                let service = service.clone();
                move |context, request: #request| {
                    let service = service.clone();
                    async move { service.#func(context, request).await }
                }
            })
        }));
    }
    let register_doc = moved(doc_attrs(&format!("Adds every method of `{}` to `router`.", service.name)));
    let router_doc = moved(doc_attrs(&format!("An axum router that serves `{}` with `service`.", service.name)));
    quote! {
        #[cfg(feature = "server")]
        #trait_doc
        pub trait #trait_name: Send + Sync + 'static {
            #( #trait_methods )*
        }

        #[cfg(feature = "server")]
        #register_doc
        #[allow(deprecated)]
        pub fn register<S: #trait_name>(
            router: ::gitpod_runtime::server::ConnectRouter,
            service: ::std::sync::Arc<S>,
        ) -> ::gitpod_runtime::server::ConnectRouter {
            router #( #routes )*
        }

        #[cfg(feature = "server")]
        #router_doc
        pub fn router<S: #trait_name>(service: S) -> ::axum::Router {
            register(::gitpod_runtime::server::ConnectRouter::new(), ::std::sync::Arc::new(service)).into_axum()
        }
    }
}

/// Writes the rustdoc example of each client method from the reference's request example.
pub struct ExampleWriter<'a, 'm> {
    pub index: &'a TypeIndex<'m>,
}

impl ExampleWriter<'_, '_> {
    /// A `no_run` doctest calling `method` with its first documented request example, if any fits.
    fn client_example(&self, names: &ServiceNames, method: &Method, func: &proc_macro2::Ident) -> Option<String> {
        let examples = &method.examples;
        let (title, value) = examples
            .requests
            .iter()
            .find_map(|r| Some((r.title.as_str(), r.value.as_ref()?)))
            .or_else(|| Some(("", examples.python_args.as_ref()?)))?;
        let krate = &self.index.names.krate;
        let writer = LiteralWriter { index: self.index, types: quote!(types), krate: krate.clone() };
        let request = moved(writer.message(&method.request, value)?);
        let client = &names.client;
        // Formatted inside a short wrapper so prettyplease lays out only the body.
        let call = if method.streaming == Streaming::Server {
            quote! {
                let mut stream = client.#func(#request);
                while let Some(message) = stream.message().await? {
                    println!("{message:?}");
                }
            }
        } else {
            quote! {
                let response = client.#func(#request).await?;
                println!("{response:?}");
            }
        };
        let call = moved(call);
        let file: syn::File = syn::parse2(quote! {
            fn f() {
                use #krate::types;
                #call
            }
        })
        .ok()?;
        let code = prettyplease::unparse(&file);
        let body: Vec<&str> = code.trim_end().lines().collect();
        let mut lines = vec![format!("# async fn example(client: {krate}::{client}) -> Result<(), {krate}::Error> {{")];
        for line in &body[1..body.len() - 1] {
            lines.push(line.strip_prefix("    ").unwrap_or(line).to_string());
        }
        lines.push("# Ok(())".to_string());
        lines.push("# }".to_string());
        let title = title.trim();
        let intro = if title.is_empty() { String::from("The reference's example:") } else { title.to_string() };
        Some(format!("{intro}\n\n```rust,no_run\n{}\n```", lines.join("\n")))
    }
}
