//! Token introspection (RFC 7662): opaque access tokens, which carry nothing the service can
//! verify itself, are sent to the authorization server's introspection endpoint, and its
//! answer becomes the same [`Verified`] a JWT's claims do (feature `remote`).
//!
//! Registered with [`AuthConfigBuilder::introspection`]; see [`Introspection`] for the
//! settings and their defaults.
//!
//! # Which tokens are introspected
//! Every token that is not a JWT (not three dot-separated segments) once introspection is
//! configured; JWTs are verified locally as before. A token the endpoint does not know is
//! answered `active: false` by it, so an opaque token is never refused without asking.
//!
//! With [`Introspection::introspect_jwts`], JWTs of the introspection's issuer are also
//! sent, after they verified locally (every request, token-cache hits included, subject to
//! the answer cache below): `active: false` is then 401 as for an opaque token, and the
//! handler reads the JWT's own claims. This is how a service sees a JWT revoked at the
//! authorization server before its `exp`. There is no per-route switch (yet): it applies
//! to every route of the configuration.
//!
//! # The answer
//! - `active: true`: the response is checked like a JWT's claims, against the issuer the
//!   introspection belongs to ([`Introspection::for_issuer`], by default the first): `exp`
//!   (an answer without one holds only for the cache window), `iss` and `aud` when configured
//!   (absent or wrong: 401 as for a JWT, although RFC 7662 makes them optional; an
//!   authorization server that omits them needs an issuer configured without them), `nbf`,
//!   `iat`; scopes from `scope` feed the endpoint's
//!   policy (403 `insufficient_scope` as usual). The revocation check
//!   ([`crate::revocation`]) is not asked: the authorization server just answered that.
//! - `active: false`: 401 `invalid_token`, "the access token is not active (revoked or
//!   expired)".
//! - No answer (connection refused, timeout, 5xx, a body that is no introspection response):
//!   503 with `Retry-After`, never 401: the token may be fine. The endpoint refusing the
//!   service's own client credentials (401/403) is the service's misconfiguration, so it is
//!   503 as well (the client's token is not at fault), and logged as a warning. The first
//!   failure is logged, then the recovery; never one line per request, never the token.
//! - A token that is not a bearer access token by its answer (`token_use` of a refresh or ID
//!   token, `token_type` `DPoP`, `cnf.jkt`): 401 `invalid_token`, as for a JWT.
//!
//! # Load on the authorization server
//! At most [`Introspection::max_concurrent`] requests (default 64) are under way at once;
//! past that, a request that would need one is 503 + `Retry-After` at once (logged once per
//! episode). With the cache, a flood of made-up opaque tokens costs the authorization server
//! a bounded number of requests in flight, never one per attacker request piling up.
//!
//! # Caching
//! Answers are kept by the SHA-256 of the token (the token itself is never stored): an active
//! one until the earlier of its `exp` and [`Introspection::cache_for`] (default 30 s), any
//! refusal (inactive, wrong audience…) for [`Introspection::inactive_cache_for`] (default
//! 5 s, zero to never keep one). A revocation at the authorization server is therefore seen
//! within `cache_for` at most.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::authenticate::Step;
use crate::claims::Verified;
use crate::config::{AuthConfig, AuthConfigBuilder, ConfigError};
use crate::error::AuthError;
use crate::issuer::Issuer;
use crate::keys::remote::check_url;

/// How the service authenticates to the introspection endpoint (RFC 6749 §2.3.1).
/// `private_key_jwt` is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded client id and secret (the default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// A client secret: kept out of `Debug` output and logs.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(secret.into())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// Where the introspection endpoint is.
#[derive(Debug, Clone)]
enum Endpoint {
    Url(String),
    /// The `introspection_endpoint` of the issuer's discovery document.
    Discovered,
}

/// The settings of token introspection; every default is documented on its method.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use std::time::Duration;
/// use endpoint_auth::introspection::{ClientAuth, Introspection};
/// # use endpoint_auth::{Algorithm, AuthConfig, Key};
/// # let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/rsa-public.pem")).unwrap();
///
/// let auth = AuthConfig::builder()
///     .realm("reports")
///     .issuer("https://issuer.example")
///     .audience("reports-api")
///     .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
///     .introspection(
///         Introspection::new("https://issuer.example/oauth2/introspect", "reports-api", "s3cret")
///             .client_auth(ClientAuth::ClientSecretPost)
///             .cache_for(Duration::from_secs(20)),
///     )
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Introspection {
    endpoint: Endpoint,
    client_id: String,
    secret: ClientSecret,
    auth: ClientAuth,
    issuer: Option<String>,
    timeout: Duration,
    cache_for: Duration,
    inactive_cache_for: Duration,
    retry_after: Duration,
    capacity: usize,
    max_concurrent: usize,
    max_response_bytes: usize,
    allow_insecure_http: bool,
    jwts: bool,
}

