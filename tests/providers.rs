//! The README's provider recipes (issue 23), each fed tokens shaped exactly like that
//! provider's access tokens: the claims (names, types, nesting) and JOSE headers of the
//! providers' published examples, signed RS256 by a test issuer standing in for the provider.
//! Each recipe is the builder code of the README's "Providers" section, with the test
//! issuer's key in place of discovery.

use actix_web::{get, test, App, HttpResponse};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_invalid_token, TestIssuer, TestRequestExt,
};
use endpoint_auth::{requires, Algorithm, AuthConfigBuilder, RoleSource};
use serde_json::json;

endpoint_auth::scopes! {
    "read:orders" => "Read orders",
    "Orders.Read" => "Read orders (Entra ID delegated permission)",
    "orders-api/read" => "Read orders (Cognito resource-server scope)",
}

endpoint_auth::roles! {
    "orders-reader" => "Reads orders (a Keycloak role)",
    "order-admins" => "Members of the order-admins group (Cognito)",
}

#[requires(role = "orders-reader")]
#[get("/keycloak/orders")]
async fn keycloak_orders() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(scope = "read:orders")]
#[get("/orders")]
async fn orders() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(scope = "Orders.Read")]
#[get("/entra/orders")]
async fn entra_orders() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(scope = "orders-api/read")]
#[get("/cognito/orders")]
async fn cognito_orders() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(role = "order-admins")]
#[get("/cognito/admin")]
async fn cognito_admin() -> HttpResponse {
    HttpResponse::Ok().body("{}")
}

/// A test issuer named like the provider (`iss`), RS256 as the providers sign by default.
fn provider(iss: &str, audience: &str) -> TestIssuer {
    TestIssuer::with_algorithm(SCOPES, Algorithm::RS256)
        .issuer(iss)
        .audience(audience)
}

/// Serves every route with `config` and answers `path` for `token` (`None`: no header).
async fn call(
    config: AuthConfigBuilder,
    path: &str,
    token: &str,
) -> actix_web::dev::ServiceResponse {
    let app = test::init_service(
        App::new()
            .wrap(config.build().expect("the recipe builds"))
            .service(orders)
            .service(keycloak_orders)
            .service(entra_orders)
            .service(cognito_orders)
            .service(cognito_admin),
    )
    .await;
    test::call_service(
        &app,
        test::TestRequest::get()
            .uri(path)
            .bearer(token)
            .to_request(),
    )
    .await
}

const AUTH0_ISSUER: &str = "https://example-tenant.us.auth0.com/";
const AUTH0_API: &str = "https://orders.example.com";

/// Auth0 with RBAC and "Add Permissions in the Access Token" on: the API's permissions are in
/// `permissions`; `scope` holds what the client asked for (OIDC scopes too).
fn auth0(issuer: &TestIssuer) -> AuthConfigBuilder {
    issuer.config().scope_claim("permissions")
}

fn auth0_token(issuer: &TestIssuer, permissions: &[&str]) -> String {
    issuer
        .token()
        .typ(Some("JWT"))
        .subject("auth0|5f7c8ec7c33c6c004bbafe82")
        .claim(
            "aud",
            json!([AUTH0_API, "https://example-tenant.us.auth0.com/userinfo"]),
        )
        .claim("azp", "Aw3ZCk9mCExiBqXqGEYvoPaD8Rf5lHH4")
        .claim("scope", "openid profile email read:orders")
        .claim("permissions", permissions)
        .without_claim("client_id")
        .sign()
        .into_string()
}

#[actix_web::test]
async fn auth0_permissions_decide_and_the_issuer_keeps_its_trailing_slash() {
    let issuer = provider(AUTH0_ISSUER, AUTH0_API);
    let ok = auth0_token(&issuer, &["read:orders", "write:orders"]);
    assert_eq!(call(auth0(&issuer), "/orders", &ok).await.status(), 200);
    // `scope` names read:orders, but the permissions (what RBAC grants) do not.
    let not_granted = auth0_token(&issuer, &["write:orders"]);
    assert_insufficient_scope(
        call(auth0(&issuer), "/orders", &not_granted).await,
        "read:orders",
    );
    // The issuer without the trailing slash Auth0 writes is another issuer.
    let trimmed = issuer
        .config()
        .issuer(AUTH0_ISSUER.trim_end_matches('/'))
        .scope_claim("permissions");
    assert_invalid_token(call(trimmed, "/orders", &ok).await);
}

const KEYCLOAK_ISSUER: &str = "https://sso.example.com/realms/acme";

