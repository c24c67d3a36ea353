//! Checks the parsed input and turns it into what [`expand`](crate::expand) needs. Every
//! problem is collected in [`Errors`], each at the smallest token that shows it.

use std::fmt::Display;

use proc_macro2::{Ident, Span};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, FnArg, Item, Lit, LitStr, Path, Type};

use crate::ast::{Args, Catalog, Entry, Handler, Value};

/// Every error of one macro invocation, reported together (serde's `Ctxt`).
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn finish(self) -> Option<syn::Error> {
        self.0
    }
}

/// A requirement as written, with the scopes normalised to plain string literals that keep
/// the span of the user's literal.
pub enum Node {
    Authenticated,
    Scope(LitStr),
    /// `role = "…"`.
    Role(LitStr),
    /// One comparison of `claim(name = value, …)`.
    Claim(LitStr, ClaimLit),
    /// RFC 9470 `acr = "…"`.
    Acr(LitStr),
    /// `issuer = "…"`: a trusted issuer's configured name.
    Issuer(LitStr),
    /// RFC 9470 `max_age = N` (seconds, at least 1).
    MaxAge(u64),
    All(Vec<Node>),
    Any(Vec<Node>),
}

/// What `claim(name = …)` compares the claim with.
pub enum ClaimLit {
    Bool(bool),
    Str(LitStr),
    Int(i64),
    /// `path.name`: the request's path parameter.
    Param(Ident),
}

pub struct Requires {
    pub node: Node,
    /// The facade's path, `::endpoint_auth` unless `crate = "…"` says otherwise.
    pub krate: Path,
    /// Every well-formed scope, for the catalog check.
    pub scopes: Vec<LitStr>,
    /// Every well-formed role, for the role catalog check.
    pub roles: Vec<LitStr>,
    /// Every well-formed issuer name, for the issuer catalog check.
    pub issuers: Vec<LitStr>,
    /// `check = path`, in declaration order.
    pub checks: Vec<Path>,
}

/// What a catalog declares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scope,
    Role,
    Issuer,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Scope => "scope",
            Kind::Role => "role",
            Kind::Issuer => "issuer",
        }
    }
    pub fn macro_name(self) -> &'static str {
        match self {
            Kind::Scope => "scopes!",
            Kind::Role => "roles!",
            Kind::Issuer => "issuers!",
        }
    }
}

const TOP_KEYS: &str = "`scope`, `role`, `claim`, `issuer`, `any`, `all`, `authenticated`, \
                        `acr`, `max_age`, `check`, `crate`";
const NESTED_KEYS: &str =
    "`scope`, `role`, `claim`, `issuer`, `any`, `all`, `authenticated`, `acr`, `max_age`";

/// The largest `max_age`: a little over 136 years is more than any session lives.
const MAX_AGE_LIMIT: u64 = u32::MAX as u64;

