//! Where a request's authentication outcome is kept between its extractors
//! (`auth-runtime/src/actix/outcome.rs`): with the middleware, in a slot of the worker thread
//! labelled with the request while the request's future is polled; otherwise in the request's
//! extensions. Many requests go through one worker at once here, each waiting between its
//! extractors, so that their polls interleave: every one must see its own caller, and be
//! counted once.
//!
//! The two tests take turns (the metrics recorder is process-global).

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::dev::{Payload, Service as _};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use common::*;
use endpoint_auth::{Algorithm, Authorized, Principal, Requirement, RequirementSpec};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

/// Authorizes, waits (other requests are polled meanwhile), then asks who the caller is.
async fn later(_auth: Authorized<ReadReports>, req: HttpRequest) -> HttpResponse {
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    match <Principal>::extract(&req).await {
        Ok(caller) => HttpResponse::Ok().body(caller.subject().unwrap_or("").to_owned()),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// Asks who the caller is from a task of its own, outside the request's polls.
async fn spawned(_auth: Authorized<ReadReports>, req: HttpRequest) -> HttpResponse {
    let caller = actix_web::rt::spawn(async move {
        <Principal>::extract(&req)
            .await
            .map(|p| p.subject().unwrap_or("").to_owned())
    })
    .await
    .expect("the task ran");
    match caller {
        Ok(subject) => HttpResponse::Ok().body(subject),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/later", web::get().to(later))
        .route("/spawned", web::get().to(spawned))
        // A middleware of the application's, inside ours, that asks for the caller in its
        // `call` (before any future of the request is polled) and reports it in a header.
        .service(
            web::scope("/inner")
                .wrap_fn(|req, srv| {
                    let caller = <Principal>::from_request(req.request(), &mut Payload::None);
                    let response = srv.call(req);
                    async move {
                        let caller = caller.await;
                        let mut response = response.await?;
                        let subject = caller.map_or_else(
                            |_| "refused".to_owned(),
                            |c| c.subject().unwrap_or("").to_owned(),
                        );
                        response.headers_mut().insert(
                            HeaderName::from_static("x-caller"),
                            HeaderValue::from_str(&subject).unwrap(),
                        );
                        Ok(response)
                    }
                })
                .route("/later", web::get().to(later)),
        );
}

/// A token of subject `user-<i>` with `read:reports`.
fn token_of(i: usize) -> String {
    let mut claims = claims("read:reports");
    claims["sub"] = json!(format!("user-{i}"));
    mint(Algorithm::ES256, &claims)
}

/// Sends `path` for `users` callers at once; each response's status, body and `x-caller`.
fn all_at_once(addr: std::net::SocketAddr, path: &str, users: usize) -> Vec<Response> {
    let threads: Vec<_> = (0..users)
        .map(|i| {
            let path = path.to_owned();
            std::thread::spawn(move || get(addr, &path, &[&bearer(&token_of(i))]))
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn each_saw_its_own_caller(responses: &[Response]) {
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.status, 200, "user-{i}: {}", r.text());
        assert_eq!(r.text(), format!("user-{i}"));
    }
}

#[test]
fn interleaved_requests_on_one_worker_each_see_their_own_caller() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = serve_one_worker(builder().build().unwrap(), routes);
    // Twice: the second time every token is served from the worker's token cache.
    for _ in 0..2 {
        each_saw_its_own_caller(&all_at_once(s.addr, "/later", 16));
    }
    // Outside the request's polls the outcome is not in the slot: the request is
    // authenticated again, to the same caller.
    each_saw_its_own_caller(&all_at_once(s.addr, "/spawned", 8));

    // Deny by default: the middleware authenticates before routing, and an inner
    // middleware's synchronous question gets the same answer as the handler's.
    let s = serve_one_worker(builder().deny_by_default().build().unwrap(), routes);
    let responses = all_at_once(s.addr, "/inner/later", 16);
    each_saw_its_own_caller(&responses);
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.header("x-caller"), Some(format!("user-{i}").as_str()));
    }
}

/// `endpoint_auth_requests_total` since the previous snapshot, by outcome.
fn counts(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if let ("endpoint_auth_requests_total", DebugValue::Counter(n)) = (key.name(), value) {
            if n > 0 {
                let outcome = key.labels().find(|l| l.key() == "outcome").unwrap();
                out.insert(outcome.value().to_owned(), n);
            }
        }
    }
    out
}

#[test]
fn a_request_is_counted_once_wherever_its_outcome_is_kept() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let ok = |n: u64| BTreeMap::from([("ok".to_owned(), n)]);

    // In the slot, across the handler's await.
    let s = serve_one_worker(builder().build().unwrap(), routes);
    each_saw_its_own_caller(&all_at_once(s.addr, "/later", 8));
    assert_eq!(counts(&snapshotter), ok(8));
    // In the extensions, kept by an inner middleware's question in its call (before the
    // request's future is polled), then found there by the handler's extractors.
    each_saw_its_own_caller(&all_at_once(s.addr, "/inner/later", 8));
    assert_eq!(counts(&snapshotter), ok(8));
    // In the slot from the middleware's own authentication, asked again in an inner
    // middleware's call and by the handler, before and after its await.
    let s = serve_one_worker(builder().deny_by_default().build().unwrap(), routes);
    each_saw_its_own_caller(&all_at_once(s.addr, "/inner/later", 8));
    assert_eq!(counts(&snapshotter), ok(8));
    // In the extensions: the configuration registered with `app_data` only.
    let s = serve_app_data(builder().build().unwrap(), routes);
    each_saw_its_own_caller(&all_at_once(s.addr, "/later", 8));
    assert_eq!(counts(&snapshotter), ok(8));
}
