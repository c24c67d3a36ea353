//! Trusted issuers: one service accepting tokens from several authorization servers
//! (employees from Entra ID and partners from Auth0, a custom domain beside the tenant
//! domain, one Keycloak realm per customer), each with its own keys, audiences, algorithms,
//! claim shapes and leeway.
//!
//! A configuration with one issuer works as it always did: the token's `iss` is compared
//! with the configured one as part of verification, and nothing selects anything. With
//! several ([`AuthConfigBuilder::trust`](crate::AuthConfigBuilder::trust)), the token's
//! `iss`, read from the *unverified* payload, picks the one issuer whose keys may verify it;
//! that is all the unverified value is used for. The chosen issuer then verifies the token
//! completely, `iss` included, so a token naming issuer A but signed with B's key is refused
//! as a bad signature (A's keys do not verify it), never accepted by B. A token whose `iss`
//! names no configured issuer is refused with 401 `invalid_token` before any key is looked
//! up: no issuer nobody configured is ever fetched from, however many such tokens arrive.
//!
//! Each issuer's remote keys are their own [`RemoteKeys`]: one provider
//! down answers 503 for its own tokens only, and a rotation at one provider is picked up
//! without disturbing the others.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! # #[cfg(feature = "remote")]
//! # fn main() -> Result<(), endpoint_auth::ConfigError> {
//! use endpoint_auth::{AuthConfig, TrustedIssuer, RoleSource};
//!
//! let auth = AuthConfig::builder()
//!     .realm("reports")
//!     .trust(
//!         TrustedIssuer::new("employees", "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0")
//!             .audience("api://reports")
//!             .oidc_discovery()
//!             .roles_from(RoleSource::entra()),
//!     )
//!     .trust(
//!         TrustedIssuer::new("partners", "https://partners.eu.auth0.com/")
//!             .audience("https://reports.example.com")
//!             .jwks_url("https://partners.eu.auth0.com/.well-known/jwks.json")
//!             .scope_claim("permissions"),
//!     )
//!     .build()?;
//! assert_eq!(auth.issuers().len(), 2);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "remote"))]
//! # fn main() {}
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::claims::{RoleSource, ScopeSource};
use crate::config::{ConfigError, DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::error::{AuthError, Reason};
#[cfg(feature = "remote")]
use crate::keys::remote::{KeyLocation, RemoteKeys, RemoteSettings};
use crate::keys::{Key, KeyError, KeySet};
use crate::verify::{TypPolicy, Verifier};
use crate::Algorithm;

/// The longest issuer name: names become metric label values and OpenAPI scheme names.
pub const MAX_ISSUER_NAME: usize = 64;

/// Whether `name` can name a trusted issuer: 1 to 64 of ASCII letters, digits, `-`, `_`,
/// `.`, starting with a letter or digit (the same rule `issuers!` checks at compile time).
pub fn is_issuer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ISSUER_NAME
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Where remote keys come from, as configured (discovery takes the issuer at build time).
#[cfg(feature = "remote")]
#[derive(Debug, Clone)]
enum RemoteSource {
    Jwks(String),
    Discovery,
}

/// The settings of one issuer, as the builders collect them.
#[derive(Debug, Clone)]
pub(crate) struct IssuerSettings {
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
    certificate_bound: bool,
    scopes: ScopeSource,
    roles: RoleSource,
    #[cfg(feature = "remote")]
    remote: Option<RemoteSource>,
    #[cfg(feature = "remote")]
    remote_settings: RemoteSettings,
    /// Whether any setting was made (the single-issuer shorthand beside `trust` is refused).
    pub(crate) touched: bool,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        IssuerSettings {
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
            certificate_bound: false,
            scopes: ScopeSource::Standard,
            roles: RoleSource::default(),
            #[cfg(feature = "remote")]
            remote: None,
            #[cfg(feature = "remote")]
            remote_settings: RemoteSettings::default(),
            touched: false,
        }
    }
}

/// The settings every issuer of a configuration shares, handed to [`IssuerSettings::build`].
pub(crate) struct Shared {
    pub(crate) max_token_bytes: usize,
    pub(crate) index: u16,
    pub(crate) name: Arc<str>,
    pub(crate) labelled: bool,
}

