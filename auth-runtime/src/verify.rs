//! Token verification: size limit, header checks, signature (jsonwebtoken), claims.
//!
//! Order: the size limit is checked before any decoding; then the compact form, the JOSE
//! header (`alg` allowlist, `crit`, `typ`), key selection by `alg` and `kid`, and finally
//! `jsonwebtoken::decode`, which checks the signature and `exp`/`nbf`/`iss`/`aud` with the
//! configured leeway. `iat` in the future and claim types are checked last.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::claims::{ScopeSource, Verified};
use crate::error::{AuthError, Reason};
use crate::keys::{Key, KeySet};
use crate::metrics;

/// Which JOSE `typ` header values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TypPolicy {
    /// `at+jwt`, `application/at+jwt`, `JWT`, or no `typ` (the default: many providers
    /// still issue `JWT`).
    #[default]
    Lenient,
    /// RFC 9068 §4: only `at+jwt` or `application/at+jwt`.
    Strict,
}

impl TypPolicy {
    fn accepts(self, typ: Option<&str>) -> bool {
        let is = |v: &str| typ.is_some_and(|t| t.eq_ignore_ascii_case(v));
        let access_token = is("at+jwt") || is("application/at+jwt");
        match self {
            TypPolicy::Strict => access_token,
            TypPolicy::Lenient => access_token || typ.is_none() || is("JWT"),
        }
    }
}

/// Verifies access tokens against one configuration. Built by
/// [`AuthConfigBuilder`](crate::AuthConfigBuilder).
#[derive(Debug, Clone)]
pub struct Verifier {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) keys: KeySet,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: u64,
    pub(crate) typ: TypPolicy,
    pub(crate) max_token_bytes: usize,
    pub(crate) scopes: ScopeSource,
    pub(crate) validations: HashMap<Algorithm, Validation>,
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

impl Verifier {
    pub(crate) fn prepare_validations(&mut self) {
        self.validations = self
            .algorithms
            .iter()
            .map(|&alg| {
                let mut v = Validation::new(alg);
                v.leeway = self.leeway;
                v.validate_nbf = true;
                let mut required = vec!["exp"];
                if let Some(iss) = &self.issuer {
                    v.set_issuer(&[iss]);
                    required.push("iss");
                }
                if self.audiences.is_empty() {
                    v.validate_aud = false;
                } else {
                    v.set_audience(&self.audiences);
                    required.push("aud");
                }
                v.set_required_spec_claims(&required);
                (alg, v)
            })
            .collect();
    }

    /// The configured static keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Verifies a token against the configured static keys.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        self.verify_with(token, &self.keys)
    }

    /// Every check that needs no key: size, compact form, header (`alg` allowlist, `crit`,
    /// `typ`). Returns the token's `kid`. Used to decide whether keys must be fetched, so
    /// that garbage never causes a fetch.
    pub fn precheck(&self, token: &str) -> Result<Option<String>, AuthError> {
        self.checked_header(token).map(|(header, _)| header.kid)
    }

    fn checked_header(&self, token: &str) -> Result<(JoseHeader, Algorithm), AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::invalid_token(
                Reason::TokenTooLarge,
                "the access token is too large",
            ));
        }
        let header = self.check_header(token)?;
        let alg = Algorithm::from_str_exact(&header.alg)
            .filter(|a| self.algorithms.contains(a))
            .ok_or_else(|| {
                AuthError::invalid_token(
                    Reason::AlgorithmNotAllowed,
                    "the token's signing algorithm is not accepted",
                )
            })?;
        Ok((header, alg))
    }

    /// Verifies a token against `keys`.
    pub fn verify_with(&self, token: &str, keys: &KeySet) -> Result<Verified, AuthError> {
        let started = Instant::now();
        let outcome = self.verify_timed(token, keys);
        metrics::verification(started.elapsed());
        outcome
    }

    fn verify_timed(&self, token: &str, keys: &KeySet) -> Result<Verified, AuthError> {
        let (header, alg) = self.checked_header(token)?;
        let validation = &self.validations[&alg];

        let mut candidates = keys.keys.iter().filter(|k| k.alg == alg).peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::invalid_token(
                Reason::AlgorithmNotAllowed,
                "no key accepts the token's signing algorithm",
            ));
        }
        let candidates: Vec<&Key> = match &header.kid {
            Some(kid) => candidates
                .filter(|k| k.kid.as_deref().is_none_or(|k| k == kid))
                .collect(),
            None => candidates.collect(),
        };
        if candidates.is_empty() {
            return Err(AuthError::invalid_token(
                Reason::UnknownKeyId,
                "no known key has the token's key id",
            ));
        }

        let mut last = None;
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation) {
                Ok(data) => {
                    // The payload decoded inside `decode`, so it is valid base64url.
                    let payload = token.split('.').nth(1).unwrap_or_default();
                    let payload = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
                    if has_duplicate_members(&payload) {
                        return Err(AuthError::invalid_token(
                            Reason::Malformed,
                            "the access token is not a well-formed JWT",
                        ));
                    }
                    return self.finish(data.claims);
                }
                Err(e) => {
                    let err = map_jwt_error(e.kind());
                    if err.reason() != Reason::BadSignature {
                        return Err(err);
                    }
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            AuthError::invalid_token(Reason::BadSignature, "the token signature is invalid")
        }))
    }

    fn check_header(&self, token: &str) -> Result<JoseHeader, AuthError> {
        let malformed = || {
            AuthError::invalid_token(
                Reason::Malformed,
                "the access token is not a well-formed JWT",
            )
        };
        match token.bytes().filter(|&b| b == b'.').count() {
            2 => {}
            4 => {
                return Err(AuthError::invalid_token(
                    Reason::Encrypted,
                    "encrypted (JWE) access tokens are not accepted",
                ))
            }
            _ => return Err(malformed()),
        }
        let encoded = token.split('.').next().unwrap_or_default();
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| malformed())?;
        if has_duplicate_members(&raw) {
            return Err(malformed());
        }
        let header: JoseHeader = serde_json::from_slice(&raw).map_err(|_| malformed())?;
        if header.crit.is_some() {
            return Err(AuthError::invalid_token(
                Reason::UnsupportedCritical,
                "the token header marks extensions as critical that this service does not understand",
            ));
        }
        if !self.typ.accepts(header.typ.as_deref()) {
            return Err(AuthError::invalid_token(
                Reason::RejectedType,
                "the token's typ header is not accepted for access tokens",
            ));
        }
        Ok(header)
    }

    fn finish(&self, claims: Map<String, Value>) -> Result<Verified, AuthError> {
        let verified = Verified::from_claims(claims, &self.scopes)?;
        let now = jsonwebtoken::get_current_timestamp();
        if verified
            .issued_at
            .is_some_and(|iat| iat > now.saturating_add(self.leeway))
        {
            return Err(AuthError::invalid_token(
                Reason::NotYetValid,
                "the token was issued in the future",
            ));
        }
        Ok(verified)
    }
}

