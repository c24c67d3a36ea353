//! A kit for testing the handlers a service protects (feature `testing`, for
//! `[dev-dependencies]`): a test issuer with a real signing key and the [`AuthConfig`] that
//! trusts it, a token builder for good and deliberately broken tokens, and assertions that
//! read like the wire contract.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use endpoint_auth::testing::TestIssuer;
//! use endpoint_auth::ScopeInfo;
//!
//! const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("write:reports", "Create reports")];
//!
//! let issuer = TestIssuer::new(SCOPES);
//! let auth = issuer.auth_config(); // register it: App::new().wrap(auth)
//! let token = issuer.token().scopes(["write:reports"]).subject("u1").sign();
//! assert_eq!(token.as_str().split('.').count(), 3);
//! # let _ = auth;
//! ```
//!
//! Nothing here turns authentication off: every token the kit makes is checked by the same
//! verifier, with the same keys and rules, as in production. What the kit changes is who holds
//! the signing key.
//!
//! - [`TestIssuer`]: an in-process key (ES256 by default; ES384, RS256, PS256, EdDSA, HS256
//!   on request) and its configuration; `TestIssuer::serve` (feature `remote`) publishes its JWKS
//!   and discovery document on a loopback HTTP server (rotation, outages and hangs on command).
//! - [`TokenBuilder`]: claims and the defects a negative test needs. Only an issuer hands one
//!   out, so a token can never be built without the key and catalog it belongs to.
//! - [`assert_unauthorized`], [`assert_invalid_request`], [`assert_invalid_token`],
//!   [`assert_insufficient_scope`], [`assert_insufficient_user_authentication`] (RFC 9470
//!   step-up), [`assert_unavailable`], [`assert_hidden`] (a check's `Decision::Hide`): status,
//!   parsed `WWW-Authenticate`,
//!   `Cache-Control` and the problem body, with an expected/actual listing on failure. They
//!   take actix-web responses (feature `actix`) or a [`RawResponse`] from any client.
//! - `TestRequestExt::bearer` (feature `actix`) attaches a token to a `TestRequest`.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Map, Value};

use crate::catalog::ScopeInfo;
use crate::config::{AuthConfig, AuthConfigBuilder};
use crate::keys::Key;
use crate::Algorithm;

#[cfg(feature = "actix")]
mod actix;
mod assert;
pub mod introspection;
pub mod server;

#[cfg(feature = "actix")]
pub use actix::TestRequestExt;
pub use assert::{
    assert_hidden, assert_insufficient_scope, assert_insufficient_user_authentication,
    assert_invalid_request, assert_invalid_token, assert_unauthorized, assert_unavailable,
    AuthResponse, BearerChallenge, CustomBody, RawResponse,
};

/// The issuer a [`TestIssuer`] names unless told otherwise.
pub const DEFAULT_ISSUER: &str = "https://issuer.test";
/// The audience a [`TestIssuer`] names unless told otherwise.
pub const DEFAULT_AUDIENCE: &str = "test-api";
/// The realm of a [`TestIssuer`]'s configuration unless told otherwise.
pub const DEFAULT_REALM: &str = "test-api";
/// The `sub` of a token unless [`TokenBuilder::subject`] says otherwise.
pub const DEFAULT_SUBJECT: &str = "test-user";

/// A test identity provider: a signing key made for this test run, the scope catalog tokens
/// are checked against, and the configuration that trusts it.
///
/// The catalog is the `SCOPES` constant that `scopes!` generates at the crate root; a token
/// asking for a scope it does not declare panics at once (a test must not pass because it
/// asked for a scope nothing declares). Pass `&[]` for a service without a catalog.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use endpoint_auth::testing::TestIssuer;
/// use endpoint_auth::{Algorithm, ScopeInfo};
///
/// const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read reports")];
///
/// let issuer = TestIssuer::with_algorithm(SCOPES, Algorithm::EdDSA).audience("reports-api");
/// let auth = issuer.config().leeway(std::time::Duration::ZERO).build().unwrap();
/// assert_eq!(auth.realm(), "test-api");
/// ```
pub struct TestIssuer {
    catalog: &'static [ScopeInfo],
    issuer: String,
    audience: String,
    realm: String,
    // Behind a lock so that rotate() works on an issuer shared with a running service.
    keys: Mutex<Keys>,
    #[cfg(feature = "remote")]
    server: Option<Arc<server::KeyServer>>,
}

