//! Deny by default (issue 18): with `deny_by_default()`, every route not declared `#[public]`
//! needs a valid token before its handler runs, however it was registered (route macros,
//! `.route`, nested scopes, the default service); `#[requires]` routes keep their own
//! requirement; without the mode, undeclared routes stay open.

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{get, post, test, web, App, HttpResponse};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_unauthorized, TestIssuer, TestRequestExt,
};
use endpoint_auth::{public, requires};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Write reports",
}

endpoint_auth::route_audit!();

/// How many times an undeclared handler of one App ran.
type Runs = web::Data<AtomicUsize>;

#[public(reason = "load balancer probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().body("up")
}

#[public]
#[get("/open")]
async fn open() -> HttpResponse {
    HttpResponse::Ok().body("open")
}

/// The same declaration below the route attribute (it then reads no path or method).
#[get("/ready")]
#[public]
async fn ready() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

/// The second resource of the `/reports` pattern (the map names the first, `reports`).
#[requires(scope = "write:reports")]
#[post("/reports")]
async fn create_report() -> HttpResponse {
    HttpResponse::Created().finish()
}

/// A handler someone added without a declaration.
async fn undeclared(runs: Runs) -> HttpResponse {
    runs.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body("undeclared")
}

#[get("/forgotten")]
async fn forgotten(runs: Runs) -> HttpResponse {
    runs.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body("forgotten")
}

async fn nothing_here(runs: Runs) -> HttpResponse {
    runs.fetch_add(1, Ordering::SeqCst);
    HttpResponse::NotFound().body("nothing here")
}

/// An undeclared form handler: echoes the body it got.
#[post("/notes")]
async fn notes(runs: Runs, body: String) -> HttpResponse {
    runs.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(body)
}

#[public]
#[post("/feedback")]
async fn feedback() -> HttpResponse {
    HttpResponse::Ok().body("thanks")
}

#[requires(scope = "read:reports")]
#[post("/reports/search")]
async fn search() -> HttpResponse {
    HttpResponse::Ok().body("found")
}

/// The routes, in a function the route audit reads (it does not read `macro_rules!` bodies).
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health)
        .service(notes)
        .service(feedback)
        .service(search)
        .service(ready)
        .service(reports)
        .service(create_report)
        .service(forgotten)
        .route("/undeclared", web::get().to(undeclared))
        .service(
            web::scope("/api")
                .service(open)
                .service(web::scope("/v1").route("/x", web::get().to(undeclared))),
        )
        .default_service(web::to(nothing_here));
}

/// The App under test. A function, not written inside the macro: the route audit does not
/// expand macros, and one that registers routes makes it incomplete (it then opens nothing).
fn build_app(
    auth: endpoint_auth::AuthConfig,
    runs: &Runs,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(runs.clone())
        .wrap(auth)
        .configure(routes)
}

macro_rules! app {
    ($auth:expr, $runs:expr) => {
        test::init_service(build_app($auth, &$runs)).await
    };
}

