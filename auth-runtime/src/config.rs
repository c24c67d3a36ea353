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
use crate::credentials::BearerMethods;
use crate::error::{
    AuthError, AuthRejection, BodyRenderer, BodyRendererFn, ChallengeContext, ErrorBody,
};
use crate::issuer::{is_issuer_name, Issuer, IssuerSettings, Shared, TrustedIssuer};
#[cfg(feature = "remote")]
use crate::keys::remote::{FetchError, RemoteKeys};
use crate::keys::KeyError;
use crate::policy::Requirement;
use crate::verify::Verifier;
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
/// The name of the issuer of a configuration built without
/// [`trust`](AuthConfigBuilder::trust).
pub const DEFAULT_ISSUER_NAME: &str = "default";
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
    /// Token introspection settings that cannot be used ([`crate::introspection`]).
    #[cfg(feature = "remote")]
    #[error("introspection: {0}")]
    Introspection(String),
    /// A clock leeway above [`MAX_LEEWAY`]: it would keep expired tokens alive.
    #[error("leeway {0:?} is above the maximum of 5 minutes")]
    LeewayTooLarge(Duration),
    /// A limit of zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// No longer returned: deny-by-default works with the form-body method (the middleware
    /// reads a form request's body before routing and decides from its token too).
    #[deprecated(note = "never returned: deny_by_default() works with allow_form_body_token()")]
    #[error("deny_by_default() cannot be combined with allow_form_body_token()")]
    DenyByDefaultWithFormBody,
    /// Single-issuer settings (`issuer`, `audience`, `key`, …) beside
    /// [`trust`](AuthConfigBuilder::trust): give each trusted issuer its own settings.
    #[error("issuer settings on the builder cannot be combined with trust(…): configure each issuer on its TrustedIssuer")]
    SingleIssuerBesideTrusted,
    /// A trusted issuer's name that [`is_issuer_name`] refuses.
    #[error("issuer name {0:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit")]
    InvalidIssuerName(String),
    /// Two trusted issuers with the same name or the same `iss`.
    #[error("issuer {0:?} is trusted twice")]
    DuplicateIssuer(String),
    /// More trusted issuers than fit a `u16`.
    #[error("too many trusted issuers")]
    TooManyIssuers,
    /// [`strict_routes`](AuthConfigBuilder::strict_routes) with routes whose handlers
    /// declare neither `#[requires]` nor `#[public]`: each listed, on one line.
    #[error(transparent)]
    UndeclaredRoutes(#[from] crate::audit::UndeclaredRoutes),
    /// [`strict_routes`](AuthConfigBuilder::strict_routes) with a route audit that cannot
    /// vouch for every route: it found none (it reads only the crate it is invoked in), or it
    /// could not read some registrations (its [`unseen`](crate::audit::RouteAudit::unseen)).
    #[error("strict_routes: {0}")]
    UnauditedRoutes(String),
    /// A setting of the trusted issuer named first that it refuses.
    #[error("issuer {0:?}: {1}")]
    Issuer(String, Box<ConfigError>),
}

/// Builder for [`AuthConfig`]; every setting is checked by [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthConfigBuilder {
    realm: Option<String>,
    /// The issuer of a single-issuer configuration (`issuer`, `audience`, `key`, …).
    pub(crate) single: IssuerSettings,
    /// The issuers of a configuration with several ([`trust`](Self::trust)).
    trusted: Vec<TrustedIssuer>,
    max_token_bytes: usize,
    methods: BearerMethods,
    resource_metadata: Option<String>,
    scope_on_missing: bool,
    deny_by_default: bool,
    error_body: Option<BodyRendererFn>,
    token_cache: Option<TokenCacheSettings>,
    strict_routes: Option<&'static crate::audit::RouteAudit>,
    route_audit: Option<&'static crate::audit::RouteAudit>,
    pub(crate) revocation: crate::revocation::RevocationSettings,
    #[cfg(feature = "remote")]
    pub(crate) introspection: Option<crate::introspection::Introspection>,
}

