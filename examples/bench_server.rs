//! The server side of bench/load.sh: one handler, protected three ways, so that a load
//! generator can compare them in one run.
//!
//! `bench_server <variant> <addr>` with variant:
//! - `plain`: no protection (the floor);
//! - `requires`: `#[requires(scope = "read:reports")]`, the configuration registered with
//!   `App::wrap` (`requires-nocache`: the same with the token cache off);
//! - `both`: `/public` unprotected and `/reports` behind `#[requires]`, the same handler body
//!   in one App behind `App::wrap(auth)`: what a public route of a protected service pays
//!   (`both-reversed`: the same routes registered in the other order);
//! - `noop` (and `noop-reversed`): `both` with `/reports` taking an extractor that does
//!   nothing instead of `#[requires]`: what actix-web itself charges a handler for one
//!   extractor argument, the part of `both`'s difference that no extractor-based protection
//!   can avoid (bench/load.sh only counts its instructions);
//! - `floor`: the signature check alone, no claims: the `Authorization` header's token, its
//!   signature decoded and checked with the key parsed once (aws-lc-rs), 401 if it fails.
//!   What any protection must spend; `requires` minus `floor` is what we add to it;
//! - `alternative`: what users would otherwise assemble: actix-web-httpauth's bearer
//!   middleware + actix-web-grants' `#[protect]` + `jsonwebtoken::decode` with the same key
//!   and the same validation (iss, aud, exp, nbf, 30 s leeway, RS256).
//!
//! `bench_server mint` prints a token (RS256, the repository's test key) for them all;
//! `bench_server mint N` prints N distinct ones (one per line). `bench_server count <variant>
//! <path> <n>` sends `n` requests with that token through the variant's App in-process (no
//! sockets, no server), for an instruction counter (bench/load.sh runs it under callgrind).

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{get, web, App, FromRequest, HttpRequest, HttpResponse, HttpServer};
use actix_web_grants::authorities::AttachAuthorities;
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use endpoint_auth::{requires, Algorithm, AuthConfig, Key};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "reports-api";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test key")
}

#[get("/reports")]
async fn plain() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn protected() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[get("/public")]
async fn open_route() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

/// An extractor that does nothing and is ready at once.
struct Nothing;

impl FromRequest for Nothing {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;
    fn from_request(_: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(Nothing))
    }
}

#[get("/reports")]
async fn extractor_only(_: Nothing) -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

/// The physical floor of protection: the signature check and nothing else.
struct Floor(aws_lc_rs::signature::ParsedPublicKey);

#[get("/reports")]
async fn floor(req: HttpRequest, key: web::Data<Floor>) -> HttpResponse {
    use base64::Engine as _;
    let signed = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| token.rsplit_once('.'))
        .and_then(|(message, signature)| {
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .ok()?;
            key.0.verify_sig(message.as_bytes(), &signature).ok()
        });
    match signed {
        Some(()) => HttpResponse::Ok().body("[]"),
        None => HttpResponse::Unauthorized().finish(),
    }
}

#[get("/reports")]
#[actix_web_grants::protect("read:reports")]
async fn alternative() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scope: String,
}

struct Alternative {
    key: DecodingKey,
    validation: Validation,
}

async fn alternative_validator(
    req: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let alt = req
        .app_data::<web::Data<Alternative>>()
        .expect("registered")
        .clone();
    match jsonwebtoken::decode::<Claims>(credentials.token(), &alt.key, &alt.validation) {
        Ok(data) => {
            req.attach(
                data.claims
                    .scope
                    .split_ascii_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            );
            Ok(req)
        }
        Err(_) => Err((actix_web::error::ErrorUnauthorized("invalid token"), req)),
    }
}

