//! `route_audit!`: the routes a crate's sources register, read from the files at compile
//! time (actix-web cannot list an `App`'s routes at run time). See the runtime's `audit`
//! module for what it sees and what it cannot.
//!
//! The files are parsed with proc-macro2's own lexer (as `source` does), so every route
//! keeps its line; only strings leave the analysis.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, ExprMethodCall, Item, ItemFn, Lit, LitStr};

/// What a handler declares, as the audit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decl {
    Requires(String),
    Public(Option<String>),
    Undeclared,
}

/// One route found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    pub decl: Decl,
    pub location: String,
    /// A route attribute's: the name of the resource actix-web creates for it (the
    /// attribute's `name = "…"`, else the function's).
    pub resource: Option<String>,
}

#[derive(Debug, Default)]
pub struct Audit {
    pub routes: Vec<Route>,
    pub unseen: Vec<String>,
    /// Every file read, for the compiler to rebuild when one changes.
    pub files: Vec<PathBuf>,
}

/// A function of the crate: its declaration and route attribute, if any.
struct Handler<'a> {
    name: String,
    /// The module it is in (`[]` for the crate root).
    module: Vec<String>,
    decl: Decl,
    /// Its route attributes' methods and paths (several with `#[routes]`).
    routes: Vec<(Vec<String>, String)>,
    /// A route attribute gives it a guard (`guard = "…"`).
    guarded: bool,
    /// The resource actix-web creates for its route attribute: `name = "…"` there, else the
    /// function's name.
    resource: String,
    location: String,
    body: &'a ItemFn,
}

struct Source {
    rel: String,
    file: syn::File,
    module: Vec<String>,
}

/// Reads the module tree from `root` and lists its routes; locations are relative to `base`.
pub fn audit(root: &Path, base: &Path) -> Audit {
    let _fallback = crate::source::Fallback::force();
    let mut audit = Audit::default();
    let mut sources = Vec::new();
    load(root, true, Vec::new(), base, &mut sources, &mut audit);
    let handlers = handlers(&sources);
    let names = Names::of(&sources);
    let mut walker = Walker {
        handlers: &handlers,
        names: &names,
        targets: configure_targets(&sources, &handlers, &names),
        locals: Vec::new(),
        registering_macros: registering_macros(&sources),
        routes: Vec::new(),
        unseen: Vec::new(),
        registered: HashMap::new(),
        prefix: String::new(),
        rel: String::new(),
        module: Vec::new(),
        stack: Vec::new(),
    };
    for source in &sources {
        walker.rel = source.rel.clone();
        walker.module = source.module.clone();
        for item in &source.file.items {
            walker.item(item);
        }
    }
    // Route-attribute functions: under each scope prefix they were registered with, else as
    // written.
    let mut routes: Vec<Route> = Vec::new();
    for h in handlers.iter().filter(|h| h.guarded) {
        audit.unseen.push(format!(
            "{}: a route attribute with `guard = …`: a request its guard refuses is routed to whatever else matches the path",
            h.location
        ));
    }
    for h in &handlers {
        let prefixes = walker
            .registered
            .get(&qualified(&h.module, &h.name))
            .cloned()
            .unwrap_or_else(|| vec![String::new()]);
        // Registered where the prefix is not known (a scope whose path is no literal, a
        // `.service` that may name another function): not listed there, nor anywhere else.
        for ((methods, path), prefix) in h
            .routes
            .iter()
            .flat_map(|r| prefixes.iter().map(move |p| (r, p)))
            .filter(|(_, p)| !p.contains(UNKNOWN))
        {
            routes.push(Route {
                methods: methods.clone(),
                path: join(prefix, path),
                handler: h.name.clone(),
                decl: h.decl.clone(),
                location: h.location.clone(),
                resource: Some(h.resource.clone()),
            });
        }
    }
    for route in walker.routes {
        if !route.path.contains(UNKNOWN) && !routes.contains(&route) {
            routes.push(route);
        }
    }
    routes.sort_by_key(|r| line_order(&r.location));
    audit.routes = routes;
    audit.unseen.extend(walker.unseen);
    audit
}

/// Every function passed to `.configure(f)` somewhere in the sources, by qualified name.
fn configure_targets(
    sources: &[Source],
    handlers: &[Handler<'_>],
    names: &Names,
) -> HashSet<String> {
    struct Finder<'h, 'a> {
        handlers: &'h [Handler<'a>],
        names: &'h Names,
        module: Vec<String>,
        found: HashSet<String>,
    }
    impl<'ast> Visit<'ast> for Finder<'_, '_> {
        fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            if let Expr::Path(f) = &*call.func {
                for h in resolve(self.handlers, self.names, &self.module, &f.path) {
                    if takes_service_config(h.body) {
                        self.found.insert(qualified(&h.module, &h.name));
                    }
                }
            }
            syn::visit::visit_expr_call(self, call);
        }
        fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
            if call.method == "configure" && call.args.len() == 1 {
                if let Some(Expr::Path(f)) = call.args.first() {
                    for h in resolve(self.handlers, self.names, &self.module, &f.path) {
                        self.found.insert(qualified(&h.module, &h.name));
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, call);
        }
    }
    let mut finder = Finder {
        handlers,
        names,
        module: Vec::new(),
        found: HashSet::new(),
    };
    for source in sources {
        finder.module = source.module.clone();
        finder.visit_file(&source.file);
    }
    finder.found
}

/// Whether `f`'s first parameter is a `ServiceConfig` (`cfg: &mut web::ServiceConfig`): a
/// function that registers routes where it is called.
fn takes_service_config(f: &ItemFn) -> bool {
    match f.sig.inputs.first() {
        Some(syn::FnArg::Typed(arg)) => quote!(#arg).to_string().contains("ServiceConfig"),
        _ => false,
    }
}

/// The methods that register routes on an App, a ServiceConfig or a scope.
const REGISTERING_METHODS: [&str; 4] = ["route", "service", "configure", "default_service"];

/// The methods of an App or a ServiceConfig the audit reads or knows to register nothing.
const APP_METHODS: [&str; 10] = [
    "route",
    "service",
    "configure",
    "default_service",
    "app_data",
    "data",
    "data_factory",
    "external_resource",
    "wrap",
    "wrap_fn",
];

/// A call of a path (`web::scope("/x")`, `App::new()`): the path's segments and the call.
fn called_path(expr: &Expr) -> Option<(Vec<String>, &syn::ExprCall)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(p) = &*call.func else {
        return None;
    };
    Some((
        p.path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect(),
        call,
    ))
}

/// `App::new()` (or `App::default()`, `actix_web::App::new()`).
fn is_app(expr: &Expr) -> bool {
    let Some((segments, _)) = called_path(expr) else {
        return false;
    };
    matches!(
        segments.iter().map(String::as_str).collect::<Vec<_>>()[..],
        [.., "App", "new" | "default"]
    )
}

/// `web::resource("/x").get(h)` and the like: a route of that method (actix-web 4).
const RESOURCE_METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "trace", "query",
];

/// Methods of a scope or resource that register no route: settings, middleware. (A guard
/// is not one of them: see `chain`.)
const CONFIGURING_METHODS: [&str; 8] = [
    "name",
    "wrap",
    "wrap_fn",
    "app_data",
    "data",
    "add_guards",
    "default_service",
    "configure",
];

/// Whether macro tokens may register routes: a registration method called
/// (`.service(`, `.route(`, `.configure(`, `.default_service(`), a scope or resource built
/// (`::scope(`, `::resource(`), an `App` or a `ServiceConfig` named, or one of `locals` (the
/// function's `ServiceConfig` parameters) handed over.
fn registers_in(tokens: TokenStream, locals: &[&str]) -> bool {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Ident(ident) => {
            let word = ident.to_string();
            let after = |c: char| {
                matches!(i.checked_sub(1).map(|j| &tokens[j]), Some(TokenTree::Punct(p)) if p.as_char() == c)
            };
            let called = matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis);
            matches!(word.as_str(), "App" | "ServiceConfig")
                || locals.contains(&word.as_str())
                || (called
                    && after('.')
                    && matches!(
                        word.as_str(),
                        "service" | "route" | "configure" | "default_service"
                    ))
                || (called && after(':') && matches!(word.as_str(), "scope" | "resource"))
        }
        TokenTree::Group(g) => registers_in(g.stream(), locals),
        _ => false,
    })
}

/// The names of the crate's `macro_rules!` whose bodies mention a registration.
fn registering_macros(sources: &[Source]) -> HashSet<String> {
    struct Finder(HashSet<String>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
            if let (true, Some(name)) = (m.mac.path.is_ident("macro_rules"), &m.ident) {
                if registers_in(m.mac.tokens.clone(), &[]) {
                    self.0.insert(name.to_string());
                }
            }
        }
    }
    let mut finder = Finder(HashSet::new());
    for source in sources {
        finder.visit_file(&source.file);
    }
    finder.0
}

/// `file:line` sorted by file, then line as a number.
fn line_order(location: &str) -> (String, usize) {
    match location.rsplit_once(':') {
        Some((file, line)) => (file.to_owned(), line.parse().unwrap_or(0)),
        None => (location.to_owned(), 0),
    }
}

/// The prefix of what is registered under a scope whose path the audit cannot read: routes
/// under it are never listed (their paths are unknown).
const UNKNOWN: &str = "\u{1}unknown prefix\u{1}";

