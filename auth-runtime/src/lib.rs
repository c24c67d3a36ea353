//! Runtime of [endpoint-auth](https://docs.rs/endpoint-auth): everything a protected endpoint
//! needs at request time.
//!
//! Users depend on the `endpoint-auth` facade, which re-exports this crate's public API.
//! The core (credentials, challenge, error, policy, claims, verify, keys) works on plain
//! data; [`actix`] is the only module that knows actix-web.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actix;
pub mod cache;
pub mod catalog;
pub mod challenge;
pub mod claims;
pub mod credentials;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod metrics;
pub mod openapi;
pub mod policy;
pub mod verify;

/// The extractor `#[requires]` generates (see [`Authorized`] for the one to write by hand).
#[doc(hidden)]
pub use actix::{AllOf, AnyOf, Guard};
pub use actix::{
    AuthConfig, AuthConfigBuilder, AuthMiddleware, AuthRejection, Authorized, ConfigError,
};
pub use catalog::ScopeInfo;
pub use claims::{NoExtraClaims, Principal, ScopeSource, Verified};
pub use credentials::BearerMethods;
pub use error::{AuthError, ErrorCode, Reason, Rejection};
pub use keys::remote::{Endpoints, FetchError, KeyLocation, RemoteKeys, RemoteSettings};
pub use keys::{Key, KeyError, KeySet};
#[doc(hidden)]
pub use policy::UnknownScope;
pub use policy::{AnyValidToken, Requirement, RequirementSpec};
pub use verify::{TypPolicy, Verifier};

/// The signature algorithms a key can be bound to (re-exported from `jsonwebtoken`).
pub use jsonwebtoken::Algorithm;

/// The handler registry's crate, for the code `#[requires]` generates.
#[doc(hidden)]
pub use inventory;
