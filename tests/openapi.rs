//! OpenAPI security and RFC 9728 metadata from the same declarations that enforce them
//! (issue 6).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use actix_web::{get, web, HttpResponse};
use common::example::start;
use common::*;
use endpoint_auth::metadata::ResourceMetadata;
use endpoint_auth::openapi::{protected_handlers, SecurityDoc};
use endpoint_auth::{public, requires};
use serde_json::{json, Value};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "export:reports" => "Export reports",
}

// Both orders of #[requires] and #[utoipa::path], and a handler registered by hand.
#[requires(scope = "read:reports")]
#[utoipa::path(get, path = "/a", responses((status = 200, description = "ok")))]
#[get("/a")]
async fn requires_above_utoipa() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[utoipa::path(get, path = "/b/{id}", params(("id" = u32, Path)), responses((status = 200, description = "ok")))]
#[requires(any(
    scope = "read:reports",
    all(scope = "export:reports", scope = "read:reports")
))]
#[get("/b/{id:\\d+}")]
async fn requires_below_utoipa(_id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Registered with `.route(...)`: no actix route attribute; utoipa's attribute expanded
/// before ours, and `#[requires]` reads its method and path from the source.
#[utoipa::path(get, path = "/c", responses((status = 200, description = "ok")))]
#[requires(authenticated)]
async fn registered_by_hand() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Protected, but left out of the document on purpose.
#[requires(scope = "export:reports")]
async fn left_out() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Open on purpose: documented with `security: []`, whatever the document's default.
#[public(reason = "load balancer probe")]
#[utoipa::path(get, path = "/health", responses((status = 200, description = "ok")))]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    requires_above_utoipa,
    requires_below_utoipa,
    registered_by_hand,
    health
))]
struct Doc;

fn oas_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("openapi/oas-3.1-schema-2022-10-07.json")).unwrap();
    jsonschema::validator_for(&schema).expect("the official schema compiles")
}

fn assert_valid_openapi(doc: &Value) {
    let validator = oas_validator();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document: {errors:#?}\n{doc:#}"
    );
}

/// Whether an operation's security has the empty alternative `{}`: a token is optional.
fn optional_security(op: &Value) -> bool {
    op.get("security")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        })
}

/// Scope sets of an operation's security alternatives that ask for a token (the empty one of
/// optional security left out); `None` when it has no security.
fn alternatives(op: &Value, scheme: &str) -> Option<Vec<Vec<String>>> {
    let security = op.get("security")?.as_array()?;
    // `security: []`: explicitly open (#[public]).
    if security.is_empty() {
        return None;
    }
    Some(
        security
            .iter()
            .filter(|req| !req.as_object().is_some_and(|o| o.is_empty()))
            .map(|req| {
                req[scheme]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            })
            .collect(),
    )
}