/// Whether a JSON document names a member twice in one object, at any depth. RFC 7515 §4 and
/// RFC 7519 §4 let parsers either refuse duplicates or keep the last one; refusing leaves no
/// room for a gateway that reads the first `scope` and this service the last one to disagree.
/// A separate pass (not a custom `Value` builder) so that serde_json features such as
/// `arbitrary_precision` cannot change what the claims look like; serde_json's recursion
/// limit bounds the depth.
fn has_duplicate_members(json: &[u8]) -> bool {
    serde_json::from_slice::<NoDuplicates>(json).is_err()
}

struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without duplicate member names")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E: de::Error>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !names.insert(name) {
                return Err(de::Error::custom("duplicate member name"));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

/// `Algorithm::from_str` accepts only the exact registered names; this keeps that explicit
/// (no case folding, so `None`, `nOnE` and friends are simply unknown).
trait FromStrExact: Sized {
    fn from_str_exact(s: &str) -> Option<Self>;
}

impl FromStrExact for Algorithm {
    fn from_str_exact(s: &str) -> Option<Self> {
        let alg: Algorithm = s.parse().ok()?;
        (format!("{alg:?}") == s).then_some(alg)
    }
}

fn map_jwt_error(kind: &JwtErrorKind) -> AuthError {
    use AuthError as E;
    match kind {
        JwtErrorKind::ExpiredSignature => {
            E::invalid_token(Reason::Expired, "the access token has expired")
        }
        JwtErrorKind::ImmatureSignature => {
            E::invalid_token(Reason::NotYetValid, "the access token is not valid yet")
        }
        JwtErrorKind::InvalidIssuer => E::invalid_token(
            Reason::WrongIssuer,
            "the token was not issued by the expected issuer",
        ),
        JwtErrorKind::InvalidAudience => E::invalid_token(
            Reason::WrongAudience,
            "the token is not meant for this audience",
        ),
        JwtErrorKind::MissingRequiredClaim(c) => match c.as_str() {
            "exp" => E::invalid_token(Reason::MissingExpiry, "the token has no exp claim"),
            "iss" => E::invalid_token(Reason::WrongIssuer, "the token has no valid iss claim"),
            "aud" => E::invalid_token(Reason::WrongAudience, "the token has no valid aud claim"),
            _ => E::invalid_token(Reason::InvalidClaims, "a required claim is missing"),
        },
        JwtErrorKind::InvalidClaimFormat(_) => {
            E::invalid_token(Reason::InvalidClaims, "a time claim is not a valid number")
        }
        JwtErrorKind::InvalidAlgorithm | JwtErrorKind::UnsupportedAlgorithm => E::invalid_token(
            Reason::AlgorithmNotAllowed,
            "the token's signing algorithm is not accepted",
        ),
        JwtErrorKind::InvalidSignature
        | JwtErrorKind::InvalidEcdsaKey
        | JwtErrorKind::InvalidEddsaKey
        | JwtErrorKind::InvalidRsaKey(_)
        | JwtErrorKind::InvalidKeyFormat
        | JwtErrorKind::Provider(_) => {
            E::invalid_token(Reason::BadSignature, "the token signature is invalid")
        }
        _ => E::invalid_token(
            Reason::Malformed,
            "the access token is not a well-formed JWT",
        ),
    }
}