impl IssuerSettings {
    pub(crate) fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Checks the settings and builds the issuer's verifier and key source.
    pub(crate) fn build(self, shared: Shared) -> Result<Issuer, ConfigError> {
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
                    let remote = RemoteKeys::new(location, self.remote_settings)?;
                    let allowed = self.algorithms.as_deref().unwrap_or_default();
                    Some(Arc::new(remote.for_algorithms(allowed)))
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
        #[cfg(feature = "remote")]
        let key_algs = match remote {
            // Remote sets are not known yet: every asymmetric algorithm, never HMAC.
            Some(_) => crate::config::REMOTE_ALGORITHMS.to_vec(),
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
            certificate_bound: self.certificate_bound,
            max_token_bytes: shared.max_token_bytes,
            scopes: self.scopes,
            roles: self.roles,
            id: crate::verify::verifier_id(),
            index: shared.index,
            name: shared.name.clone(),
            labelled: shared.labelled,
        };
        Ok(Issuer {
            name: shared.name,
            verifier,
            #[cfg(feature = "remote")]
            remote,
        })
    }
}

/// The per-issuer settings, written once for both builders: [`AuthConfigBuilder`]
/// (its single issuer) and [`TrustedIssuer`] (one of several).
///
/// [`AuthConfigBuilder`]: crate::AuthConfigBuilder
macro_rules! issuer_settings {
    ($builder:ty, $field:ident) => {
        impl $builder {
            /// An accepted audience; may be called several times (one match in `aud` suffices).
            pub fn audience(mut self, audience: impl Into<String>) -> Self {
                self.$field.touched = true;
                self.$field.audiences.push(audience.into());
                self
            }
            /// Compare the configured audiences with the `client_id` claim instead of `aud`: for
            /// providers whose access tokens carry no `aud`, such as Amazon Cognito (configure the
            /// app client id as the audience). `client_id` must be one string. Only tokens without
            /// `aud` are accepted: one that names an audience was meant for an `aud` check (RFC
            /// 9068), so a provider that sets `aud` needs [`audience`](Self::audience) alone. A
            /// token without `client_id` (a Cognito ID token, for one) is refused as
            /// `wrong_audience`.
            ///
            /// ```
            /// # extern crate endpoint_auth_runtime as endpoint_auth;
            /// # use endpoint_auth::{Algorithm, AuthConfig, Key};
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
                self.$field.touched = true;
                self.$field.audience_claim = "client_id";
                self
            }
            /// Opt out of the `aud` check; tokens for other resource servers are then accepted.
            pub fn accept_any_audience(mut self) -> Self {
                self.$field.touched = true;
                self.$field.any_audience = true;
                self
            }
            /// Adds a verification key.
            pub fn key(mut self, key: Key) -> Self {
                self.$field.touched = true;
                self.$field.keys = std::mem::take(&mut self.$field.keys).with(key);
                self
            }
            /// Adds every key of a set.
            pub fn keys(mut self, keys: KeySet) -> Self {
                for k in keys.keys {
                    self = self.key(k);
                }
                self.$field.touched = true;
                self
            }
            /// Adds the usable keys of an inline JWKS document; a document that is not a JWKS
            /// fails [`build`](crate::AuthConfigBuilder::build).
            pub fn jwks_json(mut self, json: &str) -> Self {
                self.$field.touched = true;
                match KeySet::from_jwks_json(json) {
                    Ok(set) => self = self.keys(set),
                    Err(e) => self.$field.key_errors.push(e),
                }
                self
            }
            /// The algorithm allowlist. Defaults to the algorithms of the configured keys (with
            /// remote keys: every asymmetric algorithm, never HMAC).
            pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
                self.$field.touched = true;
                self.$field.algorithms = Some(algorithms.into_iter().collect());
                self
            }
            /// Clock leeway for `exp`, `nbf` and `iat` (default 30 s, at most
            /// [`MAX_LEEWAY`](crate::config::MAX_LEEWAY)).
            pub fn leeway(mut self, leeway: Duration) -> Self {
                self.$field.touched = true;
                self.$field.leeway = leeway;
                self
            }
            /// Accept only RFC 9068 `typ` values (`at+jwt`, `application/at+jwt`).
            pub fn strict_typ(mut self) -> Self {
                self.$field.touched = true;
                self.$field.typ = TypPolicy::Strict;
                self
            }
            /// Accept certificate-bound access tokens (`cnf` with `x5t#S256`, RFC 8705) as
            /// bearer tokens. Only for a service behind a TLS terminator that requires the
            /// client certificate and checks it against the token's thumbprint (RFC 8705 §3:
            /// the resource server must); without that check a stolen bound token works like
            /// any bearer token, so by default such tokens are refused (401 `invalid_token`,
            /// "bound to a client certificate").
            pub fn accept_certificate_bound(mut self) -> Self {
                self.$field.touched = true;
                self.$field.certificate_bound = true;
                self
            }
            /// Where scopes are read from (default: `scope`, else `scp`).
            pub fn scope_source(mut self, source: ScopeSource) -> Self {
                self.$field.touched = true;
                self.$field.scopes = source;
                self
            }
            /// Shorthand for [`ScopeSource::claim_path`]: e.g. `"permissions"` or
            /// `"realm_access.roles"`.
            pub fn scope_claim(self, dotted_path: &str) -> Self {
                self.scope_source(ScopeSource::claim_path(dotted_path))
            }
            /// Where roles are read from, for `#[requires(role = "…")]` (default: nowhere, so
            /// every role requirement fails). Called again, the sources add up.
            ///
            /// ```
            /// # extern crate endpoint_auth_runtime as endpoint_auth;
            /// use endpoint_auth::{AuthConfig, RoleSource};
            ///
            /// let builder = AuthConfig::builder()
            ///     .roles_from(RoleSource::keycloak_realm())
            ///     .roles_from(RoleSource::keycloak_client("orders-api"));
            /// ```
            pub fn roles_from(mut self, source: RoleSource) -> Self {
                self.$field.touched = true;
                self.$field.roles = std::mem::take(&mut self.$field.roles).and(source);
                self
            }
            /// Shorthand for [`RoleSource::claim_path`]: e.g. `"realm_access.roles"`.
            pub fn role_claim(self, dotted_path: &str) -> Self {
                self.roles_from(RoleSource::claim_path(dotted_path))
            }
            /// Fetch keys from a JWKS URL (https; http only for loopback hosts unless
            /// [`RemoteSettings::allow_insecure_http`](crate::RemoteSettings::allow_insecure_http)).
            /// See [`RemoteSettings`](crate::RemoteSettings) for the cache policy.
            #[cfg(feature = "remote")]
            pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
                self.$field.touched = true;
                self.$field.remote = Some(RemoteSource::Jwks(url.into()));
                self
            }
            /// Find the JWKS by OIDC discovery (`{issuer}/.well-known/openid-configuration`,
            /// then RFC 8414) from the configured issuer; the discovered `issuer` must be equal
            /// to it.
            #[cfg(feature = "remote")]
            pub fn oidc_discovery(mut self) -> Self {
                self.$field.touched = true;
                self.$field.remote = Some(RemoteSource::Discovery);
                self
            }
            /// Cache, timeout and size settings of remote keys.
            #[cfg(feature = "remote")]
            pub fn remote_settings(mut self, settings: RemoteSettings) -> Self {
                self.$field.touched = true;
                self.$field.remote_settings = settings;
                self
            }
        }
    };
}

