//! Metrics through the [`metrics`](https://docs.rs/metrics) facade: a no-op until the
//! application installs a recorder, so the library never chooses a backend for its users.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `endpoint_auth_requests_total` | counter | `outcome`; `reason` for `invalid_request` and `invalid_token`; `issuer` with several trusted issuers |
//! | `endpoint_auth_verification_seconds` | histogram | none |
//!
//! `outcome` is one of:
//!
//! - `ok`: the token verified. Counted once per request, however many extractors ask.
//! - `missing`: no bearer credentials (no header, an empty one, another scheme), including
//!   the anonymous callers of a handler that takes a `MaybePrincipal` (served, not refused).
//! - `invalid_request` (400) and `invalid_token` (401), with `reason` set to the stable
//!   [`Reason::code`](crate::Reason::code) (`malformed_header`, `expired`, `bad_signature`, …).
//! - `unavailable`: keys could not be fetched and none are cached (503).
//! - `insufficient_scope`: the token verified (so the request is also counted as `ok`), but its
//!   scopes do not satisfy the endpoint's requirement (403). Requests let through are
//!   therefore `ok - insufficient_scope`.
//!
//! Each request is counted once under its authentication outcome; authorization is decided
//! afterwards, per requirement, and a refusal adds one `insufficient_scope`. (A handler that
//! declares two separate requirement extractors which both fail counts two; `#[requires]`
//! adds exactly one.) Requests to routes that ask for no credentials are not counted.
//!
//! `endpoint_auth_verification_seconds` records one sample per verification performed, from
//! the size check to the last claim check (signature included); fetching remote keys is not
//! part of it, and a request that needs no verification (its token was verified before and is
//! still cached) records none.
//!
//! With several trusted issuers ([`AuthConfigBuilder::trust`](crate::AuthConfigBuilder::trust)),
//! every outcome decided for a token of one of them also carries `issuer`, the name the
//! configuration gave it (never the token's `iss`): a token whose `iss` names no trusted
//! issuer is counted as `invalid_token`/`untrusted_issuer` without it, and so are
//! requests without credentials or with malformed ones. A configuration with one issuer adds
//! no label (its series stay as they were).
//!
//! Label values are fixed strings from this crate or the configuration: nothing from the request or the token ever
//! becomes a label, so an attacker cannot grow the number of series.
//!
//! # Prometheus
//!
//! With [`metrics-exporter-prometheus`](https://docs.rs/metrics-exporter-prometheus), without
//! its HTTP listener (the service serves `/metrics` itself):
//!
//! ```toml
//! metrics-exporter-prometheus = { version = "0.18", default-features = false }
//! ```
//!
//! ```ignore
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use endpoint_auth::metrics::{describe, VERIFICATION_SECONDS};
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Buckets make the histogram a Prometheus histogram (otherwise it is a summary);
//!     // verification takes tens of microseconds to a few milliseconds.
//!     let prometheus = PrometheusBuilder::new()
//!         .set_buckets_for_metric(
//!             Matcher::Full(VERIFICATION_SECONDS.to_owned()),
//!             &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
//!         )?
//!         .install_recorder()?;
//!     describe(); // HELP and unit lines; after the recorder is installed
//!     // Without the exporter's HTTP listener, nothing else drains the histogram samples
//!     // between scrapes: without this, memory grows with every verification.
//!     let upkeep = prometheus.clone();
//!     std::thread::spawn(move || loop {
//!         std::thread::sleep(std::time::Duration::from_secs(5));
//!         upkeep.run_upkeep();
//!     });
//!
//!     let auth = endpoint_auth::AuthConfig::builder() /* realm, issuer, audience, keys */ .build()?;
//!     HttpServer::new(move || {
//!         let prometheus = prometheus.clone();
//!         App::new()
//!             .wrap(auth.clone())
//!             // Keep /metrics off the public listener, or protect it.
//!             .route("/metrics", web::get().to(move || {
//!                 let body = prometheus.render();
//!                 async move { HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body) }
//!             }))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! Which renders, for example:
//!
//! ```text
//! # HELP endpoint_auth_requests_total Requests that asked for authentication, by outcome.
//! # TYPE endpoint_auth_requests_total counter
//! endpoint_auth_requests_total{outcome="ok"} 1520
//! endpoint_auth_requests_total{outcome="invalid_token",reason="expired"} 12
//! endpoint_auth_requests_total{outcome="insufficient_scope"} 3
//! ```
//!
//! Useful queries: `sum by (reason) (rate(endpoint_auth_requests_total{outcome="invalid_token"}[5m]))`
//! (a jump in `bad_signature` or `unknown_kid` often means a key rotation went wrong), and
//! `histogram_quantile(0.99, rate(endpoint_auth_verification_seconds_bucket[5m]))`.

use std::time::Duration;

use crate::error::AuthError;
#[cfg(feature = "metrics")]
use crate::error::ErrorCode;

/// Counter of requests that asked for authentication, labelled by `outcome` (and `reason`).
pub const REQUESTS_TOTAL: &str = "endpoint_auth_requests_total";
/// Histogram of the time one token verification takes, in seconds.
pub const VERIFICATION_SECONDS: &str = "endpoint_auth_verification_seconds";

