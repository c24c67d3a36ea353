//! The syntax of the macro inputs, parsed leniently: anything that has the right shape is
//! accepted here, so that [`valid`](crate::valid) can report every wrong key or value in one
//! build instead of stopping at the first.

use proc_macro2::{Delimiter, TokenTree};
use quote::{ToTokens, TokenStreamExt};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    bracketed, parenthesized, token, Attribute, Expr, Ident, Lit, LitStr, Signature, Token,
    Visibility,
};

/// A function item whose body is kept as written, unparsed: `#[requires]` changes only the
/// signature, and parsing the body (most of a handler) would be compile time for nothing.
#[derive(Clone)]
pub struct Handler {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    /// The `{ … }` group.
    pub body: TokenTree,
}

impl Parse for Handler {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: TokenTree = input.parse()?;
        match &body {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace && input.is_empty() => {
                Ok(Handler {
                    attrs,
                    vis,
                    sig,
                    body,
                })
            }
            _ => Err(input.error("expected a function body")),
        }
    }
}

impl ToTokens for Handler {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

/// `#[requires(<entry>, <entry>, …)]`.
pub struct Args {
    pub entries: Vec<Entry>,
}

/// One argument: `key`, `key = value` or `key(entry, …)`.
pub struct Entry {
    pub key: Ident,
    pub value: Value,
}

// A handful of values per attribute, matched by pattern (`Eq(Expr::Lit(…))`): boxing the
// expression would cost more code than the bytes it saves.
#[allow(clippy::large_enum_variant)]
pub enum Value {
    /// `authenticated`
    Flag,
    /// `scope = "…"`, `crate = "…"`
    Eq(Expr),
    /// `any(…)`, `all(…)`
    List(Vec<Entry>),
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let entries = Punctuated::<Entry, Token![,]>::parse_terminated(input)?;
        Ok(Args {
            entries: entries.into_iter().collect(),
        })
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            return Err(syn::Error::new(
                lit.span(),
                format!("a scope is written `scope = {:?}`", lit.value()),
            ));
        }
        // `parse_any` also takes keywords, so that `crate = "…"` parses like any other key.
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Value::Eq(input.parse()?)
        } else if input.peek(token::Paren) {
            let content;
            parenthesized!(content in input);
            let members = Punctuated::<Entry, Token![,]>::parse_terminated(&content)?;
            Value::List(members.into_iter().collect())
        } else {
            Value::Flag
        };
        Ok(Entry { key, value })
    }
}

/// `scopes! { [crate = "path";] "scope" => "description", … }`.
pub struct Catalog {
    pub krate: Option<Lit>,
    pub entries: Vec<CatalogEntry>,
}

pub struct CatalogEntry {
    pub scope: Lit,
    pub description: Lit,
}

impl Parse for Catalog {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let krate = if input.peek(Token![crate]) {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            let path = input.parse()?;
            input.parse::<Token![;]>()?;
            Some(path)
        } else {
            None
        };
        let entries = Punctuated::<CatalogEntry, Token![,]>::parse_terminated(input)?;
        Ok(Catalog {
            krate,
            entries: entries.into_iter().collect(),
        })
    }
}

impl Parse for CatalogEntry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let scope = input.parse()?;
        input.parse::<Token![=>]>()?;
        let description = input.parse()?;
        Ok(CatalogEntry { scope, description })
    }
}

/// What a catalog's fallback arm hands to `unknown_scope!`: the unknown scope as written,
/// the declared scopes and where the catalog is.
pub struct UnknownScope {
    pub scope: Lit,
    pub declared: Vec<LitStr>,
    pub location: LitStr,
}

impl Parse for UnknownScope {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let scope = input.parse()?;
        input.parse::<Token![,]>()?;
        let content;
        bracketed!(content in input);
        let declared = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
        input.parse::<Token![,]>()?;
        let location = input.parse()?;
        Ok(UnknownScope {
            scope,
            declared: declared.into_iter().collect(),
            location,
        })
    }
}

pub const ROUTE_MACROS: [&str; 9] = [
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

/// The HTTP methods and path of the handler, when a route attribute stands on it:
/// actix's `#[get("/p")]`-style and `#[route("/p", method = "GET", …)]`, or
/// `#[utoipa::path(get, path = "/p")]`. Attributes that expanded before ours are gone from
/// what we receive; `source` reads them from the file.
pub fn route_of(attrs: &[syn::Attribute]) -> (Vec<String>, Option<String>) {
    use syn::parse::Parser;
    let mut methods = Vec::new();
    let mut path = None;
    for attr in attrs {
        let segments: Vec<String> = attr
            .path()
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let last = segments.last().map(String::as_str).unwrap_or_default();
        let Ok(tokens) = attr.meta.require_list().map(|l| l.tokens.clone()) else {
            continue;
        };
        if ROUTE_MACROS.contains(&last) && segments.len() <= 2 {
            let first = (|input: syn::parse::ParseStream| {
                let lit: LitStr = input.parse()?;
                input.parse::<proc_macro2::TokenStream>()?;
                Ok(lit)
            })
            .parse2(tokens);
            if let Ok(lit) = first {
                methods.push(last.to_ascii_uppercase());
                path = Some(lit.value());
            }
        } else if last == "route" && segments.len() <= 2 {
            let parsed = (|input: syn::parse::ParseStream| {
                let lit: LitStr = input.parse()?;
                let mut found = Vec::new();
                while !input.is_empty() {
                    input.parse::<syn::Token![,]>()?;
                    if input.is_empty() {
                        break;
                    }
                    let meta: syn::Meta = input.parse()?;
                    if let syn::Meta::NameValue(nv) = meta {
                        if nv.path.is_ident("method") {
                            if let syn::Expr::Lit(syn::ExprLit {
                                lit: Lit::Str(m), ..
                            }) = nv.value
                            {
                                found.push(m.value().to_ascii_uppercase());
                            }
                        }
                    }
                }
                Ok((lit, found))
            })
            .parse2(tokens);
            if let Ok((lit, found)) = parsed {
                methods.extend(found);
                path = Some(lit.value());
            }
        } else if segments == ["utoipa", "path"] && path.is_none() {
            let parsed = (|input: syn::parse::ParseStream| {
                let mut found = Vec::new();
                let mut p = None;
                while !input.is_empty() {
                    if input.peek(syn::Ident) && input.peek2(syn::Token![=]) {
                        let name: Ident = input.parse()?;
                        input.parse::<syn::Token![=]>()?;
                        if name == "path" && input.peek(LitStr) {
                            p = Some(input.parse::<LitStr>()?.value());
                        } else {
                            input.parse::<syn::Expr>()?;
                        }
                    } else if input.peek(syn::Ident) {
                        let name: Ident = input.parse()?;
                        let name = name.to_string();
                        if ROUTE_MACROS.contains(&name.as_str()) {
                            found.push(name.to_ascii_uppercase());
                        } else if input.peek(syn::token::Paren) {
                            input.parse::<proc_macro2::Group>()?;
                        }
                    } else {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                    if input.peek(syn::Token![,]) {
                        input.parse::<syn::Token![,]>()?;
                    }
                }
                Ok((found, p))
            })
            .parse2(tokens);
            if let Ok((found, Some(p))) = parsed {
                if methods.is_empty() {
                    methods = found;
                }
                path = Some(p);
            }
        }
    }
    // `#[utoipa::path(get, …)]` beside `#[get(…)]` names the method twice.
    let mut seen = Vec::with_capacity(methods.len());
    methods.retain(|m| {
        let new = !seen.contains(m);
        seen.push(m.clone());
        new
    });
    (methods, path)
}
