//! Revocation: a token that verifies can still have been withdrawn (a user signed out, a
//! device was lost, a client was compromised). A [`RevocationCheck`] the application
//! registers with [`AuthConfigBuilder::revocation_check`] is asked about every verified
//! token, on every request, token-cache hits included; a token it says is revoked is 401
//! `invalid_token` ("the access token has been revoked").
//!
//! Ready implementations: [`MemoryRevocationList`] (in-process, one instance; tests and
//! development) and, with the feature `revocation-redis`, `RedisRevocationStore` (a Redis or
//! Valkey server that every instance of the service reads, so a revocation at one instance is
//! seen by all).
//!
//! # Where the check runs
//! After the token is verified (the store is never asked about a token that is not ours, so a
//! stranger cannot make the service query it) and before the handler. The check is
//! asynchronous; with the configuration registered by `App::wrap` (required with a revocation
//! check), the middleware runs it before routing for every request that presents credentials,
//! so no `Path`, `Query` or `Json` error can answer ahead of it (docs/CONFORMANCE.md, "Order of
//! checks").
//!
//! # When the store cannot answer
//! [`StoreUnavailable::FailClosed`] (the default): 503 with `Retry-After` and no challenge, as
//! when keys cannot be fetched (the token may be fine; a 401 would make the client drop it).
//! [`StoreUnavailable::FailOpen`] is an explicit opt-in: the token is accepted as if it were not
//! revoked. Either way the first failure is logged as a warning and the recovery as info, never
//! one line per request.
//!
//! # Tokens without `jti`
//! A check that looks tokens up by `jti` ([`RevocationCheck::needs_token_id`], true by default
//! and for both ready implementations) cannot say anything about a token without one: such a
//! token is refused, 401 `invalid_token` ("the access token has no jti claim…"), rather than
//! let through unchecked. An implementation that decides from other claims (`sub` and `iat`:
//! "every token of this user issued before T") returns `false` from `needs_token_id`.
//!
//! # Several issuers
//! Both ready implementations key a revocation by `jti` alone, whichever issuer signed the
//! token: RFC 7519 §4.1.7 asks that an application using several issuers keep their `jti`
//! values from colliding, and a revoked id is then refused from every issuer. Where the
//! issuers are independent of each other (a tenant's own provider each), one could name a
//! `jti` another uses, and revoking it would refuse both tokens (never accept one). Such a
//! service implements [`RevocationCheck`] over its store with the issuer in the key
//! ([`Verified::issuer`] and [`Verified::token_id`]).

mod memory;
#[cfg(feature = "revocation-redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryRevocationList;
#[cfg(feature = "revocation-redis")]
pub use redis::{RedisRevocationStore, RedisSettings};

use crate::claims::Verified;
use crate::config::{AuthConfig, AuthConfigBuilder, MAX_LEEWAY};
use crate::error::AuthError;

/// How long past its `exp` a revoked token id is kept: the largest clock leeway a
/// configuration accepts ([`MAX_LEEWAY`]), since a token is accepted until `exp` + leeway.
pub const KEEP_AFTER_EXPIRY: Duration = MAX_LEEWAY;

/// What [`RevocationCheck::is_revoked`] returns: `Ok(true)` revoked, `Ok(false)` not revoked,
/// `Err` the answer cannot be known now (the store is down, it timed out).
pub type RevocationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, RevocationError>> + Send + 'a>>;

/// Whether a verified access token has been revoked; the application's implementation, or
/// one of the ready ones ([`MemoryRevocationList`], `RedisRevocationStore`).
///
/// Asked once per request that presents a valid token, after verification. `token` gives
/// the claims an answer may need: [`token_id`](Verified::token_id) (`jti`),
/// [`subject`](Verified::subject) (`sub`), [`issued_at`](Verified::issued_at) (`iat`),
/// [`expires_at`](Verified::expires_at), [`claims`](Verified::claims). Never log the token
/// id at info level: with the token it names, it is a credential's handle.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::revocation::{RevocationCheck, RevocationError, RevocationFuture};
/// use endpoint_auth::Verified;
///
/// /// Every token of a user issued before the user last signed out everywhere.
/// struct SignedOutEverywhere(std::collections::HashMap<String, u64>);
///
/// impl RevocationCheck for SignedOutEverywhere {
///     fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
///         let revoked = match (token.subject(), token.issued_at()) {
///             (Some(sub), Some(iat)) => self.0.get(sub).is_some_and(|&since| iat < since),
///             // No `sub` or no `iat`: cannot tell, so say so (fail-closed by default: 503).
///             _ => return Box::pin(async { Err(RevocationError::new("token without sub or iat")) }),
///         };
///         Box::pin(async move { Ok(revoked) })
///     }
///     // Decided from `sub` and `iat`: tokens without `jti` are asked about too.
///     fn needs_token_id(&self) -> bool {
///         false
///     }
/// }
/// ```
pub trait RevocationCheck: Send + Sync + 'static {
    /// Whether `token` (verified) has been revoked.
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a>;

    /// Whether the answer depends on the token's `jti`: if so (the default), a token without
    /// one is refused (401 `invalid_token`) without asking.
    fn needs_token_id(&self) -> bool {
        true
    }
}

