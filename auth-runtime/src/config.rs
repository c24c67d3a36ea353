//! The configuration of a protected service: [`AuthConfig`], built and checked by
//! [`AuthConfigBuilder`], with the defaults and [`ConfigError`].
//!
//! Knows no web framework: an adapter (see [`crate::actix`]) registers an `AuthConfig` and
//! runs the pipeline of [`crate::authenticate`] with it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::{TokenCache, TokenCacheSettings};
use crate::challenge::{is_plain_quotable, join_scopes};
use crate::claims::{RoleSource, ScopeSource};
use crate::credentials::BearerMethods;
use crate::error::{
    AuthError, AuthRejection, BodyRenderer, BodyRendererFn, ChallengeContext, ErrorBody,
};
#[cfg(feature = "remote")]
use crate::keys::remote::{FetchError, KeyLocation, RemoteKeys, RemoteSettings};
use crate::keys::{Key, KeyError, KeySet};
use crate::policy::Requirement;
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
    #[cfg(feature = "remote")]
    #[error(transparent)]
    Remote(#[from] FetchError),
    /// A clock leeway above [`MAX_LEEWAY`]: it would keep expired tokens alive.
    #[error("leeway {0:?} is above the maximum of 5 minutes")]
    LeewayTooLarge(Duration),
    /// A limit of zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// Deny-by-default with the form-body method: the middleware that enforces it cannot
    /// read a form body without taking it from the handler.
    #[error("deny_by_default() cannot be combined with allow_form_body_token(): the middleware authenticates before the body is read")]
    DenyByDefaultWithFormBody,
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
    audience_claim: &'static str,
    keys: KeySet,
    key_errors: Vec<KeyError>,
    algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    typ: TypPolicy,
    max_token_bytes: usize,
    scopes: ScopeSource,
    roles: RoleSource,
    methods: BearerMethods,
    resource_metadata: Option<String>,
    scope_on_missing: bool,
    deny_by_default: bool,
    error_body: Option<BodyRendererFn>,
    #[cfg(feature = "remote")]
    remote: Option<RemoteSource>,
    #[cfg(feature = "remote")]
    remote_settings: RemoteSettings,
    token_cache: Option<TokenCacheSettings>,
    pub(crate) revocation: crate::revocation::RevocationSettings,
}

/// Where remote keys come from, as configured (discovery takes the issuer at build time).
#[cfg(feature = "remote")]
#[derive(Debug, Clone)]
enum RemoteSource {
    Jwks(String),
    Discovery,
}

