//! The route audit: every route a crate's sources register, with what its handler declares
//! (`#[requires(…)]`, `#[public]`) or `UNDECLARED`.
//!
//! actix-web cannot list an `App`'s routes at run time (its resource map has no public
//! iteration and keeps no methods), so the facade's `route_audit!` macro reads them where
//! they are written: it parses the crate's source files at compile time (the file it is
//! invoked in and every module file reached from it by `mod` declarations) and generates a
//! [`RouteAudit`] constant. It sees:
//!
//! - route attributes (`#[get("/x")]`, `#[route("/x", method = "GET", …)]`) on functions,
//!   with the prefix of the `web::scope("…")` they are registered under with `.service(f)`;
//! - `.route("/x", web::get().to(h))` on an `App`, a `ServiceConfig` or a scope, and
//!   `web::resource("/x").route(…)` / `.to(h)`, with every literal `web::scope("…")` prefix
//!   they are nested in, however deep, including functions passed to `.configure(f)` (or a
//!   closure) under a scope, however deep and whatever they are called;
//! - `.default_service(…)`, listed as `(default service)`.
//!
//! A function passed to `.configure(f)` (or called as `f(cfg, …)`) is read from each such
//! call, with that call's prefix, never on its own; a scope whose path is not a literal,
//! `.service(f)` or `.configure(f)` where several functions are called `f`, and another
//! crate's `configure` list nothing (and say so in `unseen`). Code compiled only for tests
//! (`#[cfg(test)]`) is not read: its Apps are not the service's.
//!
//! A name is resolved as the compiler resolves it: a function of the module, or one a `use`
//! of the module brings in from the crate (by name before globs; `pub use` re-exports
//! followed). A name another crate's `use` brings in (`use admin_panel::index;`, also beside
//! a `cfg`'d local one), a local binding (`let index = admin_panel::index;`, a parameter, a
//! closure's), a `const` or `static` of that name, or one a `use`/`fn` inside some function
//! body of the module binds, names none of the crate's functions; a route-attribute route ([`AuditedRoute::resource`])
//! is moreover opened only on the resource actix-web names after it. A route's handler is
//! declared when the function it names carries `#[requires]` or `#[public]`; a closure
//! (`.to(|| async { … })`) can carry neither and is always `UNDECLARED`.
//!
//! What it cannot read it lists in [`unseen`](RouteAudit::unseen), with the place: a path
//! that is not a string literal, a `.service(…)` argument that is neither a route-attribute
//! function nor a scope or resource it can read (a function call, a variable, another
//! crate's service), one that could be several functions, a `ServiceConfig` handed to code
//! it cannot follow, a macro call that may register routes (`include!`, a `macro_rules!` of
//! the crate whose body registers, one whose arguments name a `ServiceConfig`, an `App` or a
//! registration method, in a body or at item level: the audit does not expand macros), a
//! method it does not know on an App, a `ServiceConfig`, a scope or a resource (another
//! crate's extension trait), routes registered on something it cannot trace to one of those
//! (`self` in an extension trait, another crate's App builder), a path without a leading
//! `/` (or a scope's ending in `/`), and files it could not read. A method given as a
//! variable (`web::method(m)`) is listed as any method.
//!
//! An audit with `unseen` entries cannot say that a path it lists as public is served by the
//! public handler only (what it did not read may be registered at the same path first):
//! deny-by-default then opens nothing through it (the builder logs a warning), and
//! `strict_routes` refuses to build. A guard on a scope or resource (`guard::Host`, virtual
//! hosts) is `not seen` too: a request it refuses is routed to whatever else matches the
//! path, which deny-by-default cannot tell before routing. (A guard on a route attribute,
//! `#[get("/x", guard = "…")]`, is not read: do not give public routes guards in deny mode.)
//!
//! Use it three ways:
//!
//! ```ignore
//! endpoint_auth::route_audit!();          // at the crate root: `pub static ROUTE_AUDIT`
//!
//! println!("{ROUTE_AUDIT}");              // the table, at startup
//! ROUTE_AUDIT.assert_all_declared();      // in a test: fails listing each undeclared route
//! AuthConfig::builder().strict_routes(&ROUTE_AUDIT) // refuses to build with one line
//! ```
//!
//! `route_audit!(strict)` goes further: an undeclared route is a compile error naming each.

use std::fmt;

/// What a route's handler declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Declaration {
    /// `#[requires(…)]`, with its arguments as written.
    Requires(&'static str),
    /// `#[public]`, with its reason when given.
    Public(Option<&'static str>),
    /// Neither: open unless the configuration denies by default.
    Undeclared,
}

impl fmt::Display for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Declaration::Requires(args) => write!(f, "requires({args})"),
            Declaration::Public(Some(reason)) => write!(f, "public ({reason})"),
            Declaration::Public(None) => f.write_str("public"),
            Declaration::Undeclared => f.write_str("UNDECLARED"),
        }
    }
}