/// A path the router would not join as [`join`] does: not empty and without a leading `/`,
/// or (a scope's) ending in `/`.
fn odd_path(path: &str, scope: bool) -> bool {
    (!path.is_empty() && !path.starts_with('/')) || (scope && path.len() > 1 && path.ends_with('/'))
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.ends_with('/'), path.starts_with('/')) {
        (true, true) => format!("{prefix}{}", &path[1..]),
        _ => format!("{prefix}{path}"),
    }
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Reads `path` and, through `mod x;` declarations, the files of its submodules.
fn load(
    path: &Path,
    is_root: bool,
    module: Vec<String>,
    base: &Path,
    out: &mut Vec<Source>,
    audit: &mut Audit,
) {
    let rel = relative(path, base);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            audit.unseen.push(format!("{rel}: cannot be read ({e})"));
            return;
        }
    };
    audit.files.push(path.to_owned());
    let mut file = match syn::parse_file(&text) {
        Ok(file) => file,
        Err(e) => {
            audit.unseen.push(format!("{rel}: cannot be parsed ({e})"));
            return;
        }
    };
    // Unit tests build Apps of their own (`App::new().configure(routes)`): not the service's.
    strip_test_only(&mut file.items);
    // Where `mod x;` files are: beside a crate root or `mod.rs`, else in a directory named
    // after the file.
    let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let mod_dir = if is_root || stem == "mod" {
        dir.clone()
    } else {
        dir.join(stem)
    };
    let mut children = Vec::new();
    submodules(&file.items, &dir, &mod_dir, &module, &mut children);
    out.push(Source { rel, file, module });
    for (child, module) in children {
        if !out.iter().any(|s| base.join(&s.rel) == child) {
            load(&child, false, module, base, out, audit);
        }
    }
}

/// Removes the items compiled only for tests (`#[cfg(test)]`, `#[cfg(all(test, …))]`), at
/// any depth of modules and `impl` blocks.
fn strip_test_only(items: &mut Vec<Item>) {
    items.retain(|item| !test_only(item_attrs(item)));
    for item in items {
        match item {
            Item::Mod(m) => {
                if let Some((_, inner)) = &mut m.content {
                    strip_test_only(inner);
                }
            }
            Item::Impl(i) => i.items.retain(|it| match it {
                syn::ImplItem::Fn(f) => !test_only(&f.attrs),
                _ => true,
            }),
            _ => {}
        }
    }
}

fn item_attrs(item: &Item) -> &[syn::Attribute] {
    match item {
        Item::Fn(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Const(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]` or `#[cfg(all(…, test, …))]`: compiled only for the crate's unit tests.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    use syn::punctuated::Punctuated;
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        match a.parse_args::<syn::Meta>() {
            Ok(syn::Meta::Path(p)) => p.is_ident("test"),
            Ok(syn::Meta::List(l)) if l.path.is_ident("all") => l
                .parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
                .is_ok_and(|all| {
                    all.iter()
                        .any(|m| matches!(m, syn::Meta::Path(p) if p.is_ident("test")))
                }),
            _ => false,
        }
    })
}

fn submodules(
    items: &[Item],
    dir: &Path,
    mod_dir: &Path,
    module: &[String],
    out: &mut Vec<(PathBuf, Vec<String>)>,
) {
    for item in items {
        let Item::Mod(m) = item else { continue };
        let explicit = m.attrs.iter().find_map(|a| {
            if !a.path().is_ident("path") {
                return None;
            }
            match &a.meta {
                syn::Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(s), ..
                    }) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            }
        });
        let name = m.ident.to_string();
        let inner_module: Vec<String> = module.iter().cloned().chain([name.clone()]).collect();
        match &m.content {
            None => {
                let file = match explicit {
                    Some(p) => dir.join(p),
                    None => {
                        let flat = mod_dir.join(format!("{name}.rs"));
                        if flat.exists() {
                            flat
                        } else {
                            mod_dir.join(&name).join("mod.rs")
                        }
                    }
                };
                out.push((file, inner_module));
            }
            Some((_, inner)) => {
                let sub = mod_dir.join(&name);
                submodules(inner, &sub, &sub, &inner_module, out);
            }
        }
    }
}

/// Every function of the sources, at any depth (modules, function bodies).
fn handlers(sources: &[Source]) -> Vec<Handler<'_>> {
    fn walk<'a>(items: &'a [Item], rel: &str, module: &[String], out: &mut Vec<Handler<'a>>) {
        for item in items {
            match item {
                Item::Fn(f) => {
                    out.push(handler(f, rel, module));
                    let inner: Vec<&Item> = f
                        .block
                        .stmts
                        .iter()
                        .filter_map(|s| match s {
                            syn::Stmt::Item(i) => Some(i),
                            _ => None,
                        })
                        .collect();
                    for i in inner {
                        walk(std::slice::from_ref(i), rel, module, out);
                    }
                }
                Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        let module: Vec<String> = module
                            .iter()
                            .cloned()
                            .chain([m.ident.to_string()])
                            .collect();
                        walk(inner, rel, &module, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for source in sources {
        walk(&source.file.items, &source.rel, &source.module, &mut out);
    }
    out
}

fn handler<'a>(f: &'a ItemFn, rel: &str, module: &[String]) -> Handler<'a> {
    let mut decl = Decl::Undeclared;
    for attr in &f.attrs {
        match last_ident(attr.path()).as_str() {
            "requires" => {
                let tokens = attr
                    .meta
                    .require_list()
                    .map(|l| l.tokens.clone())
                    .unwrap_or_default();
                decl = Decl::Requires(tidy(&tokens.to_string()));
            }
            "public" => {
                let reason = attr.meta.require_list().ok().and_then(|l| {
                    syn::parse2::<PublicArgs>(l.tokens.clone())
                        .ok()
                        .and_then(|a| a.reason)
                });
                decl = Decl::Public(reason);
            }
            _ => {}
        }
    }
    // Actix's route attributes only: `#[utoipa::path]` documents, it does not register.
    let routing: Vec<syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| {
            let segments: Vec<String> = a
                .path()
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            segments.first().map(String::as_str) != Some("utoipa")
        })
        .cloned()
        .collect();
    // One route per attribute: `#[routes]` stacks several, each with its own path.
    let routes = routing
        .iter()
        .filter_map(|a| {
            let (methods, path) = crate::ast::route_of(std::slice::from_ref(a));
            path.map(|p| (methods, p))
        })
        .collect();
    Handler {
        name: f.sig.ident.to_string(),
        module: module.to_vec(),
        decl,
        routes,
        resource: resource_name(&routing).unwrap_or_else(|| f.sig.ident.to_string()),
        guarded: routing.iter().any(|a| {
            let last = last_ident(a.path());
            (crate::ast::ROUTE_MACROS.contains(&last.as_str()) || last == "route")
                && a.meta.require_list().is_ok_and(|l| {
                    let tokens: Vec<proc_macro2::TokenTree> = l.tokens.clone().into_iter().collect();
                    tokens.windows(2).any(|w| {
                        matches!(&w[0], proc_macro2::TokenTree::Ident(i) if i == "guard")
                            && matches!(&w[1], proc_macro2::TokenTree::Punct(p) if p.as_char() == '=')
                    })
                })
        }),
        location: format!("{rel}:{}", f.sig.ident.span().start().line),
        body: f,
    }
}

/// `name = "…"` of a route attribute (`#[get("/x", name = "status")]`): the name actix-web
/// gives the resource instead of the function's.
fn resource_name(attrs: &[syn::Attribute]) -> Option<String> {
    use syn::parse::Parser;
    attrs.iter().find_map(|attr| {
        let last = last_ident(attr.path());
        if !crate::ast::ROUTE_MACROS.contains(&last.as_str()) && last != "route" {
            return None;
        }
        let tokens = attr.meta.require_list().ok()?.tokens.clone();
        (|input: ParseStream| {
            input.parse::<LitStr>()?;
            let mut name = None;
            while input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
                if let syn::Meta::NameValue(nv) = input.parse::<syn::Meta>()? {
                    if let (true, Some(lit)) = (nv.path.is_ident("name"), lit_str(&nv.value)) {
                        name = Some(lit.value());
                    }
                }
            }
            Ok(name)
        })
        .parse2(tokens)
        .ok()
        .flatten()
    })
}

/// `reason = "…"` of `#[public(…)]`, if any.
struct PublicArgs {
    reason: Option<String>,
}

impl Parse for PublicArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut reason = None;
        while !input.is_empty() {
            let name: syn::Ident = input.parse()?;
            if input.peek(syn::Token![=]) {
                input.parse::<syn::Token![=]>()?;
                let value: Lit = input.parse()?;
                if let (true, Lit::Str(s)) = (name == "reason", value) {
                    reason = Some(s.value());
                }
            }
            if input.peek(syn::Token![,]) {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(PublicArgs { reason })
    }
}