async fn body(resp: actix_web::dev::ServiceResponse) -> String {
    String::from_utf8(test::read_body(resp).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn undeclared_routes_need_a_token_and_their_handlers_never_run_without_one() {
    let issuer = TestIssuer::new(SCOPES);
    let runs = Runs::new(AtomicUsize::new(0));
    let app = app!(issuer.config().deny_by_default().build().unwrap(), runs);
    let get = |path: &str| test::TestRequest::get().uri(path);
    for path in ["/undeclared", "/forgotten", "/api/v1/x", "/nowhere"] {
        assert_unauthorized(test::call_service(&app, get(path).to_request()).await);
        let bad = issuer.token().expired().sign();
        let resp = test::call_service(&app, get(path).bearer(&bad).to_request()).await;
        assert_eq!(resp.status(), 401, "{path} with an expired token");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "an undeclared handler ran without a valid token"
    );
    // A valid token, whatever its scopes, opens them: the mode asks for authentication.
    let token = issuer.token().sign();
    for (path, status, text) in [
        ("/undeclared", 200, "undeclared"),
        ("/forgotten", 200, "forgotten"),
        ("/api/v1/x", 200, "undeclared"),
        ("/nowhere", 404, "nothing here"),
    ] {
        let resp = test::call_service(&app, get(path).bearer(&token).to_request()).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(body(resp).await, text);
    }
}

/// A `#[public]` route attribute's handler is recognised at the App's root by what it
/// declares; under a scope (`/api/open`) only through the route audit, which knows the full
/// path: without it the route needs a token (fail closed, never a guess from a suffix).
#[actix_web::test]
async fn public_routes_stay_open_and_requires_keeps_its_scope_in_deny_mode() {
    let issuer = TestIssuer::new(SCOPES);
    let get = |path: &str| test::TestRequest::get().uri(path);
    let without_audit = app!(
        issuer.config().deny_by_default().build().unwrap(),
        Runs::new(AtomicUsize::new(0))
    );
    let resp = test::call_service(&without_audit, get("/health").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_unauthorized(test::call_service(&without_audit, get("/api/open").to_request()).await);
    let app = app!(
        issuer
            .config()
            .deny_by_default()
            .route_audit(&ROUTE_AUDIT)
            .build()
            .unwrap(),
        Runs::new(AtomicUsize::new(0))
    );
    for (path, text) in [("/health", "up"), ("/api/open", "open")] {
        let resp = test::call_service(&app, get(path).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(body(resp).await, text);
    }
    // A #[public] handler answers the methods it declares only: a POST is not it.
    let resp =
        test::call_service(&app, test::TestRequest::post().uri("/health").to_request()).await;
    assert_unauthorized(resp);
    assert_unauthorized(test::call_service(&app, get("/reports").to_request()).await);
    let reader = issuer.token().scopes(["read:reports"]).sign();
    let nobody = issuer.token().sign();
    let resp = test::call_service(&app, get("/reports").bearer(&nobody).to_request()).await;
    assert_insufficient_scope(resp, "read:reports");
    let resp = test::call_service(&app, get("/reports").bearer(&reader).to_request()).await;
    assert_eq!(resp.status(), 200);
}

#[actix_web::test]
async fn without_the_mode_undeclared_routes_stay_open() {
    let issuer = TestIssuer::new(SCOPES);
    let runs = Runs::new(AtomicUsize::new(0));
    let app = app!(issuer.auth_config(), runs);
    for path in ["/undeclared", "/forgotten", "/api/v1/x", "/health"] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_unauthorized(
        test::call_service(&app, test::TestRequest::get().uri("/reports").to_request()).await,
    );
}

// `test` is actix-web's here: the standard attribute by its full path.
/// Deny-by-default with the form-body method (RFC 6750 §2.2): the middleware reads a form
/// request's body before routing, so it decides from the body's token too. An undeclared
/// route needs a token from header or body; a public one serves without; a `#[requires]` one
/// keeps its scope check; the body reaches the handler whole.
#[actix_web::test]
async fn deny_by_default_with_the_form_body_method() {
    let issuer = TestIssuer::new(SCOPES);
    let runs = Runs::new(AtomicUsize::new(0));
    let config = issuer
        .config()
        .deny_by_default()
        .allow_form_body_token()
        .build()
        .unwrap();
    let app = app!(config, runs);
    let form = |path: &str, body: String| {
        test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    let nobody = issuer.token().sign();
    let reader = issuer.token().scopes(["read:reports"]).sign();
    // Undeclared: no token is 401 and the handler never runs; a bad one is 401 too.
    assert_unauthorized(test::call_service(&app, form("/notes", "text=hi".into())).await);
    let expired = issuer.token().expired().sign();
    let resp = test::call_service(
        &app,
        form("/notes", format!("text=hi&access_token={expired}")),
    )
    .await;
    endpoint_auth::testing::assert_invalid_token(resp);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // A valid token in the body opens it; the handler reads the whole body.
    let resp = test::call_service(
        &app,
        form("/notes", format!("text=hi&access_token={nobody}")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body(resp).await, format!("text=hi&access_token={nobody}"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Public: served without a token.
    let resp = test::call_service(&app, form("/feedback", "text=great".into())).await;
    assert_eq!(resp.status(), 200);
    // Protected: its scope as ever.
    let resp = test::call_service(
        &app,
        form("/reports/search", format!("q=x&access_token={nobody}")),
    )
    .await;
    assert_insufficient_scope(resp, "read:reports");
    let resp = test::call_service(
        &app,
        form("/reports/search", format!("q=x&access_token={reader}")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_unauthorized(test::call_service(&app, form("/reports/search", "q=x".into())).await);
}

/// The RFC 9728 document is how a client learns where to get a token: open in deny mode too.
#[actix_web::test]
async fn the_protected_resource_metadata_stays_open_in_deny_mode() {
    use endpoint_auth::metadata::ResourceMetadata;
    let issuer = TestIssuer::new(SCOPES);
    let meta = ResourceMetadata::new("https://api.test/tenant-a")
        .authorization_server("https://idp.test/")
        .scopes(SCOPES);
    let app = test::init_service(
        App::new()
            .wrap(issuer.config().deny_by_default().build().unwrap())
            .service(endpoint_auth::actix::metadata_service(&meta))
            .route("/tenant-a/reports", web::get().to(HttpResponse::Ok)),
    )
    .await;
    let path = meta.well_known_path();
    let resp = test::call_service(&app, test::TestRequest::get().uri(&path).to_request()).await;
    assert_eq!(resp.status(), 200, "{path}");
    let request = test::TestRequest::get()
        .uri("/tenant-a/reports")
        .to_request();
    assert_unauthorized(test::call_service(&app, request).await);
}

/// With `scope_in_missing_challenge`, the 401 deny mode answers before routing names the
/// route's scope as the extractor's would (RFC 6750 §3); an undeclared route has none to name.
#[actix_web::test]
async fn the_missing_token_challenge_names_the_routes_scope_when_asked_to() {
    let issuer = TestIssuer::new(SCOPES);
    let config = issuer
        .config()
        .deny_by_default()
        .scope_in_missing_challenge()
        .build()
        .unwrap();
    let app = app!(config, Runs::new(AtomicUsize::new(0)));
    let get = |path: &str| test::TestRequest::get().uri(path).to_request();
    let challenge = assert_unauthorized(test::call_service(&app, get("/reports")).await);
    assert_eq!(challenge.param("scope"), Some("read:reports"));
    // The pattern's second route (another method, registered after the first).
    let post = test::TestRequest::post().uri("/reports").to_request();
    let challenge = assert_unauthorized(test::call_service(&app, post).await);
    assert_eq!(challenge.param("scope"), Some("write:reports"));
    let challenge = assert_unauthorized(test::call_service(&app, get("/undeclared")).await);
    assert_eq!(challenge.param("scope"), None);
    // A bad token is invalid_token, with no hint (RFC 6750 §3 gives it to the bare 401).
    let bad = issuer.token().expired().sign();
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/reports")
            .bearer(&bad)
            .to_request(),
    )
    .await;
    let challenge = endpoint_auth::testing::assert_invalid_token(resp);
    assert_eq!(challenge.param("scope"), None);
}

/// A `#[public]` route is open for the methods it declares, whichever side of the route
/// attribute `#[public]` is written on. actix-web's route attributes guard the resource, so a
/// CORS preflight (`OPTIONS`) or a `HEAD` to a public `GET` route is not the public handler's:
/// it falls through to the default service, which needs a token like any undeclared route
/// (a CORS middleware answers preflights when it is registered outside this one).
#[actix_web::test]
async fn other_methods_of_a_public_route_reach_no_undeclared_handler_whatever_the_order() {
    use actix_web::http::Method;
    let issuer = TestIssuer::new(SCOPES);
    let runs = Runs::new(AtomicUsize::new(0));
    let config = issuer
        .config()
        .deny_by_default()
        .route_audit(&ROUTE_AUDIT)
        .build()
        .unwrap();
    let app = app!(config, runs);
    let call = |method: Method, path: &str| {
        test::TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("origin", "https://app.example"))
            .insert_header(("access-control-request-method", "GET"))
            .to_request()
    };
    for path in ["/health", "/ready", "/api/open"] {
        for method in [Method::OPTIONS, Method::HEAD, Method::POST] {
            assert_unauthorized(test::call_service(&app, call(method, path)).await);
        }
        let resp = test::call_service(&app, call(Method::GET, path)).await;
        assert_eq!(resp.status(), 200, "GET {path}");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "the default service ran without a token"
    );
    // With a token, the same requests reach the default service (this App's answers 404).
    let token = issuer.token().sign();
    let resp = test::call_service(
        &app,
        test::TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/health")
            .bearer(&token)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// What an attack pass tried against the before-routing recognition of `#[public]` routes.
/// Each would run an undeclared handler without a token; each must be 401.
mod recognition {
    use super::*;
    use actix_web::http::Method;

    pub mod site {
        use super::*;
        #[public]
        #[get("/status")]
        pub async fn status() -> HttpResponse {
            HttpResponse::Ok().body("site status")
        }
        #[public]
        #[get("/files/{file:.*}")]
        pub async fn files() -> HttpResponse {
            HttpResponse::Ok().body("a public file")
        }
    }

    pub mod admin {
        use super::*;
        /// The same function name as a public handler, another path, no declaration.
        #[get("/admin/status")]
        pub async fn status(runs: Runs) -> HttpResponse {
            runs.fetch_add(1, Ordering::SeqCst);
            HttpResponse::Ok().body("admin status")
        }
        /// Undeclared, under the public catch-all's prefix.
        #[get("/files/secret")]
        pub async fn secret(runs: Runs) -> HttpResponse {
            runs.fetch_add(1, Ordering::SeqCst);
            HttpResponse::Ok().body("secret")
        }
    }

    /// A handler registered by hand, declared public, sharing its resource with an
    /// undeclared one.
    #[public]
    async fn list_items() -> HttpResponse {
        HttpResponse::Ok().body("items")
    }
    async fn create_item(runs: Runs) -> HttpResponse {
        runs.fetch_add(1, Ordering::SeqCst);
        HttpResponse::Created().body("created")
    }

    #[actix_web::test]
    async fn lookalike_routes_never_borrow_a_public_routes_openness() {
        let issuer = TestIssuer::new(SCOPES);
        let runs = Runs::new(AtomicUsize::new(0));
        let app = test::init_service(
            App::new()
                .app_data(runs.clone())
                .wrap(issuer.config().deny_by_default().build().unwrap())
                .service(site::status)
                .service(admin::status)
                .service(admin::secret)
                .service(site::files)
                .service(
                    web::resource("/items")
                        .name("list_items")
                        .route(web::get().to(list_items))
                        .route(web::post().to(create_item)),
                ),
        )
        .await;
        let call = |method: Method, path: &str| {
            test::TestRequest::default()
                .method(method)
                .uri(path)
                .to_request()
        };
        // The public routes themselves serve.
        for (path, body) in [
            ("/status", "site status"),
            ("/files/a.txt", "a public file"),
        ] {
            let resp = test::call_service(&app, call(Method::GET, path)).await;
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(super::body(resp).await, body);
        }
        // A same-named function elsewhere; a percent-encoded path that only the public
        // catch-all matches before decoding; another method of a hand-registered resource.
        for (method, path) in [
            (Method::GET, "/admin/status"),
            (Method::GET, "/files/secret"),
            (Method::GET, "/files/%73ecret"),
            (Method::GET, "/%61dmin/status"),
            (Method::POST, "/items"),
        ] {
            let resp = test::call_service(&app, call(method.clone(), path)).await;
            assert_unauthorized(resp);
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "an undeclared handler ran without a token"
        );
    }

    /// Methods are case-sensitive (RFC 9110 §9.1), and so are actix-web's guards: `get` is
    /// not the public route's `GET`. Open, it would fall through to the App's default service
    /// (an SPA fallback, static files, a proxy) without a token.
    #[actix_web::test]
    async fn a_method_in_another_case_is_not_the_public_routes_method() {
        let issuer = TestIssuer::new(SCOPES);
        let runs = Runs::new(AtomicUsize::new(0));
        let fallback = |runs: Runs| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            HttpResponse::Ok().body("fallback")
        };
        let app = test::init_service(
            App::new()
                .app_data(runs.clone())
                .wrap(issuer.config().deny_by_default().build().unwrap())
                .service(site::status)
                .service(site::files)
                .default_service(web::to(fallback)),
        )
        .await;
        for path in ["/status", "/files/a.txt"] {
            let resp =
                test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
            assert_eq!(resp.status(), 200, "GET {path}");
            for method in ["get", "Get"] {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let resp = test::call_service(
                    &app,
                    test::TestRequest::default()
                        .method(method.clone())
                        .uri(path)
                        .to_request(),
                )
                .await;
                assert_unauthorized(resp);
            }
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "the fallback ran without a token"
        );

        // The same through the route audit's recognition.
        let runs = Runs::new(AtomicUsize::new(0));
        let audited = app!(
            issuer
                .config()
                .deny_by_default()
                .route_audit(&ROUTE_AUDIT)
                .build()
                .unwrap(),
            runs
        );
        let get = test::TestRequest::get().uri("/health").to_request();
        assert_eq!(test::call_service(&audited, get).await.status(), 200);
        let lower = test::TestRequest::default()
            .method(Method::from_bytes(b"get").unwrap())
            .uri("/health")
            .to_request();
        assert_unauthorized(test::call_service(&audited, lower).await);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "the default service ran without a token"
        );
    }
}

/// Deny-by-default needs the middleware: registered with `app_data` alone nothing would
/// guard the undeclared routes, so the protected routes answer 500 (the log names the fix)
/// and the mistake shows in the first test rather than in production.
#[actix_web::test]
async fn deny_by_default_registered_as_app_data_only_is_refused() {
    let issuer = TestIssuer::new(SCOPES);
    let app = test::init_service(
        App::new()
            .app_data(issuer.config().deny_by_default().build().unwrap())
            .app_data(Runs::new(AtomicUsize::new(0)))
            .configure(routes),
    )
    .await;
    let reader = issuer.token().scopes(["read:reports"]).sign();
    let request = test::TestRequest::get()
        .uri("/reports")
        .bearer(&reader)
        .to_request();
    assert_eq!(test::call_service(&app, request).await.status(), 500);
}