struct Keys {
    current: Arc<Signer>,
    /// Published next to the current key after a rotation (the usual overlap).
    previous: Vec<Arc<Signer>>,
    /// Made on first use: same algorithm and `kid` as the current key, another key.
    impostor: OnceLock<Arc<Signer>>,
    generation: u32,
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithm", &keys.current.alg)
            .field("kid", &keys.current.kid)
            .finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// An ES256 issuer whose tokens may carry the scopes of `catalog`.
    pub fn new(catalog: &'static [ScopeInfo]) -> Self {
        Self::with_algorithm(catalog, Algorithm::ES256)
    }

    /// An issuer signing with `alg`: `ES256`, `ES384`, `RS256`, `PS256`, `EdDSA` or `HS256`
    /// (RSA keys take a fraction of a second to generate).
    ///
    /// # Panics
    /// For any other algorithm, naming the ones supported.
    pub fn with_algorithm(catalog: &'static [ScopeInfo], alg: Algorithm) -> Self {
        let current = Arc::new(Signer::generate(alg, &kid_for(alg, 1)));
        TestIssuer {
            catalog,
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            realm: DEFAULT_REALM.to_owned(),
            keys: Mutex::new(Keys {
                current,
                previous: Vec::new(),
                impostor: OnceLock::new(),
                generation: 1,
            }),
            #[cfg(feature = "remote")]
            server: None,
        }
    }