/// Tokens as a person writes them: `any(scope = "a", scope = "b")`.
fn tidy(tokens: &str) -> String {
    let mut s = tokens.to_owned();
    for (from, to) in [
        (" ,", ","),
        ("( ", "("),
        (" )", ")"),
        (" (", "("),
        (" .", "."),
        (". ", "."),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// The walk over every function body, in search of registrations.
///
/// A route is listed only at a path the walk knows: a function passed to `.configure(f)` (or
/// called as `f(cfg, …)`) is walked from each such call, with that call's prefix, never on
/// its own (it would list its routes without the prefix: paths that do not exist, which
/// deny-by-default would take for the real routes there); a chain on a scope whose path is
/// not a literal is walked under [`UNKNOWN`], which lists nothing.
struct Walker<'h, 'a> {
    handlers: &'h [Handler<'a>],
    names: &'h Names,
    /// The parameters of the function being walked (`true`: a `ServiceConfig`): a name
    /// among them is no function of the crate.
    locals: Vec<(String, bool)>,
    /// The crate's `macro_rules!` whose expansions register routes.
    registering_macros: HashSet<String>,
    /// The functions passed to `.configure(f)` somewhere in the sources (qualified names).
    targets: HashSet<String>,
    routes: Vec<Route>,
    unseen: Vec<String>,
    /// Route-attribute functions registered with `.service(f)` (qualified names), by the
    /// prefixes seen.
    registered: HashMap<String, Vec<String>>,
    prefix: String,
    rel: String,
    /// The module of the function being walked.
    module: Vec<String>,
    /// Functions being walked through `.configure`, against recursion.
    stack: Vec<String>,
}

impl<'ast> Visit<'ast> for Walker<'_, '_> {
    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        self.chain(&Expr::MethodCall(call.clone()));
    }
    /// `f(cfg)` (or `f(cfg, state)`): a function of the crate taking a `ServiceConfig` first
    /// registers under the current prefix, as `.configure(f)` would.
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(f) = &*call.func {
            let targets: Vec<(String, Vec<String>)> = self
                .resolve(&f.path)
                .iter()
                .filter(|h| takes_service_config(h.body))
                .map(|h| (h.name.clone(), h.module.clone()))
                .collect();
            match targets.as_slice() {
                [(name, module)] => {
                    let prefix = self.prefix.clone();
                    self.configure(name, module, &prefix);
                }
                [_, _, ..] => self.unseen.push(format!(
                    "{}: {}(…) names one of several functions of that name that take a ServiceConfig (write its module path)",
                    self.at(f.span()),
                    quote!(#f).to_string().replace(' ', "")
                )),
                // Handed the `ServiceConfig` and not a function the audit can read: it may
                // register anything.
                [] if call.args.iter().any(|a| self.is_config(a)) => self.unseen.push(format!(
                    "{}: {}(…) is given the ServiceConfig and is not a function of this crate the audit can read",
                    self.at(f.span()),
                    quote!(#f).to_string().replace(' ', "")
                )),
                [] => {}
            }
        } else if call.args.iter().any(|a| self.is_config(a)) {
            self.note_unread(
                &call.func,
                "a call handed the ServiceConfig that the audit cannot follow",
            );
        }
        syn::visit::visit_expr_call(self, call);
    }
    /// A macro call in a function body: the audit cannot see what it expands to. One that
    /// may register routes (`include!`, a `macro_rules!` of the crate whose body registers,
    /// or one handed a `ServiceConfig`, an `App` or a registration method's name) is said.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = last_ident(&mac.path);
        if name == "macro_rules" {
            return;
        }
        let config_locals: Vec<&str> = self
            .locals
            .iter()
            .filter(|(_, cfg)| *cfg)
            .map(|(l, _)| l.as_str())
            .collect();
        let registers = name == "include"
            || self.registering_macros.contains(&name)
            || registers_in(mac.tokens.clone(), &config_locals);
        if registers {
            self.unseen.push(format!(
                "{}: {}!(…) may register routes the audit cannot read (it does not expand macros)",
                self.at(mac.path.span()),
                {
                    let path = &mac.path;
                    quote!(#path).to_string().replace(' ', "")
                }
            ));
        }
    }
    /// A module declared inside a function body: its names are not resolved (the audit
    /// would take them for the enclosing module's), so what it registers is not read.
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.unseen.push(format!(
            "{}: a module declared inside a function body (`mod {}`), which the audit does not read",
            self.at(m.ident.span()),
            m.ident
        ));
    }
    /// `let c = &mut *cfg;`: `c` is the `ServiceConfig` too; `let app = App::new()…;`: an
    /// App whose registrations are read where they are chained on it.
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let pat = match &local.pat {
            syn::Pat::Type(t) => &*t.pat,
            pat => pat,
        };
        if let (Some(init), syn::Pat::Ident(i)) = (&local.init, pat) {
            if self.is_config(&init.expr) || is_app(chain_root(&init.expr)) {
                self.locals.push((i.ident.to_string(), true));
            }
        }
        syn::visit::visit_local(self, local);
    }
    /// A function declared inside a body: walked in place, unless it is a configure target.
    fn visit_item_fn(&mut self, f: &'ast ItemFn) {
        if !self.is_target(&f.sig.ident.to_string()) {
            self.body(&f.sig, &f.block);
        }
    }
}

