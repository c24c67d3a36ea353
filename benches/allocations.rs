//! Heap allocations per request, counted by a counting global allocator: the same handler as a
//! public route and behind `#[requires]`, in one App registered with `App::wrap(auth)`, driven
//! through actix-web's service stack (`test::init_service`, the same service a server runs).
//! Requests are built before counting starts; the count covers routing, the middleware, the
//! extractors, the handler and dropping the response.
//!
//! Run: `cargo bench --bench allocations` (bench/load.sh runs it and writes BENCHMARKS.md).
//! Prints a table, then one `alloc <case> <allocations per request>` line per case.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::Service as _;
use actix_web::{get, test, App, HttpResponse};
use endpoint_auth::{requires, Algorithm, AuthConfig, Key};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

/// Counts allocations (and reallocations) while `COUNTING` is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "reports-api";
const REQUESTS: u64 = 2_000;

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test key")
}

fn mint(jti: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some("es256".into());
    header.typ = Some("at+jwt".into());
    let claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600,
        "scope": "openid read:reports", "jti": format!("t{jti}"),
    });
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&key_file("ec256-private.pem")).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn reports() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[get("/public")]
async fn public() -> HttpResponse {
    reports().await
}

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn protected() -> HttpResponse {
    reports().await
}

fn config(cache: bool) -> AuthConfig {
    let key = Key::ec_pem(Algorithm::ES256, &key_file("ec256-public.pem"))
        .unwrap()
        .with_kid("es256");
    let builder = AuthConfig::builder()
        .realm("bench")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(key);
    let builder = if cache {
        builder
    } else {
        builder.token_cache(None)
    };
    builder.build().unwrap()
}

/// Allocations per request for `REQUESTS` requests to `path` with the tokens `token(i)` gives
/// (none: no header), after as many unmeasured ones; `auth: None` serves `/public` from an App
/// without endpoint-auth (the framework's own allocations).
async fn per_request(
    auth: Option<AuthConfig>,
    path: &str,
    token: impl Fn(u64) -> Option<String>,
    status: u16,
) -> f64 {
    macro_rules! measure {
        ($app:expr) => {{
            let app = $app;
            let mut measured = 0;
            for round in 0..2 {
                for i in 0..REQUESTS {
                    let mut req = test::TestRequest::get().uri(path);
                    if let Some(t) = token(round * REQUESTS + i) {
                        req = req.insert_header(("authorization", format!("Bearer {t}")));
                    }
                    let req = req.to_request();
                    let before = ALLOCATIONS.load(Ordering::Relaxed);
                    COUNTING.store(round == 1, Ordering::Relaxed);
                    let res = app.call(req).await.unwrap();
                    assert_eq!(res.status().as_u16(), status, "{path}");
                    drop(res);
                    COUNTING.store(false, Ordering::Relaxed);
                    measured += ALLOCATIONS.load(Ordering::Relaxed) - before;
                }
            }
            measured as f64 / REQUESTS as f64
        }};
    }
    match auth {
        Some(auth) => measure!(
            test::init_service(App::new().wrap(auth).service(public).service(protected)).await
        ),
        None => measure!(test::init_service(App::new().service(public)).await),
    }
}

#[actix_web::main]
async fn main() {
    let token = mint(0);
    let distinct: Vec<String> = (0..2 * REQUESTS as usize).map(|i| mint(i + 1)).collect();
    let same = |_| Some(token.clone());
    let cases: Vec<(&str, &str, f64)> = vec![
        (
            "bare",
            "an App without endpoint-auth, same handler",
            per_request(None, "/public", |_| None, 200).await,
        ),
        (
            "public",
            "public route, no header",
            per_request(Some(config(true)), "/public", |_| None, 200).await,
        ),
        (
            "public-header",
            "public route, with a bearer header",
            per_request(Some(config(true)), "/public", same, 200).await,
        ),
        (
            "cached",
            "#[requires], repeated token (cache hit)",
            per_request(Some(config(true)), "/reports", same, 200).await,
        ),
        (
            "distinct",
            "#[requires], a new token each request (cache on)",
            per_request(
                Some(config(true)),
                "/reports",
                |i| Some(distinct[i as usize].clone()),
                200,
            )
            .await,
        ),
        (
            "nocache",
            "#[requires], token cache off",
            per_request(Some(config(false)), "/reports", same, 200).await,
        ),
        (
            "anonymous",
            "#[requires], no header (401)",
            per_request(Some(config(true)), "/reports", |_| None, 401).await,
        ),
    ];
    println!("| request | allocations per request |");
    println!("|---|---:|");
    for (_, name, n) in &cases {
        println!("| {name} | {n:.1} |");
    }
    for (case, _, n) in &cases {
        println!("alloc {case} {n:.1}");
    }
}
