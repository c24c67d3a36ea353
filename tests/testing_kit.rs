//! The testing kit as a user meets it (issue 17): only `endpoint_auth`'s public API with the
//! `testing` feature, a crate-level `scopes!` catalog, `#[requires]` handlers and actix-web's
//! own test service. Nothing from `tests/common`.

use actix_web::{delete, get, post, test, web, App, HttpResponse};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_insufficient_user_authentication, assert_invalid_request,
    assert_invalid_token, assert_unauthorized, assert_unavailable, TestIssuer, TestRequestExt,
};
use endpoint_auth::{requires, Algorithm, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
    "admin:reports" => "Delete reports",
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[requires(scope = "write:reports")]
#[post("/reports")]
async fn create_report(caller: Principal) -> HttpResponse {
    HttpResponse::Created().body(caller.subject().unwrap_or("?").to_owned())
}

#[requires(all(scope = "write:reports", scope = "admin:reports"))]
#[delete("/reports/{id}")]
async fn delete_report(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(format!("deleted {id}"))
}

/// An ownership rule: a caller only sees its own tenant's reports.
#[requires(scope = "read:reports")]
#[get("/tenants/{tenant}/reports")]
async fn tenant_reports(caller: Principal<Tenant>, tenant: web::Path<String>) -> HttpResponse {
    if caller.extra().tenant == *tenant {
        HttpResponse::Ok().body(format!("reports of {tenant}"))
    } else {
        HttpResponse::NotFound().finish()
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_report)
        .service(delete_report)
        .service(tenant_reports);
}

// The README's "Testing your handlers" test (its handler there is a shorter create_report),
// then the other half: the writer gets through.
#[actix_web::test]
async fn create_report_needs_write_reports() {
    let issuer = TestIssuer::new(SCOPES);
    let app =
        test::init_service(App::new().wrap(issuer.auth_config()).service(create_report)).await;

    let reader = issuer.token().scopes(["read:reports"]).sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&reader)
        .to_request();
    assert_insufficient_scope(test::call_service(&app, req).await, "write:reports");

    let writer = issuer
        .token()
        .scopes(["write:reports"])
        .subject("u1")
        .sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&writer)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "u1");
}

#[actix_web::test]
async fn an_admin_can_delete_and_a_writer_is_told_what_is_missing() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let admin = issuer
        .token()
        .scopes(["write:reports", "admin:reports"])
        .sign();
    let req = test::TestRequest::delete()
        .uri("/reports/7")
        .bearer(&admin)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "deleted 7");

    let writer = issuer.token().scopes(["write:reports"]).sign();
    let req = test::TestRequest::delete()
        .uri("/reports/7")
        .bearer(&writer)
        .to_request();
    // The hint is the whole alternative (both scopes), not only the one the writer lacks.
    let challenge = assert_insufficient_scope(
        test::call_service(&app, req).await,
        "admin:reports write:reports",
    );
    assert_eq!(challenge.scopes(), ["write:reports", "admin:reports"]);
}

#[actix_web::test]
async fn the_ownership_rule_holds() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let acme = issuer
        .token()
        .scopes(["read:reports"])
        .claim("tenant", "acme")
        .sign();
    let req = |path: &str| {
        test::TestRequest::get()
            .uri(path)
            .bearer(&acme)
            .to_request()
    };
    let own = test::call_service(&app, req("/tenants/acme/reports")).await;
    assert_eq!(own.status(), 200);
    let other = test::call_service(&app, req("/tenants/globex/reports")).await;
    assert_eq!(other.status(), 404);
}