impl Walker<'_, '_> {
    fn item(&mut self, item: &Item) {
        match item {
            // A configure target is walked from its `.configure` calls, with their prefixes.
            Item::Fn(f) if !self.is_target(&f.sig.ident.to_string()) => {
                self.body(&f.sig, &f.block);
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    self.module.push(m.ident.to_string());
                    for i in items {
                        self.item(i);
                    }
                    self.module.pop();
                }
            }
            Item::Impl(i) => {
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        self.body(&f.sig, &f.block);
                    }
                }
            }
            // Everywhere the configure targets were looked for (`configure_targets` visits
            // every item): a target found only here is walked from here.
            Item::Trait(t) => {
                for it in &t.items {
                    if let syn::TraitItem::Fn(syn::TraitItemFn {
                        sig,
                        default: Some(block),
                        ..
                    }) = it
                    {
                        self.body(sig, block);
                    }
                }
            }
            Item::Const(c) => self.visit_expr(&c.expr),
            Item::Static(s) => self.visit_expr(&s.expr),
            // `include!("gen.rs")`, a crate macro that defines a registering function, a
            // `cfg_if!` block: what they expand to is not read.
            Item::Macro(m) => self.visit_macro(&m.mac),
            _ => {}
        }
    }

    /// Whether the function `name` of the current module is passed to `.configure` somewhere.
    fn is_target(&self, name: &str) -> bool {
        self.targets.contains(&qualified(&self.module, name))
    }

    fn at(&self, span: Span) -> String {
        format!("{}:{}", self.rel, span.start().line)
    }

    /// The functions a path names: in the module the path leads to from the current one
    /// (`self`, `super`, `crate`, submodules); failing that (a `use` brought it in), those
    /// whose module ends with the path's modules; failing that, every function of that name.
    fn resolve(&self, path: &syn::Path) -> Vec<&Handler<'_>> {
        if path.segments.len() == 1 && self.locals.iter().any(|(l, _)| path.is_ident(l.as_str())) {
            return Vec::new();
        }
        resolve(self.handlers, self.names, &self.module, path)
    }

    /// Walks a function's body with its parameters as the names in scope.
    fn body(&mut self, sig: &syn::Signature, block: &syn::Block) {
        /// Every name a pattern binds (`let`, `if let`, `match`, `for`, closure and
        /// parameter patterns): a local, never the crate's function of that name.
        struct Bindings(Vec<(String, bool)>);
        impl<'ast> Visit<'ast> for Bindings {
            fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
                self.0.push((i.ident.to_string(), false));
                syn::visit::visit_pat_ident(self, i);
            }
            fn visit_item(&mut self, _: &'ast Item) {}
        }
        let mut bindings = Bindings(Vec::new());
        for arg in &sig.inputs {
            if let syn::FnArg::Typed(t) = arg {
                let ty = &t.ty;
                let config = quote!(#ty).to_string().contains("ServiceConfig");
                match &*t.pat {
                    syn::Pat::Ident(i) => bindings.0.push((i.ident.to_string(), config)),
                    pat => bindings.visit_pat(pat),
                }
            }
        }
        bindings.visit_block(block);
        let saved = std::mem::replace(&mut self.locals, bindings.0);
        self.visit_block(block);
        self.locals = saved;
    }

    /// Whether `expr` calls a function of the crate (walked itself: what it builds is read
    /// there), e.g. `app()` returning `App::new()…`.
    fn crate_call(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => {
                matches!(&*call.func, Expr::Path(f) if !self.resolve(&f.path).is_empty())
            }
            _ => false,
        }
    }

    /// Whether `expr` is a `ServiceConfig` parameter of the function being walked.
    fn is_config(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Path(p) => self
                .locals
                .iter()
                .any(|(l, cfg)| *cfg && p.path.is_ident(l.as_str())),
            Expr::Reference(r) => self.is_config(&r.expr),
            Expr::Unary(u) => self.is_config(&u.expr),
            Expr::Paren(p) => self.is_config(&p.expr),
            _ => false,
        }
    }

    /// The declaration of the handler `expr` names (a function path or a closure).
    fn declaration_of(&self, expr: &Expr) -> (String, Decl) {
        match expr {
            Expr::Path(p) => {
                let written = tidy(&quote!(#p).to_string()).replace(" :: ", "::");
                let found = self.resolve(&p.path);
                // Declared only when every function of that name is: a same-named
                // undeclared one must not hide behind a declared one.
                let decl = match found.first() {
                    Some(first) if found.iter().all(|h| h.decl != Decl::Undeclared) => {
                        first.decl.clone()
                    }
                    _ => Decl::Undeclared,
                };
                (written, decl)
            }
            Expr::Closure(_) | Expr::Async(_) => ("(closure)".into(), Decl::Undeclared),
            other => (tidy(&quote!(#other).to_string()), Decl::Undeclared),
        }
    }

    fn push(&mut self, methods: Vec<String>, path: String, handler: &Expr, span: Span) {
        let (handler, decl) = self.declaration_of(handler);
        let location = self.at(span);
        self.routes.push(Route {
            methods,
            path,
            handler,
            decl,
            location,
            resource: None,
        });
    }

    /// A method-call chain from its root: `App::new().service(a).route(…)`,
    /// `web::scope("/x").route(…)`, `web::resource("/x").route(…)`, `cfg.route(…)`.
    fn chain(&mut self, expr: &Expr) {
        let mut calls: Vec<&ExprMethodCall> = Vec::new();
        let mut root = expr;
        while let Expr::MethodCall(call) = root {
            calls.push(call);
            root = &call.receiver;
        }
        calls.reverse();
        // What the chain builds, from its root.
        let (kind, base) = match root_call(root) {
            // actix-web adds a leading slash and keeps a trailing one (`/a/` + `/b` is
            // `/a//b`): a path written without the first or with the second is not joined
            // here the way the router joins it.
            Some((kind, Some(lit))) if odd_path(&lit.value(), kind == "scope") => {
                self.note_unread(
                    root,
                    "a scope or resource path without a leading `/`, or a scope path ending in `/` (write `/x`)",
                );
                let kind = if kind == "scope" {
                    Kind::Scope
                } else {
                    Kind::Resource
                };
                (kind, UNKNOWN.to_owned())
            }
            Some(("scope", Some(lit))) => (Kind::Scope, join(&self.prefix, &lit.value())),
            Some(("resource", Some(lit))) => (Kind::Resource, join(&self.prefix, &lit.value())),
            Some((kind, None)) => {
                // Its routes' paths are unknown: walked under a prefix that lists none (a path
                // without the scope's would not exist, and deny-by-default must not take it for
                // a real one), so that what is registered there is listed nowhere else either.
                self.unseen.push(format!(
                    "{}: a scope or resource whose path is not a string literal (its routes are not listed)",
                    self.at(root.span())
                ));
                let kind = if kind == "scope" {
                    Kind::Scope
                } else {
                    Kind::Resource
                };
                (kind, UNKNOWN.to_owned())
            }
            _ => {
                // The root itself may hold chains (`HttpServer::new(move || App::new()…)`).
                syn::visit::visit_expr(self, root);
                // Registrations on something the audit cannot place (another crate's App
                // builder, `self` in an extension trait, a struct's field): their prefix is
                // unknown, and what else that something registered is not read.
                let app_like = is_app(root) || self.is_config(root);
                let traceable = app_like || self.crate_call(root);
                if !traceable
                    && calls
                        .iter()
                        .any(|c| REGISTERING_METHODS.contains(&c.method.to_string().as_str()))
                {
                    self.note_unread(
                        root,
                        "routes registered on something the audit cannot trace to an App, a ServiceConfig, a scope or a resource",
                    );
                    return;
                }
                if app_like {
                    // On an App or a ServiceConfig, a method the audit does not know (another
                    // crate's extension trait: `cfg.mount_admin()`) may register anything.
                    if let Some(call) = calls
                        .iter()
                        .find(|c| !APP_METHODS.contains(&c.method.to_string().as_str()))
                    {
                        self.note_unread(
                            &Expr::MethodCall((*call).clone()),
                            &format!(
                                "`.{}(…)` on an App or a ServiceConfig, which the audit does not read",
                                call.method
                            ),
                        );
                    }
                }
                (Kind::Other, self.prefix.clone())
            }
        };
        for call in calls {
            let method = call.method.to_string();
            let args: Vec<&Expr> = call.args.iter().collect();
            match (kind, method.as_str(), args.as_slice()) {
                (Kind::Resource, "route", [route]) => {
                    let (methods, handler) = route_expr(route);
                    match handler {
                        Some(h) => self.push(methods, base.clone(), h, call.method.span()),
                        None => self.note_unread(route, "a route without `.to(handler)`"),
                    }
                }
                (Kind::Resource, "to", [handler]) => {
                    self.push(Vec::new(), base.clone(), handler, call.method.span())
                }
                // `web::resource("/x").get(h)`: a route of that method.
                (Kind::Resource, m, [handler]) if RESOURCE_METHODS.contains(&m) => self.push(
                    vec![m.to_ascii_uppercase()],
                    base.clone(),
                    handler,
                    call.method.span(),
                ),
                (Kind::Resource, "default_service", [service]) => {
                    self.default_service(service, &format!("{base} (default service)"), call)
                }
                (Kind::Scope | Kind::Other, "route", [path, route]) => {
                    let (methods, handler) = route_expr(route);
                    match (lit_str(path), handler) {
                        (Some(p), _) if odd_path(&p.value(), false) => self
                            .note_unread(path, "a route path without a leading `/` (write `/x`)"),
                        (Some(p), Some(h)) => {
                            self.push(methods, join(&base, &p.value()), h, call.method.span())
                        }
                        (None, _) => self.unseen.push(format!(
                            "{}: .route(…) with a path that is not a string literal",
                            self.at(call.method.span())
                        )),
                        (Some(_), None) => {
                            self.note_unread(route, "a route without `.to(handler)`")
                        }
                    }
                }
                (Kind::Scope | Kind::Other, "service", [service]) => self.service(service, &base),
                (Kind::Scope | Kind::Other, "default_service", [service]) => {
                    let label = if base.is_empty() {
                        "(default service)".to_owned()
                    } else {
                        format!("{base} (default service)")
                    };
                    self.default_service(service, &label, call)
                }
                (Kind::Scope | Kind::Other, "configure", [Expr::Path(f)]) => {
                    let targets: Vec<(String, Vec<String>)> = self
                        .resolve(&f.path)
                        .iter()
                        .map(|h| (h.name.clone(), h.module.clone()))
                        .collect();
                    match targets.as_slice() {
                        [(name, module)] => self.configure(name, module, &base),
                        // Several of that name: which one is mounted here is not known, so
                        // none is walked (and none on its own: each is a configure target).
                        [_, _, ..] => self.unseen.push(format!(
                            "{}: .configure({}) names one of several functions of that name (write its module path)",
                            self.at(f.span()),
                            quote!(#f).to_string().replace(' ', "")
                        )),
                        [] => self.unseen.push(format!(
                            "{}: .configure({}) is not a function of this crate the audit can read",
                            self.at(f.span()),
                            quote!(#f).to_string().replace(' ', "")
                        )),
                    }
                }
                // `.configure(|cfg| …)`: the closure's body under this chain's prefix.
                (Kind::Scope | Kind::Other, "configure", [Expr::Closure(closure)]) => {
                    let saved = std::mem::replace(&mut self.prefix, base.clone());
                    let outer = self.locals.len();
                    for input in &closure.inputs {
                        let name = match input {
                            syn::Pat::Ident(i) => i.ident.to_string(),
                            syn::Pat::Type(t) => match &*t.pat {
                                syn::Pat::Ident(i) => i.ident.to_string(),
                                _ => String::new(),
                            },
                            _ => String::new(),
                        };
                        self.locals.push((name, true));
                    }
                    syn::visit::visit_expr(self, &closure.body);
                    self.locals.truncate(outer);
                    self.prefix = saved;
                }
                (Kind::Scope | Kind::Other, "configure", [other]) => {
                    self.note_unread(
                        other,
                        ".configure(…) of something other than a function or closure",
                    );
                }
                // A guarded scope or resource: a request its guard refuses goes on to the
                // next one that matches the path, which the resource map (all deny-by-default
                // sees before routing) does not know.
                (Kind::Scope | Kind::Resource, "guard", _) => self.note_unread(
                    &Expr::MethodCall(call.clone()),
                    "a guard on a scope or resource: a request it refuses is routed to whatever else matches the path",
                ),
                // Anything else on a scope or resource may register what the audit cannot
                // read (a method of a later actix-web): said, never skipped.
                (Kind::Scope | Kind::Resource, m, _) if !CONFIGURING_METHODS.contains(&m) => {
                    self.note_unread(
                        &Expr::MethodCall(call.clone()),
                        &format!("`.{m}(…)` on a scope or resource, which the audit does not read"),
                    );
                    for arg in args {
                        syn::visit::visit_expr(self, arg);
                    }
                }
                _ => {
                    if args.iter().any(|a| self.is_config(a)) {
                        self.note_unread(
                            &Expr::MethodCall(call.clone()),
                            "a method handed the ServiceConfig that the audit cannot follow",
                        );
                    }
                    for arg in args {
                        syn::visit::visit_expr(self, arg);
                    }
                }
            }
        }
    }

    fn note_unread(&mut self, expr: &Expr, why: &str) {
        self.unseen.push(format!("{}: {why}", self.at(expr.span())));
    }

    fn default_service(&mut self, service: &Expr, label: &str, call: &ExprMethodCall) {
        let (methods, handler) = route_expr(service);
        match handler {
            Some(h) => self.push(methods, label.to_owned(), h, call.method.span()),
            None => self.push(Vec::new(), label.to_owned(), service, call.method.span()),
        }
    }

    /// `.service(x)`: a route-attribute function, or a scope or resource written in place.
    fn service(&mut self, service: &Expr, prefix: &str) {
        match service {
            Expr::Path(p) => {
                let routed: Vec<String> = self
                    .resolve(&p.path)
                    .iter()
                    .filter(|h| !h.routes.is_empty())
                    .map(|h| qualified(&h.module, &h.name))
                    .collect();
                if routed.len() > 1 {
                    // Which one is served here is not known: listing each under this prefix
                    // would list routes that do not exist; registered under the unknown prefix,
                    // none is listed at its bare path either.
                    self.unseen.push(format!(
                        "{}: .service({}) names one of several route-attribute functions of that name (write its module path)",
                        self.at(service.span()),
                        quote!(#p).to_string().replace(' ', "")
                    ));
                    for handler in routed {
                        self.registered
                            .entry(handler)
                            .or_default()
                            .push(UNKNOWN.to_owned());
                    }
                } else if let Some(handler) = routed.into_iter().next() {
                    self.registered
                        .entry(handler)
                        .or_default()
                        .push(prefix.to_owned());
                } else {
                    self.unseen.push(format!(
                        "{}: .service({}) is not a route-attribute function the audit can read",
                        self.at(service.span()),
                        quote!(#p).to_string().replace(' ', "")
                    ));
                }
            }
            // The RFC 9728 metadata document, served by the framework's own service.
            Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "metadata_service")) =>
            {
                self.routes.push(Route {
                    methods: vec!["GET".into()],
                    path: join(prefix, "/.well-known/oauth-protected-resource…"),
                    handler: "metadata_service".into(),
                    decl: Decl::Public(Some(
                        "RFC 9728 metadata: where clients learn how to get a token".into(),
                    )),
                    location: self.at(call.func.span()),
                    resource: None,
                });
            }
            Expr::MethodCall(_) | Expr::Call(_) if root_call(chain_root(service)).is_some() => {
                let saved = std::mem::replace(&mut self.prefix, prefix.to_owned());
                self.chain(service);
                self.prefix = saved;
            }
            other => {
                self.unseen.push(format!(
                    "{}: .service({}) is not a handler, scope or resource the audit can read",
                    self.at(other.span()),
                    tidy(&quote!(#other).to_string())
                ));
                syn::visit::visit_expr(self, other);
            }
        }
    }

    /// Walks the body of `f` (passed to `.configure` under `prefix`) with that prefix.
    fn configure(&mut self, name: &str, module: &[String], prefix: &str) {
        let function = qualified(module, name);
        if self.stack.contains(&function) {
            return;
        }
        let handlers = self.handlers;
        let bodies: Vec<(&ItemFn, String)> = handlers
            .iter()
            .filter(|h| h.name == name && h.module == module)
            .map(|h| {
                let rel = h
                    .location
                    .rsplit_once(':')
                    .map_or(h.location.clone(), |(f, _)| f.to_owned());
                (h.body, rel)
            })
            .collect();
        self.stack.push(function);
        for (body, rel) in bodies {
            let saved_prefix = std::mem::replace(&mut self.prefix, prefix.to_owned());
            let saved_rel = std::mem::replace(&mut self.rel, rel);
            let saved_module = std::mem::replace(&mut self.module, module.to_vec());
            self.body(&body.sig, &body.block);
            self.module = saved_module;
            self.rel = saved_rel;
            self.prefix = saved_prefix;
        }
        self.stack.pop();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scope,
    Resource,
    Other,
}

/// The last segment of a path: the name of what it names.
fn last_ident(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// `a::b::f` for the function `f` of module `a::b`.
fn qualified(module: &[String], name: &str) -> String {
    module
        .iter()
        .map(String::as_str)
        .chain([name])
        .collect::<Vec<_>>()
        .join("::")
}

/// A module's path from the crate root (`[]` for the root).
type Module = Vec<String>;

/// A name a `use` brings in: `(name, path as written, leads out of the crate)`.
type UseName = (String, Vec<String>, bool);

/// A name a module imports and what it names, from the crate root (`None`: another crate's).
type Import = (String, Option<Vec<String>>);

/// The crate's modules and what each one's `use` items bring into it: how a path written in
/// a module is resolved to a function of the crate, or to none (another crate's).
#[derive(Default)]
struct Names {
    modules: HashSet<Vec<String>>,
    /// `use` items read, made absolute once every module is known.
    pending: Vec<(Module, UseName)>,
    /// By module: the names `use` and `fn` items inside its function bodies bind (`*` for a
    /// glob). Where such a name is used is not tracked: in that module it names nothing.
    block_bound: HashMap<Module, HashSet<String>>,
    /// By module: its values that are not functions (`const`, `static`, unit and tuple
    /// structs): a name among them is no function of the crate (a `const` may hold another
    /// crate's handler).
    values: HashMap<Module, HashSet<String>>,
    /// By module: `(name, what it names)`; `None` for another crate's item. A glob import
    /// (`use crate::m::*`) has the name `*` and names the module.
    imports: HashMap<Module, Vec<Import>>,
}

impl Names {
    fn of(sources: &[Source]) -> Names {
        /// The names `use` and `fn` items bind inside the blocks of a function body, at any
        /// depth (closures, inner blocks): they shadow the module's for that block only.
        struct BlockNames(HashSet<String>);
        impl<'ast> Visit<'ast> for BlockNames {
            fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
                let mut found = Vec::new();
                flatten_use(&u.tree, Vec::new(), false, &mut found);
                self.0.extend(found.into_iter().map(|(name, _, _)| name));
            }
            fn visit_item_fn(&mut self, f: &'ast ItemFn) {
                self.0.insert(f.sig.ident.to_string());
                syn::visit::visit_item_fn(self, f);
            }
            // A module inside a body is a module of its own, its names are not the body's.
            fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
        }
        fn walk(names: &mut Names, items: &[Item], module: &[String]) {
            names.modules.insert(module.to_vec());
            let mut block = BlockNames(HashSet::new());
            for item in items {
                match item {
                    Item::Use(u) => {
                        let mut found = Vec::new();
                        flatten_use(&u.tree, Vec::new(), u.leading_colon.is_some(), &mut found);
                        names
                            .pending
                            .extend(found.into_iter().map(|f| (module.to_vec(), f)));
                    }
                    Item::Mod(m) => {
                        if let Some((_, inner)) = &m.content {
                            let mut module = module.to_vec();
                            module.push(m.ident.to_string());
                            walk(names, inner, &module);
                        }
                    }
                    Item::Fn(f) => block.visit_block(&f.block),
                    Item::Impl(i) => {
                        for it in &i.items {
                            if let syn::ImplItem::Fn(f) = it {
                                block.visit_block(&f.block);
                            }
                        }
                    }
                    Item::Trait(t) => {
                        for it in &t.items {
                            if let syn::TraitItem::Fn(syn::TraitItemFn {
                                default: Some(body),
                                ..
                            }) = it
                            {
                                block.visit_block(body);
                            }
                        }
                    }
                    Item::Const(c) => block.visit_expr(&c.expr),
                    Item::Static(st) => block.visit_expr(&st.expr),
                    _ => {}
                }
                let value = match item {
                    Item::Const(c) => Some(&c.ident),
                    Item::Static(st) => Some(&st.ident),
                    Item::Struct(st) if !matches!(st.fields, syn::Fields::Named(_)) => {
                        Some(&st.ident)
                    }
                    _ => None,
                };
                if let Some(value) = value {
                    names
                        .values
                        .entry(module.to_vec())
                        .or_default()
                        .insert(value.to_string());
                }
            }
            names
                .block_bound
                .entry(module.to_vec())
                .or_default()
                .extend(block.0);
        }
        let mut names = Names::default();
        for source in sources {
            walk(&mut names, &source.file.items, &source.module);
        }
        // Made absolute once every module is known.
        for (module, (alias, path, external)) in std::mem::take(&mut names.pending) {
            let target = if external {
                None
            } else {
                names.absolute(&module, &path)
            };
            names
                .imports
                .entry(module)
                .or_default()
                .push((alias, target));
        }
        names
    }

    /// `path` as written in a `use` of `module` (`crate::…`, `self::…`, `super::…`, or a
    /// submodule's name), from the crate root; `None` when it leads out of the crate.
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let mut target = module.to_vec();
        let mut rest = path;
        let mut anchored = false;
        while let Some((first, tail)) = rest.split_first() {
            match first.as_str() {
                "self" => {}
                "super" => {
                    target.pop()?;
                }
                "crate" => target.clear(),
                _ => break,
            }
            anchored = true;
            rest = tail;
        }
        if !anchored {
            // `a::b`: a submodule `a` of this module, else another crate.
            let first = rest.first()?;
            let mut sub = module.to_vec();
            sub.push(first.clone());
            if !self.modules.contains(&sub) {
                return None;
            }
        }
        target.extend(rest.iter().cloned());
        Some(target)
    }

    /// The absolute paths `path`, written in `module`, may name (one, or several through glob
    /// imports); none when it names another crate's item or nothing the audit can trace.
    fn candidates(&self, module: &[String], path: &syn::Path) -> Vec<Vec<String>> {
        if path.leading_colon.is_some() {
            return Vec::new();
        }
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some(first) = segments.first() else {
            return Vec::new();
        };
        if matches!(first.as_str(), "crate" | "self" | "super") {
            return self.absolute(module, &segments).into_iter().collect();
        }
        // A name some block of this module binds (a `use` or `fn` inside a body): which
        // binding this use sees depends on where it stands, which the audit does not track.
        if self
            .block_bound
            .get(module)
            .is_some_and(|b| b.contains(first) || b.contains("*"))
        {
            return Vec::new();
        }
        let mut here = module.to_vec();
        here.extend(segments.iter().cloned());
        if segments.len() > 1 {
            let mut sub = module.to_vec();
            sub.push(first.clone());
            if self.modules.contains(&sub) {
                return vec![here];
            }
        }
        if segments.len() == 1 && self.values.get(module).is_some_and(|v| v.contains(first)) {
            return Vec::new();
        }
        match self.imported(module, first) {
            Imported::External => Vec::new(),
            // A name both imported and defined (each under its own `cfg`) may be either.
            Imported::Named(targets) => targets
                .into_iter()
                .map(|target| target.iter().chain(&segments[1..]).cloned().collect())
                .chain([here])
                .collect(),
            // Defined here (checked by the caller against the functions), or through a glob.
            Imported::Globs(globs) => [here]
                .into_iter()
                .chain(
                    globs
                        .into_iter()
                        .map(|g| g.iter().chain(&segments).cloned().collect()),
                )
                .collect(),
        }
    }

    /// What `name` means in `module` through its `use` items, with the compiler's
    /// precedence: an import by that name shadows globs, and one from another crate (even
    /// under a `cfg` beside one of the crate's) means another crate's item.
    fn imported(&self, module: &[String], name: &str) -> Imported<'_> {
        let imports = self.imports.get(module).map(Vec::as_slice).unwrap_or(&[]);
        let named: Vec<&Option<Vec<String>>> = imports
            .iter()
            .filter(|(alias, _)| alias == name)
            .map(|(_, target)| target)
            .collect();
        if named.iter().any(|t| t.is_none()) {
            return Imported::External;
        }
        if !named.is_empty() {
            return Imported::Named(named.into_iter().flatten().collect());
        }
        Imported::Globs(
            imports
                .iter()
                .filter(|(alias, _)| alias == "*")
                .filter_map(|(_, target)| target.as_ref())
                .collect(),
        )
    }

    /// `candidate` (an absolute path) followed through the `use` items of the module it
    /// names (`pub use` re-exports, globs) when no function is defined there, a few hops at
    /// most.
    fn through_reexports(&self, candidate: Vec<String>, hops: usize, out: &mut Vec<Vec<String>>) {
        out.push(candidate.clone());
        let Some((name, module)) = candidate.split_last() else {
            return;
        };
        if hops == 0 || self.values.get(module).is_some_and(|v| v.contains(name)) {
            return;
        }
        match self.imported(module, name) {
            // Another crate's item: drop what was pushed for this path.
            Imported::External => {
                out.pop();
            }
            Imported::Named(targets) => {
                for target in targets {
                    self.through_reexports(target.clone(), hops - 1, out);
                }
            }
            Imported::Globs(globs) => {
                for glob in globs {
                    let mut next = glob.clone();
                    next.push(name.clone());
                    self.through_reexports(next, hops - 1, out);
                }
            }
        }
    }
}

/// What a name means in a module through its `use` items ([`Names::imported`]).
enum Imported<'a> {
    /// Another crate's item.
    External,
    /// The crate's paths its imports by that name lead to.
    Named(Vec<&'a Vec<String>>),
    /// None by that name: the modules its globs bring in (the name may be defined in the
    /// module itself).
    Globs(Vec<&'a Vec<String>>),
}

/// The names a `use` tree brings in: `(name, path, leads out of the crate)`; a glob's name
/// is `*`.
fn flatten_use(
    tree: &syn::UseTree,
    mut prefix: Vec<String>,
    external: bool,
    out: &mut Vec<UseName>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, external, out);
        }
        syn::UseTree::Name(n) if n.ident == "self" => {
            if let Some(last) = prefix.last().cloned() {
                out.push((last, prefix, external));
            }
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            prefix.push(name.clone());
            out.push((name, prefix, external));
        }
        syn::UseTree::Rename(r) => {
            if r.ident != "self" {
                prefix.push(r.ident.to_string());
            }
            out.push((r.rename.to_string(), prefix, external));
        }
        syn::UseTree::Glob(_) => out.push(("*".into(), prefix, external)),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                flatten_use(tree, prefix.clone(), external, out);
            }
        }
    }
}

/// The functions of the crate a path names, seen from `module`, resolved as the compiler
/// would: through `crate`/`self`/`super`, submodules and the module's `use` items (globs
/// included). A name another crate's `use` brings in, or one the audit cannot trace, names
/// none: never "every function of that name", which would take another crate's `index` or a
/// parameter called `routes` for the crate's own.
fn resolve<'h, 'a>(
    handlers: &'h [Handler<'a>],
    names: &Names,
    module: &[String],
    path: &syn::Path,
) -> Vec<&'h Handler<'a>> {
    let at = |candidate: &[String]| -> Vec<&'h Handler<'a>> {
        let Some((name, in_module)) = candidate.split_last() else {
            return Vec::new();
        };
        handlers
            .iter()
            .filter(|h| h.name == *name && h.module == in_module)
            .collect()
    };
    let mut found: Vec<&Handler<'a>> = Vec::new();
    for candidate in names.candidates(module, path) {
        let exact = at(&candidate);
        // A function defined in the module itself shadows what globs bring in.
        if !exact.is_empty()
            && candidate[..candidate.len() - 1] == *module
            && path.segments.len() == 1
        {
            return exact;
        }
        let mut paths = Vec::new();
        if exact.is_empty() {
            names.through_reexports(candidate, 4, &mut paths);
        } else {
            paths.push(candidate);
        }
        for h in paths.iter().flat_map(|p| at(p)) {
            if !found.iter().any(|f| std::ptr::eq(*f, h)) {
                found.push(h);
            }
        }
    }
    found
}

fn chain_root(mut expr: &Expr) -> &Expr {
    while let Expr::MethodCall(call) = expr {
        expr = &call.receiver;
    }
    expr
}

/// `web::scope("…")` / `web::resource("…")` (or `Scope::new`, `Resource::new`): which, and
/// its literal path.
fn root_call(expr: &Expr) -> Option<(&'static str, Option<&LitStr>)> {
    let (segments, call) = called_path(expr)?;
    let kind = match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [.., "scope"] | [.., "Scope", "new"] => "scope",
        [.., "resource"] | [.., "Resource", "new"] => "resource",
        _ => return None,
    };
    Some((kind, call.args.first().and_then(lit_str)))
}

fn lit_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

const METHODS: [&str; 9] = [
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect",
];

/// `web::get().to(h)`, `web::route().method(Method::POST).to(h)`, `web::route().guard(guard::Put()).to(h)`,
/// `web::to(h)`: the methods (empty: any) and the handler.
fn route_expr(expr: &Expr) -> (Vec<String>, Option<&Expr>) {
    let mut methods = Vec::new();
    let mut handler = None;
    let mut node = expr;
    loop {
        match node {
            Expr::MethodCall(call) => {
                let name = call.method.to_string();
                let arg = call.args.first();
                match name.as_str() {
                    "to" => handler = handler.or(arg),
                    "method" => methods.extend(arg.and_then(method_of)),
                    "guard" => methods.extend(arg.and_then(guard_of)),
                    _ => {}
                }
                node = &call.receiver;
            }
            Expr::Call(call) => {
                if let Expr::Path(p) = &*call.func {
                    let last = last_ident(&p.path);
                    if METHODS.contains(&last.as_str()) {
                        methods.push(last.to_ascii_uppercase());
                    } else if last == "to" {
                        handler = handler.or(call.args.first());
                    } else if last == "method" {
                        methods.extend(call.args.first().and_then(method_of));
                    }
                }
                break;
            }
            _ => break,
        }
    }
    methods.dedup();
    (methods, handler)
}

/// `Method::POST`, `http::Method::POST`; anything else (a variable, a constant of the
/// crate's, `Method::from_bytes(…)`) is no method the audit knows: the route is listed for
/// every method.
fn method_of(expr: &Expr) -> Option<String> {
    let Expr::Path(p) = expr else { return None };
    let segments: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [.., "Method", m]
            if METHODS.contains(&m.to_ascii_lowercase().as_str())
                && m == m.to_ascii_uppercase() =>
        {
            Some(m.to_owned())
        }
        _ => None,
    }
}