fn mint(jti: Option<usize>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some("rs256".into());
    header.typ = Some("at+jwt".into());
    let mut claims = serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600,
        "scope": "openid read:reports",
    });
    if let Some(jti) = jti {
        claims["jti"] = format!("t{jti}").into();
    }
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&key_file("rsa-private.pem")).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// `n` distinct tokens, one per line, signed on every core.
fn mint_many(n: usize) {
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let chunks: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t..n).step_by(threads).map(|i| mint(Some(i))).collect()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut out = String::new();
    for token in chunks.iter().flatten() {
        out.push_str(token);
        out.push('\n');
    }
    print!("{out}");
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let variant = args
        .first()
        .map(String::as_str)
        .unwrap_or("requires")
        .to_owned();
    if variant == "mint" {
        match args.get(1).and_then(|n| n.parse().ok()) {
            Some(n) => mint_many(n),
            None => println!("{}", mint(None)),
        }
        return Ok(());
    }
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let workers = std::env::var("WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let public = key_file("rsa-public.pem");
    let cache = variant != "requires-nocache"
        && std::env::var("TOKEN_CACHE")
            .map(|v| v != "off")
            .unwrap_or(true);
    let mut builder = AuthConfig::builder()
        .realm("bench")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(
            Key::rsa_pem(Algorithm::RS256, &public)
                .unwrap()
                .with_kid("rs256"),
        );
    if !cache {
        builder = builder.token_cache(None);
    }
    let auth = builder.build().unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let alt = web::Data::new(Alternative {
        key: DecodingKey::from_rsa_pem(&public).unwrap(),
        validation,
    });
    let floor_key = web::Data::new(Floor(
        aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            DecodingKey::from_rsa_pem(&public)
                .unwrap()
                .try_get_as_bytes()
                .unwrap(),
        )
        .unwrap(),
    ));
    if variant == "count" {
        // `bench_server count <variant> <path> <n>`: n requests through the variant's App in
        // this process (no sockets), for an instruction counter such as callgrind.
        let (app_variant, path) = (args[1].clone(), args[2].clone());
        let n: usize = args[3].parse().expect("a request count");
        let header = format!("Bearer {}", mint(None));
        return actix_web::rt::System::new().block_on(async move {
            use actix_web::dev::Service as _;
            let app = actix_web::test::init_service(
                App::new()
                    .app_data(alt.clone())
                    .app_data(floor_key.clone())
                    .configure(|c| routes(&app_variant, &auth, c)),
            )
            .await;
            for _ in 0..n {
                let req = actix_web::test::TestRequest::get()
                    .uri(&path)
                    .insert_header((header::AUTHORIZATION, header.as_str()))
                    .to_request();
                let res = app.call(req).await.expect("a response");
                assert_eq!(res.status(), 200, "{app_variant} {path}");
            }
            Ok(())
        });
    }
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(alt.clone())
                .app_data(floor_key.clone())
                .configure(|c| routes(&variant, &auth, c))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await
    })
}

/// The variant's routes. `both` registers `/public` first and `/reports` second, `both-reversed`
/// the other way round: actix-web tries an App's routes in order, so the second one pays for
/// one more failed match; bench/load.sh measures both orders so that this cancels out.
fn routes(variant: &str, auth: &AuthConfig, c: &mut web::ServiceConfig) {
    match variant {
        "plain" => c.service(web::scope("").service(plain)),
        "floor" => c.service(web::scope("").service(floor)),
        "requires" | "requires-nocache" => {
            c.service(web::scope("").wrap(auth.clone()).service(protected))
        }
        "both" => c.service(
            web::scope("")
                .wrap(auth.clone())
                .service(open_route)
                .service(protected),
        ),
        "both-reversed" => c.service(
            web::scope("")
                .wrap(auth.clone())
                .service(protected)
                .service(open_route),
        ),
        "noop" => c.service(
            web::scope("")
                .wrap(auth.clone())
                .service(open_route)
                .service(extractor_only),
        ),
        "noop-reversed" => c.service(
            web::scope("")
                .wrap(auth.clone())
                .service(extractor_only)
                .service(open_route),
        ),
        "alternative" => c.service(
            web::scope("")
                .wrap(HttpAuthentication::bearer(alternative_validator))
                .service(alternative),
        ),
        other => panic!(
            "unknown variant {other}: plain | floor | requires | requires-nocache | both | \
             both-reversed | noop | noop-reversed | alternative | mint [N] | \
             count <variant> <path> <n>"
        ),
    };
}