#[test]
fn declarations_become_dnf_security_in_either_attribute_order() {
    use utoipa::OpenApi as _;
    let (doc, applied) = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .apply_utoipa(Doc::openapi())
        .unwrap();
    let doc = serde_json::to_value(doc).unwrap();
    assert_eq!(
        alternatives(&doc["paths"]["/a"]["get"], "oauth2"),
        Some(vec![vec!["read:reports".to_owned()]])
    );
    assert_eq!(
        alternatives(&doc["paths"]["/b/{id}"]["get"], "oauth2"),
        Some(vec![
            vec!["read:reports".to_owned()],
            vec!["export:reports".to_owned(), "read:reports".to_owned()]
        ])
    );
    assert_eq!(
        alternatives(&doc["paths"]["/c"]["get"], "oauth2"),
        Some(vec![vec![]])
    );
    for path in ["/a", "/b/{id}", "/c"] {
        let responses = &doc["paths"][path]["get"]["responses"];
        for status in ["400", "401"] {
            assert!(
                responses[status]["headers"]["WWW-Authenticate"].is_object(),
                "{path} {status}"
            );
        }
        if path == "/c" {
            // `authenticated`: any valid token will do, so there is no 403 to document.
            assert!(responses.get("403").is_none(), "{path}: {responses}");
            continue;
        }
        // Scopes only: the 403 names a scope set that would satisfy the operation.
        let example = &responses["403"]["headers"]["WWW-Authenticate"]["schema"]["examples"][0];
        assert!(
            example.as_str().unwrap().contains("scope=\""),
            "{path}: {example}"
        );
    }
    // Drift is reported both ways.
    assert_eq!(
        applied.undocumented,
        vec![
            "openapi::left_out".to_owned(),
            "openapi::protected_here".to_owned()
        ]
    );
    assert!(applied.unenforced.is_empty());
    // The #[public] handler's operation is explicitly open.
    assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
    assert_eq!(applied.public, vec!["GET /health".to_owned()]);
    let scopes =
        &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"];
    assert_eq!(
        scopes,
        &json!({"read:reports": "Read reports", "export:reports": "Export reports"})
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"],
        "JWT"
    );
    assert_valid_openapi(&doc);

    // A document that claims security for an operation nothing enforces.
    let mut claims = json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/z": {"get": {"operationId": "nobody", "security": [{"oauth2": ["read:reports"]}], "responses": {}}}}
    });
    let applied = SecurityDoc::new(SCOPES).apply(&mut claims);
    assert_eq!(applied.unenforced, vec!["GET /z".to_owned()]);
    assert!(applied.replaced_schemes.is_empty(), "{applied:?}");

    // Hand-written security that drifted from the declaration: replaced by what is enforced,
    // and reported; one that says what is enforced is not.
    let mut drifted = json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {"get": {"security": [{"oauth2": ["export:reports"]}], "responses": {}}},
            "/b/{id}": {"get": {"security": [{"oauth2": ["read:reports"]}, {"oauth2": ["export:reports", "read:reports"]}], "responses": {}}}
        }
    });
    let applied = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .apply(&mut drifted);
    assert_eq!(applied.rewritten, vec!["GET /a".to_owned()], "{applied:?}");
    assert_eq!(
        alternatives(&drifted["paths"]["/a"]["get"], "oauth2"),
        Some(vec![vec!["read:reports".to_owned()]])
    );
}

#[test]
fn a_scheme_of_the_document_that_ours_replace_is_reported() {
    let security = SecurityDoc::new(SCOPES).client_credentials("https://issuer.test/token");
    let mut doc = json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"implicit": {
                "authorizationUrl": "https://elsewhere.test/authorize", "scopes": {}}}},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}
        }}
    });
    let applied = security.apply(&mut doc);
    assert_eq!(applied.replaced_schemes, vec!["oauth2".to_owned()]);
    let schemes = &doc["components"]["securitySchemes"];
    assert!(schemes["oauth2"]["flows"]["clientCredentials"].is_object());
    assert_eq!(schemes["apiKey"]["name"], "X-Key", "not ours: left alone");
    // Applying again replaces nothing: the schemes are ours already.
    assert!(security.apply(&mut doc).replaced_schemes.is_empty());
}

#[test]
fn the_registry_knows_every_protected_handler_with_its_route_when_written() {
    let names: Vec<(&str, Option<&str>)> = protected_handlers()
        .iter()
        .map(|h| (h.handler(), h.path()))
        .collect();
    assert!(
        names.contains(&("requires_above_utoipa", Some("/a"))),
        "{names:?}"
    );
    assert!(
        names.contains(&("requires_below_utoipa", Some("/b/{id:\\d+}"))),
        "{names:?}"
    );
    assert!(
        names.contains(&("registered_by_hand", Some("/c"))),
        "{names:?}"
    );
    assert!(names.contains(&("left_out", None)), "{names:?}");
}

/// `#[public]` changes nothing at run time: the handler answers without a token, behind the
/// same middleware as protected ones; the registry knows it with its reason.
#[actix_web::test]
async fn a_public_handler_answers_without_a_token_and_is_registered_with_its_reason() {
    use actix_web::test;
    let app = test::init_service(
        actix_web::App::new()
            .wrap(builder().build().unwrap())
            .service(health)
            .service(requires_above_utoipa),
    )
    .await;
    let open = test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(open.status(), 200);
    let closed = test::call_service(&app, test::TestRequest::get().uri("/a").to_request()).await;
    assert_eq!(closed.status(), 401);
    let registered: Vec<_> = endpoint_auth::openapi::public_handlers()
        .iter()
        .map(|h| (h.handler(), h.path(), h.reason()))
        .collect();
    assert_eq!(
        registered,
        vec![("health", Some("/health"), Some("load balancer probe"))]
    );
}