/// A revocation check could not answer (the store is unreachable, timed out, answered
/// something unexpected). What happens then is the configuration's [`StoreUnavailable`].
/// Its message is logged: never put a token or token id in it.
#[derive(Debug)]
pub struct RevocationError(Box<dyn std::error::Error + Send + Sync>);

impl RevocationError {
    /// An error with this cause (a message, or the store client's error).
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        RevocationError(cause.into())
    }
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for RevocationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// What a request gets when the revocation check cannot answer
/// ([`AuthConfigBuilder::revocation_store_unavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreUnavailable {
    /// 503 with `Retry-After` (whole seconds, at least 1) and no challenge: a revoked token is
    /// never accepted, at the price of refusing every token while the store is down. The
    /// default, with `retry_after` 5 seconds.
    FailClosed {
        /// Sent as `Retry-After`.
        retry_after: Duration,
    },
    /// Accept the token as if it were not revoked: the service stays up while the store is
    /// down, and a revoked token is accepted meanwhile. Only as an explicit choice.
    FailOpen,
}

impl Default for StoreUnavailable {
    fn default() -> Self {
        StoreUnavailable::FailClosed {
            retry_after: Duration::from_secs(5),
        }
    }
}

/// How long a revocation check may take by default ([`AuthConfigBuilder::revocation_timeout`]).
pub const DEFAULT_REVOCATION_TIMEOUT: Duration = Duration::from_secs(1);

/// The revocation settings as the builder keeps them.
#[derive(Clone)]
pub(crate) struct RevocationSettings {
    check: Option<Arc<dyn RevocationCheck>>,
    unavailable: StoreUnavailable,
    pub(crate) timeout: Duration,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        RevocationSettings {
            check: None,
            unavailable: StoreUnavailable::default(),
            timeout: DEFAULT_REVOCATION_TIMEOUT,
        }
    }
}

impl fmt::Debug for RevocationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationSettings")
            .field("check", &self.check.as_ref().map(|_| ".."))
            .field("unavailable", &self.unavailable)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RevocationSettings {
    /// The check of a built configuration, if one was given.
    pub(crate) fn build(self) -> Option<Revocation> {
        Some(Revocation {
            check: self.check?,
            unavailable: self.unavailable,
            timeout: self.timeout,
            down: AtomicBool::new(false),
        })
    }
}

/// The revocation check of a built configuration.
pub(crate) struct Revocation {
    check: Arc<dyn RevocationCheck>,
    unavailable: StoreUnavailable,
    /// The longest wait for an answer.
    #[cfg_attr(not(any(feature = "actix", feature = "remote")), allow(dead_code))]
    timeout: Duration,
    /// The last answer was an error: logged once when it starts and once when it ends.
    down: AtomicBool,
}

impl AuthConfigBuilder {
    /// Asks `check` about every verified token, on every request (token-cache hits included):
    /// a revoked one is 401 `invalid_token` ("the access token has been revoked"). Register the
    /// configuration with `App::wrap` (with `app_data` alone its routes answer 500), so the
    /// check runs before any other extractor can answer. See [`crate::revocation`] for tokens
    /// without `jti` and [`revocation_store_unavailable`](Self::revocation_store_unavailable)
    /// for a check that cannot answer.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # use endpoint_auth::{Algorithm, AuthConfig, Key};
    /// use endpoint_auth::revocation::MemoryRevocationList;
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    ///
    /// let revoked = MemoryRevocationList::new();
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .issuer("https://issuer.example")
    ///     .audience("reports-api")
    ///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///     .revocation_check(revoked.clone())
    ///     .build()?;
    /// // Later, say from a sign-out handler: refused from the next request on.
    /// revoked.revoke("the token's jti", 1_900_000_000 /* its exp */);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn revocation_check(mut self, check: impl RevocationCheck) -> Self {
        self.revocation.check = Some(Arc::new(check));
        self
    }

    /// What a request gets while the [revocation check](Self::revocation_check) cannot answer:
    /// by default [`StoreUnavailable::FailClosed`] (503, `Retry-After: 5`);
    /// [`StoreUnavailable::FailOpen`] accepts tokens unchecked meanwhile.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use std::time::Duration;
    /// use endpoint_auth::revocation::StoreUnavailable;
    /// use endpoint_auth::AuthConfig;
    ///
    /// let strict = AuthConfig::builder()
    ///     .revocation_store_unavailable(StoreUnavailable::FailClosed { retry_after: Duration::from_secs(2) });
    /// let available = AuthConfig::builder().revocation_store_unavailable(StoreUnavailable::FailOpen);
    /// # let _ = (strict, available);
    /// ```
    pub fn revocation_store_unavailable(mut self, policy: StoreUnavailable) -> Self {
        self.revocation.unavailable = policy;
        self
    }

    /// The longest a [revocation check](Self::revocation_check) may take (default
    /// [`DEFAULT_REVOCATION_TIMEOUT`], 1 s; zero fails [`build`](Self::build)): a check that
    /// has not answered by then cannot answer, and the request gets what
    /// [`revocation_store_unavailable`](Self::revocation_store_unavailable) says (503 by
    /// default), rather than waiting on a store that never replies. Needs a tokio runtime
    /// (actix-web's is one); applied with the `actix` or `remote` feature.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use std::time::Duration;
    /// use endpoint_auth::AuthConfig;
    ///
    /// let auth = AuthConfig::builder().revocation_timeout(Duration::from_millis(250));
    /// # let _ = auth;
    /// ```
    pub fn revocation_timeout(mut self, timeout: Duration) -> Self {
        self.revocation.timeout = timeout;
        self
    }
}