/// `guard::Get()`.
fn guard_of(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(p) = &*call.func else {
        return None;
    };
    let last = p.path.segments.last()?.ident.to_string();
    METHODS
        .contains(&last.to_ascii_lowercase().as_str())
        .then(|| last.to_ascii_uppercase())
}

/// `route_audit!()` / `route_audit!(strict)` / `crate = "…"`.
pub struct Args {
    strict: bool,
    krate: syn::Path,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut strict = false;
        let mut krate: syn::Path = syn::parse_quote!(::endpoint_auth);
        while !input.is_empty() {
            if input.peek(syn::Token![crate]) {
                input.parse::<syn::Token![crate]>()?;
                input.parse::<syn::Token![=]>()?;
                let lit: LitStr = input.parse()?;
                krate = lit.parse()?;
            } else {
                let word: syn::Ident = input.parse()?;
                if word != "strict" {
                    return Err(syn::Error::new(
                        word.span(),
                        "expected `strict` or `crate = \"…\"`",
                    ));
                }
                strict = true;
            }
            if input.peek(syn::Token![,]) {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(Args { strict, krate })
    }
}

/// The expansion: `pub static ROUTE_AUDIT`, and with `strict` a compile error naming every
/// undeclared route.
pub fn expand(input: TokenStream, root: Option<PathBuf>) -> TokenStream {
    let args = match syn::parse2::<Args>(input) {
        Ok(args) => args,
        Err(e) => return e.to_compile_error(),
    };
    let Some(root) = root else {
        return syn::Error::new(
            Span::call_site(),
            "route_audit! reads the crate's source files: invoke it in a file on disk, at the crate root",
        )
        .to_compile_error();
    };
    // Absolute, so that places are shown relative to the crate's manifest directory.
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|dir| std::fs::canonicalize(dir).ok())
        .unwrap_or_else(|| root.parent().unwrap_or(Path::new(".")).to_owned());
    let audit = audit(&root, &base);
    render(&audit, &args)
}