#[test]
fn services_without_utoipa_get_a_document_from_the_registry() {
    let doc = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .document("svc", "1.0");
    assert_eq!(
        alternatives(&doc["paths"]["/a"]["get"], "oauth2"),
        Some(vec![vec!["read:reports".to_owned()]])
    );
    assert!(doc["paths"]["/b/{id}"]["get"]["security"].is_array());
    assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
    assert_valid_openapi(&doc);
    // Without any OAuth 2.0 flow the bearer scheme carries the scopes as role names.
    let doc = SecurityDoc::new(SCOPES).document("svc", "1.0");
    assert!(doc["components"]["securitySchemes"].get("oauth2").is_none());
    assert_eq!(
        alternatives(&doc["paths"]["/a"]["get"], "bearerAuth"),
        Some(vec![vec!["read:reports".to_owned()]])
    );
    // ...and, with no OAuth 2.0 scheme to hold the catalog, lists what each scope means.
    let described = doc["components"]["securitySchemes"]["bearerAuth"]["description"]
        .as_str()
        .unwrap();
    for line in [
        "- `read:reports`: Read reports",
        "- `export:reports`: Export reports",
    ] {
        assert!(described.contains(line), "{described}");
    }
    assert_valid_openapi(&doc);
}

// ---- reports_api: the document drives the service ------------------------------------

fn token_via_documented_flow(addr: SocketAddr, doc: &Value, scopes: &[String]) -> String {
    token_via_documented_flow_with(addr, doc, scopes, None)
}