/// Keycloak: realm roles in `realm_access.roles`, the API client's roles in
/// `resource_access.<client>.roles`; the audience comes from an audience mapper.
fn keycloak(issuer: &TestIssuer) -> AuthConfigBuilder {
    issuer
        .config()
        .roles_from(RoleSource::keycloak_realm().and(RoleSource::keycloak_client("orders-api")))
}

fn keycloak_token(issuer: &TestIssuer, realm_roles: &[&str], client_roles: &[&str]) -> String {
    let realm: Vec<&str> = ["offline_access", "uma_authorization"]
        .into_iter()
        .chain(realm_roles.iter().copied())
        .collect();
    issuer
        .token()
        .typ(Some("JWT"))
        .subject("f1b1c2a4-8f5e-4c33-9a51-0c2e8e0b2f6d")
        .claim("aud", json!(["orders-api", "account"]))
        .claim("typ", "Bearer")
        .claim("azp", "orders-web")
        .claim("session_state", "2f0c5a3e-4d1b-4c6e-9a8f-3b7d2e1c0a9f")
        .claim("acr", "1")
        .claim("realm_access", json!({ "roles": realm }))
        .claim(
            "resource_access",
            json!({
                "orders-api": { "roles": client_roles },
                "account": { "roles": ["manage-account", "view-profile"] }
            }),
        )
        .claim("scope", "openid email profile read:orders")
        .claim("preferred_username", "alice")
        .without_claim("client_id")
        .sign()
        .into_string()
}

#[actix_web::test]
async fn keycloak_realm_and_client_roles_decide() {
    let issuer = provider(KEYCLOAK_ISSUER, "orders-api");
    let client_role = keycloak_token(&issuer, &[], &["orders-reader"]);
    let realm_role = keycloak_token(&issuer, &["orders-reader"], &[]);
    for ok in [&client_role, &realm_role] {
        let resp = call(keycloak(&issuer), "/keycloak/orders", ok).await;
        assert_eq!(resp.status(), 200);
    }
    // Scopes are in `scope`, as Keycloak issues them.
    assert_eq!(
        call(keycloak(&issuer), "/orders", &client_role)
            .await
            .status(),
        200
    );
    // Neither the realm nor this client grants the role (the `account` client's roles do not
    // count): 403, and no scope would help.
    let other_client = keycloak_token(&issuer, &[], &[]);
    let challenge = assert_insufficient_scope(
        call(keycloak(&issuer), "/keycloak/orders", &other_client).await,
        "",
    );
    assert_eq!(challenge.param("scope"), None);
}

const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRA_CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

/// Entra ID, v2 tokens (`accessTokenAcceptedVersion: 2`): issuer
/// `https://login.microsoftonline.com/{tenant}/v2.0`, `aud` the application (client) id; v1
/// tokens would carry `api://…` and another issuer. Delegated permissions are in `scp`.
fn entra(issuer: &TestIssuer) -> AuthConfigBuilder {
    issuer.config().audience(format!("api://{ENTRA_CLIENT}"))
}

fn entra_token(issuer: &TestIssuer, aud: &str, scp: &str) -> String {
    issuer
        .token()
        .typ(Some("JWT"))
        .subject("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ")
        .claim("aud", aud)
        .claim("azp", "e4c9ab4d-a1b2-4c3d-8e9f-0a1b2c3d4e5f")
        .claim("azpacr", "0")
        .claim("name", "Abe Lincoln")
        .claim("oid", "690222be-ff1a-4d56-abd1-7e4f7d38e474")
        .claim("preferred_username", "abeli@microsoft.com")
        .claim("rh", "I")
        .claim("scp", scp)
        .claim("tid", ENTRA_TENANT)
        .claim("uti", "fqiBqXLPj0eQa82S-IYFAA")
        .claim("ver", "2.0")
        .without_claim("client_id")
        .sign()
        .into_string()
}

#[actix_web::test]
async fn entra_id_scp_decides_and_both_audience_forms_are_accepted() {
    let iss = format!("https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0");
    let issuer = provider(&iss, ENTRA_CLIENT);
    for aud in [ENTRA_CLIENT.to_owned(), format!("api://{ENTRA_CLIENT}")] {
        let ok = entra_token(&issuer, &aud, "Orders.Read User.Read");
        assert_eq!(
            call(entra(&issuer), "/entra/orders", &ok).await.status(),
            200,
            "{aud}"
        );
    }
    let other = entra_token(&issuer, ENTRA_CLIENT, "User.Read");
    assert_insufficient_scope(
        call(entra(&issuer), "/entra/orders", &other).await,
        "Orders.Read",
    );
    // A v1 token of the same tenant names another issuer.
    let v1_token = issuer
        .token()
        .issuer(format!("https://sts.windows.net/{ENTRA_TENANT}/"))
        .claim("aud", format!("api://{ENTRA_CLIENT}"))
        .claim("scp", "Orders.Read")
        .claim("ver", "1.0")
        .sign()
        .into_string();
    assert_invalid_token(call(entra(&issuer), "/entra/orders", &v1_token).await);
}