impl Introspection {
    /// Introspection at `endpoint` (https, or http on a loopback address), authenticated as
    /// `client_id` with `secret`.
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self::with(Endpoint::Url(endpoint.into()), client_id, secret)
    }

    /// Introspection at the `introspection_endpoint` of the issuer's discovery document
    /// (the issuer must find its keys by discovery, [`oidc_discovery`](crate::AuthConfigBuilder::oidc_discovery)).
    /// The document is read with the keys; until it is, the first request that needs the
    /// endpoint fetches it.
    pub fn discovered(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::with(Endpoint::Discovered, client_id, secret)
    }

    fn with(endpoint: Endpoint, client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Introspection {
            endpoint,
            client_id: client_id.into(),
            secret: ClientSecret::new(secret),
            auth: ClientAuth::default(),
            issuer: None,
            timeout: Duration::from_secs(2),
            cache_for: Duration::from_secs(30),
            inactive_cache_for: Duration::from_secs(5),
            retry_after: Duration::from_secs(5),
            capacity: 10_000,
            max_concurrent: 64,
            max_response_bytes: 64 * 1024,
            allow_insecure_http: false,
            jwts: false,
        }
    }

    /// The client authentication method (default [`ClientAuth::ClientSecretBasic`]).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// The trusted issuer (by its configured name) whose rules the answers are checked
    /// against and whose discovery document names the endpoint (default: the first).
    pub fn for_issuer(mut self, name: impl Into<String>) -> Self {
        self.issuer = Some(name.into());
        self
    }

    /// Connect + read timeout of one introspection request (default 2 s); past it, 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest time an active answer is reused (default 30 s); never past the answer's `exp`.
    pub fn cache_for(mut self, max: Duration) -> Self {
        self.cache_for = max;
        self
    }

    /// How long a refusal (inactive, wrong audience…) is reused (default 5 s; zero: never).
    pub fn inactive_cache_for(mut self, max: Duration) -> Self {
        self.inactive_cache_for = max;
        self
    }

    /// The `Retry-After` of a 503 while the endpoint cannot answer (default 5 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// How many introspection requests may be under way at once (default 64; at least 1).
    /// Past it, a request that needs one is 503 + `Retry-After` at once, so a flood of
    /// made-up opaque tokens never becomes a flood of requests to the authorization server.
    pub fn max_concurrent(mut self, requests: usize) -> Self {
        self.max_concurrent = requests.max(1);
        self
    }

    /// How many answers are kept at most (default 10 000).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }

    /// Accept an `http://` endpoint on a host that is not loopback (default off).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Introspect JWTs too (default off): every JWT of this issuer, once verified locally,
    /// must also be `active` at the endpoint (the JWTs of other trusted issuers are not sent
    /// to it), so that a revocation at the authorization server is seen
    /// within [`cache_for`](Self::cache_for). The handler still reads the JWT's own claims.
    pub fn introspect_jwts(mut self, on: bool) -> Self {
        self.jwts = on;
        self
    }

    /// The built introspector, for the issuers of a configuration.
    pub(crate) fn build(self, issuers: &[Issuer]) -> Result<Introspector, ConfigError> {
        let bad = |why: String| ConfigError::Introspection(why);
        let issuer = match &self.issuer {
            None => 0,
            Some(name) => issuers
                .iter()
                .position(|i| i.name() == name)
                .ok_or_else(|| bad(format!("no trusted issuer is named {name:?}")))?,
        };
        match &self.endpoint {
            Endpoint::Url(url) => {
                check_url(url, self.allow_insecure_http).map_err(|e| bad(e.to_string()))?
            }
            Endpoint::Discovered if issuers[issuer].remote.is_none() => {
                return Err(bad(
                    "the introspection endpoint is to be discovered, but the issuer has no \
                     discovery"
                        .into(),
                ))
            }
            Endpoint::Discovered => {}
        }
        if self.client_id.is_empty() {
            return Err(bad("the client id is empty".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            // A redirect would carry the client's credentials and the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("endpoint-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Introspector {
            cache: quick_cache::sync::Cache::new(self.capacity.max(1)),
            in_flight: tokio::sync::Semaphore::new(self.max_concurrent),
            settings: self,
            issuer: issuer as u16,
            client,
            down: AtomicBool::new(false),
            saturated: AtomicBool::new(false),
        })
    }
}

/// A cached answer.
#[derive(Clone)]
struct Answer {
    outcome: Result<Arc<Verified>, AuthError>,
    until: Instant,
}