issuer_settings!(crate::config::AuthConfigBuilder, single);
issuer_settings!(TrustedIssuer, settings);

impl crate::config::AuthConfigBuilder {
    /// The exact `iss` tokens must carry (required unless
    /// [`accept_any_issuer`](Self::accept_any_issuer)). For several issuers, see
    /// [`trust`](Self::trust).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.single.touched = true;
        self.single.issuer = Some(issuer.into());
        self
    }
    /// Opt out of the `iss` check. Only for keys that a single issuer uses.
    pub fn accept_any_issuer(mut self) -> Self {
        self.single.touched = true;
        self.single.any_issuer = true;
        self
    }
}

/// One of several issuers a service trusts, with its own keys, audiences, algorithms, claim
/// shapes and leeway; given to [`AuthConfigBuilder::trust`](crate::AuthConfigBuilder::trust).
/// Its settings are those of the single-issuer builder; the `name` is how the service
/// refers to it: `#[requires(issuer = "partners", …)]`, the `issuer` label of metrics,
/// [`Verified::trusted_issuer`](crate::Verified::trusted_issuer) and the OpenAPI scheme.
///
/// See [the module documentation](self) for how a token's issuer is chosen.
#[derive(Debug, Clone)]
#[must_use]
pub struct TrustedIssuer {
    pub(crate) name: String,
    pub(crate) settings: IssuerSettings,
}

