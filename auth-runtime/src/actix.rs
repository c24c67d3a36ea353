//! actix-web glue: the configuration registered on the `App`, the extractors, and the
//! response for a rejection. The only module that knows actix-web.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer, Responder};
//! use endpoint_auth_runtime::{AuthConfig, Key, Algorithm, Principal};
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
//! HttpServer::new(move || App::new().app_data(auth.clone()).route("/me", web::get().to(me)))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use actix_web::dev::Payload;

type BoxedStream =
    Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>>;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;

use crate::cache::{TokenCache, TokenCacheSettings};
use crate::challenge::{is_plain_quotable, join_scopes};
use crate::claims::{NoExtraClaims, Principal, ScopeSource, Verified};
use crate::credentials::{
    check_token, find_access_token, parse_authorization, parse_authorization_unchecked,
    single_token, BearerMethods,
};
use crate::error::{AuthError, ChallengeContext, ErrorCode, Reason, Rejection};
use crate::keys::remote::{Cause, FetchError, KeyLocation, Lookup, RemoteKeys, RemoteSettings};
use crate::keys::{Key, KeyError, KeySet};
use crate::metrics;
use crate::policy::{Requirement, RequirementSpec};
use crate::verify::{TypPolicy, Verifier};
use crate::Algorithm;

/// Default clock leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest clock leeway the builder accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default limit on the token length; longer tokens are refused before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The default allowlist with remote keys: asymmetric algorithms only.
pub const REMOTE_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Largest form body searched for `access_token` when the form-body method is enabled.
pub const MAX_FORM_BODY_BYTES: usize = 64 * 1024;

/// A setting the builder refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No realm, or one that cannot be sent in a quoted-string as is.
    #[error("realm {0:?} is empty or contains '\"', '\\\\' or characters outside visible ASCII and space")]
    InvalidRealm(String),
    /// No issuer and no explicit opt-out.
    #[error("no issuer configured: call .issuer(\"https://…\") (or .accept_any_issuer() to opt out of the iss check)")]
    MissingIssuer,
    /// No audience and no explicit opt-out.
    #[error("no audience configured: call .audience(\"…\") (or .accept_any_audience() to opt out of the aud check)")]
    MissingAudience,
    /// No verification keys.
    #[error("no verification keys configured: call .key(…) or .keys(…)")]
    NoKeys,
    /// An allowed algorithm that no key uses, or one not allowed for any key.
    #[error("algorithm {0:?} is allowed but no configured key uses it")]
    AlgorithmWithoutKey(Algorithm),
    /// A key that could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A URL setting that is not an absolute http(s) URL safe to put in a header.
    #[error("{0} must be an absolute http(s) URL without quotes, backslashes or spaces")]
    InvalidUrl(&'static str),
    /// Static keys and a remote key source at once.
    #[error(
        "configure either static keys or a remote key source (jwks_url / oidc_discovery), not both"
    )]
    KeysTwice,
    /// A remote key source that cannot be used.
    #[error(transparent)]
    Remote(#[from] FetchError),
    /// A clock leeway above [`MAX_LEEWAY`]: it would keep expired tokens alive.
    #[error("leeway {0:?} is above the maximum of 5 minutes")]
    LeewayTooLarge(Duration),
    /// A limit of zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
}

/// Builder for [`AuthConfig`]; every setting is checked by [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthConfigBuilder {
    realm: Option<String>,
    issuer: Option<String>,
    any_issuer: bool,
    audiences: Vec<String>,
    any_audience: bool,
    keys: KeySet,
    key_errors: Vec<KeyError>,
    algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    typ: TypPolicy,
    max_token_bytes: usize,
    scopes: ScopeSource,
    methods: BearerMethods,
    resource_metadata: Option<String>,
    scope_on_missing: bool,
    remote: Option<KeyLocation>,
    remote_settings: RemoteSettings,
    token_cache: Option<TokenCacheSettings>,
}