    /// The `iss` of its tokens and of the configuration (default [`DEFAULT_ISSUER`]).
    ///
    /// # Panics
    /// On an issuer that serves its keys (`serve()`): its issuer is the key server's URL.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        #[cfg(feature = "remote")]
        assert!(
            self.server.is_none(),
            "TestIssuer::issuer: this issuer serves its keys, so its issuer is the key server's URL ({}); set the issuer before serve()",
            self.issuer
        );
        self.issuer = issuer.into();
        self
    }

    /// The `aud` of its tokens and of the configuration (default [`DEFAULT_AUDIENCE`]).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The realm of the configuration (default [`DEFAULT_REALM`]).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    #[cfg(feature = "remote")]
    /// Publishes the keys on a real HTTP server on 127.0.0.1: an OpenID discovery document
    /// at `/.well-known/openid-configuration` and the JWKS at `/jwks.json`. The issuer
    /// becomes the server's URL and [`config`](Self::config) finds the keys by discovery,
    /// as a service does against a real provider. Control it with [`rotate`](Self::rotate),
    /// [`fail_with`](Self::fail_with), [`hang`](Self::hang), [`recover`](Self::recover);
    /// count fetches with [`server`](Self::server)`().hits(..)`.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::testing::TestIssuer;
    ///
    /// let issuer = TestIssuer::new(&[]).serve();
    /// assert!(issuer.issuer_url().starts_with("http://127.0.0.1:"));
    /// issuer.fail_with(500); // the provider is down: protected routes answer 503
    /// issuer.recover();
    /// ```
    pub fn serve(mut self) -> Self {
        let server = server::KeyServer::start();
        self.issuer = server.url("");
        self.server = Some(Arc::new(server));
        self.publish();
        self
    }

    #[cfg(feature = "remote")]
    /// The loopback key server of an issuer that [`serve`](Self::serve)s its keys.
    ///
    /// # Panics
    /// When the issuer does not serve its keys.
    pub fn server(&self) -> &server::KeyServer {
        self.server.as_deref().unwrap_or_else(|| {
            panic!("TestIssuer::server: this issuer does not serve its keys; call .serve() on it first")
        })
    }

    /// Makes a new signing key current (a new `kid`); the previous one stays published next
    /// to it, as providers do during a rotation. Tokens signed from now on use the new key.
    /// An issuer that serves its keys publishes the new set at once; otherwise configurations
    /// built from now on trust both keys (one built earlier knows only the old key).
    pub fn rotate(&self) {
        {
            let mut keys = self.lock_keys();
            keys.generation += 1;
            let next = Signer::generate(
                keys.current.alg,
                &kid_for(keys.current.alg, keys.generation),
            );
            let old = std::mem::replace(&mut keys.current, Arc::new(next));
            keys.previous.insert(0, old);
            keys.impostor = OnceLock::new();
        }
        #[cfg(feature = "remote")]
        if self.server.is_some() {
            self.publish();
        }
    }

    #[cfg(feature = "remote")]
    /// The key server answers every request with `status` and an empty body (an outage).
    pub fn fail_with(&self, status: u16) {
        for path in [DISCOVERY_PATH, JWKS_PATH] {
            self.server().set(path, server::Reply::Status(status));
        }
    }

    #[cfg(feature = "remote")]
    /// The key server accepts requests and never answers them.
    pub fn hang(&self) {
        for path in [DISCOVERY_PATH, JWKS_PATH] {
            self.server().set(path, server::Reply::Hang);
        }
    }

    #[cfg(feature = "remote")]
    /// The key server publishes the current keys again after [`fail_with`](Self::fail_with)
    /// or [`hang`](Self::hang).
    pub fn recover(&self) {
        self.server();
        self.publish();
    }

    #[cfg(feature = "remote")]
    fn publish(&self) {
        let server = self.server();
        let discovery = json!({
            "issuer": self.issuer,
            "jwks_uri": server.url(JWKS_PATH),
        });
        server.set(
            DISCOVERY_PATH,
            server::Reply::Json(discovery.to_string(), None),
        );
        server.set(JWKS_PATH, server::Reply::Json(self.jwks_json(), None));
    }

    /// The issuer URL (`iss`).
    pub fn issuer_url(&self) -> &str {
        &self.issuer
    }

    /// The audience (`aud`).
    pub fn audience_name(&self) -> &str {
        &self.audience
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.lock_keys().current.alg
    }

    /// The `kid` of the current signing key.
    pub fn kid(&self) -> String {
        self.lock_keys().current.kid.clone()
    }

    /// The verification key of the current signing key (with its `kid`).
    pub fn key(&self) -> Key {
        self.lock_keys().current.key.clone()
    }

    /// The published key set as JWKS JSON: the current key, then the ones rotated out.
    /// An HS256 issuer publishes nothing (a shared secret is never published).
    pub fn jwks_json(&self) -> String {
        let keys = self.lock_keys();
        let published: Vec<&Value> = std::iter::once(&keys.current)
            .chain(&keys.previous)
            .filter_map(|s| s.jwk.as_ref())
            .collect();
        json!({ "keys": published }).to_string()
    }

    /// A configuration builder that trusts this issuer: realm, issuer, audience and its key
    /// (or, for an issuer that [`serve`](Self::serve)s its keys, OIDC discovery from it).
    /// Add settings, then `build()`.
    pub fn config(&self) -> AuthConfigBuilder {
        let builder = AuthConfig::builder()
            .realm(self.realm.clone())
            .issuer(self.issuer.clone())
            .audience(self.audience.clone());
        #[cfg(feature = "remote")]
        if self.server.is_some() {
            return builder.oidc_discovery();
        }
        let keys = self.lock_keys();
        std::iter::once(&keys.current)
            .chain(&keys.previous)
            .fold(builder, |b, s| b.key(s.key.clone()))
    }

    /// This issuer as one of several a configuration trusts, called `name`: its issuer,
    /// audience and key (or, for an issuer that [`serve`](Self::serve)s its keys, OIDC
    /// discovery from it). Add settings, then give it to
    /// [`AuthConfigBuilder::trust`](crate::AuthConfigBuilder::trust).
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::testing::TestIssuer;
    /// use endpoint_auth::AuthConfig;
    ///
    /// let staff = TestIssuer::new(&[]).issuer("https://staff.example");
    /// let partners = TestIssuer::new(&[]).issuer("https://partners.example");
    /// let auth = AuthConfig::builder()
    ///     .realm("reports")
    ///     .trust(staff.trusted("staff"))
    ///     .trust(partners.trusted("partners"))
    ///     .build()?;
    /// assert_eq!(auth.issuer("partners").unwrap().iss(), Some("https://partners.example"));
    /// # Ok::<(), endpoint_auth::ConfigError>(())
    /// ```
    pub fn trusted(&self, name: &str) -> crate::TrustedIssuer {
        let trusted =
            crate::TrustedIssuer::new(name, self.issuer.clone()).audience(self.audience.clone());
        #[cfg(feature = "remote")]
        if self.server.is_some() {
            return trusted.oidc_discovery();
        }
        let keys = self.lock_keys();
        std::iter::once(&keys.current)
            .chain(&keys.previous)
            .fold(trusted, |t, s| t.key(s.key.clone()))
    }

    /// [`config`](Self::config), built.
    ///
    /// # Panics
    /// If the configuration does not build (it always does for a fresh issuer).
    pub fn auth_config(&self) -> AuthConfig {
        self.config()
            .build()
            .unwrap_or_else(|e| panic!("TestIssuer::auth_config: {e}"))
    }

    /// A token builder: valid for 5 minutes from now, `sub` = [`DEFAULT_SUBJECT`], a `jti`
    /// of its own (random, as RFC 9068 §2.2 requires of an access token: a
    /// [revocation check](crate::revocation) can name it, and two tokens built alike still
    /// differ), no scope. `.claim("jti", …)` sets the `jti`, `.without_claim("jti")` drops it.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// use endpoint_auth::testing::TestIssuer;
    /// use endpoint_auth::ScopeInfo;
    ///
    /// const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read reports")];
    /// let issuer = TestIssuer::new(SCOPES);
    /// let token = issuer.token().scopes(["read:reports"]).claim("tenant", "acme").sign();
    /// println!("curl -H 'Authorization: Bearer {token}' …");
    /// ```
    pub fn token(&self) -> TokenBuilder<'_> {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.audience));
        claims.insert("sub".into(), json!(DEFAULT_SUBJECT));
        claims.insert("client_id".into(), json!("test-client"));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("jti".into(), json!(fresh_token_id()));
        TokenBuilder {
            issuer: self,
            claims,
            typ: Some("at+jwt".to_owned()),
            kid: None,
            defect: None,
        }
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `scopes`, each checked against the catalog ([`check_scope`](Self::check_scope)).
    fn checked_scopes<I>(&self, scopes: I) -> Vec<String>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        for scope in &scopes {
            self.check_scope(scope);
        }
        scopes
    }

    fn check_scope(&self, scope: &str) {
        if self.catalog.iter().any(|s| s.scope() == scope) {
            return;
        }
        let declared: Vec<&str> = self.catalog.iter().map(|s| s.scope()).collect();
        if declared.is_empty() {
            panic!(
                "scope `{scope}` is not in the scope catalog: the catalog given to TestIssuer::new is empty \
                 (pass the crate's SCOPES from `scopes!`)"
            );
        }
        let hint = closest(scope, &declared)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        panic!(
            "scope `{scope}` is not in the scope catalog given to TestIssuer::new{hint} (declared: {})",
            declared.join(", ")
        );
    }
}