impl AuthConfigBuilder {
    /// The verified-token cache: `Some(settings)` to size it, `None` to turn it off. On by
    /// default (4,096 entries and 4 MiB per worker thread); the security and design arguments
    /// are in [`crate::cache`].
    pub fn token_cache(mut self, settings: Option<TokenCacheSettings>) -> Self {
        self.token_cache = settings;
        self
    }
    /// The protection space sent as `realm` in every challenge (required).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }
    /// Longest token accepted, in bytes (default 16 KiB); checked before decoding.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }
    /// Also accept `?access_token=` (RFC 6750 §2.3; discouraged: URLs are logged). With the
    /// middleware (`App::wrap`), a success answered to such a request gets
    /// `Cache-Control: private` (§2.3), unless the handler set a `Cache-Control` of its own.
    pub fn allow_query_token(mut self) -> Self {
        self.methods.query = true;
        self
    }
    /// Also accept `access_token` in form-encoded bodies (RFC 6750 §2.2).
    ///
    /// Registered with `App::wrap`, the middleware reads a form request's body (a
    /// `application/x-www-form-urlencoded` request other than GET) before routing, on every
    /// route, and authenticates it there, so that no other extractor (`Path`, `Json`, `Form`)
    /// can answer first; the body is handed on to the handler unchanged, however long. Only
    /// the first [`MAX_FORM_BODY_BYTES`] are searched for a token: a protected route answers
    /// a longer form body 400 `invalid_request` (it cannot tell whether the body holds a
    /// second token); a public route serves it. Registered by `app_data` alone, a protected
    /// route answers 500 and the log names the fix (the auth extractor would read the body
    /// while a `Path` error answers first).
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
    /// It needs `App::wrap`: registered with `app_data` alone, the configuration guards only
    /// what asks it (a route that declares nothing serves its handler, a path no route matches
    /// answers 404), and each `#[requires]` route answers 500 with an error in the log that
    /// names the fix.
    ///
    /// The decision is made before routing, from actix-web's resource map (for the
    /// percent-decoded path the router matches) and the method, and it fails closed: a
    /// `#[public]` route attribute's handler at the App's root is recognised by the exact
    /// path and method it declares and the resource named after it; one under a scope, or
    /// registered by hand (`.route("/x", web::get().to(h))`, `web::resource`), only through
    /// the [route audit](Self::route_audit), which knows its full path and methods. A route
    /// not recognised needs a token, so a lookalike (a same-named function elsewhere, another
    /// method of the resource, an encoded path) can never borrow a public route's openness.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # use endpoint_auth::{Algorithm, AuthConfig, Key};
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
    /// Deny by default, strictly: [`deny_by_default`](Self::deny_by_default), and
    /// [`build`](Self::build) fails with [`ConfigError::UndeclaredRoutes`], one line naming
    /// every undeclared route, when the crate's route audit (`endpoint_auth::route_audit!`,
    /// see [`crate::audit`]) has any; and with [`ConfigError::UnauditedRoutes`] when the audit
    /// cannot vouch for every route: it found none (invoked in a crate that registers none),
    /// or it could not read a registration (its `unseen` notes). A service built this way
    /// does not start with a route nobody decided about.
    ///
    /// ```ignore
    /// endpoint_auth::route_audit!();
    ///
    /// let auth = AuthConfig::builder()
    ///     /* realm, issuer, audience, keys */
    ///     .strict_routes(&ROUTE_AUDIT)
    ///     .build()?; // Err: "undeclared routes (…): GET /debug (debug, src/main.rs:88)"
    /// ```
    pub fn strict_routes(mut self, audit: &'static crate::audit::RouteAudit) -> Self {
        self.deny_by_default = true;
        self.strict_routes = Some(audit);
        self.route_audit = Some(audit);
        self
    }
    /// The crate's route audit (`endpoint_auth::route_audit!`), for deny-by-default to
    /// recognise the `#[public]` routes it found by their method and full path, however
    /// they are registered (under a scope, by hand): a request is open when every audited
    /// route of its pattern and method is public. Without it, only route attributes at the
    /// App's root are recognised. [`strict_routes`](Self::strict_routes) sets it too.
    ///
    /// An audit that could not read every registration (its
    /// [`unseen`](crate::audit::RouteAudit::unseen) notes) recognises nothing: what it did not
    /// read may be served at a path it lists as public. [`build`](Self::build) logs a warning
    /// then, and deny-by-default behaves as without an audit; make the registrations readable
    /// (or use `strict_routes`, which refuses to build).
    pub fn route_audit(mut self, audit: &'static crate::audit::RouteAudit) -> Self {
        self.route_audit = Some(audit);
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
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # use endpoint_auth::{Algorithm, AuthConfig, ErrorBody, Key};
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

    /// Trusts one more issuer, with its own name, keys, audiences, algorithms, claim shapes
    /// and leeway (see [`crate::issuer`] for how a token's issuer is chosen). A configuration
    /// either has one issuer, set up with [`issuer`](Self::issuer), [`audience`](Self::audience),
    /// [`key`](Self::key) and the other single-issuer settings, or trusts one or more with
    /// `trust`: both at once fail [`build`](Self::build). Names and `iss` values must be
    /// distinct.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::{Algorithm, AuthConfig, Key, TrustedIssuer};
    /// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
    ///
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .trust(TrustedIssuer::new("staff", "https://idp.example.com/staff")
    ///         .audience("reports-api")
    ///         .key(Key::rsa_pem(Algorithm::RS256, &pem)?))
    ///     .trust(TrustedIssuer::new("partners", "https://partners.example.net/")
    ///         .audience("https://reports.example.com")
    ///         .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
    ///         .leeway(std::time::Duration::from_secs(5)))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Checks every setting and builds the configuration.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        install_crypto_provider();
        let realm = self.realm.unwrap_or_default();
        if realm.is_empty() || !is_plain_quotable(&realm) {
            return Err(ConfigError::InvalidRealm(realm));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::ZeroLimit("max_token_bytes"));
        }
        if self.revocation.timeout.is_zero() {
            return Err(ConfigError::ZeroLimit("revocation_timeout"));
        }
        let max_token_bytes = self.max_token_bytes;
        let (issuers, leeway) = if self.trusted.is_empty() {
            let leeway = self.single.leeway();
            let issuer = self.single.build(Shared {
                max_token_bytes,
                index: 0,
                name: Arc::from(DEFAULT_ISSUER_NAME),
                labelled: false,
            })?;
            (vec![issuer], leeway)
        } else {
            if self.single.touched {
                return Err(ConfigError::SingleIssuerBesideTrusted);
            }
            if self.trusted.len() > usize::from(u16::MAX) {
                return Err(ConfigError::TooManyIssuers);
            }
            let mut issuers: Vec<Issuer> = Vec::with_capacity(self.trusted.len());
            let mut leeway = MAX_LEEWAY;
            let labelled = self.trusted.len() > 1;
            for (index, trusted) in self.trusted.into_iter().enumerate() {
                let name = trusted.name.clone();
                if !is_issuer_name(&name) {
                    return Err(ConfigError::InvalidIssuerName(name));
                }
                if issuers.iter().any(|i| *i.name == *name) {
                    return Err(ConfigError::DuplicateIssuer(name));
                }
                if issuers.iter().any(|i| i.iss() == trusted.iss()) {
                    return Err(ConfigError::DuplicateIssuer(
                        trusted.iss().unwrap_or_default().to_owned(),
                    ));
                }
                leeway = leeway.min(trusted.settings.leeway());
                let built = trusted.settings.build(Shared {
                    max_token_bytes,
                    index: index as u16,
                    name: Arc::from(name.as_str()),
                    labelled,
                });
                issuers.push(built.map_err(|e| ConfigError::Issuer(name, Box::new(e)))?);
            }
            (issuers, leeway)
        };
        if let Some(audit) = self.strict_routes {
            audit.check()?;
            if let Some(why) = audit.incomplete() {
                return Err(ConfigError::UnauditedRoutes(why));
            }
        }
        if let Some(url) = &self.resource_metadata {
            if !is_header_safe_url(url) {
                return Err(ConfigError::InvalidUrl("resource_metadata"));
            }
        }
        #[cfg(feature = "remote")]
        let introspection = match self.introspection {
            Some(settings) => Some(settings.build(&issuers)?),
            None => None,
        };
        // An audit that could not read every registration cannot say that a path it lists
        // as public is served by the public handler only (an unread registration of the same
        // pattern may be served instead): it opens nothing.
        let route_audit = match self.route_audit {
            Some(audit) if self.deny_by_default => match audit.incomplete() {
                Some(why) => {
                    tracing::warn!(
                        target: "endpoint_auth",
                        "deny-by-default: the route audit is incomplete, so the #[public] routes it lists under scopes or registered by hand need a token too ({why})"
                    );
                    None
                }
                None => Some(audit),
            },
            other => other,
        };
        Ok(AuthConfig {
            inner: Arc::new(Inner {
                // Entries live until `exp` plus the smallest leeway of any issuer: never
                // longer than the verifier of the token's own issuer would accept it.
                cache: self
                    .token_cache
                    .map(|s| TokenCache::new(s, leeway.as_secs())),
                realm,
                issuers,
                max_token_bytes,
                methods: self.methods,
                resource_metadata: self.resource_metadata,
                scope_on_missing: self.scope_on_missing,
                deny_by_default: self.deny_by_default,
                route_audit,
                // Built here, not kept in the builder: each configuration logs its own
                // renderer's first failure.
                error_body: self.error_body.map(BodyRenderer::new),
                revocation: self.revocation.build(),
                #[cfg(feature = "remote")]
                introspection,
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
    /// One or more; with several, a token's `iss` picks one ([`crate::issuer`]).
    pub(crate) issuers: Vec<Issuer>,
    pub(crate) max_token_bytes: usize,
    pub(crate) cache: Option<TokenCache>,
    pub(crate) methods: BearerMethods,
    pub(crate) resource_metadata: Option<String>,
    pub(crate) scope_on_missing: bool,
    pub(crate) deny_by_default: bool,
    pub(crate) route_audit: Option<&'static crate::audit::RouteAudit>,
    pub(crate) error_body: Option<BodyRenderer>,
    pub(crate) revocation: Option<crate::revocation::Revocation>,
    #[cfg(feature = "remote")]
    pub(crate) introspection: Option<crate::introspection::Introspector>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.inner.realm)
            .field("issuers", &self.inner.issuers)
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
            single: IssuerSettings::default(),
            trusted: Vec::new(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            methods: BearerMethods::default(),
            resource_metadata: None,
            scope_on_missing: false,
            deny_by_default: false,
            error_body: None,
            token_cache: Some(TokenCacheSettings::default()),
            strict_routes: None,
            route_audit: None,
            revocation: Default::default(),
            #[cfg(feature = "remote")]
            introspection: None,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }
    /// The token verifier of the first (or only) issuer.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.issuers[0].verifier
    }
    /// The trusted issuers, in the order they were configured (one, named `"default"`, for a
    /// configuration built without [`trust`](AuthConfigBuilder::trust)).
    pub fn issuers(&self) -> &[Issuer] {
        &self.inner.issuers
    }
    /// The trusted issuer whose keys may verify `token`: the only one with one issuer;
    /// with several, the one whose `iss` the token's unverified payload names
    /// ([`crate::issuer`]). Nothing is verified here; an `iss` that names no trusted issuer is
    /// [`Reason::UntrustedIssuer`](crate::Reason::UntrustedIssuer). The pipeline calls it
    /// before any key is looked up.
    pub fn issuer_for(&self, token: &str) -> Result<&Issuer, AuthError> {
        crate::issuer::select(&self.inner.issuers, token, self.inner.max_token_bytes)
    }
    /// The trusted issuer called `name`.
    pub fn issuer(&self, name: &str) -> Option<&Issuer> {
        self.inner.issuers.iter().find(|i| i.name() == name)
    }
    /// Changes whenever any issuer's key set does (always 0 for static keys): the sum of
    /// their generations, each of which only grows.
    pub(crate) fn key_generation(&self) -> u64 {
        match &*self.inner.issuers {
            [one] => one.key_generation(),
            several => several
                .iter()
                .fold(0u64, |sum, i| sum.wrapping_add(i.key_generation())),
        }
    }

    /// How many tokens the verified-token cache holds (0 when it is off).
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The remote key source of the first (or only) issuer, when configured.
    #[cfg(feature = "remote")]
    pub fn remote_keys(&self) -> Option<&RemoteKeys> {
        self.inner.issuers[0].remote_keys()
    }

    /// Whether any issuer's keys are remote (fetched, so a request may wait for them).
    #[cfg(feature = "remote")]
    pub(crate) fn has_remote_keys(&self) -> bool {
        self.inner.issuers.iter().any(|i| i.remote.is_some())
    }

    /// Whether verification keys are at hand now: always with static keys; with remote keys,
    /// once a fetch succeeded and until the keys are past their stale limit. The answer for
    /// a readiness probe (liveness does not depend on it: the service serves public routes
    /// and answers 503 on protected ones meanwhile). Asking starts a background fetch when
    /// there are no keys yet.
    ///
    /// With several issuers: whether every issuer's keys are at hand (each issuer is asked,
    /// so each starts its own fetch). A service that should stay in rotation while one
    /// provider is down asks [`issuers`](Self::issuers) instead, e.g. ready when any is: the
    /// others' tokens are served meanwhile, and the absent one's answered with 503.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # #[cfg(feature = "actix")] {
    /// use actix_web::{HttpResponse, web};
    /// use endpoint_auth::AuthConfig;
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
        // Every issuer is asked (not `all`, which stops at the first): each starts its fetch.
        let mut ready = true;
        for issuer in &self.inner.issuers {
            ready &= issuer.keys_ready();
        }
        ready
    }

    /// Fetches remote keys now and waits for the outcome; returns how many usable keys there
    /// are. For services that prefer not to start without keys (fail-fast); otherwise keys
    /// are fetched and retried in the background and nothing needs to wait. Static
    /// configurations return their key count. With several issuers, every issuer's keys are
    /// fetched (one after the other) and the first failure is returned.
    #[cfg(feature = "remote")]
    pub async fn prefetch_keys(&self) -> Result<usize, FetchError> {
        let mut count = 0;
        for issuer in &self.inner.issuers {
            count += match &issuer.remote {
                Some(remote) => remote.prefetch().await?,
                None => issuer.verifier.keys().keys().len(),
            };
        }
        Ok(count)
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
    /// [`error_body`](AuthConfigBuilder::error_body) renderer, if any), and logs it: call it
    /// once per refused request.
    pub fn reject(&self, error: AuthError, requirement: Option<&Requirement>) -> AuthRejection {
        let rejection = self.reject_unlogged(error, requirement);
        rejection.log();
        rejection
    }

    /// [`reject`](Self::reject) without the log line: for a caller that logs each request's
    /// refusal once however many of its extractors refuse it.
    pub(crate) fn reject_unlogged(
        &self,
        error: AuthError,
        requirement: Option<&Requirement>,
    ) -> AuthRejection {
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