impl AuthConfigBuilder {
    /// Fetch keys from a JWKS URL (https; http only for loopback hosts unless
    /// [`RemoteSettings::allow_insecure_http`]). See [`RemoteSettings`] for the cache policy.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.remote = Some(KeyLocation::Jwks(url.into()));
        self
    }
    /// Find the JWKS by OIDC discovery (`{issuer}/.well-known/openid-configuration`, then
    /// RFC 8414) from the configured [`issuer`](Self::issuer); the discovered `issuer` must be
    /// equal to it.
    pub fn oidc_discovery(mut self) -> Self {
        self.remote = Some(KeyLocation::Discovery(String::new()));
        self
    }
    /// The verified-token cache: `Some(settings)` to size it, `None` to turn it off. On by
    /// default (10,000 entries, 16 MiB); the security argument is in [`crate::cache`].
    pub fn token_cache(mut self, settings: Option<TokenCacheSettings>) -> Self {
        self.token_cache = settings;
        self
    }
    /// Cache, timeout and size settings of remote keys.
    pub fn remote_settings(mut self, settings: RemoteSettings) -> Self {
        self.remote_settings = settings;
        self
    }
    /// The protection space sent as `realm` in every challenge (required).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }
    /// The exact `iss` tokens must carry (required unless [`accept_any_issuer`](Self::accept_any_issuer)).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
    /// Opt out of the `iss` check. Only for keys that a single issuer uses.
    pub fn accept_any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }
    /// An accepted audience; may be called several times (one match in `aud` suffices).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
    /// Opt out of the `aud` check; tokens for other resource servers are then accepted.
    pub fn accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }
    /// Adds a verification key.
    pub fn key(mut self, key: Key) -> Self {
        self.keys = self.keys.with(key);
        self
    }
    /// Adds every key of a set.
    pub fn keys(mut self, keys: KeySet) -> Self {
        for k in keys.keys {
            self.keys = self.keys.with(k);
        }
        self
    }
    /// Adds the usable keys of an inline JWKS document; a document that is not a JWKS fails
    /// [`build`](Self::build).
    pub fn jwks_json(mut self, json: &str) -> Self {
        match KeySet::from_jwks_json(json) {
            Ok(set) => self = self.keys(set),
            Err(e) => self.key_errors.push(e),
        }
        self
    }
    /// The algorithm allowlist. Defaults to the algorithms of the configured keys.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }
    /// Clock leeway for `exp`, `nbf` and `iat` (default 30 s, at most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }
    /// Accept only RFC 9068 `typ` values (`at+jwt`, `application/at+jwt`).
    pub fn strict_typ(mut self) -> Self {
        self.typ = TypPolicy::Strict;
        self
    }
    /// Longest token accepted, in bytes (default 16 KiB); checked before decoding.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }
    /// Where scopes are read from (default: `scope`, else `scp`).
    pub fn scope_source(mut self, source: ScopeSource) -> Self {
        self.scopes = source;
        self
    }
    /// Shorthand for [`ScopeSource::claim_path`]: e.g. `"permissions"` or `"realm_access.roles"`.
    pub fn scope_claim(self, dotted_path: &str) -> Self {
        self.scope_source(ScopeSource::claim_path(dotted_path))
    }
    /// Also accept `?access_token=` (RFC 6750 §2.3; discouraged: URLs are logged).
    pub fn allow_query_token(mut self) -> Self {
        self.methods.query = true;
        self
    }
    /// Also accept `access_token` in form-encoded bodies (RFC 6750 §2.2).
    pub fn allow_form_body_token(mut self) -> Self {
        self.methods.form_body = true;
        self
    }
    /// The RFC 9728 metadata URL advertised as `resource_metadata` on 401 challenges.
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }
    /// Advertise the endpoint's required scope on 401s without credentials (RFC 6750 §3).
    pub fn scope_in_missing_challenge(mut self) -> Self {
        self.scope_on_missing = true;
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        install_crypto_provider();
        let realm = self.realm.unwrap_or_default();
        if realm.is_empty() || !is_plain_quotable(&realm) {
            return Err(ConfigError::InvalidRealm(realm));
        }
        if let Some(e) = self.key_errors.into_iter().next() {
            return Err(e.into());
        }
        if self.issuer.is_none() && !self.any_issuer {
            return Err(ConfigError::MissingIssuer);
        }
        if self.audiences.is_empty() && !self.any_audience {
            return Err(ConfigError::MissingAudience);
        }
        if self.keys.is_empty() && self.remote.is_none() {
            return Err(ConfigError::NoKeys);
        }
        if !self.keys.is_empty() && self.remote.is_some() {
            return Err(ConfigError::KeysTwice);
        }
        let remote = match self.remote {
            None => None,
            Some(location) => {
                let location = match location {
                    KeyLocation::Discovery(_) => KeyLocation::Discovery(
                        self.issuer.clone().ok_or(ConfigError::MissingIssuer)?,
                    ),
                    jwks => jwks,
                };
                Some(Arc::new(RemoteKeys::new(location, self.remote_settings)?))
            }
        };
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge(self.leeway));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::ZeroLimit("max_token_bytes"));
        }
        if let Some(url) = &self.resource_metadata {
            if !is_header_safe_url(url) {
                return Err(ConfigError::InvalidUrl("resource_metadata"));
            }
        }
        let key_algs = match remote {
            // Remote sets are not known yet: every asymmetric algorithm, never HMAC.
            Some(_) => REMOTE_ALGORITHMS.to_vec(),
            None => self.keys.algorithms(),
        };
        let algorithms = match self.algorithms {
            Some(list) => {
                if let Some(a) = list.iter().find(|a| !key_algs.contains(a)) {
                    return Err(ConfigError::AlgorithmWithoutKey(*a));
                }
                list
            }
            None => key_algs,
        };
        let verifier = Verifier {
            issuer: self.issuer,
            audiences: self.audiences,
            keys: self.keys,
            algorithms,
            leeway: self.leeway.as_secs(),
            typ: self.typ,
            max_token_bytes: self.max_token_bytes,
            scopes: self.scopes,
            id: crate::verify::verifier_id(),
        };
        Ok(AuthConfig {
            inner: Arc::new(Inner {
                cache: self
                    .token_cache
                    .map(|s| TokenCache::new(s, self.leeway.as_secs())),
                realm,
                verifier,
                remote,
                methods: self.methods,
                resource_metadata: self.resource_metadata,
                scope_on_missing: self.scope_on_missing,
            }),
        })
    }
}