/// As `token_via_documented_flow`, asking for an RFC 9470 authentication context as a client
/// does after a step-up challenge (or after reading the operation's `x-step-up`).
fn token_via_documented_flow_with(
    addr: SocketAddr,
    doc: &Value,
    scopes: &[String],
    acr_values: Option<&str>,
) -> String {
    let url = doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
        ["tokenUrl"]
        .as_str()
        .expect("reports_api documents a client-credentials flow");
    let path = url
        .strip_prefix(&format!("http://{addr}"))
        .expect("token endpoint on the service");
    let mut body = format!("grant_type=client_credentials&scope={}", scopes.join("+"));
    if let Some(acr) = acr_values {
        body.push_str(&format!("&acr_values={acr}"));
    }
    let r = request(
        addr,
        "POST",
        path,
        &["Content-Type: application/x-www-form-urlencoded"],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> Response {
    let auth = token.map(bearer);
    let mut headers = vec!["Content-Type: application/json"];
    if let Some(a) = &auth {
        headers.push(a);
    }
    let body: &[u8] = if method == "POST" {
        br#"{"title":"drift"}"#
    } else {
        b""
    };
    request(addr, method, path, &headers, body)
}

#[test]
fn reports_api_document_and_enforcement_never_drift() {
    let svc = start(&[]); // the example refuses to start if its registry and document disagree
    let doc = get(svc.addr, "/openapi.json", &[]).json();
    assert_valid_openapi(&doc);
    let (mut visited, mut optional) = (0, 0);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_ascii_uppercase();
            let url = path.replace("{id}", "1");
            let anonymous = call(svc.addr, &method, &url, None);
            if optional_security(op) {
                // Optional authentication: open to anonymous callers, and to every documented
                // alternative's token.
                optional += 1;
                assert_eq!(
                    anonymous.status, 200,
                    "{method} {path} is documented as optional"
                );
                for alt in alternatives(op, "oauth2").unwrap() {
                    let token = token_via_documented_flow(svc.addr, &doc, &alt);
                    let r = call(svc.addr, &method, &url, Some(&token));
                    assert_eq!(r.status, 200, "{method} {path} with {alt:?}");
                }
                let r = call(svc.addr, &method, &url, Some("not-a-jwt"));
                assert_eq!(r.status, 401, "{method} {path}: a bad token is refused");
                continue;
            }
            let Some(alts) = alternatives(op, "oauth2") else {
                assert!(
                    ![401, 403].contains(&anonymous.status),
                    "{method} {path} is protected but undocumented"
                );
                continue;
            };
            visited += 1;
            // Limited to a trusted issuer (`x-issuers`) the embedded default does not run (its
            // one issuer is "default"): every token of the documented flow is refused with 403,
            // no scope hint (no scope would help).
            if let Some(issuers) = op.get("x-issuers") {
                assert_eq!(issuers, &json!(["partners"]), "{method} {path}");
                assert_eq!(anonymous.status, 401, "{method} {path}");
                for alt in &alts {
                    let token = token_via_documented_flow(svc.addr, &doc, alt);
                    let r = call(svc.addr, &method, &url, Some(&token));
                    assert_eq!(r.status, 403, "{method} {path} with {alt:?}");
                    assert!(r.json().get("scope").is_none(), "{method} {path}");
                }
                continue;
            }
            assert_eq!(
                anonymous.status, 401,
                "{method} {path} is documented as protected"
            );
            // Claim conditions (`x-claims`: a tenant, a verified email) are the user's; the
            // documented client-credentials flow cannot carry them. reports_api_e2e drives
            // that route with real user tokens.
            if op.get("x-claims").is_some() {
                continue;
            }
            let alt_sets: Vec<BTreeSet<&str>> = alts
                .iter()
                .map(|a| a.iter().map(String::as_str).collect())
                .collect();
            for alt in &alts {
                for missing in alt {
                    let fewer: Vec<String> =
                        alt.iter().filter(|s| *s != missing).cloned().collect();
                    // Holding another alternative in full would be allowed; skip those.
                    let held: BTreeSet<&str> = fewer.iter().map(String::as_str).collect();
                    if alt_sets.iter().any(|a| a.is_subset(&held)) {
                        continue;
                    }
                    let r = call(
                        svc.addr,
                        &method,
                        &url,
                        Some(&token_via_documented_flow(svc.addr, &doc, &fewer)),
                    );
                    assert_eq!(r.status, 403, "{method} {path} with {fewer:?}");
                    let body = r.json();
                    let hint: BTreeSet<&str> = body["scope"].as_str().unwrap().split(' ').collect();
                    assert!(alt_sets.contains(&hint), "{method} {path}: hint {hint:?} is not a documented alternative {alt_sets:?}");
                }
            }
            // An operation that documents a step-up (`x-step-up`) wants the authentication
            // context as well: without it 401 insufficient_user_authentication.
            let acr = op["x-step-up"]["acr_values"][0].as_str();
            for alt in &alts {
                if acr.is_some() {
                    let r = call(
                        svc.addr,
                        &method,
                        &url,
                        Some(&token_via_documented_flow(svc.addr, &doc, alt)),
                    );
                    assert_eq!(r.status, 401, "{method} {path} without step-up");
                    assert_eq!(r.json()["error"], "insufficient_user_authentication");
                }
                let r = call(
                    svc.addr,
                    &method,
                    &url,
                    Some(&token_via_documented_flow_with(svc.addr, &doc, alt, acr)),
                );
                assert!(
                    ![401, 403].contains(&r.status),
                    "{method} {path} with {alt:?}: {}",
                    r.status
                );
            }
        }
    }
    assert_eq!(visited, 8, "the eight protected operations of reports_api");
    assert_eq!(optional, 1, "GET /reports/public, optionally authenticated");
}

/// The security section of reports_api's document, as committed in
/// tests/snapshots/reports_api_security.json (set UPDATE_SNAPSHOTS=1 to rewrite, then review).
#[test]
fn reports_api_security_section_snapshot() {
    let svc = start(&[]);
    let doc = get(svc.addr, "/openapi.json", &[]).json();
    let mut operations = serde_json::Map::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations.insert(
                format!("{} {path}", method.to_ascii_uppercase()),
                op.get("security").cloned().unwrap_or(json!(null)),
            );
        }
    }
    let section = json!({
        "operations": operations,
        "securitySchemes": doc["components"]["securitySchemes"],
    });
    let text = serde_json::to_string_pretty(&section)
        .unwrap()
        .replace(&svc.addr.to_string(), "{addr}")
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/reports_api_security.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 creates it)");
    assert_eq!(text, expected);
}