fn render(audit: &Audit, args: &Args) -> TokenStream {
    let krate = &args.krate;
    let routes = audit.routes.iter().map(|r| {
        let methods = &r.methods;
        let (path, handler, location) = (&r.path, &r.handler, &r.location);
        let decl = match &r.decl {
            Decl::Requires(text) => quote!(#krate::audit::Declaration::Requires(#text)),
            Decl::Public(Some(reason)) => {
                quote!(#krate::audit::Declaration::Public(::core::option::Option::Some(#reason)))
            }
            Decl::Public(None) => {
                quote!(#krate::audit::Declaration::Public(::core::option::Option::None))
            }
            Decl::Undeclared => quote!(#krate::audit::Declaration::Undeclared),
        };
        let route = quote!(#krate::audit::AuditedRoute::new(&[#(#methods),*], #path, #handler, #decl, #location));
        match &r.resource {
            Some(name) => quote!(#route.with_resource(#name)),
            None => route,
        }
    });
    let unseen = &audit.unseen;
    let files = audit
        .files
        .iter()
        .filter_map(|f| f.to_str())
        .collect::<HashSet<_>>();
    let files = files.into_iter();
    let strict = args.strict.then(|| {
        let undeclared: Vec<String> = audit
            .routes
            .iter()
            .filter(|r| r.decl == Decl::Undeclared)
            .map(|r| {
                let methods = if r.methods.is_empty() {
                    "*".to_owned()
                } else {
                    r.methods.join("|")
                };
                format!("{methods} {} ({}, {})", r.path, r.handler, r.location)
            })
            .collect();
        let message = if !undeclared.is_empty() {
            format!(
                "undeclared routes (add #[requires(…)] or #[public(reason = \"…\")] to their handlers): {}",
                undeclared.join(", ")
            )
        } else if audit.routes.is_empty() {
            // As the runtime's strict_routes says it (auth-runtime/src/audit.rs).
            "the route audit found no route in the sources it read: invoke route_audit!() in the crate whose code registers the routes (it reads that crate's files only)".to_owned()
        } else if !audit.unseen.is_empty() {
            format!(
                "the route audit could not read {} registration(s), so it cannot say that every route is declared: {}. Make them readable (string-literal paths; route-attribute functions, scopes and resources written in place) or drop `strict`",
                audit.unseen.len(),
                audit.unseen.join("; ")
            )
        } else {
            return None;
        };
        Some(quote!(::core::compile_error!(#message);))
    });
    quote! {
        #strict
        /// Every route this crate's sources register, with what its handler declares
        /// (generated by `endpoint_auth::route_audit!`).
        pub static ROUTE_AUDIT: #krate::audit::RouteAudit =
            #krate::audit::RouteAudit::new(&[#(#routes),*], &[#(#unseen),*]);
        // The files read: the compiler rebuilds when one changes.
        #(const _: &[u8] = ::core::include_bytes!(#files);)*
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit_of(files: &[(&str, &str)]) -> Audit {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "endpoint-auth-audit-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let audit = audit(&dir.join(files[0].0), &dir);
        let _ = std::fs::remove_dir_all(&dir);
        audit
    }

    fn table(audit: &Audit) -> Vec<String> {
        audit
            .routes
            .iter()
            .map(|r| {
                let decl = match &r.decl {
                    Decl::Requires(t) => format!("requires({t})"),
                    Decl::Public(Some(reason)) => format!("public({reason})"),
                    Decl::Public(None) => "public".into(),
                    Decl::Undeclared => "UNDECLARED".into(),
                };
                let methods = if r.methods.is_empty() {
                    "*".into()
                } else {
                    r.methods.join("|")
                };
                format!("{methods} {} {} {decl} {}", r.path, r.handler, r.location)
            })
            .collect()
    }

    const MAIN: &str = r#"
mod api;

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn list() -> String { String::new() }

#[get("/debug")]
async fn debug() -> String { String::new() }

#[public(reason = "probe")]
#[get("/health")]
async fn health() -> String { String::new() }

#[requires(any(scope = "a", scope = "b"))]
async fn by_hand() -> String { String::new() }

async fn legacy() -> String { String::new() }

fn app() {
    App::new()
        .service(list)
        .service(debug)
        .service(health)
        .route("/by-hand", web::get().to(by_hand))
        .route("/legacy", web::post().to(legacy))
        .route("/closure", web::route().to(|| async { "" }))
        .service(web::resource("/res").route(web::put().to(legacy)).to(by_hand))
        .service(
            web::scope("/v1")
                .service(list)
                .service(web::scope("/inner").route("/deep", web::delete().to(legacy)))
                .configure(api::routes),
        )
        .service(make_service())
        .default_service(web::to(legacy));
}
"#;

    const API: &str = r#"
use super::*;

#[public]
async fn ping() -> &'static str { "" }

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ping", web::get().to(ping));
}
"#;

    #[test]
    fn every_registration_style_is_listed_with_its_declaration() {
        let audit = audit_of(&[("main.rs", MAIN), ("api.rs", API)]);
        let rows = table(&audit);
        let expect = [
            r#"GET /reports list requires(scope = "read:reports") main.rs:6"#,
            "GET /v1/reports list requires(scope = \"read:reports\") main.rs:6",
            "GET /debug debug UNDECLARED main.rs:9",
            "GET /health health public(probe) main.rs:13",
            "GET /by-hand by_hand requires(any(scope = \"a\", scope = \"b\")) main.rs:25",
            "POST /legacy legacy UNDECLARED main.rs:26",
            "* /closure (closure) UNDECLARED main.rs:27",
            "PUT /res legacy UNDECLARED main.rs:28",
            "* /res by_hand requires(any(scope = \"a\", scope = \"b\")) main.rs:28",
            "DELETE /v1/inner/deep legacy UNDECLARED main.rs:32",
            "* (default service) legacy UNDECLARED main.rs:36",
            "GET /v1/ping ping public api.rs:8",
        ];
        for row in expect {
            assert!(
                rows.iter().any(|r| r == row),
                "missing {row:?} in {rows:#?}"
            );
        }
        assert_eq!(rows.len(), expect.len(), "{rows:#?}");
        // The configure body is listed under its scope only.
        assert!(
            !rows.iter().any(|r| r.starts_with("GET /ping")),
            "{rows:#?}"
        );
        assert_eq!(audit.unseen.len(), 1, "{:?}", audit.unseen);
        assert!(audit.unseen[0].starts_with("main.rs:35: .service(make_service())"));
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
mod missing;
fn app(p: &str) {
    App::new().route(p, web::get().to(h)).service(web::scope(p));
}
"#,
        )]);
        assert!(audit.routes.is_empty());
        let notes = audit.unseen.join("\n");
        assert!(notes.contains("missing/mod.rs: cannot be read"), "{notes}");
        assert!(
            notes.contains("main.rs:4: .route(…) with a path that is not a string literal"),
            "{notes}"
        );
        assert!(
            notes.contains("main.rs:4: a scope or resource whose path is not a string literal"),
            "{notes}"
        );
    }

    #[test]
    fn a_same_named_undeclared_function_is_not_hidden() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
mod a { #[requires(authenticated)] pub async fn h() {} }
mod b { pub async fn h() {} }
fn app() { App::new().route("/x", web::get().to(b::h)); }
"#,
        )]);
        assert_eq!(table(&audit), ["GET /x b::h UNDECLARED main.rs:4"]);
    }

    /// What a user study's multi-module service met: every route is listed at the path it is
    /// served at, and nowhere else (a listed path that does not exist is one deny-by-default
    /// would take for whatever really is there).
    #[test]
    fn routes_are_listed_only_where_they_are_served() {
        let audit = audit_of(&[(
            "lib.rs",
            r#"
pub mod admin {
    pub mod users {
        #[public(reason = "status page")]
        #[get("/users/count")]
        async fn count() -> HttpResponse { HttpResponse::Ok().finish() }
        #[get("/users")]
        pub async fn list() -> HttpResponse { HttpResponse::Ok().finish() }
        pub fn routes(cfg: &mut web::ServiceConfig) { cfg.service(count).service(list); }
    }
    pub fn routes(cfg: &mut web::ServiceConfig) { cfg.configure(users::routes); }
}
pub mod orders {
    #[public]
    #[get("/orders")]
    pub async fn list() -> HttpResponse { HttpResponse::Ok().finish() }
}

#[public(reason = "status")]
#[get("/status")]
async fn status() -> HttpResponse { HttpResponse::Ok().finish() }

fn v1(cfg: &mut web::ServiceConfig) { cfg.service(status).service(orders::list); }

const PREFIX: &str = "/v3";
async fn secret() -> HttpResponse { HttpResponse::Ok().finish() }

#[public(reason = "probe")]
#[get("/probe")]
async fn probe() -> HttpResponse { HttpResponse::Ok().finish() }

fn people(cfg: &mut web::ServiceConfig, _state: u8) { cfg.route("/people", web::get().to(secret)); }
fn v4(cfg: &mut web::ServiceConfig) { people(cfg, 1); }

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/v1").configure(v1))
        .service(web::scope("/v1").service(web::scope("/admin").configure(admin::routes)))
        .service(web::scope("/v2").configure(|c| {
            c.service(status);
        }))
        .service(web::scope(PREFIX).route("/catalog", web::get().to(secret)).service(probe))
        .service(web::scope("/v4").configure(v4))
        .service(web::scope("/v5").configure(|c| people(c, 2)))
        .configure(billing::routes);
}
"#,
        )]);
        let mut rows = table(&audit);
        rows.sort();
        assert_eq!(
            rows,
            [
                "GET /v1/admin/users list UNDECLARED lib.rs:8",
                "GET /v1/admin/users/count count public(status page) lib.rs:6",
                "GET /v1/orders list public lib.rs:16",
                "GET /v1/status status public(status) lib.rs:21",
                "GET /v2/status status public(status) lib.rs:21",
                "GET /v4/people secret UNDECLARED lib.rs:32",
                "GET /v5/people secret UNDECLARED lib.rs:32",
            ]
            .map(str::to_owned),
            "{rows:#?}"
        );
        let notes = audit.unseen.join("\n");
        assert!(
            notes.contains("lib.rs:41: a scope or resource whose path is not a string literal"),
            "{notes}"
        );
        // Another crate's configure function is not one of this crate's of the same name.
        assert!(
            notes
                .contains("lib.rs:44: .configure(billing::routes) is not a function of this crate"),
            "{notes}"
        );
    }

    #[test]
    fn a_route_attribute_names_its_resource() {
        let audit = audit_of(&[(
            "lib.rs",
            r#"
#[public] #[get("/a", name = "probe")] async fn a() {}
#[public] #[get("/b")] async fn b() {}
fn app() { App::new().service(a).service(b); }
"#,
        )]);
        let resources: Vec<_> = audit.routes.iter().map(|r| r.resource.clone()).collect();
        assert_eq!(resources, [Some("probe".to_owned()), Some("b".to_owned())]);
    }

    #[test]
    fn a_configure_call_in_a_trait_default_method_is_followed() {
        let audit = audit_of(&[(
            "lib.rs",
            r#"
async fn debug() {}
fn routes(cfg: &mut web::ServiceConfig) { cfg.route("/debug", web::get().to(debug)); }
trait Module {
    fn mount(cfg: &mut web::ServiceConfig) { cfg.service(web::scope("/m").configure(routes)); }
}
"#,
        )]);
        assert_eq!(table(&audit), ["GET /m/debug debug UNDECLARED lib.rs:3"]);
    }

    #[test]
    fn a_service_that_could_be_several_handlers_is_not_listed_under_any() {
        let audit = audit_of(&[(
            "lib.rs",
            r#"
mod a { #[public] #[get("/x")] pub async fn h() {} }
mod b { #[get("/y")] pub async fn h() {} }
use a::*;
use b::*;
fn app() { App::new().service(web::scope("/s").service(h)); }
"#,
        )]);
        // Listed neither under the scope nor at either attribute's bare path.
        assert!(table(&audit).is_empty(), "{:#?}", table(&audit));
        assert!(
            audit
                .unseen
                .join("\n")
                .contains("names one of several route-attribute functions"),
            "{:?}",
            audit.unseen
        );
    }

    #[test]
    fn strict_names_every_undeclared_route() {
        let audit = audit_of(&[("main.rs", MAIN), ("api.rs", API)]);
        let args: Args = syn::parse_quote!(strict);
        let out = render(&audit, &args).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("GET /debug (debug, main.rs:9)"), "{out}");
        let args: Args = syn::parse_quote!();
        assert!(!render(&audit, &args).to_string().contains("compile_error"));
    }

    #[test]
    fn strict_refuses_an_audit_that_cannot_vouch_for_every_route() {
        let strict: Args = syn::parse_quote!(strict);
        // Nothing found: invoked in a crate that registers no route.
        let none = audit_of(&[("main.rs", "fn main() {}")]);
        let out = render(&none, &strict).to_string();
        assert!(out.contains("found no route"), "{out}");
        // Every route declared, one registration unread.
        let unread = audit_of(&[(
            "main.rs",
            r#"
#[public] #[get("/health")] async fn health() {}
const P: &str = "/x";
fn app() { App::new().service(health).route(P, web::get().to(health)); }
"#,
        )]);
        let out = render(&unread, &strict).to_string();
        assert!(out.contains("could not read 1 registration(s)"), "{out}");
        assert!(out.contains("main.rs:4: .route(…) with a path"), "{out}");
        let lenient: Args = syn::parse_quote!();
        assert!(!render(&unread, &lenient)
            .to_string()
            .contains("compile_error"));
    }

    /// A registration the audit cannot see must be said, never skipped: a macro may
    /// register an undeclared handler at a public route's path (found by an attack pass:
    /// strict built, and deny-by-default served the hidden handler without a token).
    #[test]
    fn macros_that_may_register_are_said() {
        let audit = audit_of(&[
            (
                "main.rs",
                r#"
async fn secret() {}
#[public] async fn status() {}
macro_rules! legacy_routes { ($cfg:expr) => { $cfg.service(web::resource("/status").route(web::get().to(secret))) }; }
macro_rules! greet { () => { println!("hi") }; }
fn routes(cfg: &mut web::ServiceConfig) {
    legacy_routes!(cfg);
    greet!();
    println!("{}", 1);
    other::mount!(cfg);
    cfg.route("/status", web::get().to(status));
}
fn more(cfg: &mut web::ServiceConfig) { include!("more.rs"); }
fn main() { App::new().configure(routes).configure(more); }
"#,
            ),
            ("more.rs", "cfg.route(\"/x\", web::get().to(secret));"),
        ]);
        let notes = audit.unseen.join("\n");
        assert!(
            notes.contains("main.rs:7: legacy_routes!(…) may register"),
            "{notes}"
        );
        assert!(
            notes.contains("main.rs:10: other::mount!(…) may register"),
            "{notes}"
        );
        assert!(
            notes.contains("main.rs:13: include!(…) may register"),
            "{notes}"
        );
        assert!(
            !notes.contains("greet") && !notes.contains("println"),
            "{notes}"
        );
        assert_eq!(audit.unseen.len(), 3, "{notes}");
    }

    /// A bare name resolves as the compiler resolves it: through the module's own functions
    /// and its `use` items. Another crate's `index` is not the crate's public `index`, and a
    /// parameter called `routes` is not the crate's `routes` (found by a review: both were
    /// listed as the crate's, and deny-by-default opened another crate's undeclared handler).
    #[test]
    fn names_resolve_through_the_modules_use_items_only() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
mod home { #[public] #[get("/")] pub async fn index() {} }
mod health {
    #[public] pub async fn ok() {}
    pub fn routes(cfg: &mut web::ServiceConfig) { cfg.route("/status", web::get().to(ok)); }
    pub fn more(cfg: &mut web::ServiceConfig) { cfg.route("/more", web::get().to(ok)); }
}
mod api {
    use super::health::more as extra;
    use crate::health::*;
    pub fn mount(cfg: &mut web::ServiceConfig) {
        cfg.service(web::scope("/g").configure(routes)).service(web::scope("/e").configure(extra));
    }
}
use admin_panel::{index, routes};
fn plugin(cfg: &mut web::ServiceConfig, routes: fn(&mut web::ServiceConfig)) {
    cfg.service(web::scope("/param").configure(routes));
}
fn app() {
    App::new()
        .service(home::index)
        .service(web::scope("/admin").service(index))
        .configure(health::routes)
        .configure(api::mount)
        .service(web::scope("/plugin").configure(routes));
}
"#,
        )]);
        let rows = table(&audit);
        let paths: Vec<&str> = rows.iter().map(|r| r.split(' ').nth(1).unwrap()).collect();
        for expected in ["/", "/status", "/g/status", "/e/more"] {
            assert!(paths.contains(&expected), "{expected} missing: {rows:#?}");
        }
        for wrong in ["/admin/", "/plugin/status", "/param/status"] {
            assert!(!paths.contains(&wrong), "{wrong} listed: {rows:#?}");
        }
        let notes = audit.unseen.join("\n");
        assert!(
            notes.contains(".service(index) is not a route-attribute function"),
            "{notes}"
        );
        assert!(
            notes.contains(".configure(routes) is not a function of this crate"),
            "{notes}"
        );
        assert_eq!(audit.unseen.len(), 3, "{notes}");
    }

    /// Unit tests mount configure functions on Apps of their own: not the service's routes.
    #[test]
    fn test_only_code_is_not_read_as_the_service() {
        let audit = audit_of(&[
            (
                "main.rs",
                r#"
#[public] async fn ok() {}
pub fn routes(cfg: &mut web::ServiceConfig) { cfg.route("/status", web::get().to(ok)); }
fn app() { App::new().service(web::scope("/api").configure(routes)); }
#[cfg(test)]
mod tests { use super::*; async fn t() { App::new().configure(routes).route("/t", web::get().to(ok)); } }
#[cfg(all(test, feature = "x"))]
fn more() { App::new().configure(routes); }
#[cfg(test)]
mod files;
"#,
            ),
            (
                "files.rs",
                "fn f() { App::new().configure(super::routes); }",
            ),
        ]);
        let rows = table(&audit);
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert!(
            rows[0].starts_with("GET /api/status ok public"),
            "{rows:#?}"
        );
        assert!(audit.unseen.is_empty(), "{:?}", audit.unseen);
    }

    /// Found by a review of the resolver: a `use` or `fn` inside a body shadows the module's
    /// names there only; an explicit import shadows a glob; `pub use` re-exports lead on.
    #[test]
    fn block_scoped_names_explicit_imports_and_reexports() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
#[public(reason = "landing")] async fn index() {}
mod admin { pub async fn index() {} }
fn admin_routes(cfg: &mut web::ServiceConfig) {
    use crate::admin::index;
    cfg.route("/admin", web::get().to(index));
}
mod glob {
    use super::*;
    use admin_panel::index;
    pub fn routes(cfg: &mut web::ServiceConfig) { cfg.route("/glob", web::get().to(index)); }
}
mod api { #[public] pub async fn health() {} }
mod handlers { pub use crate::api::health; }
fn app() {
    HttpServer::new(|| { use admin_panel::index as other; App::new().route("/closure", web::get().to(other)) });
    App::new()
        .configure(admin_routes)
        .configure(glob::routes)
        .route("/health", web::get().to(handlers::health));
}
"#,
        )]);
        let rows = table(&audit);
        for (path, decl) in [
            ("/admin", "UNDECLARED"),
            ("/glob", "UNDECLARED"),
            ("/closure", "UNDECLARED"),
            ("/health", "public"),
        ] {
            assert!(
                rows.iter()
                    .any(|r| r.split(' ').nth(1) == Some(path) && r.contains(decl)),
                "{path} {decl}: {rows:#?}"
            );
        }
    }

    /// Found by a review: `web::resource("/x").post(h)` was not read (an undeclared POST
    /// hid beside a public `.to(h)`), `#[routes]` listed its last path only, and a
    /// `ServiceConfig` reborrowed or aliased into another crate's code was not said.
    #[test]
    fn resource_method_shortcuts_several_route_attributes_and_reborrowed_configs() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