pub fn requires(args: Args, errors: &mut Errors) -> Requires {
    let mut krate: Option<Path> = None;
    let mut scopes = Vec::new();
    let mut roles = Vec::new();
    let mut issuers = Vec::new();
    let mut checks: Vec<Path> = Vec::new();
    let mut members = Vec::new();
    if args.entries.is_empty() {
        errors.at(
            Span::call_site(),
            "#[requires] needs a requirement: `scope = \"…\"`, `any(…)`, `all(…)` or `authenticated`",
        );
    }
    for entry in &args.entries {
        if entry.key == "crate" {
            let path = crate_path(entry, errors);
            if krate.is_some() {
                errors.at(entry.key.span(), "`crate` is given twice");
            } else if let Some(path) = path {
                krate = Some(path);
            }
        } else if entry.key == "check" {
            match &entry.value {
                Value::Eq(Expr::Path(p)) if p.qself.is_none() => {
                    let p = p.path.clone();
                    // Compared as written (syn's `PartialEq` is a dev-only feature here).
                    let written = |path: &Path| quote::ToTokens::to_token_stream(path).to_string();
                    if checks.iter().any(|c| written(c) == written(&p)) {
                        errors.push(syn::Error::new_spanned(&p, "this check is given twice"));
                    } else {
                        checks.push(p);
                    }
                }
                _ => errors.at(
                    entry.key.span(),
                    "`check` names an async fn: `check = owns_report` (its parameters are \
                     extractors, its output a `Decision` or a `bool`)",
                ),
            }
        } else {
            members.push((
                entry,
                node(
                    entry,
                    Level::Top,
                    errors,
                    &mut scopes,
                    &mut roles,
                    &mut issuers,
                ),
            ));
        }
    }
    // `crate = "…"` alone (or with nothing that is a requirement) says nothing about who may
    // call: as without arguments. With `check = …` alone, a valid token, then the checks.
    if !args.entries.is_empty() && members.is_empty() && checks.is_empty() {
        if let Some(entry) = args.entries.iter().find(|e| e.key == "crate") {
            errors.at(
                entry.key.span(),
                "#[requires] needs a requirement besides `crate`: `scope = \"…\"`, `any(…)`, \
                 `all(…)` or `authenticated`",
            );
        }
    }
    check_members("#[requires(…)]", true, &members, errors);
    let first_key = members.first().map(|(e, _)| e.key.span());
    let mut nodes: Vec<Node> = members.into_iter().filter_map(|(_, n)| n).collect();
    let node = if nodes.len() == 1 {
        nodes.remove(0)
    } else if nodes.is_empty() {
        // Only checks (or nothing that parsed): a valid token, then the checks.
        Node::Authenticated
    } else {
        Node::All(nodes)
    };
    let alternatives = alternatives(&node);
    if alternatives > MAX_ALTERNATIVES {
        errors.at(
            first_key.unwrap_or_else(proc_macro2::Span::call_site),
            format!(
                "this requirement expands to {alternatives} alternatives (at most \
                 {MAX_ALTERNATIVES}): every `all` of several `any` multiplies them; name the \
                 combinations a caller really needs"
            ),
        );
    }
    let krate = krate.unwrap_or_else(|| syn::parse_quote!(::endpoint_auth));
    Requires {
        node,
        krate,
        scopes,
        roles,
        issuers,
        checks,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    Nested,
}

fn node(
    entry: &Entry,
    level: Level,
    errors: &mut Errors,
    scopes: &mut Vec<LitStr>,
    roles: &mut Vec<LitStr>,
    issuers: &mut Vec<LitStr>,
) -> Option<Node> {
    let key = &entry.key;
    let name = key.unraw().to_string();
    match (name.as_str(), &entry.value) {
        ("scope", Value::Eq(expr)) => {
            let problem = |value: &str| {
                scope_token_problem(value).map(|mut problem| {
                    if value.trim().contains(' ') {
                        problem.push_str(
                            "; to require several scopes, list them: `scope = \"a\", scope = \"b\"`",
                        );
                    }
                    problem
                })
            };
            let lit = string_arg(
                expr,
                "`scope` takes a string literal, e.g. `scope = \"write:reports\"`",
                problem,
                errors,
            )?;
            scopes.push(lit.clone());
            Some(Node::Scope(lit))
        }
        ("scope", Value::Flag) => {
            errors.at(
                key.span(),
                "`scope` needs a value: `scope = \"write:reports\"`",
            );
            None
        }
        ("scope", Value::List(..)) => {
            errors.at(
                key.span(),
                "`scope` takes one scope: `scope = \"…\"`; for several write `all(scope = \"a\", scope = \"b\")` or `any(…)`",
            );
            None
        }
        ("role", Value::Eq(expr)) => {
            let lit = string_arg(
                expr,
                "`role` takes a string literal, e.g. `role = \"reports-admin\"`",
                role_problem,
                errors,
            )?;
            roles.push(lit.clone());
            Some(Node::Role(lit))
        }
        ("issuer", Value::Eq(expr)) => {
            let lit = string_arg(
                expr,
                "`issuer` takes the name of a trusted issuer, e.g. `issuer = \"partners\"`",
                issuer_problem,
                errors,
            )?;
            issuers.push(lit.clone());
            Some(Node::Issuer(lit))
        }
        ("issuer", _) => {
            errors.at(
                key.span(),
                "`issuer` takes one issuer name: `issuer = \"partners\"`; for either of two \
                 write `any(issuer = \"a\", issuer = \"b\")`",
            );
            None
        }
        ("role", _) => {
            errors.at(
                key.span(),
                "`role` takes one role: `role = \"reports-admin\"`; for several write \
                 `all(role = \"a\", role = \"b\")` or `any(…)`",
            );
            None
        }
        ("claim", Value::List(list)) => {
            if list.is_empty() {
                errors.at(
                    key.span(),
                    "`claim()` needs a comparison: `claim(email_verified = true)`",
                );
                return None;
            }
            let mut nodes = Vec::new();
            let mut seen: Vec<String> = Vec::new();
            for entry in list {
                let name = entry.key.unraw().to_string();
                let Value::Eq(expr) = &entry.value else {
                    errors.at(
                        entry.key.span(),
                        format!(
                            "compare the claim with a value: `claim({name} = \"…\")`, \
                             `claim({name} = true)`, `claim({name} = 42)` or \
                             `claim({name} = path.param)`"
                        ),
                    );
                    continue;
                };
                if seen.contains(&name) {
                    errors.at(
                        entry.key.span(),
                        format!("claim `{name}` is compared twice in `claim(…)`"),
                    );
                    continue;
                }
                seen.push(name.clone());
                if let Some(value) = claim_value(expr, errors) {
                    nodes.push(Node::Claim(LitStr::new(&name, entry.key.span()), value));
                }
            }
            match nodes.len() {
                0 => None,
                1 => nodes.pop(),
                _ => Some(Node::All(nodes)),
            }
        }
        ("claim", _) => {
            errors.at(
                key.span(),
                "`claim` takes comparisons in parentheses: `claim(tenant = \"acme\")`",
            );
            None
        }
        ("acr", Value::Eq(expr)) => string_arg(
            expr,
            "`acr` takes a string literal, e.g. `acr = \"urn:example:mfa\"`",
            acr_problem,
            errors,
        )
        .map(Node::Acr),
        ("acr", _) => {
            errors.at(
                key.span(),
                "`acr` takes one authentication context class: `acr = \"urn:example:mfa\"`; \
                 for several write `any(acr = \"a\", acr = \"b\")`",
            );
            None
        }
        ("max_age", Value::Eq(expr)) => {
            let problem = "`max_age` is the most seconds since the user authenticated, a whole \
                           number greater than zero: `max_age = 300`";
            match expr {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(int), ..
                }) => match int.base10_parse::<u64>() {
                    Ok(0) => {
                        errors.at(
                            int.span(),
                            "`max_age = 0` can never be met: a token is always issued after \
                             the authentication it carries; give the most seconds since the \
                             user authenticated, e.g. `max_age = 300`",
                        );
                        None
                    }
                    Ok(n) if n > MAX_AGE_LIMIT => {
                        errors.at(
                            int.span(),
                            format!("`max_age` is at most {MAX_AGE_LIMIT} seconds"),
                        );
                        None
                    }
                    Ok(n) => Some(Node::MaxAge(n)),
                    Err(_) => {
                        errors.at(int.span(), problem);
                        None
                    }
                },
                _ => {
                    errors.push(syn::Error::new_spanned(expr, problem));
                    None
                }
            }
        }
        ("max_age", _) => {
            errors.at(key.span(), "`max_age` needs a value: `max_age = 300`");
            None
        }
        ("any" | "all", Value::List(list)) => {
            if list.is_empty() {
                let why = if name == "any" {
                    "an empty `any()` can never be satisfied"
                } else {
                    "for any valid token write `authenticated`"
                };
                errors.at(
                    key.span(),
                    format!("`{name}()` needs at least one requirement; {why}"),
                );
                return None;
            }
            let members: Vec<_> = list
                .iter()
                .map(|e| (e, node(e, Level::Nested, errors, scopes, roles, issuers)))
                .collect();
            check_members(&format!("`{name}(…)`"), name == "all", &members, errors);
            let nodes = members.into_iter().filter_map(|(_, n)| n).collect();
            Some(if name == "any" {
                Node::Any(nodes)
            } else {
                Node::All(nodes)
            })
        }
        ("any" | "all", _) => {
            errors.at(
                key.span(),
                format!("`{name}` takes a list: `{name}(scope = \"a\", scope = \"b\")`"),
            );
            None
        }
        ("authenticated", Value::Flag) => Some(Node::Authenticated),
        ("authenticated", _) => {
            errors.at(
                key.span(),
                "`authenticated` takes no value: `#[requires(authenticated)]`",
            );
            None
        }
        ("crate", _) => {
            errors.at(
                key.span(),
                "`crate = \"…\"` is only allowed at the top level of #[requires(…)]",
            );
            None
        }
        ("check", _) => {
            errors.at(
                key.span(),
                "`check = …` is only allowed at the top level of #[requires(…)]: every check \
                 must allow the request, whatever alternative the token satisfies",
            );
            None
        }
        _ => {
            let expected = if level == Level::Top {
                TOP_KEYS
            } else {
                NESTED_KEYS
            };
            errors.at(
                key.span(),
                format!("unknown argument `{name}`; expected one of {expected}"),
            );
            None
        }
    }
}