#[cfg(feature = "remote")]
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
#[cfg(feature = "remote")]
const JWKS_PATH: &str = "/jwks.json";

fn kid_for(alg: Algorithm, generation: u32) -> String {
    format!("test-{}-{generation}", format!("{alg:?}").to_lowercase())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A key made for one test run: how it signs, how it verifies, how it is published.
struct Signer {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    key: Key,
    /// The public JWK (`None` for HMAC: a secret is never published).
    jwk: Option<Value>,
}

impl Signer {
    fn generate(alg: Algorithm, kid: &str) -> Signer {
        use aws_lc_rs::signature::{self as sig, KeyPair as _};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pem = |der: &[u8]| {
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                STANDARD.encode(der)
            )
        };
        let encoding = match alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                let curve = if alg == Algorithm::ES256 {
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &sig::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let der = sig::EcdsaKeyPair::generate_pkcs8(curve, &rng).expect("EC key generation");
                EncodingKey::from_ec_pem(pem(der.as_ref()).as_bytes())
            }
            Algorithm::EdDSA => {
                // PKCS#8 v1: the form jsonwebtoken derives the public JWK from.
                let der = sig::Ed25519KeyPair::generate_pkcs8v1(&rng).expect("Ed25519 key generation");
                EncodingKey::from_ed_pem(pem(der.as_ref()).as_bytes())
            }
            Algorithm::RS256 | Algorithm::PS256 => {
                use aws_lc_rs::encoding::AsDer;
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("RSA key generation");
                let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair)
                    .expect("RSA key encoding");
                let _ = pair.public_key();
                EncodingKey::from_rsa_pem(pem(der.as_ref()).as_bytes())
            }
            Algorithm::HS256 => {
                let mut secret = [0u8; 32];
                aws_lc_rs::rand::SecureRandom::fill(&rng, &mut secret).expect("random secret");
                let key = Key::hmac(alg, &secret).expect("HS256 secret").with_kid(kid);
                return Signer {
                    alg,
                    kid: kid.to_owned(),
                    encoding: EncodingKey::from_secret(&secret),
                    key,
                    jwk: None,
                };
            }
            other => panic!(
                "TestIssuer: {other:?} is not supported; use ES256 (default), ES384, RS256, PS256, EdDSA or HS256"
            ),
        }
        .expect("generated key parses");
        let mut jwk = serde_json::to_value(
            Jwk::from_encoding_key(&encoding, alg).expect("public JWK of a generated key"),
        )
        .expect("JWK serializes");
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        let key = Key::from_jwk_json(&jwk.to_string()).expect("generated key verifies");
        Signer {
            alg,
            kid: kid.to_owned(),
            encoding,
            key,
            jwk: Some(jwk),
        }
    }
}