#[actix_web::test]
async fn every_broken_token_is_refused_with_invalid_token() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let writer = || issuer.token().scopes(["write:reports"]);
    let broken = [
        ("expired", writer().expired().sign()),
        ("not yet valid", writer().not_yet_valid().sign()),
        ("wrong audience", writer().wrong_audience().sign()),
        ("wrong issuer", writer().wrong_issuer().sign()),
        (
            "signed by another key",
            writer().signed_by_other_key().sign(),
        ),
        ("alg none", writer().alg_none().sign()),
        ("tampered", writer().tampered().sign()),
        ("without exp", writer().without_exp().sign()),
    ];
    for (what, token) in broken {
        let req = test::TestRequest::post()
            .uri("/reports")
            .bearer(&token)
            .to_request();
        let challenge = assert_invalid_token(test::call_service(&app, req).await);
        assert!(
            challenge.param("error_description").is_some(),
            "{what}: {challenge:?}"
        );
    }
    // The same builder without a defect is accepted: the defects are what is refused.
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(writer().sign())
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 201);
}

#[actix_web::test]
async fn no_token_is_a_bare_challenge_and_a_malformed_one_a_bad_request() {
    let issuer = TestIssuer::new(SCOPES).realm("reports-api");
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let req = test::TestRequest::post().uri("/reports").to_request();
    let challenge = assert_unauthorized(test::call_service(&app, req).await);
    assert_eq!(challenge.param("realm"), Some("reports-api"));
    let req = test::TestRequest::post()
        .uri("/reports")
        .insert_header(("Authorization", "Bearer two words"))
        .to_request();
    assert_invalid_request(test::call_service(&app, req).await);
}

#[actix_web::test]
async fn other_algorithms_and_added_settings() {
    for alg in [Algorithm::RS256, Algorithm::EdDSA, Algorithm::HS256] {
        let issuer = TestIssuer::with_algorithm(SCOPES, alg).audience("reports-api");
        let auth = issuer.config().strict_typ().build().unwrap();
        let app = test::init_service(App::new().wrap(auth).configure(routes)).await;
        let token = issuer.token().scopes(["write:reports"]).sign();
        let req = test::TestRequest::post()
            .uri("/reports")
            .bearer(&token)
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 201, "{alg:?}");
        // strict_typ: a plain JWT `typ` is refused.
        let jwt = issuer
            .token()
            .scopes(["write:reports"])
            .typ(Some("JWT"))
            .sign();
        let req = test::TestRequest::post()
            .uri("/reports")
            .bearer(&jwt)
            .to_request();
        assert_invalid_token(test::call_service(&app, req).await);
    }
}

/// Remote mode against the kit's loopback provider: discovery and JWKS over real HTTP, a
/// rotation accepted on its first token (an outage: the next test).
#[actix_web::test]
async fn a_served_issuer_rotates_and_its_new_key_is_accepted_at_once() {
    let issuer = TestIssuer::new(SCOPES).serve();
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let call = |token: endpoint_auth::testing::TestToken| {
        test::TestRequest::post()
            .uri("/reports")
            .bearer(token)
            .to_request()
    };
    let writer = || issuer.token().scopes(["write:reports"]).sign();
    assert_eq!(test::call_service(&app, call(writer())).await.status(), 201);
    assert_eq!(issuer.server().hits("/jwks.json"), 1);

    issuer.rotate();
    assert_eq!(test::call_service(&app, call(writer())).await.status(), 201);
    assert_eq!(issuer.server().hits("/jwks.json"), 2);
}

#[actix_web::test]
async fn a_provider_that_is_down_gives_503_until_it_recovers() {
    let issuer = TestIssuer::new(SCOPES).serve();
    issuer.fail_with(500);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let writer = issuer.token().scopes(["write:reports"]).sign();
    let call = || {
        test::TestRequest::post()
            .uri("/reports")
            .bearer(&writer)
            .to_request()
    };
    assert_unavailable(test::call_service(&app, call()).await);
    assert!(issuer.server().hits("/.well-known/openid-configuration") >= 1);

    issuer.recover();
    // The background retry (1 s backoff) brings the keys; no restart.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = test::call_service(&app, call()).await.status();
        if status == 201 {
            break;
        }
        assert_eq!(status, 503);
        assert!(std::time::Instant::now() < deadline, "no recovery in 10 s");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_provider_that_hangs_gives_503_after_the_fetch_timeout() {
    let issuer = TestIssuer::new(SCOPES).serve();
    issuer.hang();
    let mut settings = endpoint_auth::RemoteSettings::default();
    settings.timeout = std::time::Duration::from_millis(300);
    let auth = issuer.config().remote_settings(settings).build().unwrap();
    let app = test::init_service(App::new().wrap(auth).configure(routes)).await;
    let writer = issuer.token().scopes(["write:reports"]).sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&writer)
        .to_request();
    assert_unavailable(test::call_service(&app, req).await);
}