fn is_header_safe_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// jsonwebtoken panics at the first verification if both of its crypto backends end up
/// enabled through feature unification; naming ours explicitly avoids that.
fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

/// The authentication configuration of a service. Register it once on the `App` with
/// `App::new().app_data(config.clone())` (a `web::Data<AuthConfig>` works too).
#[derive(Clone)]
pub struct AuthConfig {
    inner: Arc<Inner>,
}

struct Inner {
    realm: String,
    verifier: Verifier,
    remote: Option<Arc<RemoteKeys>>,
    cache: Option<TokenCache>,
    methods: BearerMethods,
    resource_metadata: Option<String>,
    scope_on_missing: bool,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.inner.realm)
            .field("verifier", &self.inner.verifier)
            .field("methods", &self.inner.methods)
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Starts a configuration with the defaults: 30 s leeway, lenient `typ`, 16 KiB token
    /// limit, scopes from `scope`/`scp`, header method only.
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder {
            realm: None,
            issuer: None,
            any_issuer: false,
            audiences: Vec::new(),
            any_audience: false,
            keys: KeySet::new(),
            key_errors: Vec::new(),
            algorithms: None,
            leeway: DEFAULT_LEEWAY,
            typ: TypPolicy::Lenient,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            scopes: ScopeSource::Standard,
            methods: BearerMethods::default(),
            resource_metadata: None,
            scope_on_missing: false,
            remote: None,
            remote_settings: RemoteSettings::default(),
            token_cache: Some(TokenCacheSettings::default()),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }
    /// The token verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }
    /// Changes whenever the key set does (always 0 for static keys).
    fn key_generation(&self) -> u64 {
        self.inner
            .remote
            .as_ref()
            .map_or(0, |r| r.keys_generation())
    }

    /// The verified-token cache, when enabled.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.inner.cache.as_ref()
    }

    /// The remote key source, when configured.
    pub fn remote_keys(&self) -> Option<&RemoteKeys> {
        self.inner.remote.as_deref()
    }

    /// Whether verification keys are at hand now: always with static keys; with remote keys,
    /// once a fetch succeeded and until the keys are past their stale limit. The answer for
    /// a readiness probe (liveness does not depend on it: the service serves public routes
    /// and answers 503 on protected ones meanwhile). Asking starts a background fetch when
    /// there are no keys yet.
    ///
    /// ```
    /// use actix_web::{HttpResponse, web};
    /// use endpoint_auth_runtime::AuthConfig;
    ///
    /// async fn ready(auth: web::Data<AuthConfig>) -> HttpResponse {
    ///     if auth.keys_ready() {
    ///         HttpResponse::Ok().finish()
    ///     } else {
    ///         HttpResponse::ServiceUnavailable().insert_header(("retry-after", "1")).finish()
    ///     }
    /// }
    /// ```
    pub fn keys_ready(&self) -> bool {
        self.inner.remote.as_ref().is_none_or(|r| r.ready())
    }

    /// Fetches remote keys now and waits for the outcome; returns how many usable keys there
    /// are. For services that prefer not to start without keys (fail-fast); otherwise keys
    /// are fetched and retried in the background and nothing needs to wait. Static
    /// configurations return their key count.
    pub async fn prefetch_keys(&self) -> Result<usize, FetchError> {
        match &self.inner.remote {
            Some(remote) => remote.prefetch().await,
            None => Ok(self.inner.verifier.keys().keys().len()),
        }
    }

    /// The accepted token transport methods.
    pub fn bearer_methods(&self) -> BearerMethods {
        self.inner.methods
    }

    fn from_request(req: &HttpRequest) -> Option<AuthConfig> {
        // Registered by `wrap` (request extensions) or by `app_data` (plain or `web::Data`).
        let from_middleware = req.extensions().get::<AuthConfig>().cloned();
        from_middleware
            .or_else(|| req.app_data::<AuthConfig>().cloned())
            .or_else(|| {
                req.app_data::<actix_web::web::Data<AuthConfig>>()
                    .map(|d| d.get_ref().clone())
            })
    }

    /// Renders `error` in this configuration's protection space.
    pub fn reject(&self, error: AuthError, requirement: Option<&Requirement>) -> AuthRejection {
        let hint = match (self.inner.scope_on_missing, requirement) {
            (true, Some(r)) => r.alternatives().into_iter().next().map(join_scopes),
            _ => None,
        };
        let ctx = ChallengeContext {
            realm: &self.inner.realm,
            missing_scope_hint: hint.as_deref(),
            resource_metadata: self.inner.resource_metadata.as_deref(),
        };
        AuthRejection::new(error, &ctx)
    }
}