/// The introspection of a built configuration.
pub(crate) struct Introspector {
    settings: Introspection,
    issuer: u16,
    client: reqwest::Client,
    cache: quick_cache::sync::Cache<[u8; 32], Answer>,
    /// One permit per request under way ([`Introspection::max_concurrent`]).
    in_flight: tokio::sync::Semaphore,
    /// The last request failed: logged once when it starts and once when it ends.
    down: AtomicBool,
    /// Requests were refused for the limit: logged once per episode.
    saturated: AtomicBool,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AuthConfigBuilder {
    /// Sends every access token that is not a JWT to the authorization server's introspection
    /// endpoint (RFC 7662); see [`crate::introspection`] for how answers are checked, cached
    /// and what a request gets while the endpoint is down. Register the configuration with
    /// `App::wrap`, so the request is answered before any other extractor can answer.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::introspection::Introspection;
    /// use endpoint_auth::AuthConfig;
    ///
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .issuer("https://issuer.example")
    ///     .oidc_discovery()
    ///     .audience("reports-api")
    ///     .introspection(Introspection::discovered("reports-api", "s3cret"))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }
}

impl AuthConfig {
    /// Whether opaque tokens are introspected ([`AuthConfigBuilder::introspection`]).
    pub fn introspects(&self) -> bool {
        self.inner.introspection.is_some()
    }
}

/// Whether `token` has the shape of a JWT (JWS compact: three segments; JWE: five), so that
/// local verification, not introspection, decides about it.
pub(crate) fn is_jwt_shaped(token: &str) -> bool {
    matches!(token.bytes().filter(|&b| b == b'.').count(), 2 | 4)
}

fn key(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

impl Introspector {
    /// The answer for `token` from the cache, when one is still good; otherwise the step that
    /// asks the endpoint.
    pub(crate) fn begin(&self, token: &str) -> Step {
        match self.cached(token) {
            Some(outcome) => Step::Done(outcome),
            None => Step::Introspect {
                token: token.to_owned(),
            },
        }
    }

    /// Whether verified JWTs are introspected too.
    pub(crate) fn checks_jwts(&self) -> bool {
        self.settings.jwts
    }

    /// A verified JWT, unless a cached answer says it is not active; otherwise the step that
    /// asks the endpoint.
    pub(crate) fn begin_jwt(&self, token: &str, verified: Arc<Verified>) -> Step {
        if verified.issuer_index != self.issuer {
            return Step::Done(Ok(verified));
        }
        match self.cached(token) {
            Some(outcome) => Step::Done(outcome.map(|_| verified)),
            None => Step::IntrospectJwt {
                token: token.to_owned(),
                verified,
            },
        }
    }

    /// The verified JWT `verified`, if the endpoint (or a cached answer) says it is active.
    pub(crate) async fn introspect_jwt(
        &self,
        config: &AuthConfig,
        token: &str,
        verified: Arc<Verified>,
    ) -> Result<Arc<Verified>, AuthError> {
        if verified.issuer_index != self.issuer {
            return Ok(verified);
        }
        if let Some(outcome) = self.cached(token) {
            return outcome.map(|_| verified);
        }
        let issuer = &config.inner.issuers[usize::from(self.issuer)];
        let outcome = match self.answer(issuer, token).await? {
            Response::Inactive => Err(AuthError::inactive()),
            Response::Active(_) => Ok(verified),
        };
        self.keep(token, &outcome);
        outcome
    }

    fn cached(&self, token: &str) -> Option<Result<Arc<Verified>, AuthError>> {
        let key = key(token);
        let answer = self.cache.get(&key)?;
        if answer.until > Instant::now() {
            Some(answer.outcome)
        } else {
            self.cache.remove(&key);
            None
        }
    }

    /// Asks the endpoint about `token` and keeps the answer as the settings allow.
    pub(crate) async fn introspect(
        &self,
        config: &AuthConfig,
        token: &str,
    ) -> Result<Arc<Verified>, AuthError> {
        let issuer = &config.inner.issuers[usize::from(self.issuer)];
        let outcome = match self.answer(issuer, token).await? {
            Response::Inactive => Err(AuthError::inactive()),
            Response::Active(payload) => issuer
                .verifier
                .verify_introspected(payload)
                .map(Arc::new)
                .map_err(|e| issuer.stamp(e)),
        };
        self.keep(token, &outcome);
        outcome
    }

    /// The endpoint's answer, or 503 (logged once while the endpoint stays down).
    async fn answer(&self, issuer: &Issuer, token: &str) -> Result<Response, AuthError> {
        let retry = self.settings.retry_after.as_secs();
        let Ok(_permit) = self.in_flight.try_acquire() else {
            if !self.saturated.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "endpoint_auth",
                    max_concurrent = self.settings.max_concurrent,
                    "introspection requests at their limit: answering 503 without asking; \
                     logged again only after a request gets through"
                );
            }
            return Err(AuthError::introspection_unavailable(retry));
        };
        if self.saturated.load(Ordering::Relaxed) {
            self.saturated.store(false, Ordering::Relaxed);
        }
        match self.ask(issuer, token).await {
            Ok(response) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "endpoint_auth", "the introspection endpoint answers again");
                }
                Ok(response)
            }
            Err(cause) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "endpoint_auth",
                        error = %cause,
                        "the introspection endpoint cannot answer (503); logged again only after it recovers"
                    );
                }
                Err(AuthError::introspection_unavailable(retry))
            }
        }
    }

    /// Keeps an answer as long as the settings allow: an active one never past its `exp`.
    fn keep(&self, token: &str, outcome: &Result<Arc<Verified>, AuthError>) {
        let now = Instant::now();
        let keep = match outcome {
            Ok(verified) => {
                let left = verified.expires_at().saturating_sub(unix_now());
                self.settings.cache_for.min(Duration::from_secs(left))
            }
            Err(_) => self.settings.inactive_cache_for,
        };
        if !keep.is_zero() {
            let answer = Answer {
                outcome: outcome.clone(),
                until: now + keep,
            };
            self.cache.insert(key(token), answer);
        }
    }

    /// One introspection request: the response, or why there is none (for the log; never
    /// the token or the secret).
    async fn ask(&self, issuer: &Issuer, token: &str) -> Result<Response, String> {
        let url = self.endpoint(issuer).await?;
        let s = &self.settings;
        let mut body = format!("token={}&token_type_hint=access_token", form_encode(token));
        let mut request = self
            .client
            .post(&url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded");
        match s.auth {
            ClientAuth::ClientSecretBasic => {
                let pair = format!("{}:{}", form_encode(&s.client_id), form_encode(&s.secret.0));
                request =
                    request.header("authorization", format!("Basic {}", STANDARD.encode(pair)));
            }
            ClientAuth::ClientSecretPost => {
                body.push_str("&client_id=");
                body.push_str(&form_encode(&s.client_id));
                body.push_str("&client_secret=");
                body.push_str(&form_encode(&s.secret.0));
            }
        }
        let mut res = request.body(body).send().await.map_err(|e| {
            format!(
                "{url}: {}",
                if e.is_timeout() {
                    "timed out".into()
                } else {
                    e.to_string()
                }
            )
        })?;
        let status = res.status();
        if status == 401 || status == 403 {
            return Err(format!(
                "{url} refused the service's client credentials (status {status}): check the client id and secret"
            ));
        }
        if !status.is_success() {
            return Err(format!("{url}: status {status}"));
        }
        let limit = s.max_response_bytes;
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if bytes.len() + chunk.len() > limit {
                return Err(format!("{url}: response larger than {limit} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let mut object: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not a JSON object: {e}"))?;
        // A member named twice has no one meaning (which `active`?): not an answer (503).
        if crate::json::has_duplicate_members(&bytes) {
            return Err(format!("{url}: the response names a member twice"));
        }
        match object.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Ok(Response::Inactive),
            _ => return Err(format!("{url}: the response has no boolean `active`")),
        }
        // RFC 7662 makes `exp` optional; an answer without one holds for the cache window.
        if !object.contains_key("exp") {
            let until = unix_now() + s.cache_for.as_secs().max(1);
            object.insert("exp".into(), Value::from(until));
            bytes = serde_json::to_vec(&object).map_err(|e| e.to_string())?;
        }
        Ok(Response::Active(bytes))
    }

    async fn endpoint(&self, issuer: &Issuer) -> Result<String, String> {
        let remote = match &self.settings.endpoint {
            Endpoint::Url(url) => return Ok(url.clone()),
            Endpoint::Discovered => issuer.remote.as_ref().ok_or("no discovery")?,
        };
        if let Some(url) = remote.discovered_endpoints().introspection {
            return Ok(url);
        }
        // Not read yet: read it now, with the keys (once; see `endpoints_discovered`).
        remote
            .endpoints_discovered()
            .await
            .introspection
            .ok_or_else(|| {
                "no introspection_endpoint: the discovery document names none, or could not be read"
                    .into()
            })
    }
}

enum Response {
    Inactive,
    /// The JSON object of an active token.
    Active(Vec<u8>),
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shapes_are_verified_locally() {
        assert!(is_jwt_shaped("a.b.c"));
        assert!(is_jwt_shaped("a.b.c.d.e"));
        assert!(!is_jwt_shaped("2YotnFZFEjr1zCsicMWpAA"));
        assert!(!is_jwt_shaped("a.b"));
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode("a b+c/d=e:f~"), "a+b%2Bc%2Fd%3De%3Af%7E");
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let settings = Introspection::new("https://as.example/introspect", "svc", "hunter2");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
