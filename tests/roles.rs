//! Role requirements over real HTTP (issue 19): `#[requires(role = "…")]`, combined with
//! scopes in `any`/`all`, against real signed tokens whose roles sit where each provider puts
//! them (Keycloak realm and client roles, Entra ID `roles`, Cognito groups). A role not met
//! is 403 `insufficient_scope` with a `scope` hint only when scopes alone would help.

mod common;

use std::sync::OnceLock;

use actix_web::{delete, get, web, HttpResponse};
use common::{bearer, get, request, serve, TestServer};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_invalid_token, assert_unauthorized, TestIssuer, TestToken,
};
use endpoint_auth::{requires, Principal, RoleSource};
use serde_json::json;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

endpoint_auth::roles! {
    "reports-admin" => "Administers every report",
    "editor" => "Edits reports",
    "Reports.Audit" => "Reads the audit trail (an Entra ID app role)",
}

#[requires(role = "reports-admin")]
#[get("/admin")]
async fn admin(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().roles().join(","))
}

#[delete("/reports/{id}")]
#[requires(any(role = "reports-admin", all(role = "editor", scope = "write:reports")))]
async fn delete_report(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(format!("deleted {id}"))
}

#[requires(any(role = "Reports.Audit", scope = "read:reports"))]
#[get("/audit")]
async fn audit() -> HttpResponse {
    HttpResponse::Ok().body("audit")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(admin).service(delete_report).service(audit);
}

fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES))
}

fn server(source: RoleSource) -> TestServer {
    let auth = issuer().config().roles_from(source).build().unwrap();
    serve(Some(auth), routes)
}

fn keycloak() -> RoleSource {
    RoleSource::keycloak_realm().and(RoleSource::keycloak_client("reports-api"))
}

/// A Keycloak access token: realm roles and client roles (claims as Keycloak issues them).
fn keycloak_token(realm: &[&str], client: &[&str], scopes: &[&str]) -> TestToken {
    issuer()
        .token()
        .scopes(scopes.iter().copied())
        .subject("f:9d8e:alice")
        .claim("realm_access", json!({ "roles": realm }))
        .claim(
            "resource_access",
            json!({ "reports-api": { "roles": client }, "account": { "roles": ["manage-account"] } }),
        )
        .sign()
}

#[test]
fn keycloak_realm_and_client_roles_both_count() {
    let srv = server(keycloak());
    let call = |t: &TestToken| get(srv.addr, "/admin", &[&bearer(t.as_str())]);

    let realm_admin = keycloak_token(&["reports-admin", "offline_access"], &[], &[]);
    let r = call(&realm_admin);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "reports-admin,offline_access");
    let client_admin = keycloak_token(&["offline_access"], &["reports-admin"], &[]);
    assert_eq!(call(&client_admin).status, 200);

    // Another client's roles do not count; no role at all is 403 without a scope hint.
    let other_client = issuer()
        .token()
        .claim(
            "resource_access",
            json!({ "account": { "roles": ["reports-admin"] } }),
        )
        .sign();
    for t in [
        keycloak_token(&["offline_access"], &["editor"], &[]),
        other_client,
    ] {
        let r = call(&t);
        let challenge = r.challenge().to_owned();
        let body = r.json();
        let c = assert_insufficient_scope(r.raw(), "");
        assert_eq!(c.param("scope"), None, "{challenge}");
        assert_eq!(
            body["error_description"],
            "the access token lacks a role, claim value or issuer this endpoint requires"
        );
        assert!(body.get("scope").is_none(), "{body}");
    }

    // Without a token: 401 as anywhere.
    assert_unauthorized(get(srv.addr, "/admin", &[]).raw());
}

