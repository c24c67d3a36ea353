//! The route audit (issue 18): `route_audit!` lists every route these sources register, in
//! every registration style (route attributes, `.route`, resources, nested scopes,
//! `.configure` under a scope, the default service), with its declaration or UNDECLARED; the
//! strict configuration refuses to build naming each undeclared route; and over real HTTP
//! the audit agrees with what deny-by-default does: every UNDECLARED route answers 401
//! without a token, every public one is served.

mod common;

use actix_web::{get, post, web, HttpResponse};
use common::{bearer, get, request, serve, TestServer};
use endpoint_auth::audit::Declaration;
use endpoint_auth::testing::TestIssuer;
use endpoint_auth::{public, requires, ConfigError};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::route_audit!();

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn list() -> HttpResponse {
    HttpResponse::Ok().body("reports")
}

#[public(reason = "load balancer probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().body("up")
}

/// Forgotten: no declaration.
#[post("/debug")]
async fn debug() -> HttpResponse {
    HttpResponse::Ok().body("debug")
}

#[public]
async fn ping() -> HttpResponse {
    HttpResponse::Ok().body("pong")
}

async fn legacy() -> HttpResponse {
    HttpResponse::Ok().body("legacy")
}

async fn fallback() -> HttpResponse {
    HttpResponse::NotFound().body("fallback")
}

/// Public, and served under `/v2` only: its configure function is mounted there.
#[public(reason = "status page")]
#[get("/status")]
async fn status_page() -> HttpResponse {
    HttpResponse::Ok().body("status")
}

/// Public, under a scope, its resource renamed: recognised through the audit by that name.
#[public(reason = "a renamed resource")]
#[get("/named", name = "named_probe")]
async fn named() -> HttpResponse {
    HttpResponse::Ok().body("named")
}

fn v2(cfg: &mut web::ServiceConfig) {
    cfg.service(status_page);
}

/// A path the audit cannot read (not a literal)...
const STATUS: &str = "/status";

/// ...and, undeclared, at the path the public route's attribute names without its scope.
async fn internal_status() -> HttpResponse {
    HttpResponse::Ok().body("internal")
}

mod admin {
    use super::*;

    #[requires(authenticated)]
    pub async fn stats() -> HttpResponse {
        HttpResponse::Ok().body("stats")
    }

    pub fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/stats", web::get().to(stats))
            .route("/flush", web::post().to(super::legacy));
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(health)
        .service(debug)
        .route("/legacy", web::get().to(legacy))
        .route(
            "/closure",
            web::get().to(|| async { HttpResponse::Ok().body("closure") }),
        )
        .service(web::resource("/ping").route(web::get().to(ping)))
        .service(
            web::scope("/v1")
                .service(list)
                .service(named)
                .service(web::scope("/admin").configure(admin::routes)),
        )
        .service(web::scope("/v2").configure(v2))
        .route(STATUS, web::get().to(internal_status))
        .default_service(web::to(fallback));
}

/// The audit as `METHODS path handler declaration`, in source order.
fn rows() -> Vec<String> {
    ROUTE_AUDIT
        .routes()
        .iter()
        .map(|r| format!("{} {} {}", r.label(), r.handler(), r.declaration()))
        .collect()
}

