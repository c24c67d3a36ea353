//! Several trusted issuers in one service (issue 21), over real HTTP with two real key
//! servers on 127.0.0.1 (the testing kit's `serve()`: discovery + JWKS): each issuer's tokens
//! are accepted and verified with its own keys only; a token naming an issuer nobody
//! configured is refused without any fetch; one provider down answers 503 for its own tokens
//! while the other keeps serving; a rotation at one is picked up without a restart; and
//! `#[requires(issuer = "…")]` restricts a route to one issuer.

mod common;

use actix_web::{get, web, HttpResponse};
use common::{bearer, get, serve, TestServer};
use endpoint_auth::metadata::ResourceMetadata;
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_invalid_token, assert_unavailable, TestIssuer,
};
use endpoint_auth::{requires, AuthConfig, ConfigError, Principal, Reason, TrustedIssuer};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::issuers! {
    "staff" => "Employees",
    "partners" => "Partner organisations",
}

/// Any trusted issuer; answers with the name of the one that verified the token.
#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().trusted_issuer().to_owned())
}

/// Partners only, with the scope.
#[requires(issuer = "partners", scope = "read:reports")]
#[get("/partner/reports")]
async fn partner_reports() -> HttpResponse {
    HttpResponse::Ok().body("partner reports")
}

/// Staff, or partners with the scope.
#[requires(any(issuer = "staff", all(issuer = "partners", scope = "read:reports")))]
#[get("/shared")]
async fn shared() -> HttpResponse {
    HttpResponse::Ok().body("shared")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reports)
        .service(partner_reports)
        .service(shared);
}

struct Providers {
    staff: TestIssuer,
    partners: TestIssuer,
}

/// Two providers, each with its own key server on 127.0.0.1 and its own key.
fn providers() -> Providers {
    Providers {
        staff: TestIssuer::new(SCOPES).audience("reports-api").serve(),
        partners: TestIssuer::new(SCOPES).audience("reports-api").serve(),
    }
}

fn config(p: &Providers) -> AuthConfig {
    AuthConfig::builder()
        .realm("reports")
        .trust(p.staff.trusted("staff"))
        .trust(p.partners.trusted("partners"))
        .build()
        .expect("two trusted issuers")
}

fn start(p: &Providers) -> TestServer {
    serve(Some(config(p)), routes)
}

fn fetches(issuer: &TestIssuer) -> usize {
    issuer.server().total_hits()
}

#[test]
fn each_issuers_tokens_are_accepted_and_name_their_issuer() {
    let p = providers();
    let srv = start(&p);
    for (issuer, name) in [(&p.staff, "staff"), (&p.partners, "partners")] {
        let token = issuer.token().scopes(["read:reports"]).sign();
        let r = get(srv.addr, "/reports", &[&bearer(token.as_str())]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.text(), name);
    }
}

#[test]
fn a_token_naming_one_issuer_signed_with_the_others_key_is_refused() {
    let p = providers();
    let srv = start(&p);
    // Partners' key, staff's `iss` (and partners' `kid`): only staff's keys may verify it.
    let forged = p
        .partners
        .token()
        .issuer(p.staff.issuer_url())
        .scopes(["read:reports"])
        .sign();
    let r = get(srv.addr, "/reports", &[&bearer(forged.as_str())]);
    assert_invalid_token(r.raw());
    // The other way round too.
    let forged = p
        .staff
        .token()
        .issuer(p.partners.issuer_url())
        .scopes(["read:reports"])
        .sign();
    assert_invalid_token(get(srv.addr, "/reports", &[&bearer(forged.as_str())]).raw());
}

#[test]
fn an_untrusted_issuer_is_refused_without_any_fetch() {
    let p = providers();
    let stranger = TestIssuer::new(SCOPES).audience("reports-api").serve();
    let srv = start(&p);
    // Let the trusted issuers' startup fetches settle, then count.
    let ok = p.staff.token().scopes(["read:reports"]).sign();
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(ok.as_str())]).status,
        200
    );
    let ok = p.partners.token().scopes(["read:reports"]).sign();
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(ok.as_str())]).status,
        200
    );
    let before = (fetches(&p.staff), fetches(&p.partners));
    for _ in 0..20 {
        let token = stranger.token().scopes(["read:reports"]).sign();
        let r = get(srv.addr, "/reports", &[&bearer(token.as_str())]);
        assert_invalid_token(r.raw());
    }
    // A made-up issuer URL on loopback: not configured, so never fetched from either.
    let token = p
        .staff
        .token()
        .issuer("http://127.0.0.1:9/not-configured")
        .scopes(["read:reports"])
        .sign();
    assert_invalid_token(get(srv.addr, "/reports", &[&bearer(token.as_str())]).raw());
    assert_eq!(fetches(&stranger), 0, "the untrusted issuer was contacted");
    assert_eq!((fetches(&p.staff), fetches(&p.partners)), before);
}

