//! Runtime of [endpoint-auth](https://docs.rs/endpoint-auth): everything a protected endpoint
//! needs at request time.
//!
//! Users depend on the `endpoint-auth` facade, which re-exports this crate's public API.
//! The core knows no web framework: [`credentials`] finds the token, [`verify`] checks it
//! against [`keys`], [`claims`] reads it, [`policy`] decides, [`error`] renders refusals with
//! [`challenge`], [`config`] holds the settings and [`authenticate`] is the pipeline on a
//! framework-neutral request view. [`actix`] (feature `actix`) is the only module that knows
//! actix-web. Optional parts: `remote` (JWKS / discovery over HTTP), `openapi` (utoipa),
//! `metrics` (the `metrics` facade). See `docs/ARCHITECTURE.md` in the repository.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Crate-internal helpers that serve only an optional part are unused without it.
#![cfg_attr(
    not(all(feature = "actix", feature = "remote", feature = "metrics")),
    allow(dead_code)
)]

#[cfg(feature = "actix")]
pub mod actix;
pub mod audit;
pub mod authenticate;
pub mod cache;
pub mod catalog;
pub mod challenge;
pub mod claims;
pub mod config;
pub mod credentials;
pub mod error;
#[cfg(feature = "remote")]
pub mod introspection;
pub mod issuer;
pub(crate) mod json;
pub mod keys;
pub mod metadata;
pub mod metrics;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod policy;
#[cfg(feature = "actix")]
pub mod registry;
pub mod revocation;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

/// What `#[requires]` generates and the facade's `__private` door re-exports.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "actix")]
    pub use crate::actix::{run_check, CheckedGuard, Checks, Guard, Stopped};
    pub use crate::policy::{AllOf, AnyOf, MaxAge, UnknownScope};
    #[cfg(feature = "actix")]
    pub use crate::registry::{ProtectedHandler, Protection, PublicDeclaration, PublicHandler};
    #[cfg(feature = "actix")]
    pub use actix_web::HttpRequest;
    #[cfg(feature = "actix")]
    pub use inventory;
}

pub use authenticate::RequestView;
pub use cache::TokenCacheSettings;
pub use catalog::{IssuerInfo, RoleInfo, ScopeInfo};
pub use claims::{
    Authorized, MaybePrincipal, NoExtraClaims, Principal, RoleSource, ScopeSource, Verified,
};
pub use config::{AuthConfig, AuthConfigBuilder, ConfigError};
pub use credentials::BearerMethods;
pub use error::{AuthError, AuthRejection, ErrorBody, ErrorCode, Reason, Rejection};
pub use issuer::{Issuer, TrustedIssuer};
#[cfg(feature = "remote")]
pub use keys::remote::{Endpoints, FetchError, RemoteKeys, RemoteSettings};
pub use keys::{Key, KeyError, KeySet};
pub use policy::{
    is_scope_token, AnyValidToken, ClaimValue, Presented, Requirement, RequirementSpec, StepUp,
    Unmet, Unsatisfied,
};
pub use verify::TypPolicy;

/// The signature algorithms a key can be bound to (re-exported from `jsonwebtoken`).
pub use jsonwebtoken::Algorithm;