/// The most alternatives (ways to be satisfied) one declaration may have: each is evaluated
/// for a 403's hint and documented as an OpenAPI security requirement.
const MAX_ALTERNATIVES: u64 = 256;

/// How many alternatives `node` has once every `all` of `any`s is multiplied out.
fn alternatives(node: &Node) -> u64 {
    match node {
        Node::Any(members) => members
            .iter()
            .map(alternatives)
            .fold(0, u64::saturating_add),
        Node::All(members) => members
            .iter()
            .map(alternatives)
            .fold(1, u64::saturating_mul),
        _ => 1,
    }
}

/// A claim comparison with a literal, as written (for contradictions between siblings).
fn claim_literal(lit: &ClaimLit) -> Option<String> {
    match lit {
        ClaimLit::Bool(b) => Some(b.to_string()),
        ClaimLit::Str(s) => Some(format!("{:?}", s.value())),
        ClaimLit::Int(i) => Some(i.to_string()),
        ClaimLit::Param(_) => None,
    }
}

/// Rules across the members of one list: no scope, role or `acr` twice, one `max_age`,
/// `authenticated` only alone. In a list that must hold together (`conjunctive`: the
/// attribute's own, `all(…)`), no two different `acr`s or issuers (a token has one of each)
/// and no claim compared with two different values: such a list could never be satisfied.
fn check_members(
    list: &str,
    conjunctive: bool,
    members: &[(&Entry, Option<Node>)],
    errors: &mut Errors,
) {
    // What each named member was: its kind and value, to report a repeat.
    let mut seen: Vec<(&str, String)> = Vec::new();
    let mut max_age = false;
    // The claim comparisons of the list, by claim name, with the value written.
    let mut claims: Vec<(String, String)> = Vec::new();
    for (_, node) in members {
        let comparisons: Vec<&Node> = match node {
            Some(Node::All(m)) if m.iter().all(|n| matches!(n, Node::Claim(..))) => {
                m.iter().collect()
            }
            Some(n @ Node::Claim(..)) => vec![n],
            _ => continue,
        };
        for comparison in comparisons {
            let Node::Claim(name, lit) = comparison else {
                continue;
            };
            let Some(value) = claim_literal(lit) else {
                continue;
            };
            let name_text = name.value();
            match claims.iter().find(|(n, _)| *n == name_text) {
                Some((_, other)) if conjunctive && *other != value => errors.at(
                    name.span(),
                    format!(
                        "claim `{name_text}` cannot equal both {other} and {value} in {list}: \
                         no token satisfies it; for either, write `any(claim(…), claim(…))`"
                    ),
                ),
                Some(_) => {}
                None => claims.push((name_text, value)),
            }
        }
    }
    for (entry, node) in members {
        let named = match node {
            Some(Node::Scope(lit)) => Some(("scope", lit)),
            Some(Node::Role(lit)) => Some(("role", lit)),
            Some(Node::Acr(lit)) => Some(("acr", lit)),
            Some(Node::Issuer(lit)) => Some(("issuer", lit)),
            _ => None,
        };
        if let Some((kind, lit)) = named {
            let value = lit.value();
            let single = matches!(kind, "acr" | "issuer");
            if seen.iter().any(|(k, v)| *k == kind && *v == value) {
                errors.at(
                    lit.span(),
                    format!("{kind} `{value}` appears twice in {list}"),
                );
            } else if let Some((_, other)) = seen
                .iter()
                .find(|(k, _)| conjunctive && single && *k == kind)
            {
                errors.at(
                    lit.span(),
                    format!(
                        "{kind} `{value}` and {kind} `{other}` can never both hold in {list}: a \
                         token has one {kind}; for either, write `any({kind} = \"{other}\", \
                         {kind} = \"{value}\")`"
                    ),
                );
            } else {
                seen.push((kind, value));
            }
            continue;
        }
        match node {
            Some(Node::MaxAge(_)) if max_age => errors.at(
                entry.key.span(),
                format!("`max_age` appears twice in {list}; keep the smaller one"),
            ),
            Some(Node::MaxAge(_)) => max_age = true,
            Some(Node::Authenticated)
                if members.iter().filter(|(_, n)| n.is_some()).count() > 1 =>
            {
                errors.at(
                    entry.key.span(),
                    format!(
                        "`authenticated` cannot be combined with other requirements in {list}: \
                     it means any valid token, which every scope requirement implies already"
                    ),
                )
            }
            _ => {}
        }
    }
}