/// What is wrong with a token on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    OtherKey,
    AlgNone,
    Tampered,
}

/// A `jti` no other kit token has: 128 random bits, hex (unique across test processes too,
/// which may share a revocation store).
fn fresh_token_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes)
        .expect("random token id");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds one token of a [`TestIssuer`]; obtained from [`TestIssuer::token`] only.
///
/// Every setter checks what it can at once: a scope outside the issuer's catalog panics at
/// the call, naming the closest declared scope.
///
/// ```
/// # extern crate endpoint_auth_runtime as endpoint_auth;
/// use std::time::Duration;
/// use endpoint_auth::testing::TestIssuer;
/// use endpoint_auth::ScopeInfo;
///
/// const SCOPES: &[ScopeInfo] = &[
///     ScopeInfo::new("read:reports", "Read reports"),
///     ScopeInfo::new("write:reports", "Create reports"),
/// ];
/// let issuer = TestIssuer::new(SCOPES);
/// let good = issuer.token().scopes(["read:reports", "write:reports"]).subject("u1")
///     .expires_in(Duration::from_secs(60)).sign();
/// let expired = issuer.token().scopes(["read:reports"]).expired().sign();
/// let forged = issuer.token().scopes(["write:reports"]).signed_by_other_key().sign();
/// assert_ne!(good, expired);
/// # let _ = forged;
/// ```
#[must_use = "a token builder does nothing until .sign()"]
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    claims: Map<String, Value>,
    typ: Option<String>,
    kid: Option<String>,
    defect: Option<Defect>,
}