/// Authentication outcome cached in the request extensions, so that a request is verified
/// once however many extractors ask.
#[derive(Clone)]
struct Authenticated(Result<Arc<Verified>, AuthError>);

/// Where authentication stands after the synchronous part.
enum Step {
    Done(Result<Arc<Verified>, AuthError>),
    /// Remote keys must be fetched first.
    Fetch {
        token: String,
        remote: Arc<RemoteKeys>,
        /// The single-flight generation the lookup saw.
        generation: u64,
        cause: Cause,
        /// The key-set generation before the lookup, for the token cache.
        key_generation: u64,
    },
}

/// Marks a request for which the middleware already waited on a key refresh: the
/// extractors use the keys that are there and never ask for another fetch.
#[derive(Clone, Copy)]
struct KeysRefreshed;

fn cached(req: &HttpRequest) -> Option<Result<Arc<Verified>, AuthError>> {
    req.extensions().get::<Authenticated>().map(|a| a.0.clone())
}

fn settle(
    req: &HttpRequest,
    outcome: Result<Arc<Verified>, AuthError>,
) -> Result<Arc<Verified>, AuthError> {
    if outcome.is_ok() {
        tracing::trace!(target: "endpoint_auth", "access token verified");
    }
    // Two extractors that awaited the same key fetch both settle; the request is counted once.
    if req.extensions().get::<Authenticated>().is_none() {
        metrics::authentication(&outcome);
    }
    req.extensions_mut().insert(Authenticated(outcome.clone()));
    outcome
}

/// A fresh verification's outcome; successes are remembered by the token cache under the
/// key-set generation that was current before the keys were looked up.
fn verified(
    config: &AuthConfig,
    token: &str,
    key_generation: u64,
    outcome: Result<Verified, AuthError>,
) -> Result<Arc<Verified>, AuthError> {
    let outcome = outcome.map(Arc::new);
    if let (Ok(v), Some(cache)) = (&outcome, &config.inner.cache) {
        cache.insert(token, v, key_generation);
    }
    outcome
}

/// Finds the token and verifies it if that needs no network.
fn begin(req: &HttpRequest, config: &AuthConfig, body_token: Option<String>) -> Step {
    if let Some(outcome) = cached(req) {
        return Step::Done(outcome);
    }
    let key_generation = config.key_generation();
    let token = match find_token(req, config, body_token, key_generation) {
        Ok(Found::Verified(hit)) => return Step::Done(settle(req, Ok(hit))),
        Ok(Found::NotCached(token)) => token,
        Err(e) => return Step::Done(settle(req, Err(e))),
    };
    let verifier = &config.inner.verifier;
    let Some(remote) = &config.inner.remote else {
        let outcome = verified(config, &token, key_generation, verifier.verify(&token));
        return Step::Done(settle(req, outcome));
    };
    let pre = match verifier.prechecked(&token) {
        Ok(pre) => pre,
        Err(e) => return Step::Done(settle(req, Err(e))),
    };
    let lookup = if req.extensions().get::<KeysRefreshed>().is_some() {
        remote.lookup_after_refresh()
    } else {
        remote.lookup(pre.kid())
    };
    if !matches!(lookup, Lookup::Ready(_)) {
        // No keys at hand: what needs none decides first, so a token that could never be
        // ours neither waits for nor causes a fetch, and is 401 rather than 503.
        if let Err(e) = verifier.check_unverified_claims(&token) {
            return Step::Done(settle(req, Err(e)));
        }
    }
    match lookup {
        Lookup::Ready(keys) => {
            let outcome = verified(
                config,
                &token,
                key_generation,
                verifier.verify_prechecked(&token, pre, &keys),
            );
            Step::Done(settle(req, outcome))
        }
        Lookup::Unavailable { retry_after_secs } => {
            Step::Done(settle(req, Err(AuthError::unavailable(retry_after_secs))))
        }
        Lookup::Fetch { generation, cause } => Step::Fetch {
            token: token.into_owned(),
            remote: remote.clone(),
            generation,
            cause,
            key_generation,
        },
    }
}