fn crate_path(entry: &Entry, errors: &mut Errors) -> Option<Path> {
    match &entry.value {
        Value::Eq(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => lit_path(lit, errors),
        _ => {
            errors.at(
                entry.key.span(),
                "`crate` takes the facade's path as a string: `crate = \"my_auth\"`",
            );
            None
        }
    }
}

fn lit_path(lit: &LitStr, errors: &mut Errors) -> Option<Path> {
    match lit.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            errors.at(
                lit.span(),
                format!(
                    "`{}` is not a path; expected e.g. `crate = \"my_auth\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

/// The value of one `claim(name = value)`: a string, integer or boolean literal, or
/// `path.param`.
fn claim_value(expr: &Expr, errors: &mut Errors) -> Option<ClaimLit> {
    let problem = "a claim is compared with a string, an integer, `true`/`false`, or a path \
                   parameter: `path.user_id`";
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(s) => Some(ClaimLit::Str(LitStr::new(&s.value(), s.span()))),
            Lit::Bool(b) => Some(ClaimLit::Bool(b.value)),
            Lit::Int(i) => match i.base10_parse::<i64>() {
                Ok(n) => Some(ClaimLit::Int(n)),
                Err(_) => {
                    errors.at(i.span(), "the integer does not fit in an i64");
                    None
                }
            },
            Lit::Float(f) => {
                errors.at(
                    f.span(),
                    "a claim is not compared with a decimal number (JSON numbers do not \
                     compare exactly); use an integer or a string",
                );
                None
            }
            other => {
                errors.at(other.span(), problem);
                None
            }
        },
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr: inner,
            ..
        }) => match &**inner {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => match format!("-{}", i.base10_digits()).parse::<i64>() {
                Ok(n) => Some(ClaimLit::Int(n)),
                Err(_) => {
                    errors.at(i.span(), "the integer does not fit in an i64");
                    None
                }
            },
            _ => {
                errors.push(syn::Error::new_spanned(expr, problem));
                None
            }
        },
        Expr::Field(syn::ExprField {
            base,
            member: syn::Member::Named(param),
            ..
        }) if matches!(&**base, Expr::Path(p) if p.path.is_ident("path")) => {
            Some(ClaimLit::Param(param.clone()))
        }
        _ => {
            errors.push(syn::Error::new_spanned(expr, problem));
            None
        }
    }
}