const OKTA_ISSUER: &str = "https://dev-133337.okta.com/oauth2/default";

/// Okta, custom authorization server `default`: audience `api://default`, scopes as an array
/// in `scp`.
fn okta(issuer: &TestIssuer) -> AuthConfigBuilder {
    issuer.config()
}

fn okta_token(issuer: &TestIssuer, aud: &str, scp: &[&str]) -> String {
    issuer
        .token()
        .typ(None)
        .subject("alice@example.com")
        .claim("ver", 1)
        .claim("jti", "AT.upPBr8JuYw0lUk2QN9ZBUWb8n6Hm6XA5y4qBpBS05Oc")
        .claim("aud", aud)
        .claim("cid", "0oa1f2g3h4i5j6k7l8m9")
        .claim("uid", "00u1a2b3c4d5e6f7g8h9")
        .claim("scp", scp)
        .claim("auth_time", 1_700_000_000)
        .without_claim("client_id")
        .sign()
        .into_string()
}

#[actix_web::test]
async fn okta_scp_array_decides_and_another_authorization_server_is_refused() {
    let issuer = provider(OKTA_ISSUER, "api://default");
    let ok = okta_token(&issuer, "api://default", &["openid", "read:orders"]);
    assert_eq!(call(okta(&issuer), "/orders", &ok).await.status(), 200);
    let fewer = okta_token(&issuer, "api://default", &["openid"]);
    assert_insufficient_scope(call(okta(&issuer), "/orders", &fewer).await, "read:orders");
    let elsewhere = okta_token(&issuer, "api://billing", &["read:orders"]);
    assert_invalid_token(call(okta(&issuer), "/orders", &elsewhere).await);
}

const COGNITO_ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI";
const COGNITO_CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

/// Amazon Cognito: access tokens carry no `aud`; the app client id is in `client_id`.
/// Resource-server scopes are in `scope`; groups are in `cognito:groups`.
fn cognito(issuer: &TestIssuer) -> AuthConfigBuilder {
    issuer.config().audience_from_client_id()
}

fn cognito_groups(issuer: &TestIssuer) -> AuthConfigBuilder {
    cognito(issuer).roles_from(RoleSource::cognito_groups())
}

fn cognito_access_token(issuer: &TestIssuer, client_id: &str, scope: &str) -> String {
    issuer
        .token()
        .typ(None)
        .subject("aaaaaaaa-bbbb-cccc-dddd-example")
        .without_claim("aud")
        .claim("cognito:groups", ["order-admins"])
        .claim("token_use", "access")
        .claim("scope", scope)
        .claim("auth_time", 1_700_000_000)
        .claim("version", 2)
        .claim("jti", "d3c7e9a1-2b4f-4e6a-8c0d-1f2e3a4b5c6d")
        .claim("client_id", client_id)
        .claim("username", "alice")
        .claim("origin_jti", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
        .claim("event_id", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b")
        .sign()
        .into_string()
}

#[actix_web::test]
async fn cognito_client_id_stands_for_the_audience_and_id_tokens_are_refused() {
    let issuer = provider(COGNITO_ISSUER, COGNITO_CLIENT);
    let ok = cognito_access_token(
        &issuer,
        COGNITO_CLIENT,
        "orders-api/read aws.cognito.signin.user.admin",
    );
    assert_eq!(
        call(cognito(&issuer), "/cognito/orders", &ok)
            .await
            .status(),
        200
    );
    assert_eq!(
        call(cognito_groups(&issuer), "/cognito/admin", &ok)
            .await
            .status(),
        200
    );
    let narrow = cognito_access_token(&issuer, COGNITO_CLIENT, "aws.cognito.signin.user.admin");
    assert_insufficient_scope(
        call(cognito(&issuer), "/cognito/orders", &narrow).await,
        "orders-api/read",
    );
    let other_client =
        cognito_access_token(&issuer, "7abcdefghijklmnopqrstuvwx", "orders-api/read");
    assert_invalid_token(call(cognito(&issuer), "/cognito/orders", &other_client).await);
    // An ID token of the same pool: `aud` is the client id, but there is no `client_id`.
    let id_token = issuer
        .token()
        .typ(None)
        .claim("aud", COGNITO_CLIENT)
        .claim("token_use", "id")
        .claim("email", "alice@example.com")
        .claim("cognito:username", "alice")
        .without_claim("client_id")
        .sign()
        .into_string();
    assert_invalid_token(call(cognito(&issuer), "/cognito/orders", &id_token).await);
}