#[test]
fn roles_and_scopes_combine_and_the_hint_names_only_what_would_help() {
    let srv = server(keycloak());
    let delete = |t: &TestToken| {
        request(
            srv.addr,
            "DELETE",
            "/reports/7",
            &[&bearer(t.as_str())],
            b"",
        )
    };
    assert_eq!(
        delete(&keycloak_token(&["reports-admin"], &[], &[])).status,
        200
    );
    assert_eq!(
        delete(&keycloak_token(&[], &["editor"], &["write:reports"])).status,
        200
    );
    // An editor without the scope: the scope would help, so it is the hint.
    assert_insufficient_scope(
        delete(&keycloak_token(&[], &["editor"], &["read:reports"])).raw(),
        "write:reports",
    );
    // The scope without either role: only a role would help, no hint.
    let r = delete(&keycloak_token(&[], &[], &["write:reports"]));
    let c = assert_insufficient_scope(r.raw(), "");
    assert_eq!(c.param("scope"), None);
}

#[test]
fn entra_app_roles_and_cognito_groups() {
    // Entra ID: app roles in `roles` (claims as in Microsoft's access-token reference).
    let entra = server(RoleSource::entra());
    let token = issuer()
        .token()
        .subject("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ")
        .claim("roles", json!(["Reports.Audit"]))
        .claim("tid", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .sign();
    assert_eq!(
        get(entra.addr, "/audit", &[&bearer(token.as_str())]).status,
        200
    );
    // A scope is the other way in: the hint names it when the role is missing.
    let nobody = issuer()
        .token()
        .claim("roles", json!(["Other.Role"]))
        .sign();
    assert_insufficient_scope(
        get(entra.addr, "/audit", &[&bearer(nobody.as_str())]).raw(),
        "read:reports",
    );

    // Cognito: groups in `cognito:groups` (a member name with a colon, read as is).
    let cognito = server(RoleSource::cognito_groups());
    let token = issuer()
        .token()
        .claim("cognito:groups", json!(["reports-admin"]))
        .sign();
    assert_eq!(
        get(cognito.addr, "/admin", &[&bearer(token.as_str())]).status,
        200
    );
}

#[test]
fn a_roles_claim_of_the_wrong_shape_makes_the_token_invalid() {
    let srv = server(RoleSource::entra());
    let token = issuer()
        .token()
        .claim("roles", json!({ "admin": true }))
        .sign();
    assert_invalid_token(get(srv.addr, "/admin", &[&bearer(token.as_str())]).raw());
    let token = issuer().token().claim("roles", json!(["ok", 7])).sign();
    assert_invalid_token(get(srv.addr, "/admin", &[&bearer(token.as_str())]).raw());
}

#[test]
fn without_a_role_source_no_role_is_ever_met() {
    // Roles are read only where the configuration says: a token cannot bring its own.
    let srv = serve(Some(issuer().auth_config()), routes);
    let token = keycloak_token(&["reports-admin"], &["reports-admin"], &[]);
    let r = get(srv.addr, "/admin", &[&bearer(token.as_str())]);
    assert_eq!(r.status, 403);
}

#[test]
fn the_openapi_document_lists_the_roles() {
    let doc = endpoint_auth::openapi::SecurityDoc::new(SCOPES).document("roles", "1");
    let op = &doc["paths"]["/reports/{id}"]["delete"];
    assert_eq!(
        op["x-roles"],
        json!({
            "requirement": "any(role = \"reports-admin\", all(role = \"editor\", scope = \"write:reports\"))",
            "roles": ["reports-admin", "editor"],
        })
    );
    // With the role catalog, each role the operation names is described.
    let described = endpoint_auth::openapi::SecurityDoc::new(SCOPES)
        .roles(ROLES)
        .document("roles", "1");
    assert_eq!(
        described["paths"]["/reports/{id}"]["delete"]["x-roles"]["descriptions"],
        json!({ "reports-admin": "Administers every report", "editor": "Edits reports" })
    );
    assert_eq!(ROLES.len(), 3);
    assert_eq!(ROLES[2].role(), "Reports.Audit");

    // The 403 a role refusal gets is documented without a promised `scope` hint (a
    // scope-only operation's keeps it: tests/openapi.rs).
    let forbidden = &op["responses"]["403"];
    let description = forbidden["description"].as_str().unwrap();
    assert!(description.contains("no `scope`"), "{description}");
    let example = forbidden["headers"]["WWW-Authenticate"]["schema"]["examples"][0]
        .as_str()
        .unwrap();
    assert!(!example.contains("scope=\""), "{example}");
}