/// Registers the descriptions and units of this crate's metrics with the installed recorder
/// (the `# HELP` lines). Call it once, after installing the recorder; metrics work without it.
#[cfg(feature = "metrics")]
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        metrics::Unit::Count,
        "Requests that asked for authentication, by outcome."
    );
    metrics::describe_histogram!(
        VERIFICATION_SECONDS,
        metrics::Unit::Seconds,
        "Time spent verifying one access token (signature and claims)."
    );
}

/// The authentication outcome of one request (called once per request).
#[cfg(feature = "metrics")]
pub(crate) fn authentication(outcome: &Result<std::sync::Arc<crate::Verified>, AuthError>) {
    let error = match outcome {
        Ok(v) => return authenticated(v),
        Err(e) => e,
    };
    if let Some(issuer) = error.0.issuer.clone() {
        return issuer_outcome(error, issuer);
    }
    let reason = error.reason().code();
    match error.code() {
        ErrorCode::MissingCredentials => {
            metrics::counter!("endpoint_auth_requests_total", "outcome" => "missing").increment(1)
        }
        ErrorCode::InvalidRequest => {
            metrics::counter!(REQUESTS_TOTAL, "outcome" => "invalid_request", "reason" => reason)
                .increment(1)
        }
        ErrorCode::InvalidToken => {
            metrics::counter!(REQUESTS_TOTAL, "outcome" => "invalid_token", "reason" => reason)
                .increment(1)
        }
        ErrorCode::Unavailable => {
            metrics::counter!(REQUESTS_TOTAL, "outcome" => "unavailable").increment(1)
        }
        // Decided after authentication (see `authorization_refused`), or not an outcome of
        // authentication at all.
        ErrorCode::InsufficientScope
        | ErrorCode::InsufficientUserAuthentication
        | ErrorCode::NotFound
        | ErrorCode::Misconfigured => {}
    }
}

/// A request whose token verified (counted once per request, like [`authentication`]).
#[cfg(feature = "metrics")]
pub(crate) fn authenticated(v: &crate::Verified) {
    if v.labelled {
        let issuer = v.trusted_issuer.clone().unwrap_or_else(|| "".into());
        metrics::counter!(REQUESTS_TOTAL, "outcome" => "ok", "issuer" => issuer).increment(1);
    } else {
        // The name as a literal: the macro then makes the key a `static` (an expression name
        // would build and hash a key on every request). Equal to `REQUESTS_TOTAL`
        // (tests/metrics.rs counts it under that name).
        metrics::counter!("endpoint_auth_requests_total", "outcome" => "ok").increment(1);
    }
}

/// An outcome of a token of one of several trusted issuers: the same series with the
/// issuer's configured name as the `issuer` label.
#[cfg(feature = "metrics")]
fn issuer_outcome(error: &AuthError, issuer: std::sync::Arc<str>) {
    let outcome = match error.code() {
        ErrorCode::MissingCredentials => "missing",
        ErrorCode::InvalidRequest => "invalid_request",
        ErrorCode::InvalidToken => "invalid_token",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::InsufficientScope => "insufficient_scope",
        ErrorCode::InsufficientUserAuthentication => "insufficient_user_authentication",
        ErrorCode::NotFound | ErrorCode::Misconfigured => return,
    };
    let counter = if matches!(
        error.code(),
        ErrorCode::InvalidRequest | ErrorCode::InvalidToken
    ) {
        let reason = error.reason().code();
        metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome, "reason" => reason, "issuer" => issuer)
    } else {
        metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome, "issuer" => issuer)
    };
    counter.increment(1);
}

/// A verified token that falls short of a requirement: its scopes, or (RFC 9470) the
/// authentication behind it.
#[cfg(feature = "metrics")]
pub(crate) fn authorization_refused(error: &AuthError) {
    if let Some(issuer) = error.0.issuer.clone() {
        return issuer_outcome(error, issuer);
    }
    let code = error.code();
    if code == ErrorCode::InsufficientUserAuthentication {
        metrics::counter!(REQUESTS_TOTAL, "outcome" => "insufficient_user_authentication")
            .increment(1);
    } else {
        metrics::counter!(REQUESTS_TOTAL, "outcome" => "insufficient_scope").increment(1);
    }
}

/// The time one verification took.
#[cfg(feature = "metrics")]
pub(crate) fn verification(elapsed: Duration) {
    metrics::histogram!(VERIFICATION_SECONDS).record(elapsed.as_secs_f64());
}

// Without the `metrics` feature nothing is recorded (and nothing is paid for).
#[cfg(not(feature = "metrics"))]
pub(crate) fn authentication<T>(_: &Result<T, AuthError>) {}
#[cfg(not(feature = "metrics"))]
pub(crate) fn authenticated(_: &crate::Verified) {}
#[cfg(not(feature = "metrics"))]
pub(crate) fn authorization_refused(_: &AuthError) {}
#[cfg(not(feature = "metrics"))]
pub(crate) fn verification(_: Duration) {}