/// Every `path.param` a requirement compares a claim with.
pub fn path_params(node: &Node, out: &mut Vec<Ident>) {
    match node {
        Node::Claim(_, ClaimLit::Param(p)) => out.push(p.clone()),
        Node::All(m) | Node::Any(m) => m.iter().for_each(|n| path_params(n, out)),
        _ => {}
    }
}

/// A string-literal argument: checked by `problem`, and made a plain literal with the user's
/// span (a raw or escaped literal becomes the plain one the catalog's arms match);
/// `expected` is the error for anything that is not a string literal.
fn string_arg(
    expr: &Expr,
    expected: &str,
    problem: impl Fn(&str) -> Option<String>,
    errors: &mut Errors,
) -> Option<LitStr> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = expr
    else {
        errors.push(syn::Error::new_spanned(expr, expected));
        return None;
    };
    let value = lit.value();
    if let Some(problem) = problem(&value) {
        errors.at(lit.span(), problem);
        return None;
    }
    Some(LitStr::new(&value, lit.span()))
}

/// Why `s` cannot be a trusted issuer's name: it is a metrics label value and an OpenAPI
/// scheme name, so 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or
/// a digit (the runtime's `is_issuer_name`).
pub fn issuer_problem(s: &str) -> Option<String> {
    let valid = !s.is_empty()
        && s.len() <= 64
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (!valid).then(|| {
        "an issuer name is 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a \
         letter or digit (the name given to `TrustedIssuer::new`, not the `iss` URL)"
            .into()
    })
}

/// Why `s` cannot be a role name: roles are compared exactly and shown in logs and API
/// documentation, so a name is non-empty visible ASCII or spaces, without `"` or `\`, and
/// without surrounding spaces.
pub fn role_problem(s: &str) -> Option<String> {
    if s.trim().is_empty() {
        return Some("a role cannot be empty".into());
    }
    if s.trim() != s {
        return Some("a role cannot start or end with whitespace".into());
    }
    s.bytes()
        .find(|&b| !matches!(b, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .map(|_| "a role is visible ASCII or spaces, without `\"` or `\\`".into())
}

/// Why `s` cannot be an `acr` value: RFC 9470's `acr_values` is a space-delimited list in
/// a quoted-string, so one value is visible ASCII without spaces, `"` or `\`.
fn acr_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("an `acr` value cannot be empty".into());
    }
    if s.chars().any(char::is_whitespace) {
        return Some(
            "an `acr` value cannot contain whitespace (the challenge's `acr_values` is \
             space-delimited); for several write `any(acr = \"a\", acr = \"b\")`"
                .into(),
        );
    }
    s.bytes()
        .find(|&b| !matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .map(|_| {
            "an `acr` value is visible ASCII without `\"` or `\\` (it is sent in the \
             challenge's `acr_values`)"
                .into()
        })
}

/// Why `s` is not an RFC 6749 §3.3 scope-token (`1*( %x21 / %x23-5B / %x5D-7E )`), if it is not.
pub fn scope_token_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("a scope cannot be empty (RFC 6749 §3.3)".into());
    }
    let bad = s
        .chars()
        .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))?;
    let what = match bad {
        ' ' => "a space; a scope is one token".to_string(),
        '"' => "`\"`".to_string(),
        '\\' => "`\\`".to_string(),
        c if c.is_control() => format!("the control character `{}`", c.escape_default()),
        c => format!("the non-ASCII character `{c}`"),
    };
    // Shown as written, except that control characters are made visible.
    let shown: String = s
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    Some(format!(
        "`{shown}` is not a valid scope: it contains {what} (RFC 6749 §3.3 allows visible ASCII except `\"` and `\\`)"
    ))
}