/// The network part: wait for the (shared) refresh, then verify with what is there.
async fn complete(
    req: &HttpRequest,
    config: &AuthConfig,
    step: Step,
) -> Result<Arc<Verified>, AuthError> {
    match step {
        Step::Done(outcome) => outcome,
        Step::Fetch {
            token,
            remote,
            generation,
            cause,
            key_generation,
        } => {
            remote.refresh(generation, cause).await;
            let outcome = match remote.lookup_after_refresh() {
                Lookup::Ready(keys) => config.inner.verifier.verify_with(&token, &keys),
                Lookup::Unavailable { retry_after_secs } => {
                    Err(AuthError::unavailable(retry_after_secs))
                }
                Lookup::Fetch { .. } => unreachable!("lookup_after_refresh never asks to fetch"),
            };
            settle(req, verified(config, &token, key_generation, outcome))
        }
    }
}

/// What [`find_token`] found.
enum Found<'r> {
    /// A token verified before and still cached.
    Verified(Arc<Verified>),
    /// A token to verify: not cached.
    NotCached(Cow<'r, str>),
}

fn find_token<'r>(
    req: &'r HttpRequest,
    config: &AuthConfig,
    body_token: Option<String>,
    key_generation: u64,
) -> Result<Found<'r>, AuthError> {
    let header = parse_authorization_unchecked(
        req.headers()
            .get_all(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    )?;
    // The common case, the header as the only method: a token that is, byte for byte, one
    // verified before passed the b64token check then, so a cache hit skips the check.
    if let (Some(raw), false, None) = (header, config.inner.methods.query, &body_token) {
        if let Some(hit) = std::str::from_utf8(raw)
            .ok()
            .and_then(|token| cache_hit(config, token, key_generation))
        {
            return Ok(Found::Verified(hit));
        }
        return Ok(Found::NotCached(Cow::Borrowed(check_token(raw)?)));
    }
    let header = header.map(check_token).transpose()?;
    let query = if config.inner.methods.query {
        find_access_token(req.query_string().as_bytes())?
    } else {
        None
    };
    let token = single_token(header, query, body_token)?.ok_or_else(AuthError::missing)?;
    Ok(match cache_hit(config, &token, key_generation) {
        Some(hit) => Found::Verified(hit),
        None => Found::NotCached(token),
    })
}

/// The cached verification of `token`, if it may be used.
fn cache_hit(config: &AuthConfig, token: &str, key_generation: u64) -> Option<Arc<Verified>> {
    let hit = config.inner.cache.as_ref()?.get(token, key_generation)?;
    // With remote keys, a hit also needs the key set to be within its lifetime: otherwise
    // the normal path refreshes it, and a key removed upstream invalidates the entry.
    config
        .inner
        .remote
        .as_ref()
        .is_none_or(|r| r.ready())
        .then_some(hit)
}

/// The response for a refused request: the [`AuthError`] rendered in the configured
/// protection space. Implements [`ResponseError`].
pub struct AuthRejection(Box<RejectionParts>);

struct RejectionParts {
    error: AuthError,
    rendered: Rejection,
}

impl AuthRejection {
    fn new(error: AuthError, ctx: &ChallengeContext<'_>) -> Self {
        log_rejection(&error);
        let rendered = error.render(ctx);
        AuthRejection(Box::new(RejectionParts { error, rendered }))
    }

    fn misconfigured() -> Self {
        tracing::error!(
            target: "endpoint_auth",
            reason = Reason::NotConfigured.code(),
            "no endpoint_auth::AuthConfig is registered on this App: add `.app_data(auth_config.clone())` \
             (built with AuthConfig::builder()) to the App that serves this route"
        );
        let error = AuthError::misconfigured("authentication is not configured for this service");
        let rendered = error.render(&ChallengeContext::default());
        AuthRejection(Box::new(RejectionParts { error, rendered }))
    }

    /// What went wrong.
    pub fn error(&self) -> &AuthError {
        &self.0.error
    }
    /// The rendered status, headers and body.
    pub fn rendered(&self) -> &Rejection {
        &self.0.rendered
    }
}

fn log_rejection(e: &AuthError) {
    // Every other outcome was counted when authentication settled; this one is decided later.
    if e.code() == ErrorCode::InsufficientScope {
        metrics::authorization_refused();
    }
    let (reason, status) = (e.reason().code(), e.status());
    match e.code() {
        ErrorCode::MissingCredentials => {
            tracing::debug!(target: "endpoint_auth", reason, status, "request rejected")
        }
        ErrorCode::Unavailable | ErrorCode::Misconfigured => {
            tracing::warn!(target: "endpoint_auth", reason, status, "request rejected")
        }
        _ => {
            tracing::info!(target: "endpoint_auth", reason, status, description = e.description(), "request rejected")
        }
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", self.error())
            .finish()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.error(), f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.rendered().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        for (name, value) in &self.rendered().headers {
            // Values are rendered from visible ASCII only; a value that still fails is dropped
            // rather than sent half-valid.
            if let Ok(v) = header::HeaderValue::from_str(value) {
                res.insert_header((*name, v));
            }
        }
        res.body(self.rendered().body.clone())
    }
}