/// One route of the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditedRoute {
    methods: &'static [&'static str],
    path: &'static str,
    handler: &'static str,
    declaration: Declaration,
    location: &'static str,
    /// The actix-web resource a route attribute creates: named by its `name = "…"`, else
    /// after its function.
    resource: Option<&'static str>,
}

impl AuditedRoute {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(
        methods: &'static [&'static str],
        path: &'static str,
        handler: &'static str,
        declaration: Declaration,
        location: &'static str,
    ) -> Self {
        AuditedRoute {
            methods,
            path,
            handler,
            declaration,
            location,
            resource: None,
        }
    }
    /// Used by the generated code: a route attribute's route, whose resource actix-web names
    /// after the function.
    #[doc(hidden)]
    pub const fn with_resource(mut self, name: &'static str) -> Self {
        self.resource = Some(name);
        self
    }
    /// The name of the actix-web resource a route attribute creates (its function's name);
    /// `None` for a route registered by hand. Deny-by-default opens a route-attribute route
    /// only on the resource of that name, whatever path the audit lists it at.
    pub fn resource(&self) -> Option<&'static str> {
        self.resource
    }
    /// HTTP methods (upper case); empty when the route answers any method.
    pub fn methods(&self) -> &'static [&'static str] {
        self.methods
    }
    /// The full path pattern, scope prefixes included (`(default service)` for the default
    /// service).
    pub fn path(&self) -> &'static str {
        self.path
    }
    /// The handler as written (`list_reports`, `handlers::legacy`, or `(closure)`).
    pub fn handler(&self) -> &'static str {
        self.handler
    }
    /// What the handler declares.
    pub fn declaration(&self) -> Declaration {
        self.declaration
    }
    /// Where the route is registered (or its route attribute written): `file:line`, the file
    /// relative to the crate's manifest directory.
    pub fn location(&self) -> &'static str {
        self.location
    }
    /// `GET /x`, `GET|HEAD /x`, or `* /x` for any method.
    pub fn label(&self) -> String {
        let methods = if self.methods.is_empty() {
            "*".to_owned()
        } else {
            self.methods.join("|")
        };
        format!("{methods} {}", self.path)
    }
}

/// The routes of a crate's sources, generated by `endpoint_auth::route_audit!` (see the
/// [module documentation](self)).
#[derive(Debug, Clone, Copy)]
pub struct RouteAudit {
    routes: &'static [AuditedRoute],
    unseen: &'static [&'static str],
}

impl RouteAudit {
    /// Used by the generated code.
    #[doc(hidden)]
    pub const fn new(routes: &'static [AuditedRoute], unseen: &'static [&'static str]) -> Self {
        RouteAudit { routes, unseen }
    }
    /// Every route found, in source order.
    pub fn routes(&self) -> &'static [AuditedRoute] {
        self.routes
    }
    /// The routes whose handler declares neither `#[requires]` nor `#[public]`.
    pub fn undeclared(&self) -> Vec<&'static AuditedRoute> {
        self.routes
            .iter()
            .filter(|r| r.declaration == Declaration::Undeclared)
            .collect()
    }
    /// What the audit could not read, each with its place and why.
    pub fn unseen(&self) -> &'static [&'static str] {
        self.unseen
    }
    /// `Ok` when every route is declared; otherwise the undeclared ones, as one line.
    pub fn check(&self) -> Result<(), UndeclaredRoutes> {
        let undeclared = self.undeclared();
        if undeclared.is_empty() {
            return Ok(());
        }
        Err(UndeclaredRoutes(
            undeclared
                .iter()
                .map(|r| format!("{} ({}, {})", r.label(), r.handler(), r.location()))
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }
    /// Why this audit cannot vouch for every route, if it cannot: it found no route (it reads
    /// only the crate it is invoked in), or it could not read some registrations.
    pub(crate) fn incomplete(&self) -> Option<String> {
        if self.routes.is_empty() {
            return Some(NO_ROUTES.to_owned());
        }
        (!self.unseen.is_empty()).then(|| unread(self.unseen.iter().copied()))
    }
    /// For a test: panics listing each undeclared route with its method, path, handler and
    /// place. It vouches for what the audit read: assert that
    /// [`unseen`](Self::unseen) is empty too where every registration should be readable.
    ///
    /// ```ignore
    /// endpoint_auth::route_audit!();
    ///
    /// #[test]
    /// fn every_route_is_declared() {
    ///     ROUTE_AUDIT.assert_all_declared();
    /// }
    /// ```
    #[track_caller]
    pub fn assert_all_declared(&self) {
        if let Err(e) = self.check() {
            panic!("{e}\n\n{self}");
        }
    }
}

/// The table: method, path, declaration, handler, place; then what could not be read.
impl fmt::Display for RouteAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .routes
            .iter()
            .map(|r| {
                [
                    r.label(),
                    r.declaration.to_string(),
                    r.handler.to_owned(),
                    r.location.to_owned(),
                ]
            })
            .collect();
        let header = [
            "ROUTE".to_owned(),
            "DECLARATION".to_owned(),
            "HANDLER".to_owned(),
            "WHERE".to_owned(),
        ];
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            writeln!(f, "{}", line.join("  ").trim_end())?;
        }
        let undeclared = self.undeclared().len();
        write!(
            f,
            "{} routes, {} declared, {} UNDECLARED",
            rows.len(),
            rows.len() - undeclared,
            undeclared
        )?;
        for note in self.unseen {
            write!(f, "\nnot seen: {note}")?;
        }
        Ok(())
    }
}

