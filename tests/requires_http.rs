//! `#[requires]` over real HTTP: a real actix-web server on 127.0.0.1, real tokens from the
//! testing kit's issuer (scopes checked against this file's catalog as they are minted).
//! The attribute's extractor runs before the handler's own, so authentication and
//! authorization answer before any path or body is parsed (CONFORMANCE.md, "Order of checks").

mod common;

use actix_web::{delete, get, post, web, HttpResponse};
use std::sync::OnceLock;

use common::{bearer, get, request, serve, TestServer};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_unauthorized, TestIssuer, TestToken,
};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
    "admin" => "Administer the service",
    "audit" => "Read the audit log",
    "reports:delete" => "Delete reports",
    "reports:own" => "Act on one's own reports",
    "region:1" => "Region 1", "region:2" => "Region 2", "region:3" => "Region 3",
    "region:4" => "Region 4", "region:5" => "Region 5", "region:6" => "Region 6",
    "region:7" => "Region 7", "region:8" => "Region 8", "region:9" => "Region 9",
}

#[derive(serde::Deserialize)]
struct NewReport {
    title: String,
}

#[requires(scope = "write:reports")]
#[post("/above")]
async fn create_above(report: web::Json<NewReport>) -> HttpResponse {
    HttpResponse::Created().body(report.into_inner().title)
}

#[post("/below")]
#[requires(scope = "write:reports")]
async fn create_below(report: web::Json<NewReport>) -> HttpResponse {
    HttpResponse::Created().body(report.into_inner().title)
}

#[requires(scope = "write:reports")]
async fn create_manual(report: web::Json<NewReport>) -> HttpResponse {
    HttpResponse::Created().body(report.into_inner().title)
}

#[get("/reports/{id}")]
#[requires(scope = "read:reports")]
async fn get_report(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.into_inner().to_string())
}

#[delete("/reports/{id}")]
#[requires(any(
    all(scope = "admin", scope = "audit"),
    all(scope = "reports:delete", scope = "reports:own")
))]
async fn delete_report(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.into_inner().to_string())
}

// Nine members: longer than the shared combinator types take, so it gets a type of its own.
#[get("/regions")]
#[requires(all(
    scope = "region:1",
    scope = "region:2",
    scope = "region:3",
    scope = "region:4",
    scope = "region:5",
    scope = "region:6",
    scope = "region:7",
    scope = "region:8",
    scope = "region:9"
))]
async fn all_regions() -> HttpResponse {
    HttpResponse::Ok().body("regions")
}

#[post("/copy")]
#[requires(all(scope = "read:reports", scope = "write:reports"))]
async fn copy_report() -> HttpResponse {
    HttpResponse::Ok().finish()
}

// actix's `#[route]` with several methods, in both orders.
#[requires(scope = "write:reports")]
#[actix_web::route("/routed-above", method = "PUT", method = "PATCH")]
async fn routed_above(body: web::Json<NewReport>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().title)
}

#[actix_web::route("/routed-below", method = "PUT", method = "PATCH")]
#[requires(scope = "write:reports")]
async fn routed_below(body: web::Json<NewReport>) -> HttpResponse {
    HttpResponse::Ok().body(body.into_inner().title)
}

#[get("/me")]
#[requires(scope = "read:reports")]
async fn me(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.subject().unwrap_or("?").to_owned())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_above)
        .service(create_below)
        .service(web::resource("/manual").route(web::post().to(create_manual)))
        .service(get_report)
        .service(delete_report)
        .service(copy_report)
        .service(all_regions)
        .service(routed_above)
        .service(routed_below)
        .service(me);
}

/// One issuer for the binary: every test's server trusts it.
fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES))
}

/// A token of user-1 with these space-separated scopes, each declared in `SCOPES`.
fn token(scopes: &str) -> TestToken {
    issuer()
        .token()
        .scopes(scopes.split(' '))
        .subject("user-1")
        .sign()
}

fn server() -> TestServer {
    serve(Some(issuer().auth_config()), routes)
}

const JSON: &str = "Content-Type: application/json";
const BROKEN_JSON: &[u8] = b"{\"title\": ";

fn insufficient(scope: &str) -> String {
    format!(
        "Bearer realm=\"test-api\", error=\"insufficient_scope\", \
         error_description=\"the access token does not grant the scope this endpoint requires\", \
         scope=\"{scope}\""
    )
}

#[test]
fn anonymous_post_with_broken_json_is_401() {
    let server = server();
    for path in ["/above", "/below", "/manual"] {
        let res = request(server.addr, "POST", path, &[JSON], BROKEN_JSON);
        assert_eq!(res.status, 401, "{path}: {}", res.text());
        assert_eq!(res.challenge(), "Bearer realm=\"test-api\"", "{path}");
        assert_unauthorized(res.raw());
    }
}

#[test]
fn anonymous_get_with_unparsable_path_is_401() {
    let server = server();
    let res = get(server.addr, "/reports/not-a-number", &[]);
    assert_eq!(res.status, 401, "{}", res.text());
    assert_eq!(res.challenge(), "Bearer realm=\"test-api\"");
}

#[test]
fn token_without_scope_posting_broken_json_is_403() {
    let server = server();
    let auth = bearer(&token("read:reports"));
    for path in ["/above", "/below", "/manual"] {
        let res = request(server.addr, "POST", path, &[&auth, JSON], BROKEN_JSON);
        assert_eq!(res.status, 403, "{path}: {}", res.text());
        assert_eq!(res.challenge(), insufficient("write:reports"), "{path}");
        assert_insufficient_scope(res.raw(), "write:reports");
    }
}