/// The future of the extractors: ready at once unless a form body must be read or keys
/// fetched.
///
/// Everything up to an authorized [`Verified`] is one non-generic future shared by every
/// extractor type; only the last step (building `T`) is generic, so each requirement type
/// (`Authorized<R>`, the `#[requires]` guard) adds little code.
pub struct AuthFuture<T> {
    core: Core,
    finish: fn(Arc<Verified>) -> Result<T, AuthError>,
}

/// The shared part of [`AuthFuture`].
enum Core {
    Ready(Option<Outcome>),
    Pending(Pin<Box<dyn Future<Output = Outcome>>>),
}

/// An authorized token, with what is needed to reject it if `finish` fails; or the rejection.
type Outcome = Result<(Arc<Verified>, AuthConfig, Option<Requirement>), AuthRejection>;

impl Core {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self {
            Core::Ready(out) => {
                Poll::Ready(out.take().expect("AuthFuture polled after completion"))
            }
            Core::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

impl<T> Future for AuthFuture<T> {
    type Output = Result<T, AuthRejection>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let finish = self.finish;
        self.core.poll(cx).map(|outcome| {
            outcome.and_then(|(verified, config, requirement)| {
                finish(verified).map_err(|e| config.reject(e, requirement.as_ref()))
            })
        })
    }
}

fn extract<T>(
    req: &HttpRequest,
    payload: &mut Payload,
    requirement: Option<Requirement>,
    finish: fn(Arc<Verified>) -> Result<T, AuthError>,
) -> AuthFuture<T> {
    AuthFuture {
        core: authorize_request(req, payload, requirement),
        finish,
    }
}

/// Authenticates the request and checks `requirement`.
fn authorize_request(
    req: &HttpRequest,
    payload: &mut Payload,
    requirement: Option<Requirement>,
) -> Core {
    let Some(config) = AuthConfig::from_request(req) else {
        return Core::Ready(Some(Err(AuthRejection::misconfigured())));
    };
    let authorize = move |config: AuthConfig, outcome: Result<Arc<Verified>, AuthError>| {
        let verified = outcome.map_err(|e| config.reject(e, requirement.as_ref()))?;
        if let Some(r) = &requirement {
            if let Err(unsatisfied) = r.evaluate(verified.scopes()) {
                return Err(config.reject(
                    AuthError::insufficient_scope(join_scopes(unsatisfied.hint)),
                    Some(r),
                ));
            }
        }
        Ok((verified, config, requirement))
    };
    let read_form = cached(req).is_none() && wants_form_body(req, &config);
    let step = if read_form {
        None
    } else {
        Some(begin(req, &config, None))
    };
    if let Some(Step::Done(outcome)) = step {
        return Core::Ready(Some(authorize(config, outcome)));
    }
    // From here on the answer needs I/O (reading a form body, fetching keys). Later extractors
    // get a gated payload that yields the body only once we are done, so a body extractor
    // cannot answer before authentication does.
    let original = payload.take();
    let gate = Rc::new(RefCell::new(Gate::default()));
    *payload = Payload::from(Box::pin(GatedPayload(gate.clone())) as BoxedStream);
    let req = req.clone();
    Core::Pending(Box::pin(async move {
        let (step, passed) = match step {
            Some(step) => (step, Passed::Stream(original)),
            None => {
                // RFC 6750 §2.2: the token may be in the form body; hand the body on unchanged.
                let body = read_body(original).await;
                let step = match &body {
                    Ok(bytes) => match find_access_token(bytes) {
                        Ok(token) => begin(&req, &config, token),
                        Err(e) => Step::Done(settle(&req, Err(e))),
                    },
                    Err(e) => Step::Done(settle(&req, Err(e.clone()))),
                };
                (step, Passed::Body(body.unwrap_or_default()))
            }
        };
        let outcome = complete(&req, &config, step).await;
        let result = authorize(config, outcome);
        gate.borrow_mut().open(passed);
        result
    }))
}

fn wants_form_body(req: &HttpRequest, config: &AuthConfig) -> bool {
    config.inner.methods.form_body
        && req.method() != Method::GET
        && req
            .content_type()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

async fn read_body(mut payload: Payload) -> Result<Bytes, AuthError> {
    use futures_core::Stream;
    let mut buf = BytesMut::new();
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await;
        match next {
            None => return Ok(buf.freeze()),
            Some(Ok(chunk)) => {
                if buf.len() + chunk.len() > MAX_FORM_BODY_BYTES {
                    return Err(AuthError::invalid_request(
                        Reason::MalformedParameter,
                        "the form body is too large to carry an access token",
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            Some(Err(_)) => {
                return Err(AuthError::invalid_request(
                    Reason::MalformedParameter,
                    "the form body could not be read",
                ))
            }
        }
    }
}

/// What the gate hands on once authentication is done.
enum Passed {
    Body(Bytes),
    Stream(Payload),
}

#[derive(Default)]
struct Gate {
    passed: Option<Passed>,
    open: bool,
    waker: Option<Waker>,
}

impl Gate {
    fn open(&mut self, passed: Passed) {
        self.passed = Some(passed);
        self.open = true;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

struct GatedPayload(Rc<RefCell<Gate>>);

impl futures_core::Stream for GatedPayload {
    type Item = Result<Bytes, actix_web::error::PayloadError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut gate = self.0.borrow_mut();
        if !gate.open {
            gate.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        match &mut gate.passed {
            None => Poll::Ready(None),
            Some(Passed::Body(bytes)) => {
                let bytes = std::mem::take(bytes);
                gate.passed = None;
                if bytes.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(bytes)))
                }
            }
            Some(Passed::Stream(stream)) => Pin::new(stream).poll_next(cx),
        }
    }
}

/// Extracts the authenticated caller; answers 401 when there is no valid token.
///
/// `C` is the application's own claims type (default [`NoExtraClaims`]).
impl<C: DeserializeOwned + Unpin + 'static> FromRequest for Principal<C> {
    type Error = AuthRejection;
    type Future = AuthFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, None, Principal::from_verified)
    }
}

/// A caller whose token satisfies the requirement `R`: 401 without a valid token, 403 when
/// the scopes fall short. `#[requires]` adds one of these as the handler's first argument;
/// it can also be written by hand with any [`RequirementSpec`].
///
/// ```
/// use endpoint_auth_runtime::{Authorized, Requirement, RequirementSpec};
///
/// struct WriteReports;
/// impl RequirementSpec for WriteReports {
///     const REQUIREMENT: Requirement = Requirement::Scope("write:reports");
/// }
///
/// async fn create(auth: Authorized<WriteReports>) -> String {
///     format!("created by {}", auth.subject().unwrap_or("?"))
/// }
/// ```
pub struct Authorized<R: RequirementSpec, C = NoExtraClaims> {
    principal: Principal<C>,
    _requirement: PhantomData<fn() -> R>,
}

impl<R: RequirementSpec, C> Authorized<R, C> {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal<C> {
        &self.principal
    }
    /// Takes the authenticated caller.
    pub fn into_principal(self) -> Principal<C> {
        self.principal
    }
    /// The requirement that was checked.
    pub fn requirement() -> Requirement {
        R::REQUIREMENT
    }
}

impl<R: RequirementSpec, C> std::ops::Deref for Authorized<R, C> {
    type Target = Principal<C>;
    fn deref(&self) -> &Principal<C> {
        &self.principal
    }
}

impl<R: RequirementSpec, C> fmt::Debug for Authorized<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorized")
            .field("requirement", &R::REQUIREMENT.to_string())
            .field("principal", &self.principal)
            .finish()
    }
}