impl fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("claims", &self.claims)
            .field("typ", &self.typ)
            .field("defect", &self.defect)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder<'_> {
    /// The `scope` claim (space-delimited). Each scope must be in the issuer's catalog.
    ///
    /// # Panics
    /// On a scope the catalog does not declare, with the closest declared one.
    pub fn scopes<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let scopes = self.issuer.checked_scopes(scopes);
        self.claims.insert("scope".into(), json!(scopes.join(" ")));
        self
    }

    /// Scopes where an issuer configured with `scope_claim(path)` reads them, as a JSON array:
    /// Auth0's `permissions`, Okta's `scp`, Keycloak's `realm_access.roles` (a dotted path
    /// makes nested objects). Each scope must be in the issuer's catalog, as with
    /// [`scopes`](Self::scopes), so a typo fails the test instead of passing it for the wrong
    /// reason; the `scope` claim is left as it is.
    ///
    /// ```
    /// # extern crate endpoint_auth_runtime as endpoint_auth;
    /// # use endpoint_auth::{testing::TestIssuer, ScopeInfo};
    /// # static SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:orders", "Read orders")];
    /// let issuer = TestIssuer::new(SCOPES);
    /// let auth = issuer.config().scope_claim("permissions").build()?;
    /// let token = issuer.token().scopes_in("permissions", ["read:orders"]).sign();
    /// let verified = auth.verifier().verify(token.as_str())?;
    /// assert_eq!(verified.scopes(), ["read:orders"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// On a scope the catalog does not declare, with the closest declared one; on an empty
    /// path or an empty segment in it.
    pub fn scopes_in<I>(mut self, path: &str, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let scopes = self.issuer.checked_scopes(scopes);
        let mut names = path.split('.').peekable();
        let mut object = &mut self.claims;
        while let Some(name) = names.next() {
            assert!(!name.is_empty(), "scopes_in({path:?}): an empty claim name");
            if names.peek().is_none() {
                object.insert(name.to_owned(), json!(scopes));
                break;
            }
            let member = object
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !member.is_object() {
                *member = Value::Object(Map::new());
            }
            object = member.as_object_mut().expect("made an object above");
        }
        self
    }

    /// The `sub` claim.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.claims.insert("sub".into(), json!(subject.into()));
        self
    }

    /// Any claim, set verbatim (it replaces a standard one of the same name, unchecked: use
    /// `.claim("scope", …)` for a deliberately malformed scope string).
    ///
    /// # Panics
    /// If `value` does not serialize to JSON.
    pub fn claim(mut self, name: impl Into<String>, value: impl serde::Serialize) -> Self {
        let name = name.into();
        let value = serde_json::to_value(value)
            .unwrap_or_else(|e| panic!("TokenBuilder::claim({name:?}): {e}"));
        self.claims.insert(name, value);
        self
    }

    /// The `aud` claim (default: the issuer's audience).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.claim("aud", audience.into())
    }

    /// The `iss` claim (default: the issuer's URL).
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        self.claim("iss", issuer.into())
    }

    /// The `acr` claim (RFC 9470 step-up: the authentication context class the user
    /// authenticated with), e.g. `"urn:example:mfa"`. Unchecked: any string.
    pub fn acr(self, acr: impl Into<String>) -> Self {
        self.claim("acr", acr.into())
    }

    /// `auth_time` = now − `ago` (RFC 9470 `max_age`: when the user last authenticated).
    pub fn authenticated_ago(self, ago: Duration) -> Self {
        let ago = i64::try_from(ago.as_secs()).unwrap_or(i64::MAX / 2);
        self.claim("auth_time", now().saturating_sub(ago))
    }

    /// `exp` = now + `lifetime` (default 5 minutes).
    pub fn expires_in(self, lifetime: Duration) -> Self {
        let exp = now() + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        self.claim("exp", exp)
    }

    /// Expired an hour ago (beyond any reasonable leeway); issued two hours ago.
    pub fn expired(self) -> Self {
        let now = now();
        self.claim("iat", now - 7200).claim("exp", now - 3600)
    }

    /// `nbf` an hour from now (beyond any reasonable leeway).
    pub fn not_yet_valid(self) -> Self {
        let nbf = now() + 3600;
        self.claim("nbf", nbf).claim("exp", nbf + 300)
    }

    /// An `aud` the configuration does not accept.
    pub fn wrong_audience(self) -> Self {
        self.audience("https://another-api.test")
    }

    /// An `iss` the configuration does not trust.
    pub fn wrong_issuer(self) -> Self {
        self.issuer("https://another-issuer.test")
    }

    /// Signed by another key of the same algorithm, under the issuer's own `kid` (a forgery).
    pub fn signed_by_other_key(mut self) -> Self {
        self.defect = Some(Defect::OtherKey);
        self
    }

    /// `alg: none` and an empty signature (RFC 8725 §2.1).
    pub fn alg_none(mut self) -> Self {
        self.defect = Some(Defect::AlgNone);
        self
    }

    /// Signed, then the payload changed (a claim added after signing).
    pub fn tampered(mut self) -> Self {
        self.defect = Some(Defect::Tampered);
        self
    }

    /// No `exp` claim (the contract requires one).
    pub fn without_exp(mut self) -> Self {
        self.claims.remove("exp");
        self
    }

    /// Removes a claim, standard or not.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// The header's `kid` (default: the signing key's).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The header's `typ` (default `at+jwt`); `None` leaves it out.
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_owned);
        self
    }

    /// Signs the token.
    pub fn sign(self) -> TestToken {
        let (signer, kid) = {
            let keys = self.issuer.lock_keys();
            let signer = if self.defect == Some(Defect::OtherKey) {
                let current = keys.current.clone();
                keys.impostor
                    .get_or_init(|| Arc::new(Signer::generate(current.alg, &current.kid)))
                    .clone()
            } else {
                keys.current.clone()
            };
            let kid = self.kid.clone().unwrap_or_else(|| signer.kid.clone());
            (signer, kid)
        };
        let claims = Value::Object(self.claims);
        if self.defect == Some(Defect::AlgNone) {
            let mut header = json!({ "alg": "none", "kid": kid });
            if let Some(typ) = &self.typ {
                header["typ"] = json!(typ);
            }
            return TestToken(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ));
        }
        let mut header = Header::new(signer.alg);
        header.kid = Some(kid);
        header.typ = self.typ;
        let token = jsonwebtoken::encode(&header, &claims, &signer.encoding)
            .unwrap_or_else(|e| panic!("TokenBuilder::sign: {e}"));
        if self.defect == Some(Defect::Tampered) {
            let mut parts = token.split('.');
            let (head, _, signature) = (parts.next(), parts.next(), parts.next());
            let mut changed = claims;
            changed["tampered"] = json!(true);
            return TestToken(format!(
                "{}.{}.{}",
                head.unwrap_or_default(),
                URL_SAFE_NO_PAD.encode(changed.to_string()),
                signature.unwrap_or_default()
            ));
        }
        TestToken(token)
    }
}