impl AuthConfig {
    /// Whether a revocation check is configured ([`AuthConfigBuilder::revocation_check`]).
    pub fn checks_revocation(&self) -> bool {
        self.inner.revocation.is_some()
    }
}

/// The verified token, unless the configuration's revocation check refuses it.
pub(crate) async fn check(
    config: &AuthConfig,
    verified: Arc<Verified>,
) -> Result<Arc<Verified>, AuthError> {
    match &config.inner.revocation {
        Some(revocation) => revocation.check(verified).await,
        None => Ok(verified),
    }
}

impl Revocation {
    async fn check(&self, verified: Arc<Verified>) -> Result<Arc<Verified>, AuthError> {
        if verified.token_id().is_none() && self.check.needs_token_id() {
            return Err(AuthError::missing_token_id());
        }
        // tokio's timer needs a tokio runtime (actix-web's is one); polled by anything else
        // (a benchmark's executor), the check runs without a deadline rather than panic.
        #[cfg(any(feature = "actix", feature = "remote"))]
        let answer = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::time::timeout(self.timeout, self.check.is_revoked(&verified))
                .await
                .unwrap_or_else(|_| {
                    Err(RevocationError::new(format!(
                        "no answer within {} ms",
                        self.timeout.as_millis()
                    )))
                })
        } else {
            self.check.is_revoked(&verified).await
        };
        #[cfg(not(any(feature = "actix", feature = "remote")))]
        let answer = self.check.is_revoked(&verified).await;
        match answer {
            Ok(revoked) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        target: "endpoint_auth",
                        "the revocation check answers again"
                    );
                }
                if revoked {
                    return Err(AuthError::revoked());
                }
                Ok(verified)
            }
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "endpoint_auth",
                        error = %e,
                        policy = match self.unavailable {
                            StoreUnavailable::FailClosed { .. } => "fail closed (503)",
                            StoreUnavailable::FailOpen => "fail open (tokens accepted unchecked)",
                        },
                        "the revocation check cannot answer; logged again only after it recovers"
                    );
                }
                match self.unavailable {
                    StoreUnavailable::FailClosed { retry_after } => {
                        Err(AuthError::revocation_unavailable(retry_after.as_secs()))
                    }
                    StoreUnavailable::FailOpen => Ok(verified),
                }
            }
        }
    }
}

/// Seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{ClaimRules, StandardClaims};
    use crate::{RoleSource, ScopeSource};

    fn verified(jti: &str) -> Arc<Verified> {
        let payload = serde_json::json!({ "exp": now() + 300, "jti": jti }).to_string();
        let mut claims = StandardClaims::default();
        claims.fill(payload.as_bytes()).unwrap();
        let rules = ClaimRules {
            issuer: None,
            audiences: &[],
            audience_claim: "aud",
            leeway: 0,
            roles: &RoleSource::default(),
            certificate_bound: false,
        };
        let verified = Verified::from_claims(
            &mut claims,
            payload.into_bytes(),
            &ScopeSource::Standard,
            &rules,
            now(),
        );
        Arc::new(verified.unwrap())
    }

    /// The deadline uses tokio's timer when a tokio runtime polls the check; polled by any
    /// other executor the check still answers (no "no reactor running" panic).
    #[test]
    fn a_check_polled_outside_a_tokio_runtime_answers() {
        let list = MemoryRevocationList::new();
        list.revoke("gone", now() + 300);
        let revocation = RevocationSettings {
            check: Some(Arc::new(list)),
            ..RevocationSettings::default()
        }
        .build()
        .unwrap();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for (jti, revoked) in [("gone", true), ("fine", false)] {
            let mut check = std::pin::pin!(revocation.check(verified(jti)));
            let std::task::Poll::Ready(outcome) = check.as_mut().poll(&mut cx) else {
                panic!("an in-memory check answers at once");
            };
            assert_eq!(outcome.is_err(), revoked, "{jti}");
        }
    }
}