#[test]
fn untrusted_and_issuerless_tokens_get_their_own_reason() {
    let p = providers();
    let auth = config(&p);
    let stranger = TestIssuer::new(SCOPES).audience("reports-api");
    let view = |token: &str| {
        let header = format!("Bearer {token}");
        let outcome =
            actix_web::rt::System::new().block_on(auth.authenticate(endpoint_auth::RequestView {
                authorization: [header.as_bytes()].into_iter().collect(),
                ..Default::default()
            }));
        outcome.map(|_| ()).unwrap_err().reason()
    };
    let token = stranger.token().sign();
    assert_eq!(view(token.as_str()), Reason::UntrustedIssuer);
    let token = p.staff.token().without_claim("iss").sign();
    assert_eq!(view(token.as_str()), Reason::UntrustedIssuer);
    assert_eq!(fetches(&p.staff) + fetches(&p.partners), 0);
}

#[test]
fn one_provider_down_answers_503_for_its_tokens_only() {
    let p = providers();
    // Staff's provider is down from the start: the service starts anyway.
    p.staff.fail_with(500);
    let srv = start(&p);
    let partner = p.partners.token().scopes(["read:reports"]).sign();
    let staff = p.staff.token().scopes(["read:reports"]).sign();
    let r = get(srv.addr, "/reports", &[&bearer(partner.as_str())]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_unavailable(get(srv.addr, "/reports", &[&bearer(staff.as_str())]).raw());
    // Partners keep working while staff stays down.
    let r = get(srv.addr, "/reports", &[&bearer(partner.as_str())]);
    assert_eq!(r.status, 200);
    // Staff's provider recovers: its tokens are served without a restart.
    p.staff.recover();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = get(srv.addr, "/reports", &[&bearer(staff.as_str())]);
        if r.status == 200 {
            assert_eq!(r.text(), "staff");
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(
            std::time::Instant::now() < deadline,
            "staff never recovered"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_rotation_at_one_issuer_is_picked_up_without_a_restart() {
    let p = providers();
    let srv = start(&p);
    let old = p.staff.token().scopes(["read:reports"]).sign();
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(old.as_str())]).status,
        200
    );
    // Both issuers' startup fetches done (a partner token served), then count.
    let partner = p.partners.token().scopes(["read:reports"]).sign();
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(partner.as_str())]).status,
        200
    );
    let partners_before = fetches(&p.partners);
    p.staff.rotate();
    let new = p.staff.token().scopes(["read:reports"]).sign();
    assert_ne!(old.as_str(), new.as_str());
    let r = get(srv.addr, "/reports", &[&bearer(new.as_str())]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "staff");
    // The other issuer was not fetched again for staff's rotation.
    assert_eq!(fetches(&p.partners), partners_before);
    assert_eq!(
        get(srv.addr, "/reports", &[&bearer(partner.as_str())]).status,
        200
    );
}

#[test]
fn issuer_restrictions_are_enforced() {
    let p = providers();
    let srv = start(&p);
    let staff = p.staff.token().scopes(["read:reports"]).sign();
    let partner = p.partners.token().scopes(["read:reports"]).sign();
    let partner_bare = p.partners.token().sign();

    // Partners only: staff's token, scope and all, is refused (403, no scope would help).
    let r = get(srv.addr, "/partner/reports", &[&bearer(staff.as_str())]);
    assert_insufficient_scope(r.raw(), "");
    let r = get(
        srv.addr,
        "/partner/reports",
        &[&bearer(partner_bare.as_str())],
    );
    assert_insufficient_scope(r.raw(), "read:reports");
    let r = get(srv.addr, "/partner/reports", &[&bearer(partner.as_str())]);
    assert_eq!(r.status, 200, "{}", r.text());

    // Staff, or partners with the scope.
    let staff_bare = p.staff.token().sign();
    assert_eq!(
        get(srv.addr, "/shared", &[&bearer(staff_bare.as_str())]).status,
        200
    );
    assert_eq!(
        get(srv.addr, "/shared", &[&bearer(partner.as_str())]).status,
        200
    );
    let r = get(srv.addr, "/shared", &[&bearer(partner_bare.as_str())]);
    assert_insufficient_scope(r.raw(), "read:reports");
}

#[test]
fn the_metadata_lists_every_trusted_issuer() {
    let p = providers();
    let auth = config(&p);
    let meta =
        ResourceMetadata::new("https://api.example.com/reports").authorization_servers_of(&auth);
    let doc: serde_json::Value = serde_json::from_str(&meta.to_json()).unwrap();
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!([p.staff.issuer_url(), p.partners.issuer_url()])
    );
}