/// Why an audit with no route cannot vouch for any (shared with `route_audit!(strict)`).
const NO_ROUTES: &str = "the route audit found no route in the sources it read: invoke route_audit!() in the crate whose code registers the routes (it reads that crate's files only)";

/// Why an audit that could not read some registrations cannot vouch for every route.
fn unread<'a>(notes: impl Iterator<Item = &'a str>) -> String {
    let notes: Vec<&str> = notes.collect();
    format!(
        "the route audit could not read {} registration(s), so it cannot say that every route is declared: {}. Make them readable (string-literal paths; route-attribute functions, scopes and resources written in place) or use deny_by_default().route_audit(..) without strict",
        notes.len(),
        notes.join("; ")
    )
}

/// The undeclared routes of a [`RouteAudit`], as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "undeclared routes (add #[requires(…)] or #[public(reason = \"…\")] to their handlers): {0}"
)]
pub struct UndeclaredRoutes(String);

#[cfg(test)]
mod tests {
    use super::*;

    static AUDIT: RouteAudit = RouteAudit::new(
        &[
            AuditedRoute::new(
                &["GET"],
                "/health",
                "health",
                Declaration::Public(Some("liveness probe")),
                "src/main.rs:10",
            ),
            AuditedRoute::new(
                &["POST"],
                "/api/v1/reports",
                "create",
                Declaration::Requires("scope = \"write:reports\""),
                "src/api.rs:4",
            ),
            AuditedRoute::new(
                &[],
                "/legacy",
                "(closure)",
                Declaration::Undeclared,
                "src/main.rs:30",
            ),
        ],
        &["src/main.rs:40: .service(admin()) is not a handler or scope the audit can read"],
    );

    #[test]
    fn the_table_lists_every_route_and_what_was_not_seen() {
        let table = AUDIT.to_string();
        let lines: Vec<&str> = table.lines().collect();
        // Columns aligned: every cell of a column starts where its header does.
        let at = |line: &str, cell: &str| line.find(cell).unwrap();
        let declaration = at(lines[0], "DECLARATION");
        assert_eq!(at(lines[1], "public (liveness probe)"), declaration);
        assert_eq!(
            at(lines[2], "requires(scope = \"write:reports\")"),
            declaration
        );
        assert_eq!(at(lines[3], "UNDECLARED"), declaration);
        assert_eq!(at(lines[2], "src/api.rs:4"), at(lines[0], "WHERE"));
        assert!(lines[1].starts_with("GET /health "));
        assert!(lines[2].starts_with("POST /api/v1/reports "));
        assert!(lines[3].starts_with("* /legacy"), "{table}");
        assert!(lines[3].contains("UNDECLARED"), "{table}");
        assert_eq!(lines[4], "3 routes, 2 declared, 1 UNDECLARED");
        assert!(lines[5].starts_with("not seen: src/main.rs:40"));
    }

    #[test]
    fn check_names_every_undeclared_route_in_one_line() {
        let err = AUDIT.check().unwrap_err().to_string();
        assert!(!err.contains('\n'));
        assert!(
            err.ends_with("* /legacy ((closure), src/main.rs:30)"),
            "{err}"
        );
        assert_eq!(AUDIT.undeclared().len(), 1);
        let all_declared = RouteAudit::new(&AUDIT.routes()[..2], &[]);
        assert!(all_declared.check().is_ok());
        all_declared.assert_all_declared();
    }

    #[test]
    #[should_panic(expected = "* /legacy")]
    fn assert_all_declared_fails_listing_them() {
        AUDIT.assert_all_declared();
    }
}
