//! OpenAPI for handlers served under `web::scope`: a route attribute names the path within
//! its scope (`#[get("/reports")]`), the document the full one (`/api/v1/reports`). The
//! handler's declaration still becomes the operation's security, matched by the end of the
//! path when exactly one handler of that method fits, and never when the operation's
//! `operationId` names another handler.

use actix_web::{get, HttpResponse};
use endpoint_auth::openapi::SecurityDoc;
use endpoint_auth::{public, requires};
use serde_json::{json, Value};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "export:reports" => "Export reports",
}

#[requires(scope = "export:reports")]
#[get("/exports")]
async fn list_exports() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[public(reason = "status page")]
#[get("/status")]
async fn status() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn operation(path: &str, operation_id: Option<&str>) -> Value {
    let mut op = json!({ "responses": { "200": { "description": "ok" } } });
    if let Some(id) = operation_id {
        op["operationId"] = json!(id);
    }
    json!({ path: { "get": op } })
}

#[test]
fn a_scoped_handler_is_matched_by_the_end_of_its_path() {
    let mut paths = serde_json::Map::new();
    for (path, id) in [
        ("/api/v1/exports", Some("list_exports")),
        ("/api/v2/exports", None),
        ("/api/v1/status", None),
        // Another handler's operation that happens to end the same way.
        ("/admin/exports", Some("admin_exports")),
    ] {
        paths.extend(operation(path, id).as_object().unwrap().clone());
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "t", "version": "1" },
        "paths": paths,
    });
    let applied = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .apply(&mut doc);
    let security = |path: &str| doc["paths"][path]["get"]["security"].clone();
    assert_eq!(
        security("/api/v1/exports"),
        json!([{ "oauth2": ["export:reports"] }])
    );
    assert_eq!(
        security("/api/v2/exports"),
        json!([{ "oauth2": ["export:reports"] }])
    );
    assert_eq!(security("/api/v1/status"), json!([]));
    assert_eq!(security("/admin/exports"), Value::Null, "{doc:#}");
    assert!(
        applied.undocumented.is_empty(),
        "{:?}",
        applied.undocumented
    );
}

/// The `AuthProblem` schema the document declares holds every rejection body the runtime
/// renders, RFC 9470's step-up answer (`insufficient_user_authentication`, `acr_values`,
/// `max_age`) included.
#[test]
fn every_rejection_body_fits_the_documented_auth_problem_schema() {
    use actix_web::ResponseError as _;
    use endpoint_auth::testing::TestIssuer;
    use endpoint_auth::AuthError;
    let doc = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .document("t", "1");
    let mut schema = doc["components"]["schemas"]["AuthProblem"].clone();
    // Closed, so that a member the schema does not name fails too.
    schema["additionalProperties"] = json!(false);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let config = TestIssuer::new(SCOPES).auth_config();
    let rt = actix_web::rt::System::new();
    for error in [
        AuthError::missing(),
        AuthError::insufficient_scope("read:reports"),
        AuthError::insufficient_user_authentication(&["urn:example:mfa"], Some(300)),
        AuthError::unavailable(5),
        AuthError::revocation_unavailable(5),
        AuthError::check_hidden(),
    ] {
        let response = config.reject(error, None).error_response();
        let bytes = rt
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(problems.is_empty(), "{body}: {problems:?}");
    }
}