impl AuthConfigBuilder {
    /// Fetch keys from a JWKS URL (https; http only for loopback hosts unless
    /// [`RemoteSettings::allow_insecure_http`]). See [`RemoteSettings`] for the cache policy.
    #[cfg(feature = "remote")]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.remote = Some(RemoteSource::Jwks(url.into()));
        self
    }
    /// Find the JWKS by OIDC discovery (`{issuer}/.well-known/openid-configuration`, then
    /// RFC 8414) from the configured [`issuer`](Self::issuer); the discovered `issuer` must be
    /// equal to it.
    #[cfg(feature = "remote")]
    pub fn oidc_discovery(mut self) -> Self {
        self.remote = Some(RemoteSource::Discovery);
        self
    }
    /// The verified-token cache: `Some(settings)` to size it, `None` to turn it off. On by
    /// default (4,096 entries and 4 MiB per worker thread); the security and design arguments
    /// are in [`crate::cache`].
    pub fn token_cache(mut self, settings: Option<TokenCacheSettings>) -> Self {
        self.token_cache = settings;
        self
    }
    /// Cache, timeout and size settings of remote keys.
    #[cfg(feature = "remote")]
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
    /// Compare the configured audiences with the `client_id` claim instead of `aud`: for
    /// providers whose access tokens carry no `aud`, such as Amazon Cognito (configure the app
    /// client id as the audience). `client_id` must be one string. Only tokens without `aud`
    /// are accepted: one that names an audience was meant for an `aud` check (RFC 9068), so a
    /// provider that sets `aud` needs [`audience`](Self::audience) alone. A token without
    /// `client_id` (a Cognito ID token, for one) is refused as `wrong_audience`.
    ///
    /// ```
    /// # use endpoint_auth_runtime::{Algorithm, AuthConfig, Key};
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    /// let auth = AuthConfig::builder()
    ///     .realm("orders")
    ///     .issuer("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example")
    ///     .audience("3n4b5urk1ft4fl3mg5e62d9ado") // the app client id
    ///     .audience_from_client_id()
    ///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audience_from_client_id(mut self) -> Self {
        self.audience_claim = "client_id";
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
    /// Where roles are read from, for `#[requires(role = "…")]` (default: nowhere, so every
    /// role requirement fails). Called again, the sources add up.
    ///
    /// ```
    /// use endpoint_auth_runtime::{AuthConfig, RoleSource};
    ///
    /// let builder = AuthConfig::builder()
    ///     .roles_from(RoleSource::keycloak_realm())
    ///     .roles_from(RoleSource::keycloak_client("orders-api"));
    /// ```
    pub fn roles_from(mut self, source: RoleSource) -> Self {
        self.roles = std::mem::take(&mut self.roles).and(source);
        self
    }
    /// Shorthand for [`RoleSource::claim_path`]: e.g. `"realm_access.roles"`.
    pub fn role_claim(self, dotted_path: &str) -> Self {
        self.roles_from(RoleSource::claim_path(dotted_path))
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
    /// Deny by default: with the configuration registered by `App::wrap`, every route that is
    /// not declared `#[public]` requires a valid token, whether or not its handler declares
    /// `#[requires]`. A request to an undeclared route (a handler added without a declaration,
    /// a default service, a path no route matches) is authenticated by the middleware before
    /// routing: 401 with the challenge, the handler never runs. Routes declared `#[requires]`
    /// keep their own requirement on top (403 without its scope).
    ///
    /// A `#[public]` handler is recognised by its route: the resource name that actix-web's
    /// route attributes give it (the function's name), or the method and path `#[public]` read
    /// when it stood above the route attribute. A `#[public]` handler registered by hand
    /// (`.route("/x", web::get().to(h))`) is not recognised unless its resource is named
    /// after it (`web::resource("/x").name("h")`).
    ///
    /// ```
    /// # use endpoint_auth_runtime::{Algorithm, AuthConfig, Key};
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .issuer("https://issuer.example")
    ///     .audience("reports-api")
    ///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///     .deny_by_default()
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deny_by_default(mut self) -> Self {
        self.deny_by_default = true;
        self
    }
    /// Renders the body of every rejection (400, 401, 403, 503) with `render` instead of the
    /// default RFC 9457 problem details, for services whose clients expect their own error
    /// shape. `render` is given the [`AuthError`] (status, [`code`](AuthError::code),
    /// [`reason`](AuthError::reason), [`description`](AuthError::description), the
    /// [`scope`](AuthError::scope) hint, [`retry_after`](AuthError::retry_after), and for a
    /// step-up [`acr_values`](AuthError::acr_values) and [`max_age`](AuthError::max_age)) and returns
    /// the bytes and their content type ([`ErrorBody`]). Nothing else is its to change: the
    /// status, `WWW-Authenticate`, `Cache-Control: no-store` and `Retry-After` are sent as
    /// without it. The error carries no token material, so neither can the body (leave
    /// [`mismatch`](AuthError::mismatch) to logs: it holds claim values the request presented).
    ///
    /// A renderer that panics, returns a content type that is not a media type (or one a
    /// header cannot carry), or an [`ErrorBody::json`] that failed to serialize does not turn
    /// the rejection into a 500, and its panic message reaches no client: that rejection gets
    /// the default body, and the first such failure of the configuration is logged as a
    /// warning. (A panic is caught with `catch_unwind`: under `panic = "abort"` there is
    /// nothing to catch.) The 500 of a route without a configuration keeps the default body.
    ///
    /// ```
    /// # use endpoint_auth_runtime::{Algorithm, AuthConfig, ErrorBody, Key};
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .issuer("https://issuer.example")
    ///     .audience("reports-api")
    ///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///     .error_body(|e| {
    ///         ErrorBody::json(&serde_json::json!({
    ///             "error": { "status": e.status(), "code": e.reason().code(), "message": e.description() }
    ///         }))
    ///     })
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error_body<F>(mut self, render: F) -> Self
    where
        F: Fn(&AuthError) -> ErrorBody + Send + Sync + 'static,
    {
        self.error_body = Some(BodyRendererFn(Arc::new(render)));
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
        #[cfg(feature = "remote")]
        let remote = {
            if self.keys.is_empty() && self.remote.is_none() {
                return Err(ConfigError::NoKeys);
            }
            if !self.keys.is_empty() && self.remote.is_some() {
                return Err(ConfigError::KeysTwice);
            }
            match self.remote {
                None => None,
                Some(source) => {
                    let location = match source {
                        RemoteSource::Discovery => KeyLocation::Discovery(
                            self.issuer.clone().ok_or(ConfigError::MissingIssuer)?,
                        ),
                        RemoteSource::Jwks(url) => KeyLocation::Jwks(url),
                    };
                    Some(Arc::new(RemoteKeys::new(location, self.remote_settings)?))
                }
            }
        };
        #[cfg(not(feature = "remote"))]
        if self.keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge(self.leeway));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::ZeroLimit("max_token_bytes"));
        }
        if self.deny_by_default && self.methods.form_body {
            return Err(ConfigError::DenyByDefaultWithFormBody);
        }
        if let Some(url) = &self.resource_metadata {
            if !is_header_safe_url(url) {
                return Err(ConfigError::InvalidUrl("resource_metadata"));
            }
        }
        #[cfg(feature = "remote")]
        let key_algs = match remote {
            // Remote sets are not known yet: every asymmetric algorithm, never HMAC.
            Some(_) => REMOTE_ALGORITHMS.to_vec(),
            None => self.keys.algorithms(),
        };
        #[cfg(not(feature = "remote"))]
        let key_algs = self.keys.algorithms();
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
            audience_claim: self.audience_claim,
            keys: self.keys,
            algorithms,
            leeway: self.leeway.as_secs(),
            typ: self.typ,
            max_token_bytes: self.max_token_bytes,
            scopes: self.scopes,
            roles: self.roles,
            id: crate::verify::verifier_id(),
        };
        Ok(AuthConfig {
            inner: Arc::new(Inner {
                cache: self
                    .token_cache
                    .map(|s| TokenCache::new(s, self.leeway.as_secs())),
                realm,
                verifier,
                #[cfg(feature = "remote")]
                remote,
                methods: self.methods,
                resource_metadata: self.resource_metadata,
                scope_on_missing: self.scope_on_missing,
                deny_by_default: self.deny_by_default,
                // Built here, not kept in the builder: each configuration logs its own
                // renderer's first failure.
                error_body: self.error_body.map(BodyRenderer::new),
                revocation: self.revocation.build(),
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

/// The authentication configuration of a service. With actix-web, register it once, as the
/// App's middleware: `App::new().wrap(config.clone())`.
#[derive(Clone)]
pub struct AuthConfig {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) realm: String,
    pub(crate) verifier: Verifier,
    #[cfg(feature = "remote")]
    pub(crate) remote: Option<Arc<RemoteKeys>>,
    pub(crate) cache: Option<TokenCache>,
    pub(crate) methods: BearerMethods,
    pub(crate) resource_metadata: Option<String>,
    pub(crate) scope_on_missing: bool,
    pub(crate) deny_by_default: bool,
    pub(crate) error_body: Option<BodyRenderer>,
    pub(crate) revocation: Option<crate::revocation::Revocation>,
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
            audience_claim: "aud",
            keys: KeySet::new(),
            key_errors: Vec::new(),
            algorithms: None,
            leeway: DEFAULT_LEEWAY,
            typ: TypPolicy::Lenient,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            scopes: ScopeSource::Standard,
            roles: RoleSource::default(),
            methods: BearerMethods::default(),
            resource_metadata: None,
            scope_on_missing: false,
            deny_by_default: false,
            error_body: None,
            #[cfg(feature = "remote")]
            remote: None,
            #[cfg(feature = "remote")]
            remote_settings: RemoteSettings::default(),
            token_cache: Some(TokenCacheSettings::default()),
            revocation: Default::default(),
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
    pub(crate) fn key_generation(&self) -> u64 {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.inner.remote {
            return remote.keys_generation();
        }
        0
    }

    /// How many tokens the verified-token cache holds (0 when it is off).
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The remote key source, when configured.
    #[cfg(feature = "remote")]
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
    /// # #[cfg(feature = "actix")] {
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
    /// # }
    /// ```
    pub fn keys_ready(&self) -> bool {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.inner.remote {
            return remote.ready();
        }
        true
    }

    /// Fetches remote keys now and waits for the outcome; returns how many usable keys there
    /// are. For services that prefer not to start without keys (fail-fast); otherwise keys
    /// are fetched and retried in the background and nothing needs to wait. Static
    /// configurations return their key count.
    #[cfg(feature = "remote")]
    pub async fn prefetch_keys(&self) -> Result<usize, FetchError> {
        match &self.inner.remote {
            Some(remote) => remote.prefetch().await,
            None => Ok(self.inner.verifier.keys().keys().len()),
        }
    }

    /// Whether undeclared routes require a valid token ([`AuthConfigBuilder::deny_by_default`]).
    pub fn denies_by_default(&self) -> bool {
        self.inner.deny_by_default
    }

    /// The accepted token transport methods.
    pub fn bearer_methods(&self) -> BearerMethods {
        self.inner.methods
    }

    /// Renders `error` in this configuration's protection space (with its
    /// [`error_body`](AuthConfigBuilder::error_body) renderer, if any).
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
        AuthRejection::new(error, &ctx, self.inner.error_body.as_ref())
    }
}
