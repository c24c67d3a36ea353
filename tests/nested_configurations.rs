//! Two configurations on one App: the App's middleware and a scope's own. The scope's
//! routes are the scope's configuration's to decide, and a registration that leaves it
//! ambiguous which one governs answers 500 naming the fix rather than guess (an attack pass
//! found both: a scope's `app_data` configuration silently ignored under `App::wrap`, so a
//! token for the App's audience was accepted where the scope expects another; and an outer
//! middleware's refusal answering for a nested scope's middleware, which accepts the token).

mod common;

use std::sync::OnceLock;

use actix_web::{get, web, HttpResponse};
use common::{bearer, get, serve};
use endpoint_auth::revocation::MemoryRevocationList;
use endpoint_auth::testing::TestIssuer;
use endpoint_auth::{requires, AuthConfig, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[requires(authenticated)]
#[get("/x")]
async fn admin_x(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(format!("admin {}", caller.subject().unwrap_or("")))
}

#[requires(authenticated)]
#[get("/reports")]
async fn reports() -> HttpResponse {
    HttpResponse::Ok().body("reports")
}

/// One issuer, two audiences: the App's (`reports-api`) and the admin scope's (`admin-api`).
fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES).audience("reports-api"))
}

fn admin_config() -> AuthConfig {
    static ADMIN: OnceLock<AuthConfig> = OnceLock::new();
    ADMIN
        .get_or_init(|| {
            AuthConfig::builder()
                .realm("admin")
                .issuer(issuer().issuer_url())
                .audience("admin-api")
                .key(issuer().key())
                .build()
                .unwrap()
        })
        .clone()
}

fn admin_by_app_data(cfg: &mut web::ServiceConfig) {
    cfg.service(reports).service(
        web::scope("/admin")
            .app_data(admin_config())
            .service(admin_x),
    );
}

fn admin_wrapped(cfg: &mut web::ServiceConfig) {
    cfg.service(reports)
        .service(web::scope("/admin").wrap(admin_config()).service(admin_x));
}

fn token_for(audience: &str) -> String {
    issuer()
        .token()
        .audience(audience)
        .subject("u1")
        .claim("jti", format!("jti-{audience}"))
        .sign()
        .as_str()
        .to_owned()
}

#[test]
fn a_scopes_app_data_configuration_under_an_app_wrapped_with_another_answers_500() {
    let srv = serve(Some(issuer().auth_config()), admin_by_app_data);
    // The App's own routes are the App's configuration's.
    let app_token = token_for("reports-api");
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(&app_token)]).status,
        200
    );
    // Which configuration governs /admin is ambiguous: never the App's audience accepted
    // there (it was: 200 with a token meant for reports-api).
    for token in [app_token.as_str(), token_for("admin-api").as_str()] {
        let resp = get(srv.addr, "/admin/x", &[&bearer(token)]);
        assert_eq!(resp.status, 500, "{}", resp.text());
    }
}

#[test]
fn a_nested_middleware_decides_its_routes_whatever_the_outer_one_refused() {
    // The outer configuration checks revocation, so its middleware authenticates every
    // request with credentials before routing; an admin token is not for its audience.
    let outer = issuer()
        .config()
        .revocation_check(MemoryRevocationList::new())
        .build()
        .unwrap();
    let srv = serve(Some(outer), admin_wrapped);
    let admin_token = token_for("admin-api");
    let resp = get(srv.addr, "/admin/x", &[&bearer(&admin_token)]);
    assert_eq!(resp.status, 200, "{:?}", resp.header("www-authenticate"));
    assert_eq!(resp.text(), "admin u1");
    // The App's token is still the App's on its routes, and not the admin scope's.
    let app_token = token_for("reports-api");
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(&app_token)]).status,
        200
    );
    let resp = get(srv.addr, "/admin/x", &[&bearer(&app_token)]);
    assert_eq!(resp.status, 401);
    assert!(resp
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Bearer realm=\"admin\"") && c.contains("invalid_token")));
    // Without the outer check, the same: the admin scope's middleware decides.
    let srv = serve(Some(issuer().auth_config()), admin_wrapped);
    assert_eq!(
        get(srv.addr, "/admin/x", &[&bearer(&admin_token)]).status,
        200
    );
}