#[test]
fn both_attribute_orders_and_manual_routes_let_the_scope_through() {
    let server = server();
    let auth = bearer(&token("read:reports write:reports"));
    for path in ["/above", "/below", "/manual"] {
        let res = request(
            server.addr,
            "POST",
            path,
            &[&auth, JSON],
            b"{\"title\": \"Q3\"}",
        );
        assert_eq!(res.status, 201, "{path}: {}", res.text());
        assert_eq!(res.text(), "Q3");
        // With the scope, the body is the handler's business again.
        let res = request(server.addr, "POST", path, &[&auth, JSON], BROKEN_JSON);
        assert_eq!(res.status, 400, "{path}: {}", res.text());
    }
}

#[test]
fn path_is_parsed_only_after_authorization() {
    let server = server();
    let auth = bearer(&token("read:reports"));
    assert_eq!(get(server.addr, "/reports/7", &[&auth]).text(), "7");
    assert_eq!(
        get(server.addr, "/reports/not-a-number", &[&auth]).status,
        404
    );
}

#[test]
fn any_hints_the_alternative_with_fewest_scopes_missing() {
    let server = server();
    let auth = bearer(&token("reports:own"));
    let res = request(server.addr, "DELETE", "/reports/7", &[&auth], b"");
    assert_eq!(res.status, 403);
    assert_eq!(res.challenge(), insufficient("reports:delete reports:own"));
    assert_insufficient_scope(res.raw(), "reports:delete reports:own");
}

#[test]
fn any_breaks_ties_by_declaration_order() {
    let server = server();
    let auth = bearer(&token("read:reports"));
    let res = request(server.addr, "DELETE", "/reports/7", &[&auth], b"");
    assert_eq!(res.status, 403);
    assert_eq!(res.challenge(), insufficient("admin audit"));
}

#[test]
fn nested_any_all_is_satisfied_by_either_alternative() {
    let server = server();
    for scopes in ["admin audit", "reports:delete reports:own"] {
        let auth = bearer(&token(scopes));
        let res = request(server.addr, "DELETE", "/reports/7", &[&auth], b"");
        assert_eq!(res.status, 200, "{scopes}: {}", res.text());
    }
}

#[test]
fn all_hints_every_scope() {
    let server = server();
    let auth = bearer(&token("read:reports"));
    let res = request(server.addr, "POST", "/copy", &[&auth], b"");
    assert_eq!(res.status, 403);
    assert_eq!(res.challenge(), insufficient("read:reports write:reports"));
}

#[test]
fn a_list_of_nine_is_enforced_like_a_short_one() {
    let server = server();
    let all: Vec<String> = (1..=9).map(|i| format!("region:{i}")).collect();
    let res = get(server.addr, "/regions", &[&bearer(&token(&all.join(" ")))]);
    assert_eq!(res.status, 200, "{}", res.text());
    let res = get(
        server.addr,
        "/regions",
        &[&bearer(&token(&all[1..].join(" ")))],
    );
    assert_eq!(res.status, 403);
    assert_eq!(res.challenge(), insufficient(&all.join(" ")));
    assert_eq!(get(server.addr, "/regions", &[]).status, 401);
}

#[test]
fn handler_taking_principal_too_gets_the_caller() {
    let server = server();
    let res = get(server.addr, "/me", &[&bearer(&token("read:reports"))]);
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.text(), "user-1");
    assert_eq!(get(server.addr, "/me", &[]).status, 401);
    assert_eq!(
        get(server.addr, "/me", &[&bearer(&token("write:reports"))]).status,
        403
    );
}

#[test]
fn route_attribute_in_both_orders_enforces_on_every_method() {
    let server = server();
    let writer = bearer(&token("write:reports"));
    let reader = bearer(&token("read:reports"));
    for path in ["/routed-above", "/routed-below"] {
        for method in ["PUT", "PATCH"] {
            let res = request(server.addr, method, path, &[JSON], BROKEN_JSON);
            assert_eq!(res.status, 401, "{method} {path}");
            let res = request(server.addr, method, path, &[&reader, JSON], BROKEN_JSON);
            assert_eq!(
                res.challenge(),
                insufficient("write:reports"),
                "{method} {path}"
            );
            let res = request(
                server.addr,
                method,
                path,
                &[&writer, JSON],
                b"{\"title\": \"Q3\"}",
            );
            assert_eq!(
                (res.status, res.text()),
                (200, "Q3".to_owned()),
                "{method} {path}"
            );
        }
    }
    // Above the route attribute, #[requires] also sees the route for documentation.
    let routed = endpoint_auth::openapi::protected_handlers()
        .into_iter()
        .find(|h| h.handler() == "routed_above")
        .unwrap();
    assert_eq!(
        (routed.methods(), routed.path()),
        (&["PUT", "PATCH"][..], Some("/routed-above"))
    );
}

/// A rejected request whose body was never read ends its connection (`connection: close`):
/// authentication answered before the handler's body extractor ran, so the unread body is
/// still on the wire and the connection cannot carry another request. A request that had no
/// body keeps its connection. Documented in the README ("What clients get").
#[test]
fn a_rejected_request_with_an_unread_body_closes_its_connection() {
    use std::io::{Read, Write};
    let s = server();
    let exchange = |request: &[u8]| {
        let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).unwrap(), 1, "connection ended early");
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    };
    let body = "{\"title\": \"q3\"}";
    let with_body = format!(
        "POST /above HTTP/1.1\r\nHost: x\r\n{JSON}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let head = exchange(with_body.as_bytes());
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    let head = exchange(b"GET /me HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
}