/// Problems with the function `#[requires]` is placed on.
pub fn handler(func: &Handler, errors: &mut Errors) {
    if func.sig.asyncness.is_none() {
        errors.at(
            func.sig.fn_token.span,
            "a handler with #[requires] must be an `async fn`",
        );
    }
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver.self_token.span,
                "#[requires] goes on a free `async fn` handler, not on a method: actix-web calls \
                 handlers without `self`",
            ),
            FnArg::Typed(arg) if is_authorized(&arg.ty) => errors.push(syn::Error::new_spanned(
                &arg.ty,
                "this handler already takes an `Authorized<…>`; #[requires] adds one itself — remove \
                 this parameter (take a `Principal` to read the caller)",
            )),
            FnArg::Typed(arg) => {
                if let Some(inner) = option_of_caller(&arg.ty) {
                    let instead = if inner == "Authorized" {
                        "#[requires] checks the requirement itself: remove this parameter (take a \
                         `Principal` to read the caller)"
                    } else {
                        "#[requires] refuses requests without a valid token, so the caller is \
                         always there: take `Principal`"
                    };
                    errors.push(syn::Error::new_spanned(
                        &arg.ty,
                        format!("`Option<{inner}>` makes a bad token anonymous: {OPTION_TRAP}; {instead}"),
                    ));
                }
            }
        }
    }
    for attr in func.attrs.iter().filter(|a| is_requires(a)) {
        errors.push(syn::Error::new_spanned(
            attr,
            "a handler takes one #[requires]; combine the requirements in one attribute, e.g. \
             `#[requires(all(scope = \"a\", scope = \"b\"))]`",
        ));
    }
}

/// Why `Option<Principal>` is refused, in the words of the error messages.
const OPTION_TRAP: &str =
    "actix-web's `Option` extractor turns every rejection into `None`, so an expired, forged or \
     malformed token would get no 400/401";

fn is_authorized(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Authorized")
}

/// The last segment of a type's path (through parentheses and the invisible groups of
/// `macro_rules!` expansions).
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

/// `Option<X>` whose `X` is a caller type (`Principal`, `Authorized`, `MaybePrincipal`): the
/// name of `X`. actix-web's blanket `Option<T>` extractor swallows `X`'s rejections.
fn option_of_caller(ty: &Type) -> Option<&'static str> {
    let last = last_segment(ty)?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(inner) => {
            caller_type(inner).or_else(|| is_maybe_principal(inner).then_some("MaybePrincipal"))
        }
        _ => None,
    })
}

/// `MaybePrincipal`, whatever the generics: the optional caller of a `#[public]` handler.
fn is_maybe_principal(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "MaybePrincipal")
}

fn is_requires(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "requires")
}

fn is_public(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "public")
}

/// `#[requires]` on a handler that also says `#[public]` (written below it).
pub fn not_also_public(func: &Handler, errors: &mut Errors) {
    for attr in func.attrs.iter().filter(|a| is_public(a)) {
        errors.push(syn::Error::new_spanned(
            attr,
            "a handler is either #[public] or #[requires(…)], not both",
        ));
    }
}

/// A checked `#[public(…)]`.
pub struct Public {
    /// Why the handler is open, if given.
    pub reason: Option<LitStr>,
    pub krate: Path,
}

/// What `#[public]` learns from the handler it is placed on.
pub struct PublicHandler {
    /// It takes a `MaybePrincipal`: optional authentication.
    pub optional_caller: bool,
}

pub fn public(args: Args, errors: &mut Errors) -> Public {
    let mut reason = None;
    let mut krate: Option<Path> = None;
    for entry in &args.entries {
        let key = entry.key.unraw().to_string();
        match (key.as_str(), &entry.value) {
            (
                "reason",
                Value::Eq(Expr::Lit(ExprLit {
                    lit: Lit::Str(lit), ..
                })),
            ) => {
                if lit.value().trim().is_empty() {
                    errors.at(
                        lit.span(),
                        "the reason is empty; say why the handler is open, or leave it out",
                    );
                } else if reason.is_some() {
                    errors.at(entry.key.span(), "`reason` is given twice");
                } else {
                    reason = Some(lit.clone());
                }
            }
            ("reason", _) => errors.at(
                entry.key.span(),
                "`reason` takes a string: `#[public(reason = \"load balancer probe\")]`",
            ),
            ("crate", _) => {
                let path = crate_path(entry, errors);
                if krate.is_some() {
                    errors.at(entry.key.span(), "`crate` is given twice");
                } else {
                    krate = path;
                }
            }
            _ => errors.at(
                entry.key.span(),
                format!("unknown argument `{key}`; expected `reason` or `crate`"),
            ),
        }
    }
    Public {
        reason,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::endpoint_auth)),
    }
}