/// A signed test token (compact JWS). `Display` prints it; [`authorization`](Self::authorization)
/// is the header value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TestToken(String);

impl TestToken {
    /// The compact serialization.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `Bearer <token>`, the `Authorization` header value.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }
    /// The compact serialization, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestToken({})", self.0)
    }
}

// A token is a string to every API that takes one (`&token` where a `&str` is expected).
impl std::ops::Deref for TestToken {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TestToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<TestToken> for String {
    fn from(t: TestToken) -> String {
        t.0
    }
}

/// The declared scope closest to `scope`, if close enough to be a typo (the same rule as the
/// compile-time check of `#[requires]`).
fn closest<'a>(scope: &str, declared: &[&'a str]) -> Option<&'a str> {
    let (best, distance) = declared
        .iter()
        .map(|d| (*d, edit_distance(scope, d)))
        .min_by_key(|(_, n)| *n)?;
    let tolerance = (scope.chars().count().max(best.chars().count()) / 3).max(2);
    (distance <= tolerance).then_some(best)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestView;
    use std::future::Future as _;

    const SCOPES: &[ScopeInfo] = &[
        ScopeInfo::new("read:reports", "Read reports"),
        ScopeInfo::new("write:reports", "Create reports"),
    ];

    fn outcome(config: &AuthConfig, token: &TestToken) -> Result<(), String> {
        let header = token.authorization();
        let mut view = RequestView::default();
        view.authorization.push(header.as_bytes());
        // Static keys: authentication completes without waiting on anything.
        let mut future = std::pin::pin!(config.authenticate(view));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r.map(|_| ()).map_err(|e| e.description().to_owned()),
            std::task::Poll::Pending => panic!("static keys never wait"),
        }
    }

    #[test]
    fn every_algorithm_signs_tokens_its_configuration_accepts() {
        for alg in [
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::HS256,
        ] {
            let issuer = TestIssuer::with_algorithm(SCOPES, alg);
            let config = issuer.auth_config();
            let token = issuer.token().scopes(["read:reports"]).sign();
            assert_eq!(outcome(&config, &token), Ok(()), "{alg:?}");
            let forged = issuer.token().signed_by_other_key().sign();
            assert!(outcome(&config, &forged).is_err(), "{alg:?}");
        }
    }

    #[test]
    #[should_panic(
        expected = "scope `write:report` is not in the scope catalog given to TestIssuer::new; did you mean `write:reports`?"
    )]
    fn an_unknown_scope_panics_with_the_closest_declared_one() {
        let _ = TestIssuer::new(SCOPES).token().scopes(["write:report"]);
    }

    #[test]
    fn closest_matches_the_macro_rule() {
        assert_eq!(
            closest("raed:reports", &["read:reports"]),
            Some("read:reports")
        );
        assert_eq!(closest("admin", &["read:reports"]), None);
    }
}