impl<R: RequirementSpec, C: DeserializeOwned + Unpin + 'static> FromRequest for Authorized<R, C> {
    type Error = AuthRejection;
    type Future = AuthFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        extract(req, payload, Some(R::REQUIREMENT), |verified| {
            Ok(Authorized {
                principal: Principal::from_verified(verified)?,
                _requirement: PhantomData,
            })
        })
    }
}

/// The extractor `#[requires]` adds: the checks of [`Authorized`]`<R>` (401, then 403), and
/// nothing handed to the handler, which takes a [`Principal`] if it wants the caller.
///
/// Its future and its drop are trivial; all the work is in code shared by every handler, so
/// the per-handler cost of the attribute stays small at compile time.
#[doc(hidden)]
pub struct Guard<R: GuardSpec>(PhantomData<fn() -> R>);

/// What [`Guard`] accepts: every [`RequirementSpec`], and `()`, which is what rustc puts in
/// place of a catalog lookup that failed to resolve (a crate without `scopes!`). That error
/// is then the only one reported; `()` requires what no token has.
#[doc(hidden)]
pub trait GuardSpec: 'static {
    const REQUIREMENT: Requirement;
}

impl<R: RequirementSpec> GuardSpec for R {
    const REQUIREMENT: Requirement = R::REQUIREMENT;
}

impl GuardSpec for () {
    const REQUIREMENT: Requirement = Requirement::Any(&[]);
}

/// `any(…)` of `#[requires]`, as a type built from its members' types: handlers that
/// declare the same combination share one type, so one instantiation of the extraction code.
#[doc(hidden)]
pub struct AnyOf<T>(PhantomData<fn() -> T>);