#[public] async fn health() {}
async fn secret() {}
#[public] #[routes] #[get("/a")] #[post("/b")] async fn multi() {}
fn more(cfg: &mut web::ServiceConfig) {
    other_crate::register(&mut *cfg);
    let c = &mut *cfg;
    other_crate::register(c);
}
fn app() {
    App::new()
        .service(web::resource("/health").post(secret).to(health))
        .service(web::resource("/x").something(secret))
        .service(multi)
        .configure(more);
}
"#,
        )]);
        let rows = table(&audit);
        for row in [
            "POST /health secret UNDECLARED",
            "* /health health public",
            "GET /a multi public",
            "POST /b multi public",
        ] {
            assert!(rows.iter().any(|r| r.starts_with(row)), "{row}: {rows:#?}");
        }
        let notes = audit.unseen.join("\n");
        assert!(
            notes.contains("`.something(…)` on a scope or resource"),
            "{notes}"
        );
        assert_eq!(
            notes.matches("is given the ServiceConfig").count(),
            2,
            "{notes}"
        );
    }

    /// Found by a second review of the resolver: each source below had the audit list a
    /// public route, with nothing `not seen`, where actix-web serves an undeclared handler.
    #[test]
    fn what_a_second_review_found_is_said_or_undeclared() {
        let audit = audit_of(&[(
            "main.rs",
            r#"
#[public(reason = "landing")] async fn index() {}
#[public] async fn health() {}
async fn secret() {}
mod public_api { #[public] pub async fn index() {} }
mod handlers { pub use crate::public_api::*; pub use admin_panel::index; }
mod consts { use crate::public_api::*; const index: fn() = admin_panel::index; pub fn r(cfg: &mut web::ServiceConfig) { cfg.route("/const", web::get().to(index)); } }
#[cfg(feature = "demo")] use crate::public_api::index as home;
#[cfg(not(feature = "demo"))] use admin_panel::home;
trait Legacy { fn legacy(&mut self) -> &mut Self; }
impl Legacy for web::ServiceConfig { fn legacy(&mut self) -> &mut Self { self.route("/health", web::get().to(secret)) } }
macro_rules! legacy { () => { fn legacy_app() -> App<()> { App::new().route("/health", web::get().to(secret)) } }; }
legacy!();
include!("generated.rs");
fn routes(cfg: &mut web::ServiceConfig) {
    let index = admin_panel::index;
    cfg.route("/let", web::get().to(index));
    if let Some(health) = admin_panel::maybe() { cfg.route("/iflet", web::get().to(health)); }
    cfg.route("/reexport", web::get().to(handlers::index));
    cfg.route("/cfg", web::get().to(home));
    cfg.mount_admin();
    let m = Method::POST;
    cfg.route("/m", web::method(m).to(secret)).route("/m", web::post().to(health));
    cfg.service(web::scope("/api").route("status", web::get().to(secret)));
    cfg.service(web::resource("/g").guard(guard::Get()).to(health)).route("/{page}", web::post().to(secret));
    mod inner { pub async fn index() {} }
}
#[public] #[get("/gx", guard = "probe_only")] async fn guarded() {}
fn app() {
    App::new()
        .configure(routes)
        .configure(consts::r)
        .configure(|c| { c.legacy().route("/api/health", web::get().to(health)); });
    admin_panel::legacy_app().route("/x", web::get().to(health));
}
"#,
        )]);
        let rows = table(&audit);
        for path in ["/let", "/iflet", "/reexport", "/cfg", "/const"] {
            assert!(
                rows.iter()
                    .any(|r| r.split(' ').nth(1) == Some(path) && r.contains("UNDECLARED")),
                "{path}: {rows:#?}"
            );
        }
        // Not a fake method: listed for every method, so POST /m is not only public.
        assert!(
            rows.iter().any(|r| r.starts_with("* /m secret UNDECLARED")),
            "{rows:#?}"
        );
        let notes = audit.unseen.join("\n");
        for said in [
            "main.rs:13: legacy!(…) may register",
            "main.rs:14: include!(…) may register",
            "`.mount_admin(…)` on an App or a ServiceConfig",
            "cannot trace to an App",
            "a route path without a leading `/`",
            "a guard on a scope or resource",
            "a module declared inside a function body (`mod inner`)",
            "a route attribute with `guard = …`",
        ] {
            assert!(notes.contains(said), "{said}: {notes}");
        }
    }
}