#[test]
fn every_registration_style_is_in_the_audit() {
    let rows = rows();
    let expect = [
        "GET /reports list requires(scope = \"read:reports\")",
        "GET /v1/reports list requires(scope = \"read:reports\")",
        "GET /health health public (load balancer probe)",
        "POST /debug debug UNDECLARED",
        "GET /v1/admin/stats stats requires(authenticated)",
        "POST /v1/admin/flush super::legacy UNDECLARED",
        "GET /legacy legacy UNDECLARED",
        "GET /closure (closure) UNDECLARED",
        "GET /ping ping public",
        "GET /v2/status status_page public (status page)",
        "GET /v1/named named public (a renamed resource)",
        "* (default service) fallback UNDECLARED",
    ];
    for row in expect {
        assert!(
            rows.iter().any(|r| r == row),
            "missing {row:?} in\n{ROUTE_AUDIT}"
        );
    }
    // The common test helpers register nothing the audit can read as a route.
    assert_eq!(rows.len(), expect.len(), "\n{ROUTE_AUDIT}");
    assert!(ROUTE_AUDIT
        .routes()
        .iter()
        .all(|r| r.location().starts_with("tests/")));
    // The table says it too, with a summary line.
    let table = ROUTE_AUDIT.to_string();
    assert!(
        table.contains("12 routes, 7 declared, 5 UNDECLARED"),
        "{table}"
    );
}

#[test]
fn assert_all_declared_fails_listing_each_undeclared_route() {
    let failure = std::panic::catch_unwind(|| ROUTE_AUDIT.assert_all_declared())
        .expect_err("undeclared routes must fail the assertion");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    let first = message.lines().next().unwrap();
    for route in [
        "POST /debug (debug, tests/route_audit.rs:",
        "GET /legacy (legacy, ",
        "GET /closure ((closure), ",
        "POST /v1/admin/flush (super::legacy, ",
        "* (default service) (fallback, ",
    ] {
        assert!(first.contains(route), "{route:?} not in {first}");
    }
}

#[test]
fn the_strict_configuration_refuses_to_build_in_one_line() {
    let issuer = TestIssuer::new(SCOPES);
    let err = issuer
        .config()
        .strict_routes(&ROUTE_AUDIT)
        .build()
        .unwrap_err();
    let ConfigError::UndeclaredRoutes(_) = &err else {
        panic!("{err:?}");
    };
    let line = err.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.starts_with(
        "undeclared routes (add #[requires(…)] or #[public(reason = \"…\")] to their handlers): "
    ));
    assert_eq!(
        line.matches("tests/route_audit.rs:").count(),
        ROUTE_AUDIT.undeclared().len(),
        "{line}"
    );
    // Without strict_routes the same configuration builds.
    assert!(issuer.config().deny_by_default().build().is_ok());
}

/// Defence in depth: the audit reads sources, an approximation, so deny-by-default opens a
/// route-attribute route only on the resource actix-web names after its function. A public
/// route listed at a path where another handler is really served never opens that handler.
#[test]
fn a_public_route_listed_at_the_wrong_path_opens_nothing_there() {
    use endpoint_auth::audit::{AuditedRoute, RouteAudit};
    // `health` (a route attribute) listed at `/legacy`, where an undeclared handler is.
    static WRONG: RouteAudit = RouteAudit::new(
        &[AuditedRoute::new(
            &["GET"],
            "/legacy",
            "health",
            Declaration::Public(None),
            "src/lib.rs:3",
        )
        .with_resource("health")],
        &[],
    );
    let issuer = TestIssuer::new(SCOPES);
    let config = |audit: &'static RouteAudit| {
        issuer
            .config()
            .deny_by_default()
            .route_audit(audit)
            .build()
            .unwrap()
    };
    let srv = serve(Some(config(&WRONG)), routes);
    assert_eq!(get(srv.addr, "/legacy", &[]).status, 401);
    // The same entry as a route registered by hand (no resource name to hold it to) is what
    // the audit says the route is: open.
    static BY_HAND: RouteAudit = RouteAudit::new(
        &[AuditedRoute::new(
            &["GET"],
            "/legacy",
            "legacy",
            Declaration::Public(None),
            "src/lib.rs:3",
        )],
        &[],
    );
    let srv = serve(Some(config(&BY_HAND)), routes);
    assert_eq!(get(srv.addr, "/legacy", &[]).text(), "legacy");
}

