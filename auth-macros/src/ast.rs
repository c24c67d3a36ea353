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