impl TrustedIssuer {
    /// An issuer called `name` (see [`is_issuer_name`]) whose tokens carry exactly `iss`.
    pub fn new(name: impl Into<String>, iss: impl Into<String>) -> Self {
        TrustedIssuer {
            name: name.into(),
            settings: IssuerSettings {
                issuer: Some(iss.into()),
                touched: true,
                ..IssuerSettings::default()
            },
        }
    }
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub(crate) fn iss(&self) -> Option<&str> {
        self.settings.issuer.as_deref()
    }
}

/// A trusted issuer of a built configuration: its name, verifier and key source.
#[derive(Debug)]
pub struct Issuer {
    pub(crate) name: Arc<str>,
    pub(crate) verifier: Verifier,
    #[cfg(feature = "remote")]
    pub(crate) remote: Option<Arc<RemoteKeys>>,
}

impl Issuer {
    /// The configured name (`"default"` for a configuration built without
    /// [`trust`](crate::AuthConfigBuilder::trust)).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The `iss` its tokens carry (`None` with
    /// [`accept_any_issuer`](crate::AuthConfigBuilder::accept_any_issuer)).
    pub fn iss(&self) -> Option<&str> {
        self.verifier.issuer.as_deref()
    }
    /// Its verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
    /// Its remote key source, when it has one.
    #[cfg(feature = "remote")]
    pub fn remote_keys(&self) -> Option<&RemoteKeys> {
        self.remote.as_deref()
    }
    /// Whether its verification keys are at hand now (always with static keys); asking
    /// starts a background fetch when there are none yet. See
    /// [`AuthConfig::keys_ready`](crate::AuthConfig::keys_ready).
    pub fn keys_ready(&self) -> bool {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            return remote.ready();
        }
        true
    }
    /// `error`, with this issuer's name for metrics when the configuration has several.
    pub(crate) fn stamp(&self, error: AuthError) -> AuthError {
        if self.verifier.labelled {
            error.with_issuer(self.name.clone())
        } else {
            error
        }
    }
    /// Changes whenever its key set does (always 0 for static keys).
    pub(crate) fn key_generation(&self) -> u64 {
        #[cfg(feature = "remote")]
        if let Some(remote) = &self.remote {
            return remote.keys_generation();
        }
        0
    }
}

/// The issuer whose keys may verify `token`, among several: the one whose `iss` equals the
/// token's (read from the unverified payload, for this choice only). `None` when the token
/// is not a compact JWS: the first issuer's verifier then says precisely what is wrong.
pub(crate) fn select<'i>(
    issuers: &'i [Issuer],
    token: &str,
    max_token_bytes: usize,
) -> Result<&'i Issuer, AuthError> {
    let first = &issuers[0];
    if issuers.len() == 1 || token.len() > max_token_bytes {
        return Ok(first);
    }
    let mut segments = token.split('.');
    let (Some(_), Some(payload), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Ok(first);
    };
    let malformed = || {
        AuthError::new(
            Reason::Malformed,
            "the access token is not a well-formed JWT",
        )
    };
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
    #[derive(serde::Deserialize)]
    struct Iss<'a> {
        #[serde(borrow)]
        iss: Option<Cow<'a, str>>,
    }
    let iss = serde_json::from_slice::<Iss<'_>>(&payload)
        .map_err(|_| malformed())?
        .iss;
    let Some(iss) = iss else {
        return Err(AuthError::new(
            Reason::UntrustedIssuer,
            "the token names no issuer",
        ));
    };
    issuers
        .iter()
        .find(|i| i.verifier.issuer.as_deref() == Some(&*iss))
        .ok_or_else(|| {
            AuthError::new(
                Reason::UntrustedIssuer,
                "the token's issuer is not trusted here",
            )
        })
}