/// Scopes where the provider puts them (Auth0's `permissions`, Keycloak's nested
/// `realm_access.roles`), still checked against the catalog.
#[actix_web::test]
async fn scopes_in_the_claim_the_issuer_is_configured_to_read() {
    let issuer = TestIssuer::new(SCOPES);
    for path in ["permissions", "realm_access.roles"] {
        let auth = issuer.config().scope_claim(path).build().unwrap();
        let app = test::init_service(App::new().wrap(auth).service(create_report)).await;
        let post = |token: &endpoint_auth::testing::TestToken| {
            test::TestRequest::post()
                .uri("/reports")
                .bearer(token)
                .to_request()
        };
        let writer = issuer.token().scopes_in(path, ["write:reports"]).sign();
        let resp = test::call_service(&app, post(&writer)).await;
        assert_eq!(resp.status(), 201, "{path}");
        // `scope` is not where this issuer's scopes are.
        let elsewhere = issuer.token().scopes(["write:reports"]).sign();
        assert_insufficient_scope(
            test::call_service(&app, post(&elsewhere)).await,
            "write:reports",
        );
    }
}

// ---- misuse: each fails the test with one message saying what is wrong ----------------

#[actix_web::test]
#[should_panic(
    expected = "scope `write:report` is not in the scope catalog given to TestIssuer::new; did you mean `write:reports`?"
)]
async fn an_unknown_scope_fails_at_once_with_a_suggestion() {
    let issuer = TestIssuer::new(SCOPES);
    let _ = issuer.token().scopes(["write:report"]);
}

#[actix_web::test]
#[should_panic(expected = "the catalog given to TestIssuer::new is empty")]
async fn an_empty_catalog_grants_no_scope() {
    let _ = TestIssuer::new(&[]).token().scopes(["read:reports"]);
}

#[actix_web::test]
#[should_panic(
    expected = "scope `write:report` is not in the scope catalog given to TestIssuer::new; did you mean `write:reports`?"
)]
async fn an_unknown_scope_in_another_claim_fails_too() {
    let _ = TestIssuer::new(SCOPES)
        .token()
        .scopes_in("permissions", ["write:report"]);
}

#[actix_web::test]
#[should_panic(expected = "the catalog given to TestIssuer::new is empty")]
async fn an_empty_catalog_grants_no_scope_in_another_claim_either() {
    let _ = TestIssuer::new(&[])
        .token()
        .scopes_in("scp", ["read:reports"]);
}

#[actix_web::test]
#[should_panic(
    expected = "assert_insufficient_scope: expected a 403 bearer challenge with error=\"insufficient_scope\" and scope \"write:reports\", got 201 Created with no WWW-Authenticate and no problem+json body — not an authentication rejection"
)]
async fn an_assertion_on_a_response_that_is_no_rejection_says_so() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let writer = issuer.token().scopes(["write:reports"]).sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&writer)
        .to_request();
    assert_insufficient_scope(test::call_service(&app, req).await, "write:reports");
}

#[actix_web::test]
#[should_panic(
    expected = "error:\n    - expected: \"insufficient_scope\"\n    + actual:   \"invalid_token\""
)]
async fn an_assertion_on_another_rejection_lists_what_differs() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).configure(routes)).await;
    let expired = issuer.token().scopes(["read:reports"]).expired().sign();
    let req = test::TestRequest::post()
        .uri("/reports")
        .bearer(&expired)
        .to_request();
    assert_insufficient_scope(test::call_service(&app, req).await, "write:reports");
}

