//! The actix-web adapter: it only translates. Extractors ([`Principal`](crate::Principal),
//! [`MaybePrincipal`](crate::MaybePrincipal), [`Authorized`](crate::Authorized),
//! `#[requires]`'s guard) and the middleware run the
//! framework-neutral pipeline of [`crate::authenticate`]; a refusal becomes its response here.
//!
//! ```no_run
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use actix_web::{web, App, HttpServer, Responder};
//! use endpoint_auth::{AuthConfig, Key, Algorithm, Principal};
//!
//! async fn me(principal: Principal) -> impl Responder {
//!     format!("hello {}", principal.subject().unwrap_or("anonymous"))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = AuthConfig::builder()
//!     .realm("reports-api")
//!     .issuer("https://issuer.example")
//!     .audience("reports-api")
//!     .key(Key::rsa_pem(Algorithm::RS256, &std::fs::read("keys/rsa-public.pem")?)?)
//!     .build()?;
//! HttpServer::new(move || App::new().wrap(auth.clone()).route("/me", web::get().to(me)))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! - `extract.rs`: the extractors and their shared future; where actix meets the pipeline.
//! - `middleware.rs`: `App::wrap(config)`: registers the configuration, finishes key fetches
//!   before routing.
//! - `outcome.rs`: where a request's authentication outcome is kept between its extractors.
//! - `check.rs`: `check = …` of `#[requires]`: a decision on the application's own data.
//! - `body.rs`: the form-body token method and the gate that holds the body back until
//!   authentication is done.
//! - `response.rs`: the response of a refusal; the RFC 9728 metadata route.

mod body;
mod check;
mod extract;
mod middleware;
mod outcome;
mod response;

#[doc(hidden)]
pub use check::{run_check, Checks, Stopped};
pub use check::{Check, Decision, IntoDecision};
pub use extract::AuthFuture;
#[doc(hidden)]
pub use extract::{CheckedGuard, Guard, GuardFuture};
pub use middleware::AuthMiddleware;
pub use response::metadata_service;