/// `all(…)` of `#[requires]`; see [`AnyOf`].
#[doc(hidden)]
pub struct AllOf<T>(PhantomData<fn() -> T>);

macro_rules! combinations {
    ($($member:ident),+) => {
        impl<$($member: GuardSpec),+> GuardSpec for AnyOf<($($member,)+)> {
            const REQUIREMENT: Requirement = Requirement::Any(&[$($member::REQUIREMENT),+]);
        }
        impl<$($member: GuardSpec),+> GuardSpec for AllOf<($($member,)+)> {
            const REQUIREMENT: Requirement = Requirement::All(&[$($member::REQUIREMENT),+]);
        }
    };
}

// Up to eight members per level; `#[requires]` gives a longer list a type of its own.
combinations!(A);
combinations!(A, B);
combinations!(A, B, C);
combinations!(A, B, C, D);
combinations!(A, B, C, D, E);
combinations!(A, B, C, D, E, F);
combinations!(A, B, C, D, E, F, G);
combinations!(A, B, C, D, E, F, G, H);

#[doc(hidden)]
pub struct GuardFuture<R>(Core, PhantomData<fn() -> R>);

impl<R: GuardSpec> Future for GuardFuture<R> {
    type Output = Result<Guard<R>, AuthRejection>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0
            .poll(cx)
            .map(|outcome| outcome.map(|_| Guard(PhantomData)))
    }
}

impl<R: GuardSpec> FromRequest for Guard<R> {
    type Error = AuthRejection;
    type Future = GuardFuture<R>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        GuardFuture(
            authorize_request(req, payload, Some(R::REQUIREMENT)),
            PhantomData,
        )
    }
}

/// `App::new().wrap(config.clone())` registers the configuration like `app_data` does and,
/// with remote keys, finishes any key fetch a request's token needs *before* routing. Every
/// extractor then runs with the keys at hand, so no `Path`, `Query` or `Json` error can answer
/// ahead of authentication, even on the first requests while keys are fetched. With static
/// keys both registrations behave the same.
impl<S, B> actix_web::dev::Transform<S, actix_web::dev::ServiceRequest> for AuthConfig
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: 'static,
{
    type Response = actix_web::dev::ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AuthMiddleware<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        // Each worker builds its middleware at startup: begin fetching remote keys in the
        // background then, so that they are usually there before the first request (the
        // service starts whether or not the provider answers).
        self.keys_ready();
        std::future::ready(Ok(AuthMiddleware {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The middleware created by registering [`AuthConfig`] with `App::wrap`.
pub struct AuthMiddleware<S> {
    service: Rc<S>,
    config: AuthConfig,
}

impl<S, B> actix_web::dev::Service<actix_web::dev::ServiceRequest> for AuthMiddleware<S>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    B: 'static,
{
    type Response = actix_web::dev::ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: actix_web::dev::ServiceRequest) -> Self::Future {
        req.extensions_mut().insert(self.config.clone());
        let pending = self.pending_fetch(&req);
        let service = self.service.clone();
        Box::pin(async move {
            if let Some((remote, generation, cause)) = pending {
                remote.refresh(generation, cause).await;
                req.extensions_mut().insert(KeysRefreshed);
            }
            service.call(req).await
        })
    }
}

impl<S> AuthMiddleware<S> {
    /// The key fetch this request's header token needs, if any. Nothing is verified here:
    /// public routes pay only for a header parse.
    fn pending_fetch(
        &self,
        req: &actix_web::dev::ServiceRequest,
    ) -> Option<(Arc<RemoteKeys>, u64, Cause)> {
        let remote = self.config.inner.remote.as_ref()?;
        let token = parse_authorization(
            req.headers()
                .get_all(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        )
        .ok()
        .flatten()?;
        let verifier = &self.config.inner.verifier;
        let kid = verifier.precheck(token).ok()?;
        match remote.lookup(kid.as_deref()) {
            Lookup::Fetch { generation, cause } => {
                // Only a token that could be ours is worth a fetch (the extractor answers
                // the others with the claim check's 401).
                verifier.check_unverified_claims(token).ok()?;
                Some((remote.clone(), generation, cause))
            }
            _ => None,
        }
    }
}

/// Serves an RFC 9728 metadata document at its well-known path (200, `application/json`):
/// `App::new().service(endpoint_auth::actix::metadata_service(&meta))`. Set the same URL with
/// [`AuthConfigBuilder::resource_metadata`] so 401 challenges point at it.
pub fn metadata_service(meta: &crate::metadata::ResourceMetadata) -> actix_web::Resource {
    let body = Bytes::from(meta.to_json());
    actix_web::web::resource(meta.well_known_path()).route(actix_web::web::get().to(move || {
        let body = body.clone();
        async move {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body)
        }
    }))
}