/// What makes a handler unfit to be public: it also declares a requirement, it reads the
/// caller (`Principal`, `Authorized`), which only a protected handler can, or it takes an
/// `Option` of a caller, which would make a bad token anonymous. A `MaybePrincipal` is fine:
/// the caller when there is one.
pub fn public_handler(func: &Handler, errors: &mut Errors) -> PublicHandler {
    let mut optional_caller = false;
    for attr in func.attrs.iter().filter(|a| is_requires(a)) {
        errors.push(syn::Error::new_spanned(
            attr,
            "a handler is either #[public] or #[requires(…)], not both",
        ));
    }
    for input in &func.sig.inputs {
        if let FnArg::Typed(arg) = input {
            if let Some(name) = caller_type(&arg.ty) {
                errors.push(syn::Error::new_spanned(
                    &arg.ty,
                    format!(
                        "a #[public] handler cannot take `{name}`: reading the caller makes it a \
                         protected handler; declare `#[requires(authenticated)]` (or a scope) instead, \
                         or take `MaybePrincipal` to serve anonymous callers too"
                    ),
                ));
            } else if let Some(inner) = option_of_caller(&arg.ty) {
                errors.push(syn::Error::new_spanned(
                    &arg.ty,
                    format!(
                        "`Option<{inner}>` makes a bad token anonymous: {OPTION_TRAP}; take \
                         `MaybePrincipal` instead (`None` without credentials, 400/401 for bad ones)"
                    ),
                ));
            } else if is_maybe_principal(&arg.ty) {
                optional_caller = true;
            }
        }
    }
    PublicHandler { optional_caller }
}

/// `Principal`/`Authorized` (by the last segment of the type's path), whatever the generics.
fn caller_type(ty: &Type) -> Option<&'static str> {
    let last = last_segment(ty)?;
    if last.ident == "Principal" {
        Some("Principal")
    } else if last.ident == "Authorized" {
        Some("Authorized")
    } else {
        None
    }
}

/// What the item is, when it is not a function (`None`: not even an item).
pub fn not_a_handler(item: Option<Item>, errors: &mut Errors) {
    match item {
        Some(item) => errors.at(
            item_keyword(&item),
            "#[requires] goes on an `async fn` handler; this item is not a function",
        ),
        None => errors.at(
            Span::call_site(),
            "#[requires] goes on an `async fn` handler",
        ),
    }
}

fn item_keyword(item: &Item) -> Span {
    match item {
        Item::Const(i) => i.const_token.span,
        Item::Enum(i) => i.enum_token.span,
        Item::ExternCrate(i) => i.extern_token.span,
        Item::ForeignMod(i) => i.abi.extern_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Macro(i) => i.mac.path.span(),
        Item::Mod(i) => i.mod_token.span,
        Item::Static(i) => i.static_token.span,
        Item::Struct(i) => i.struct_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::TraitAlias(i) => i.trait_token.span,
        Item::Type(i) => i.type_token.span,
        Item::Union(i) => i.union_token.span,
        Item::Use(i) => i.use_token.span,
        other => other.span(),
    }
}

/// A checked `scopes!` input.
pub struct CatalogDecl {
    pub krate: Path,
    pub entries: Vec<(LitStr, LitStr)>,
}

pub fn catalog(input: Catalog, kind: Kind, errors: &mut Errors) -> CatalogDecl {
    let word = kind.word();
    let krate = match &input.krate {
        None => None,
        Some(Lit::Str(lit)) => lit_path(lit, errors),
        Some(other) => {
            errors.at(
                other.span(),
                "`crate` takes the facade's path as a string: `crate = \"my_auth\";`",
            );
            None
        }
    };
    let mut entries: Vec<(LitStr, LitStr)> = Vec::new();
    for entry in input.entries {
        let Lit::Str(scope) = &entry.scope else {
            errors.at(
                entry.scope.span(),
                match kind {
                    Kind::Scope => {
                        "a scope is a string literal: `\"read:reports\" => \"Read reports\"`"
                    }
                    Kind::Role => {
                        "a role is a string literal: `\"reports-admin\" => \"Administers reports\"`"
                    }
                    Kind::Issuer => {
                        "an issuer is a string literal: `\"partners\" => \"Partner organisations (Auth0)\"`"
                    }
                },
            );
            continue;
        };
        let value = scope.value();
        let problem = match kind {
            Kind::Scope => scope_token_problem(&value),
            Kind::Role => role_problem(&value),
            Kind::Issuer => issuer_problem(&value),
        };
        if let Some(problem) = problem {
            errors.at(scope.span(), problem);
            continue;
        }
        if entries.iter().any(|(s, _)| s.value() == value) {
            errors.at(scope.span(), format!("{word} `{value}` is declared twice"));
            continue;
        }
        let description = match &entry.description {
            Lit::Str(d) if !d.value().trim().is_empty() => LitStr::new(d.value().trim(), d.span()),
            other => {
                errors.at(
                    other.span(),
                    format!("describe `{value}` in a non-empty string: it is shown in API documentation"),
                );
                continue;
            }
        };
        entries.push((LitStr::new(&value, scope.span()), description));
    }
    let krate = krate.unwrap_or_else(|| syn::parse_quote!(::endpoint_auth));
    CatalogDecl { krate, entries }
}