// ---- RFC 9728 -------------------------------------------------------------------------------

#[requires(authenticated)]
async fn protected_here() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn metadata_routes(cfg: &mut web::ServiceConfig) {
    let tenant = ResourceMetadata::new("https://api.test/tenant-a")
        .authorization_server("https://idp.test/")
        .scopes(SCOPES)
        .name("tenant a")
        .documentation("https://api.test/tenant-a/openapi.json");
    let root = ResourceMetadata::new("https://api.test")
        .authorization_server("https://idp.test/")
        .scopes(SCOPES);
    cfg.service(endpoint_auth::actix::metadata_service(&tenant))
        .service(endpoint_auth::actix::metadata_service(&root))
        .route("/tenant-a/reports", web::get().to(protected_here))
        .route("/c", web::get().to(registered_by_hand))
        .route("/left-out", web::get().to(left_out));
}

#[test]
fn protected_resource_metadata_is_served_at_the_path_aware_well_known_url() {
    let auth = builder()
        .resource_metadata("https://api.test/.well-known/oauth-protected-resource/tenant-a")
        .build()
        .unwrap();
    let s = serve(Some(auth), metadata_routes);
    let r = get(
        s.addr,
        "/.well-known/oauth-protected-resource/tenant-a",
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "resource": "https://api.test/tenant-a",
            "authorization_servers": ["https://idp.test/"],
            "scopes_supported": ["read:reports", "export:reports"],
            "bearer_methods_supported": ["header"],
            "resource_name": "tenant a",
            "resource_documentation": "https://api.test/tenant-a/openapi.json",
        })
    );
    let r = get(s.addr, "/.well-known/oauth-protected-resource", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["resource"], "https://api.test");
    // The 401 challenge points at the document.
    let r = get(s.addr, "/tenant-a/reports", &[]);
    assert_eq!(
        r.challenge(),
        "Bearer realm=\"test-api\", resource_metadata=\"https://api.test/.well-known/oauth-protected-resource/tenant-a\""
    );
}

#[test]
fn reports_api_serves_its_metadata_and_points_401s_at_it() {
    let svc = start(&[]);
    let r = get(svc.addr, "/.well-known/oauth-protected-resource", &[]);
    assert_eq!(r.status, 200);
    let meta = r.json();
    assert_eq!(meta["resource"], format!("http://{}", svc.addr));
    assert_eq!(
        meta["scopes_supported"],
        json!([
            "read:reports",
            "write:reports",
            "admin:reports",
            "export:reports"
        ])
    );
    assert_eq!(meta["bearer_methods_supported"], json!(["header"]));
    let r = get(svc.addr, "/reports", &[]);
    assert!(r.challenge().ends_with(&format!(
        "resource_metadata=\"http://{}/.well-known/oauth-protected-resource\"",
        svc.addr
    )));
}

/// `apply_utoipa` gives the document `apply` gives, flows included: utoipa reads a flow
/// back from JSON without its name and took an authorization-code flow for an implicit one,
/// dropping its required `tokenUrl` (found by a user study: the served document failed the
/// OpenAPI 3.1 schema).
#[test]
fn apply_utoipa_keeps_every_flow_as_apply_writes_it() {
    use utoipa::OpenApi as _;
    let security = || {
        SecurityDoc::new(SCOPES)
            .authorization_code("https://idp.test/authorize", "https://idp.test/token")
            .client_credentials("https://idp.test/token")
    };
    let (doc, _) = security().apply_utoipa(Doc::openapi()).unwrap();
    let from_utoipa = serde_json::to_value(doc).unwrap();
    let mut from_json = serde_json::to_value(Doc::openapi()).unwrap();
    security().apply(&mut from_json);
    let flows = &from_utoipa["components"]["securitySchemes"]["oauth2"]["flows"];
    assert_eq!(
        flows["authorizationCode"]["tokenUrl"], "https://idp.test/token",
        "{flows}"
    );
    assert_eq!(
        from_utoipa["components"]["securitySchemes"],
        from_json["components"]["securitySchemes"]
    );
}