#[test]
fn configurations_that_cannot_work_are_refused() {
    let a = TestIssuer::new(SCOPES).issuer("https://a.example");
    let b = TestIssuer::new(SCOPES).issuer("https://b.example");
    let build = |builder: endpoint_auth::AuthConfigBuilder| builder.realm("r").build().unwrap_err();
    // The same name twice, the same `iss` twice.
    let err = build(
        AuthConfig::builder()
            .trust(a.trusted("x"))
            .trust(b.trusted("x")),
    );
    assert_eq!(err, ConfigError::DuplicateIssuer("x".into()));
    let err = build(
        AuthConfig::builder()
            .trust(a.trusted("x"))
            .trust(a.trusted("y")),
    );
    assert_eq!(
        err,
        ConfigError::DuplicateIssuer("https://a.example".into())
    );
    // A name that cannot be a label.
    let err = build(AuthConfig::builder().trust(a.trusted("staff users")));
    assert_eq!(err, ConfigError::InvalidIssuerName("staff users".into()));
    // Single-issuer settings beside `trust`.
    let err = build(a.config().trust(b.trusted("b")));
    assert_eq!(err, ConfigError::SingleIssuerBesideTrusted);
    // An issuer's own error names it.
    let err = build(
        AuthConfig::builder()
            .trust(a.trusted("a"))
            .trust(TrustedIssuer::new("b", "https://b.example").audience("x")),
    );
    assert_eq!(
        err,
        ConfigError::Issuer("b".into(), Box::new(ConfigError::NoKeys))
    );
    assert_eq!(
        err.to_string(),
        "issuer \"b\": no verification keys configured: call .key(…) or .keys(…)"
    );
}

#[test]
fn openapi_documents_a_scheme_per_issuer() {
    use endpoint_auth::openapi::SecurityDoc;
    use serde_json::json;
    let doc = SecurityDoc::new(SCOPES)
        .issuers(ISSUERS)
        .issuer_authorization_code(
            "staff",
            "https://login.example.com/authorize",
            "https://login.example.com/token",
        )
        .issuer_client_credentials("partners", "https://partners.example.net/oauth/token")
        .document("reports", "1");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("openapi/oas-3.1-schema-2022-10-07.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["staff"]["flows"]["authorizationCode"]["tokenUrl"],
        "https://login.example.com/token"
    );
    assert_eq!(
        schemes["partners"]["flows"]["clientCredentials"]["tokenUrl"],
        "https://partners.example.net/oauth/token"
    );
    assert!(schemes["partners"]["description"]
        .as_str()
        .unwrap()
        .contains("Partner organisations"));
    let op = |path: &str| doc["paths"][path]["get"].clone();
    // Any trusted issuer: either scheme.
    assert_eq!(
        op("/reports")["security"],
        json!([{ "staff": ["read:reports"] }, { "partners": ["read:reports"] }])
    );
    assert!(op("/reports").get("x-issuers").is_none());
    // Limited to partners: their scheme only.
    assert_eq!(
        op("/partner/reports")["security"],
        json!([{ "partners": ["read:reports"] }])
    );
    assert_eq!(op("/partner/reports")["x-issuers"], json!(["partners"]));
    // Staff (any scope), or partners with the scope.
    assert_eq!(
        op("/shared")["security"],
        json!([{ "staff": [] }, { "partners": ["read:reports"] }])
    );
}

#[test]
fn hostile_iss_members_choose_nothing_and_fetch_nothing() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let p = providers();
    let auth = config(&p);
    let reason = |payload: String| {
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        );
        let header = format!("Bearer {token}");
        actix_web::rt::System::new()
            .block_on(auth.authenticate(endpoint_auth::RequestView {
                authorization: [header.as_bytes()].into_iter().collect(),
                ..Default::default()
            }))
            .map(|_| ())
            .unwrap_err()
            .reason()
    };
    let (staff, partners) = (p.staff.issuer_url(), p.partners.issuer_url());
    // Two `iss` members (which one would a verifier read?), an `iss` that is no string, one
    // that differs from a trusted one by a trailing slash or case.
    assert_eq!(
        reason(format!(
            r#"{{"iss":"{staff}","iss":"{partners}","exp":9999999999}}"#
        )),
        Reason::Malformed
    );
    assert_eq!(
        reason(r#"{"iss":["a","b"],"exp":9999999999}"#.into()),
        Reason::Malformed
    );
    assert_eq!(
        reason(r#"{"iss":42,"exp":9999999999}"#.into()),
        Reason::Malformed
    );
    assert_eq!(
        reason(format!(r#"{{"iss":"{staff}/","exp":9999999999}}"#)),
        Reason::UntrustedIssuer
    );
    assert_eq!(
        reason(format!(
            r#"{{"iss":"{}","exp":9999999999}}"#,
            staff.to_uppercase()
        )),
        Reason::UntrustedIssuer
    );
    // A payload that is not JSON, or not base64url.
    assert_eq!(reason("not json".into()), Reason::Malformed);
    // None of it reached either provider.
    assert_eq!(fetches(&p.staff) + fetches(&p.partners), 0);
}
