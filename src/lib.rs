//! Declare who may call each actix-web endpoint on the handler itself; the declaration is
//! enforced (RFC 6750 bearer tokens), checked at compile time against the crate's scope
//! catalog, and available to documentation.
//!
//! ```no_run
//! use actix_web::{post, web, App, HttpResponse, HttpServer};
//! use endpoint_auth::{requires, Algorithm, AuthConfig, Key, Principal};
//!
//! // Every scope the service knows, declared once at the crate root.
//! endpoint_auth::scopes! {
//!     "read:reports" => "Read reports",
//!     "write:reports" => "Create and edit reports",
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct NewReport {
//!     title: String,
//! }
//!
//! // Without a valid token: 401. With a token lacking `write:reports`: 403. Only then is the
//! // JSON body read, so an anonymous client never learns how the body is validated.
//! #[requires(scope = "write:reports")]
//! #[post("/reports")]
//! async fn create_report(caller: Principal, report: web::Json<NewReport>) -> HttpResponse {
//!     HttpResponse::Created().body(format!("{} by {}", report.title, caller.subject().unwrap_or("?")))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let auth = AuthConfig::builder()
//!         .realm("reports-api")
//!         .issuer("https://issuer.example")
//!         .audience("reports-api")
//!         .key(Key::rsa_pem(Algorithm::RS256, &std::fs::read("keys/rsa-public.pem")?)?)
//!         .build()?;
//!     HttpServer::new(move || App::new().wrap(auth.clone()).service(create_report))
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! - [`macro@requires`] declares a handler's requirement: a scope, several, `any(…)` /
//!   `all(…)` combinations, or just a valid token.
//! - [`scopes!`] declares the crate's scope catalog; a scope missing from it is a compile
//!   error at the misspelled literal, with a suggestion.
//! - [`AuthConfig`] holds the realm, issuer, audience and keys; register it on the `App`.
//! - [`Principal`] extracts the authenticated caller in any handler; [`Authorized`] does
//!   what `#[requires]` does, written by hand with a [`RequirementSpec`]; [`MaybePrincipal`]
//!   is the caller when there is one (optional authentication: anonymous without
//!   credentials, 400/401 for bad ones — never `Option<Principal>`, which swallows them).
//! - [`AuthConfigBuilder::error_body`] lets the application render the body of rejections
//!   ([`ErrorBody`]); the status and the authentication headers stay as the contract says.
//!
//! The wire behaviour (which status and `WWW-Authenticate` challenge for which request) is
//! specified in [`conformance`] (the repository's `docs/CONFORMANCE.md`) and proven over real
//! HTTP by the repository's tests.
#![forbid(unsafe_code)]

/// The wire contract: what a protected endpoint answers, case by case (`docs/CONFORMANCE.md`).
#[doc = include_str!("../docs/CONFORMANCE.md")]
pub mod conformance {}

// The public API, item by item: what a service needs to declare, configure, register and
// document its protection. The runtime's internals stay in the runtime crate.
/// Token introspection (RFC 7662) for opaque access tokens.
#[cfg(feature = "remote")]
pub use endpoint_auth_runtime::introspection;
pub use endpoint_auth_runtime::{
    is_scope_token, Algorithm, AnyValidToken, AuthConfig, AuthConfigBuilder, AuthError,
    AuthRejection, Authorized, BearerMethods, ClaimValue, ConfigError, ErrorBody, ErrorCode,
    Issuer, IssuerInfo, Key, KeyError, KeySet, MaybePrincipal, NoExtraClaims, Principal, Reason,
    Rejection, RequestView, Requirement, RequirementSpec, RoleInfo, RoleSource, ScopeInfo,
    ScopeSource, TokenCacheSettings, TrustedIssuer, TypPolicy, Verified,
};
#[cfg(feature = "remote")]
pub use endpoint_auth_runtime::{Endpoints, FetchError, RemoteKeys, RemoteSettings};

#[cfg(feature = "actix")]
pub use endpoint_auth_runtime::actix;
#[cfg(feature = "openapi")]
pub use endpoint_auth_runtime::openapi;
#[cfg(feature = "testing")]
pub use endpoint_auth_runtime::testing;
pub use endpoint_auth_runtime::{audit, issuer, metadata, metrics, revocation};

/// Declares what a handler requires of the caller's bearer token.
///
/// The handler gets one extra, hidden first argument: an extractor that checks the declared
/// requirement, as [`Authorized`] does, and hands nothing to the handler. It runs before the handler's own extractors, so a request without
/// a valid token gets 401 and one whose scopes fall short gets 403
/// (`error="insufficient_scope"` with the scopes to ask for), before any path, query or body
/// is parsed. Take a [`Principal`] argument to read the caller; the token is verified once
/// per request however many extractors ask (while the request is handled: an extractor run
/// in a task the handler spawned authenticates the request again).
///
/// Every scope must be declared in the crate's catalog ([`scopes!`] at the crate root); a
/// scope that is not is a compile error at its literal, naming the closest declared scope.
///
/// The attribute may be written above or below actix-web's `#[get]`/`#[post]`/`#[route]`,
/// or on a handler registered by hand (`web::post().to(handler)`). It goes on a free
/// `async fn` (not a method), once per handler; generics and `where` clauses are kept.
/// It registers the handler's route (method and path) so that [`openapi::SecurityDoc`]
/// matches the handler's operation whatever its `operationId`, in either order: above the
/// route attribute (the order of every example here) it reads the route from it; below, the
/// route attribute has already expanded, and the route is read from the source file. A
/// handler with no route written on it (registered by hand without `#[utoipa::path]`) is
/// matched by `operationId` equal to the function name (utoipa's default).
///
/// # `scope = "…"`
///
/// The token must carry this scope, an RFC 6749 §3.3 scope-token declared in the catalog.
///
/// ```
/// use actix_web::{post, web, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! {
///     "write:reports" => "Create and edit reports",
/// }
///
/// #[requires(scope = "write:reports")]
/// #[post("/reports")]
/// async fn create_report(body: web::Bytes) -> HttpResponse {
///     HttpResponse::Created().body(body)
/// }
/// # fn main() {}
/// ```
///
/// Equivalent code without the attribute, as far as enforcement goes: without the
/// compile-time catalog check, and without the declaration, so [`openapi::SecurityDoc`]
/// does not document the route's security (an operation whose document declares security
/// for it is even reported as `unenforced`), and the route audit ([`route_audit!`]) lists
/// it as undeclared (`strict_routes` refuses to start):
///
/// ```
/// use actix_web::{post, web, HttpResponse};
/// use endpoint_auth::{Authorized, Requirement, RequirementSpec};
///
/// struct WriteReports;
/// impl RequirementSpec for WriteReports {
///     const REQUIREMENT: Requirement = Requirement::Scope("write:reports");
/// }
///
/// #[post("/reports")]
/// async fn create_report(_auth: Authorized<WriteReports>, body: web::Bytes) -> HttpResponse {
///     HttpResponse::Created().body(body)
/// }
/// # fn main() {}
/// ```
///
/// # Several `scope = "…"`
///
/// Scopes listed side by side are all required; on a 403 the challenge asks for all of
/// them (`scope="read:reports write:reports"`).
///
/// ```
/// use actix_web::HttpResponse;
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! {
///     "read:reports" => "Read reports",
///     "write:reports" => "Create and edit reports",
/// }
///
/// #[requires(scope = "read:reports", scope = "write:reports")]
/// async fn copy_report() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// Equivalent code without the attribute:
///
/// ```
/// use actix_web::HttpResponse;
/// use endpoint_auth::{Authorized, Requirement, RequirementSpec};
///
/// struct CopyReport;
/// impl RequirementSpec for CopyReport {
///     const REQUIREMENT: Requirement =
///         Requirement::All(&[Requirement::Scope("read:reports"), Requirement::Scope("write:reports")]);
/// }
///
/// async fn copy_report(_auth: Authorized<CopyReport>) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `any(…)` and `all(…)`
///
/// `any` is satisfied by one of its members, `all` by every member; they nest. A member is
/// `scope = "…"`, `any(…)` or `all(…)`, and neither list may be empty or name a scope
/// twice. On a 403 the `scope` hint is the alternative the token is closest to (fewest
/// scopes missing, ties by declaration order).
///
/// ```
/// use actix_web::{delete, web, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! {
///     "admin" => "Everything",
///     "reports:delete" => "Delete reports",
///     "reports:own" => "Act on one's own reports",
/// }
///
/// #[requires(any(scope = "admin", all(scope = "reports:delete", scope = "reports:own")))]
/// #[delete("/reports/{id}")]
/// async fn delete_report(id: web::Path<u32>) -> HttpResponse {
///     HttpResponse::NoContent().finish()
/// }
/// # fn main() {}
/// ```
///
/// Equivalent code without the attribute:
///
/// ```
/// use actix_web::{delete, web, HttpResponse};
/// use endpoint_auth::{Authorized, Requirement, RequirementSpec};
///
/// struct DeleteReport;
/// impl RequirementSpec for DeleteReport {
///     const REQUIREMENT: Requirement = Requirement::Any(&[
///         Requirement::Scope("admin"),
///         Requirement::All(&[Requirement::Scope("reports:delete"), Requirement::Scope("reports:own")]),
///     ]);
/// }
///
/// #[delete("/reports/{id}")]
/// async fn delete_report(_auth: Authorized<DeleteReport>, id: web::Path<u32>) -> HttpResponse {
///     HttpResponse::NoContent().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `authenticated`
///
/// Any valid token, whatever its scopes. It stands alone: every scope requirement implies
/// it. Needs no catalog.
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::{requires, Principal};
///
/// #[requires(authenticated)]
/// #[get("/me")]
/// async fn me(caller: Principal) -> HttpResponse {
///     HttpResponse::Ok().body(caller.subject().unwrap_or("?").to_owned())
/// }
/// # fn main() {}
/// ```
///
/// Equivalent code without the attribute:
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::{Authorized, Principal, Requirement, RequirementSpec};
///
/// struct AnyValidToken;
/// impl RequirementSpec for AnyValidToken {
///     const REQUIREMENT: Requirement = Requirement::Authenticated;
/// }
///
/// #[get("/me")]
/// async fn me(_auth: Authorized<AnyValidToken>, caller: Principal) -> HttpResponse {
///     HttpResponse::Ok().body(caller.subject().unwrap_or("?").to_owned())
/// }
/// # fn main() {}
/// ```
///
/// # `role = "…"`
///
/// The token must carry this role, read from where the configuration says
/// ([`AuthConfigBuilder::roles_from`]: Keycloak realm or client roles, Entra ID `roles`,
/// Cognito groups, any claim path). Every role must be declared in the crate's role catalog
/// ([`roles!`]). Combines with scopes in `any`/`all`. A role not met is 403
/// `insufficient_scope`, with a `scope` hint only when scopes alone would satisfy another
/// alternative.
///
/// ```
/// use actix_web::{delete, web, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! { "write:reports" => "Create and edit reports" }
/// endpoint_auth::roles! {
///     "reports-admin" => "Administers every report",
///     "editor" => "Edits reports",
/// }
///
/// #[requires(any(role = "reports-admin", all(role = "editor", scope = "write:reports")))]
/// #[delete("/reports/{id}")]
/// async fn delete_report(id: web::Path<u32>) -> HttpResponse {
///     HttpResponse::NoContent().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `issuer = "…"`
///
/// The token must come from the trusted issuer of this name ([`AuthConfigBuilder::trust`],
/// [`TrustedIssuer`]); without `issuer`, a token of any trusted issuer satisfies the
/// requirement. Every name must be declared in the crate's issuer catalog ([`issuers!`]).
/// Combines with the rest: `issuer = "partners", scope = "read:reports"` needs both, and
/// `any(issuer = "staff", all(issuer = "partners", scope = "read:reports"))` lets staff in
/// and partners with the scope. A token of another trusted issuer is refused like a missing
/// role: 403 `insufficient_scope`, no `scope` hint unless a scope would satisfy another
/// alternative (a token of an issuer the service does not trust at all is 401).
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! { "read:reports" => "Read reports" }
/// endpoint_auth::issuers! {
///     "staff" => "Employees (Entra ID)",
///     "partners" => "Partner organisations (Auth0)",
/// }
///
/// #[requires(issuer = "partners", scope = "read:reports")]
/// #[get("/partner/reports")]
/// async fn partner_reports() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `claim(name = value, …)`
///
/// The token's top-level claim `name` must equal the value: a boolean, a string, an integer,
/// or `path.param`, the request's path parameter `{param}` (checked against the route at
/// compile time where the route attribute is on the handler). Several comparisons in one
/// `claim(…)` must all hold. Not met: 403 `insufficient_scope`, as for a role.
///
/// ```
/// use actix_web::{get, web, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! { "read:reports" => "Read reports" }
///
/// // A user reads their own reports; a client with the scope reads anyone's.
/// #[requires(any(scope = "read:reports", claim(sub = path.user_id, email_verified = true)))]
/// #[get("/users/{user_id}/reports")]
/// async fn user_reports(user_id: web::Path<String>) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `check = f`
///
/// A decision on the application's own data, after authentication and the requirement:
/// `f` is an `async fn` whose parameters are extractors (the caller as [`Principal`],
/// `web::Path`, `web::Data`, …; not the body) and whose output is an
/// [`actix::Decision`] (`Allow`, `Deny(reason)` → 403, `Hide` → 404) or a `bool`. Several
/// `check = …` run in order; the handler's body extractor waits for them. A function that
/// cannot be a check is a compile error at its name. For a rule that needs the entity the
/// handler loads, [`actix::Decision::enforce`] answers the same way from inside the handler.
///
/// ```
/// use actix_web::{put, web, HttpResponse};
/// use endpoint_auth::actix::Decision;
/// use endpoint_auth::{requires, Principal};
///
/// endpoint_auth::scopes! { "write:reports" => "Create and edit reports" }
///
/// struct Store;
/// impl Store {
///     fn owner_of(&self, id: u64) -> Option<&'static str> { (id == 7).then_some("alice") }
/// }
///
/// async fn owns_report(caller: Principal, id: web::Path<u64>, store: web::Data<Store>) -> Decision {
///     match store.owner_of(*id) {
///         Some(owner) if caller.subject() == Some(owner) => Decision::Allow,
///         _ => Decision::Hide,
///     }
/// }
///
/// #[requires(scope = "write:reports", check = owns_report)]
/// #[put("/reports/{id}")]
/// async fn update_report(id: web::Path<u64>) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `acr = "…"` and `max_age = N` (RFC 9470 step-up)
///
/// The user must have authenticated with this authentication context class (the token's
/// `acr`), or at most `N` seconds ago (its `auth_time`). A valid token that falls short is
/// 401 `insufficient_user_authentication` with `acr_values`/`max_age` in the challenge, so
/// the client can send the user to authenticate again; a missing scope or role is 403 first.
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::requires;
///
/// endpoint_auth::scopes! { "export:reports" => "Export every report" }
///
/// #[requires(scope = "export:reports", acr = "urn:example:mfa", max_age = 900)]
/// #[get("/reports/export")]
/// async fn export_all() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # `crate = "path"`
///
/// The path of this facade when the dependency is renamed or re-exported (default
/// `::endpoint_auth`). Give the same path to [`scopes!`] with `crate = "…";`.
///
/// ```
/// # extern crate endpoint_auth as auth;
/// // Cargo.toml: auth = { package = "endpoint-auth", version = "…" }
/// use actix_web::HttpResponse;
///
/// auth::scopes! {
///     crate = "auth";
///     "read:reports" => "Read reports",
/// }
///
/// #[auth::requires(scope = "read:reports", crate = "auth")]
/// async fn list_reports() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// Equivalent code without the attribute:
///
/// ```
/// # extern crate endpoint_auth as auth;
/// use actix_web::HttpResponse;
/// use auth::{Authorized, Requirement, RequirementSpec};
///
/// struct ListReports;
/// impl RequirementSpec for ListReports {
///     const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
/// }
///
/// async fn list_reports(_auth: Authorized<ListReports>) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// # fn main() {}
/// ```
///
/// # What is generated
///
/// The extractor's type parameter names the requirement. `authenticated` uses
/// [`AnyValidToken`]; `scope = "…"` uses the type the catalog declares for that scope (the
/// lookup is also the scope's compile-time check); `any(…)`/`all(…)` get a hidden unit type
/// named after the handler (with its visibility) that implements [`RequirementSpec`], with
/// one catalog lookup per scope. Handlers with the same single requirement thus share the
/// extraction code, which keeps the attribute cheap to compile. The handler is registered
/// for documentation ([`openapi`]) and re-emitted as written (attributes, visibility,
/// signature, body) with the extractor inserted first, so it takes at most 15 arguments of
/// its own (actix-web's limit is 16).
#[doc(inline)]
pub use endpoint_auth_macros::requires;

/// Declares the crate's scope catalog: every scope the service uses, each with a
/// description. Invoke it once, at the crate root (`main.rs` or `lib.rs`).
///
/// [`macro@requires`] checks each of its scopes against the catalog at compile time; an
/// unknown one is an error at the scope's literal:
///
/// ```text
/// error: scope `write:report` is not in the scope catalog (`scopes!` at src/main.rs:3); did you mean `write:reports`?
///   |
///   | #[requires(scope = "write:report")]
///   |                    ^^^^^^^^^^^^^^
/// ```
///
/// Each scope must be an RFC 6749 §3.3 scope-token, declared once, with a non-empty
/// description. The macro also defines `pub const SCOPES: &[ScopeInfo]`, the catalog in
/// declaration order, for documentation (OpenAPI security schemes, RFC 9728
/// `scopes_supported`), and a hidden module `__endpoint_auth_scopes` with one unit type per
/// scope, the requirement type of `#[requires(scope = "…")]`.
///
/// ```
/// endpoint_auth::scopes! {
///     "read:reports" => "Read reports",
///     "write:reports" => "Create and edit reports",
/// }
///
/// fn main() {
///     let names: Vec<&str> = SCOPES.iter().map(|s| s.scope()).collect();
///     assert_eq!(names, ["read:reports", "write:reports"]);
///     assert_eq!(SCOPES[1].description(), "Create and edit reports");
/// }
/// ```
///
/// Equivalent code without the macro (and without the compile-time checks):
///
/// ```
/// use endpoint_auth::ScopeInfo;
///
/// pub const SCOPES: &[ScopeInfo] = &[
///     ScopeInfo::new("read:reports", "Read reports"),
///     ScopeInfo::new("write:reports", "Create and edit reports"),
/// ];
/// # fn main() {}
/// ```
///
/// For a renamed dependency, start with the facade's path: `crate = "my_auth";`.
///
/// The catalog is a crate-local `macro_rules!` reached at `crate::…` (that is why it goes
/// at the root), so a crate that uses a scope in `#[requires]` without declaring a
/// catalog gets "cannot find `__endpoint_auth_scope_catalog` in `crate`" at the attribute.
#[doc(inline)]
pub use endpoint_auth_macros::scopes;

/// Declares the crate's role catalog, at the crate root, like [`scopes!`]: each role with a
/// description. `#[requires(role = "…")]` checks its role against it at compile time (a
/// role not in the catalog is an error naming the closest declared one), and the
/// configuration says where a token's roles are ([`AuthConfigBuilder::roles_from`] with a
/// [`RoleSource`]: Keycloak realm or client roles, Entra ID `roles`, Cognito groups, any
/// claim path).
///
/// ```
/// endpoint_auth::roles! {
///     "reports-admin" => "Administers every report",
///     "auditor" => "Reads the audit trail",
/// }
///
/// fn main() {
///     let names: Vec<&str> = ROLES.iter().map(|r| r.role()).collect();
///     assert_eq!(names, ["reports-admin", "auditor"]);
/// }
/// ```
///
/// A role is non-empty visible ASCII or spaces, without `"` or `\` or surrounding spaces,
/// declared once with a non-empty description. The macro defines `pub const ROLES:
/// &[RoleInfo]` and a hidden module `__endpoint_auth_roles`; for a renamed dependency start
/// with `crate = "my_auth";`.
///
/// A role that is not met answers 403 `insufficient_scope` with no `scope` hint unless an
/// alternative of the requirement lacks only scopes for this token (its roles and claims
/// are met): then the hint names those scopes. With `any(role = "reports-admin",
/// scope = "write:reports")` every token without the role gets `scope="write:reports"`;
/// with `any(role = "reports-admin", all(role = "editor", scope = "write:reports"))` an
/// editor's token without the scope gets it, a token with neither role gets no hint.
///
/// Like the scope catalog, this one is a crate-local `macro_rules!` reached at `crate::…`:
/// a crate that names a role in `#[requires]` without declaring a catalog gets "cannot find
/// `__endpoint_auth_role_catalog` in `crate`" at the attribute.
#[doc(inline)]
pub use endpoint_auth_macros::roles;

/// Lists every route the crate's sources register, with what its handler declares, as
/// `pub static ROUTE_AUDIT: `[`audit::RouteAudit`]. Invoke it once, at the crate root (it
/// reads that file and every module file reached from it at compile time; actix-web cannot
/// list an `App`'s routes at run time). [`audit`] says what it sees (route attributes,
/// `.route`, resources, nested scopes, `.configure` under a scope, the default service) and
/// lists what it cannot, with the place.
///
/// ```ignore
/// endpoint_auth::route_audit!();
///
/// fn main() {
///     println!("{ROUTE_AUDIT}"); // ROUTE  DECLARATION  HANDLER  WHERE, one line per route
/// }
///
/// #[test]
/// fn every_route_is_declared() {
///     ROUTE_AUDIT.assert_all_declared(); // fails listing each UNDECLARED route
/// }
/// ```
///
/// [`AuthConfigBuilder::strict_routes`]`(&ROUTE_AUDIT)` refuses to build the configuration
/// (so the service to start) with one line naming every undeclared route;
/// `route_audit!(strict)` makes each one a compile error instead. For a renamed dependency:
/// `route_audit!(crate = "my_auth")`.
#[doc(inline)]
pub use endpoint_auth_macros::route_audit;

/// Declares the crate's issuer catalog, at the crate root, like [`scopes!`]: the names the
/// service gives its trusted issuers ([`AuthConfigBuilder::trust`] with a
/// [`TrustedIssuer`]), each with a description. `#[requires(issuer = "…")]` checks its name
/// against it at compile time (an unknown name is an error naming the closest declared one).
///
/// ```
/// endpoint_auth::issuers! {
///     "staff" => "Employees, signed in with Entra ID",
///     "partners" => "Partner organisations, through Auth0",
/// }
///
/// fn main() {
///     let names: Vec<&str> = ISSUERS.iter().map(|i| i.name()).collect();
///     assert_eq!(names, ["staff", "partners"]);
/// }
/// ```
///
/// A name is 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit
/// (it becomes a metrics label and an OpenAPI scheme name), declared once with a non-empty
/// description. The macro defines `pub const ISSUERS: &[IssuerInfo]` and a hidden module
/// `__endpoint_auth_issuers`; for a renamed dependency start with `crate = "my_auth";`.
///
/// The catalog names issuers; it does not configure them. A name in the catalog that the
/// configuration does not trust can never be satisfied (its routes answer 403): compare the
/// two at startup with [`AuthConfig::issuer`].
///
/// Without a catalog, a crate that names an issuer in `#[requires]` gets "cannot find
/// `__endpoint_auth_issuer_catalog` in `crate`" at the attribute (as for [`scopes!`]).
#[doc(inline)]
pub use endpoint_auth_macros::issuers;

/// Declares a handler deliberately open: no token is asked for.
///
/// A declaration that the handler is meant to be public, so that it can be told from a
/// handler someone forgot to protect. It is registered like `#[requires]`:
/// [`openapi::SecurityDoc`] documents its operation with `security: []` (explicitly open,
/// whatever the document's top-level security says), and with
/// [`AuthConfigBuilder::deny_by_default`] it is what keeps a route open while every
/// undeclared route requires a valid token. An optional `reason` says why.
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::public;
///
/// #[public(reason = "load balancer probe")]
/// #[get("/health")]
/// async fn health() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
/// ```
///
/// A handler is either `#[public]` or `#[requires(…)]`: both on one handler is a compile
/// error, and so is a `#[public]` handler that takes a [`Principal`] or an [`Authorized`]
/// (reading the caller makes it a protected handler: declare `#[requires(authenticated)]`).
/// Like `#[requires]`, it registers the route it is written with, in either order.
///
/// # Optional authentication
///
/// A public handler that does more for a signed-in caller takes a [`MaybePrincipal`]: `None`
/// without credentials, the caller with a valid token, and the usual 400/401 for malformed
/// or bad credentials (the handler does not run). Its operation is documented as optionally
/// authenticated, `security: [{}, {"oauth2": []}]`.
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use endpoint_auth::{public, MaybePrincipal};
///
/// #[public(reason = "front page, personalised when signed in")]
/// #[get("/")]
/// async fn front_page(caller: MaybePrincipal) -> HttpResponse {
///     match caller.as_ref().and_then(|p| p.subject()) {
///         Some(sub) => HttpResponse::Ok().body(format!("welcome back, {sub}")),
///         None => HttpResponse::Ok().body("welcome"),
///     }
/// }
/// ```
///
/// Not `Option<Principal>`: actix-web's `Option<T>` extractor turns every rejection into
/// `None`, so an expired or forged token would be served as anonymous. `#[public]` and
/// `#[requires]` refuse a parameter of type `Option<Principal<…>>` or `Option<Authorized<…>>`
/// with a compile error naming `MaybePrincipal`.
#[doc(inline)]
pub use endpoint_auth_macros::public;

/// `#[requires]`'s registration of a handler for documentation: the proc macro emits this
/// short call and the compiler's own macro expander writes out the rest.
#[cfg(feature = "actix")]
#[doc(hidden)]
#[macro_export]
macro_rules! __endpoint_auth_register {
    ($name:literal, [$($method:literal),*], $path:expr, $requirement:expr, [$($check:literal),*]) => {
        $crate::__private::inventory::submit! {
            $crate::__private::ProtectedHandler::new(
                $name,
                ::core::module_path!(),
                &[$($method),*],
                $path,
                $crate::__private::Protection::new($requirement, &[$($check),*]),
            )
        }
    };
}

/// `#[public]`'s registration of a handler, like [`__endpoint_auth_register`].
#[cfg(feature = "actix")]
#[doc(hidden)]
#[macro_export]
macro_rules! __endpoint_auth_register_public {
    ($name:literal, [$($method:literal),*], $path:expr, $reason:expr, $optional_caller:literal) => {
        $crate::__private::inventory::submit! {
            $crate::__private::PublicHandler::new(
                $name,
                ::core::module_path!(),
                &[$($method),*],
                $path,
                $crate::__private::PublicDeclaration::new($reason, $optional_caller),
            )
        }
    };
}

/// Without the `actix` feature there is no registry to submit to.
#[cfg(not(feature = "actix"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __endpoint_auth_register_public {
    ($name:literal, [$($method:literal),*], $path:expr, $reason:expr, $optional_caller:literal) => {};
}

/// Without the `actix` feature there is no registry to submit to.
#[cfg(not(feature = "actix"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __endpoint_auth_register {
    ($name:literal, [$($method:literal),*], $path:expr, $requirement:expr, [$($check:literal),*]) => {};
}

// The only names generated code uses; nothing else is reachable from it.
#[doc(hidden)]
pub mod __private {
    pub use crate::__endpoint_auth_register as register;
    pub use crate::__endpoint_auth_register_public as register_public;
    pub use endpoint_auth_macros::{unknown_issuer, unknown_role, unknown_scope};
    pub use endpoint_auth_runtime::__private::*;
    pub use endpoint_auth_runtime::{
        AnyValidToken, ClaimValue, IssuerInfo, Requirement, RequirementSpec, RoleInfo, ScopeInfo,
    };
}