/// Strict means every route was read and declared: an audit that found no route (invoked in
/// a crate that registers none) or could not read a registration cannot vouch for that.
#[test]
fn the_strict_configuration_refuses_an_audit_that_cannot_vouch_for_every_route() {
    use endpoint_auth::audit::{AuditedRoute, RouteAudit};
    static EMPTY: RouteAudit = RouteAudit::new(&[], &[]);
    static UNREAD: RouteAudit = RouteAudit::new(
        &[AuditedRoute::new(
            &["GET"],
            "/health",
            "health",
            Declaration::Public(None),
            "src/lib.rs:3",
        )],
        &["src/lib.rs:9: .route(…) with a path that is not a string literal"],
    );
    let issuer = TestIssuer::new(SCOPES);
    let err = issuer.config().strict_routes(&EMPTY).build().unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnauditedRoutes(why) if why.contains("found no route")),
        "{err}"
    );
    let err = issuer.config().strict_routes(&UNREAD).build().unwrap_err();
    let line = err.to_string();
    assert!(matches!(err, ConfigError::UnauditedRoutes(_)), "{line}");
    assert!(
        line.contains("could not read 1 registration(s)")
            && line.contains("src/lib.rs:9: .route(…) with a path that is not a string literal"),
        "{line}"
    );
    // deny_by_default with the same audit builds: the unread route needs a token.
    assert!(issuer
        .config()
        .deny_by_default()
        .route_audit(&UNREAD)
        .build()
        .is_ok());
}

/// A concrete request path for an audited route.
fn path_of(route: &endpoint_auth::audit::AuditedRoute) -> String {
    if route.path().contains("(default service)") {
        "/nowhere".into()
    } else {
        route.path().to_owned()
    }
}

fn method_of(route: &endpoint_auth::audit::AuditedRoute) -> &'static str {
    route.methods().first().copied().unwrap_or("GET")
}

fn status(
    srv: &TestServer,
    route: &endpoint_auth::audit::AuditedRoute,
    token: Option<&str>,
) -> u16 {
    let auth = token.map(bearer);
    let headers: Vec<&str> = auth.iter().map(String::as_str).collect();
    request(srv.addr, method_of(route), &path_of(route), &headers, b"").status
}

