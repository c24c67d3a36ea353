//! The order of `#[requires]` / `#[public]` and the route attributes does not change the
//! OpenAPI document (issue 23): a handler is matched to its operation by method and path
//! whether the attribute stands above `#[get]` (it sees the route) or below it (the route
//! attribute expanded first; the route is read from the source), with or without a utoipa
//! `operation_id` that differs from the function's name.
//!
//! Two modules declare the same three handlers, one with our attributes above the route
//! attributes and one below; their documents must be the same but for the path prefix and
//! the operation ids.

use endpoint_auth::openapi::{protected_handlers, public_handlers, SecurityDoc};
use serde_json::Value;
use utoipa::OpenApi as _;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and change reports",
}

mod above {
    use actix_web::{get, post, web, HttpResponse};
    use endpoint_auth::{public, requires};

    #[utoipa::path(get, path = "/above/reports", responses((status = 200, description = "ok")))]
    #[requires(scope = "read:reports")]
    #[get("/above/reports")]
    pub async fn list() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(
        post,
        path = "/above/reports/{id}",
        operation_id = "aboveUpdate",
        params(("id" = u32, Path)),
        responses((status = 200, description = "ok"))
    )]
    #[requires(any(
        scope = "write:reports",
        all(scope = "read:reports", scope = "write:reports")
    ))]
    #[post("/above/reports/{id}")]
    pub async fn update(_id: web::Path<u32>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(
        get,
        path = "/above/health",
        operation_id = "aboveHealth",
        responses((status = 200, description = "ok"))
    )]
    #[public(reason = "probe")]
    #[get("/above/health")]
    pub async fn health() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list, update, health))]
    pub struct Doc;
}

mod below {
    use actix_web::{get, post, web, HttpResponse};
    use endpoint_auth::{public, requires};

    #[utoipa::path(get, path = "/below/reports", responses((status = 200, description = "ok")))]
    #[get("/below/reports")]
    #[requires(scope = "read:reports")]
    pub async fn list() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(
        post,
        path = "/below/reports/{id}",
        operation_id = "belowUpdate",
        params(("id" = u32, Path)),
        responses((status = 200, description = "ok"))
    )]
    #[post("/below/reports/{id}")]
    #[requires(any(
        scope = "write:reports",
        all(scope = "read:reports", scope = "write:reports")
    ))]
    pub async fn update(_id: web::Path<u32>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[utoipa::path(
        get,
        path = "/below/health",
        operation_id = "belowHealth",
        responses((status = 200, description = "ok"))
    )]
    #[get("/below/health")]
    #[public(reason = "probe")]
    pub async fn health() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list, update, health))]
    pub struct Doc;
}

fn security() -> SecurityDoc {
    SecurityDoc::new(SCOPES).client_credentials("https://idp.test/token")
}

/// The document with the module's prefix and operation-id prefix made neutral.
fn neutral(doc: &Value, module: &str) -> String {
    let upper = format!("{}{}", module[..1].to_uppercase(), &module[1..]);
    serde_json::to_string_pretty(doc)
        .unwrap()
        .replace(&format!("/{module}/"), "/MODULE/")
        .replace(&format!("\"{module}"), "\"module")
        .replace(&upper, "Module")
}

#[test]
fn the_registry_has_the_route_in_either_order() {
    let routes = |module: &str| -> Vec<(String, Vec<&str>, Option<&str>)> {
        let protected = protected_handlers()
            .into_iter()
            .filter(|h| h.module().ends_with(module))
            .map(|h| (h.handler().to_owned(), h.methods().to_vec(), h.path()));
        let public = public_handlers()
            .into_iter()
            .filter(|h| h.module().ends_with(module))
            .map(|h| (h.handler().to_owned(), h.methods().to_vec(), h.path()));
        protected.chain(public).collect()
    };
    assert_eq!(
        routes("above"),
        vec![
            ("list".into(), vec!["GET"], Some("/above/reports")),
            ("update".into(), vec!["POST"], Some("/above/reports/{id}")),
            ("health".into(), vec!["GET"], Some("/above/health")),
        ]
    );
    assert_eq!(
        routes("below"),
        vec![
            ("list".into(), vec!["GET"], Some("/below/reports")),
            ("update".into(), vec!["POST"], Some("/below/reports/{id}")),
            ("health".into(), vec!["GET"], Some("/below/health")),
        ]
    );
}

#[test]
fn utoipa_documents_are_the_same_in_either_order() {
    let (above, applied_above) = security().apply_utoipa(above::Doc::openapi()).unwrap();
    let (below, applied_below) = security().apply_utoipa(below::Doc::openapi()).unwrap();
    let above = serde_json::to_value(above).unwrap();
    let below = serde_json::to_value(below).unwrap();

    // Each operation matched its own handler, whatever the operation id.
    assert_eq!(
        applied_above.secured,
        ["GET /above/reports", "POST /above/reports/{id}"]
    );
    assert_eq!(
        applied_below.secured,
        ["GET /below/reports", "POST /below/reports/{id}"]
    );
    assert_eq!(applied_above.public, ["GET /above/health"]);
    assert_eq!(applied_below.public, ["GET /below/health"]);
    assert!(applied_above.unenforced.is_empty(), "{applied_above:?}");
    assert!(applied_below.unenforced.is_empty(), "{applied_below:?}");
    // What each document leaves out is exactly the other module's handlers.
    let others = |module: &str| -> Vec<String> {
        ["list", "update"]
            .iter()
            .map(|h| format!("openapi_order::{module}::{h}"))
            .collect()
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(applied_above.undocumented), sorted(others("below")));
    assert_eq!(sorted(applied_below.undocumented), sorted(others("above")));
    assert_eq!(
        applied_above.undocumented_public,
        ["openapi_order::below::health"]
    );
    assert_eq!(
        applied_below.undocumented_public,
        ["openapi_order::above::health"]
    );

    assert_eq!(
        above["paths"]["/above/reports/{id}"]["post"]["security"],
        serde_json::json!([{ "oauth2": ["write:reports"] }, { "oauth2": ["read:reports", "write:reports"] }])
    );
    assert_eq!(
        above["paths"]["/above/health"]["get"]["security"],
        serde_json::json!([])
    );
    assert_eq!(neutral(&above, "above"), neutral(&below, "below"));
}

#[test]
fn the_generated_document_is_the_same_in_either_order() {
    let doc = security().document("order", "1");
    let paths = doc["paths"].as_object().unwrap();
    for module in ["above", "below"] {
        for path in ["reports", "reports/{id}", "health"] {
            assert!(
                paths.contains_key(&format!("/{module}/{path}")),
                "/{module}/{path} missing from {:?}",
                paths.keys().collect::<Vec<_>>()
            );
        }
    }
    let part = |module: &str| -> Value {
        let mut only = serde_json::Map::new();
        for (path, item) in paths {
            if path.starts_with(&format!("/{module}/")) {
                only.insert(path.clone(), item.clone());
            }
        }
        Value::Object(only)
    };
    assert_eq!(
        neutral(&part("above"), "above"),
        neutral(&part("below"), "below")
    );
}