// A token builder used without an issuer cannot be written: `TokenBuilder` has no public
// constructor, `TestIssuer::token` is the only way to one (a compile error, not a test).

/// The caller's `jti`, for the revocation test below.
#[requires(scope = "read:reports")]
#[get("/whoami")]
async fn whoami(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.token().token_id().unwrap_or("").to_owned())
}

// A user adding revocation to a service tested with the kit: kit tokens carry a `jti` of
// their own (RFC 9068 §2.2), so they pass a check by `jti`, and revoking one refuses it alone.
#[actix_web::test]
async fn kit_tokens_carry_their_own_jti_which_revocation_can_name() {
    let issuer = TestIssuer::new(SCOPES);
    let revoked = endpoint_auth::revocation::MemoryRevocationList::new();
    let config = issuer
        .config()
        .revocation_check(revoked.clone())
        .build()
        .unwrap();
    let app = test::init_service(App::new().wrap(config).service(whoami)).await;
    let first = issuer.token().scopes(["read:reports"]).sign();
    let second = issuer.token().scopes(["read:reports"]).sign();
    assert_ne!(first, second, "two tokens built alike still differ");

    let jti_of = |token| test::TestRequest::get().uri("/whoami").bearer(token);
    let a = test::call_and_read_body(&app, jti_of(&first).to_request()).await;
    let b = test::call_and_read_body(&app, jti_of(&second).to_request()).await;
    let (a, b) = (
        String::from_utf8(a.to_vec()).unwrap(),
        String::from_utf8(b.to_vec()).unwrap(),
    );
    assert_eq!(a.len(), 32, "128 random bits, hex: {a:?}");
    assert_ne!(a, b);

    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    revoked.revoke(&a, exp);
    let refused = test::call_service(&app, jti_of(&first).to_request()).await;
    let challenge = assert_invalid_token(refused);
    assert!(challenge
        .param("error_description")
        .unwrap()
        .contains("revoked"));
    let served = test::call_service(&app, jti_of(&second).to_request()).await;
    assert_eq!(served.status(), 200);

    // Dropped on request: then a check by `jti` refuses the token.
    let without = issuer
        .token()
        .scopes(["read:reports"])
        .without_claim("jti")
        .sign();
    let challenge =
        assert_invalid_token(test::call_service(&app, jti_of(&without).to_request()).await);
    assert!(challenge
        .param("error_description")
        .unwrap()
        .contains("no jti claim"));
}

#[requires(scope = "read:reports", acr = "urn:example:mfa", max_age = 600)]
#[get("/exports")]
async fn exports() -> HttpResponse {
    HttpResponse::Ok().body("exports")
}

// Step-up (RFC 9470) as a user tests it: the builder's `acr` and `authenticated_ago`.
#[actix_web::test]
async fn step_up_tokens_are_built_with_acr_and_auth_time() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(App::new().wrap(issuer.auth_config()).service(exports)).await;
    let call = |token: &endpoint_auth::testing::TestToken| {
        test::TestRequest::get()
            .uri("/exports")
            .bearer(token)
            .to_request()
    };
    let ten_minutes = std::time::Duration::from_secs(600);
    let recent_mfa = issuer
        .token()
        .scopes(["read:reports"])
        .acr("urn:example:mfa")
        .authenticated_ago(std::time::Duration::from_secs(60))
        .sign();
    assert_eq!(
        test::call_service(&app, call(&recent_mfa)).await.status(),
        200
    );

    let password_only = issuer
        .token()
        .scopes(["read:reports"])
        .acr("urn:example:pwd")
        .authenticated_ago(std::time::Duration::from_secs(60))
        .sign();
    let stale_mfa = issuer
        .token()
        .scopes(["read:reports"])
        .acr("urn:example:mfa")
        .authenticated_ago(ten_minutes * 2)
        .sign();
    for token in [&password_only, &stale_mfa] {
        let resp = test::call_service(&app, call(token)).await;
        assert_insufficient_user_authentication(resp, Some("urn:example:mfa"), Some(600));
    }
}