#[test]
fn over_http_the_audit_agrees_with_deny_by_default() {
    use endpoint_auth::audit::RouteAudit;
    let issuer = TestIssuer::new(SCOPES);
    // With an audit that read every registration, deny-by-default recognises `#[public]`
    // routes however registered. These sources keep one registration the audit cannot read
    // (`STATUS`, below); the audit of the same routes with that one made readable:
    let complete: &'static RouteAudit =
        Box::leak(Box::new(RouteAudit::new(ROUTE_AUDIT.routes(), &[])));
    let deny = serve(
        Some(
            issuer
                .config()
                .deny_by_default()
                .route_audit(complete)
                .build()
                .unwrap(),
        ),
        routes,
    );
    let open = serve(Some(issuer.auth_config()), routes);
    let token = issuer.token().scopes(["read:reports"]).sign();
    for route in ROUTE_AUDIT.routes() {
        let label = route.label();
        match route.declaration() {
            Declaration::Undeclared => {
                // Deny by default: 401 before the handler; a valid token lets it run.
                assert_eq!(status(&deny, route, None), 401, "{label}");
                assert_ne!(status(&deny, route, Some(token.as_str())), 401, "{label}");
                // Otherwise the forgotten route is open: what the audit is there to show.
                assert_ne!(status(&open, route, None), 401, "{label}");
            }
            Declaration::Public(_) => {
                assert_eq!(status(&deny, route, None), 200, "{label}");
                assert_eq!(status(&open, route, None), 200, "{label}");
            }
            Declaration::Requires(_) => {
                assert_eq!(status(&deny, route, None), 401, "{label}");
                assert_eq!(status(&open, route, None), 401, "{label}");
                assert_eq!(status(&deny, route, Some(token.as_str())), 200, "{label}");
            }
            other => panic!("{other:?}"),
        }
    }
    // Without the audit, a `#[public]` handler registered by hand is not recognised (its
    // resource is not named after it): deny-by-default asks for a token there.
    let unaware = serve(
        Some(issuer.config().deny_by_default().build().unwrap()),
        routes,
    );
    assert_eq!(get(unaware.addr, "/ping", &[]).status, 401);
    assert_eq!(get(unaware.addr, "/health", &[]).status, 200);
    // The public route served under `/v2` is not listed without its prefix, so the undeclared
    // handler the audit cannot see at `/status` is not taken for it: 401 without a token.
    assert_eq!(get(deny.addr, "/v2/status", &[]).text(), "status");
    assert_eq!(get(deny.addr, "/status", &[]).status, 401);
    assert_eq!(get(open.addr, "/status", &[]).text(), "internal");
    assert!(
        ROUTE_AUDIT
            .unseen()
            .iter()
            .any(|n| n.contains("a path that is not a string literal")),
        "{ROUTE_AUDIT}"
    );
    // The audit as it is, incomplete, opens nothing: what it could not read may be served at
    // a path it lists as public. Only what deny-by-default recognises without an audit (a
    // route attribute at the root) stays open.
    let incomplete = serve(
        Some(
            issuer
                .config()
                .deny_by_default()
                .route_audit(&ROUTE_AUDIT)
                .build()
                .unwrap(),
        ),
        routes,
    );
    assert_eq!(get(incomplete.addr, "/ping", &[]).status, 401);
    assert_eq!(get(incomplete.addr, "/v1/named", &[]).status, 401);
    assert_eq!(get(incomplete.addr, "/v2/status", &[]).status, 401);
    assert_eq!(get(incomplete.addr, "/health", &[]).text(), "up");
    assert_eq!(get(deny.addr, "/v1/named", &[]).text(), "named");
    // And a route the audit lists as UNDECLARED really is served without a token otherwise.
    assert_eq!(
        get(open.addr, "/debug", &[]).status,
        404,
        "GET is not its method"
    );
    assert_eq!(
        request(open.addr, "POST", "/debug", &[], b"").text(),
        "debug"
    );
}

/// A resource's default service answers on the resource's own pattern: the audit lists it
/// as `P (default service)`, and deny-by-default counts it among the routes of `P` (found by
/// a review: a public route with a header guard and an undeclared default service on the
/// same resource opened `P` to the default service for every request without the header).
#[test]
fn a_resources_default_service_counts_among_its_patterns_routes() {
    use endpoint_auth::audit::{AuditedRoute, RouteAudit};
    static AUDIT: RouteAudit = RouteAudit::new(
        &[
            AuditedRoute::new(
                &[],
                "/probe",
                "ping",
                Declaration::Public(None),
                "src/lib.rs:3",
            ),
            AuditedRoute::new(
                &[],
                "/probe (default service)",
                "legacy",
                Declaration::Undeclared,
                "src/lib.rs:3",
            ),
        ],
        &[],
    );
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer
        .config()
        .deny_by_default()
        .route_audit(&AUDIT)
        .build()
        .unwrap();
    let srv = serve(Some(auth), unaudited::probe_routes);
    // Without the header the default service would answer: it needs a token.
    assert_eq!(get(srv.addr, "/probe", &[]).status, 401);
    assert_eq!(get(srv.addr, "/probe", &["x-probe: 1"]).status, 401);
    let token = issuer.token().sign();
    assert_eq!(
        get(srv.addr, "/probe", &[&bearer(token.as_str())]).text(),
        "legacy"
    );
}

/// Apps of single tests, kept out of this crate's own route audit (it does not read
/// `#[cfg(test)]` code), whose rows the tests above compare exactly.
#[cfg(test)]
mod unaudited {
    use super::*;

    pub fn probe_routes(cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::resource("/probe")
                .route(
                    web::route()
                        .guard(actix_web::guard::Header("x-probe", "1"))
                        .to(ping),
                )
                .default_service(web::to(legacy)),
        );
    }
}
