//! Procedural macros of [endpoint-auth](https://docs.rs/endpoint-auth): `#[requires]`, `#[public]`
//! and the scope catalog (`scopes!`). Users depend on the `endpoint-auth` facade, which re-exports
//! them with their documentation.
//!
//! Each entry point is a thin forwarder to `expand` on `proc_macro2` types, so that the
//! parsing (`ast`), checking (`valid`) and code generation can be tested without a
//! compiler session.
#![forbid(unsafe_code)]

mod ast;
mod audit;
mod expand;
mod source;
mod valid;

use proc_macro::TokenStream;

// Documented where users read it: on the facade's re-export (`endpoint_auth::requires`).
#[proc_macro_attribute]
pub fn requires(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::requires(args.into(), item.into(), source::Site::of_call()).into()
}

// Documented on the facade's re-export (`endpoint_auth::public`).
#[proc_macro_attribute]
pub fn public(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::public(args.into(), item.into(), source::Site::of_call()).into()
}

// Documented on the facade's re-export (`endpoint_auth::route_audit`).
#[proc_macro]
pub fn route_audit(input: TokenStream) -> TokenStream {
    let root = proc_macro::Span::call_site().local_file();
    audit::expand(input.into(), root).into()
}

// Documented on the facade's re-export (`endpoint_auth::scopes`).
#[proc_macro]
pub fn scopes(input: TokenStream) -> TokenStream {
    // Span locations are the one thing `proc_macro2` cannot give on stable, so the place of
    // the catalog, quoted in "not in the catalog" errors, is taken here.
    let site = proc_macro::Span::call_site();
    let location = format!("{}:{}", site.file(), site.line());
    expand::scopes(input.into(), &location).into()
}

// Documented on the facade's re-export (`endpoint_auth::roles`).
#[proc_macro]
pub fn roles(input: TokenStream) -> TokenStream {
    let site = proc_macro::Span::call_site();
    let location = format!("{}:{}", site.file(), site.line());
    expand::roles(input.into(), &location).into()
}

// Documented on the facade's re-export (`endpoint_auth::issuers`).
#[proc_macro]
pub fn issuers(input: TokenStream) -> TokenStream {
    let site = proc_macro::Span::call_site();
    let location = format!("{}:{}", site.file(), site.line());
    expand::issuers(input.into(), &location).into()
}

/// The fallback arm of an issuer catalog: reports an issuer the catalog does not declare.
#[doc(hidden)]
#[proc_macro]
pub fn unknown_issuer(input: TokenStream) -> TokenStream {
    expand::unknown_issuer(input.into()).into()
}

/// The fallback arm of a role catalog: reports a role the catalog does not declare.
#[doc(hidden)]
#[proc_macro]
pub fn unknown_role(input: TokenStream) -> TokenStream {
    expand::unknown_role(input.into()).into()
}

/// The fallback arm of a scope catalog: reports a scope the catalog does not declare.
#[doc(hidden)]
#[proc_macro]
pub fn unknown_scope(input: TokenStream) -> TokenStream {
    expand::unknown_scope(input.into()).into()
}