/// The declared scope closest to `scope` when it is close enough to be a likely typo.
pub fn closest<'a>(scope: &str, declared: &'a [String]) -> Option<&'a str> {
    let (best, distance) = declared
        .iter()
        .map(|d| (d, edit_distance(scope, d)))
        .min_by_key(|(_, n)| *n)?;
    let tolerance = (scope.chars().count().max(best.chars().count()) / 3).max(2);
    (distance <= tolerance).then_some(best.as_str())
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(scope_token_problem("write:reports").is_none());
        assert!(scope_token_problem("!#[]~").is_none());
        for bad in ["", "a b", "a\"b", "a\\b", "a\tb", "a\u{7f}", "é"] {
            assert!(scope_token_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn suggestion_is_the_closest_declared_scope() {
        let declared = vec!["read:reports".to_string(), "write:reports".to_string()];
        assert_eq!(closest("write:report", &declared), Some("write:reports"));
        assert_eq!(closest("raed:reports", &declared), Some("read:reports"));
        assert_eq!(closest("admin", &declared), None);
        assert_eq!(closest("x", &[]), None);
    }

    #[test]
    fn unknown_key_lists_the_expected_ones() {
        let args: Args = syn::parse_quote!(scopes = "a");
        let mut errors = Errors::default();
        requires(args, &mut errors);
        let message = errors.finish().unwrap().to_string();
        assert_eq!(
            message,
            format!("unknown argument `scopes`; expected one of {TOP_KEYS}")
        );
    }

    #[test]
    fn an_option_of_a_caller_type_is_recognised_whatever_its_path() {
        let optional = |ty: Type| option_of_caller(&ty);
        assert_eq!(
            optional(syn::parse_quote!(Option<Principal>)),
            Some("Principal")
        );
        assert_eq!(
            optional(syn::parse_quote!(
                ::std::option::Option<endpoint_auth::Principal<Claims>>
            )),
            Some("Principal")
        );
        assert_eq!(
            optional(syn::parse_quote!(
                core::option::Option<Authorized<ReadReports, Claims>>
            )),
            Some("Authorized")
        );
        assert_eq!(
            optional(syn::parse_quote!(Option<MaybePrincipal>)),
            Some("MaybePrincipal")
        );
        assert_eq!(
            optional(syn::parse_quote!(Option<(Principal)>)),
            Some("Principal")
        );
        assert_eq!(optional(syn::parse_quote!(Option<web::Query<Q>>)), None);
        assert_eq!(optional(syn::parse_quote!(MaybePrincipal)), None);
        assert_eq!(optional(syn::parse_quote!(Principal)), None);
    }

    #[test]
    fn public_takes_a_maybe_principal_and_refuses_an_option_of_a_caller() {
        let check = |item: proc_macro2::TokenStream| {
            let handler: Handler = syn::parse2(item).unwrap();
            let mut errors = Errors::default();
            let checked = public_handler(&handler, &mut errors);
            (
                checked.optional_caller,
                errors.finish().map(|e| e.to_string()),
            )
        };
        assert_eq!(
            check(quote::quote!(
                async fn feed(caller: MaybePrincipal<Claims>) {}
            )),
            (true, None)
        );
        assert_eq!(
            check(quote::quote!(
                async fn health() {}
            )),
            (false, None)
        );
        let (_, error) = check(quote::quote!(
            async fn feed(caller: Option<Principal>) {}
        ));
        let error = error.unwrap();
        assert!(
            error.starts_with("`Option<Principal>` makes a bad token anonymous")
                && error.contains("take `MaybePrincipal` instead"),
            "{error}"
        );
    }

    #[test]
    fn every_error_is_collected() {
        let args: Args = syn::parse_quote!(scope = 1, scope = "a b", any(), bogus);
        let mut errors = Errors::default();
        requires(args, &mut errors);
        assert_eq!(errors.finish().unwrap().into_iter().count(), 4);
    }
}
