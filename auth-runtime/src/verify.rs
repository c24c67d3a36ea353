//! Token verification: size limit, header checks, signature (jsonwebtoken), claims.
//!
//! Order: the size limit is checked before any decoding; then the compact form, the JOSE
//! header (`alg` allowlist, `crit`, `typ`), key selection by `alg` and `kid`, and finally
//! `jsonwebtoken::decode`, which checks the signature and `exp`/`nbf`/`iss`/`aud` with the
//! configured leeway. `iat` in the future and claim types are checked last.

use std::collections::HashSet;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::Algorithm;
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
}

/// A token whose key-less checks passed: its header, its algorithm, and when checking began.
pub(crate) struct Prechecked {
    header: JoseHeader,
    alg: Algorithm,
    started: Instant,
}

impl Prechecked {
    /// The token's `kid`.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }
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

    /// [`precheck`](Self::precheck) that keeps what it parsed, so that the verification that
    /// follows (once keys are at hand) does not parse the header again.
    pub(crate) fn prechecked(&self, token: &str) -> Result<Prechecked, AuthError> {
        let started = Instant::now();
        let (header, alg) = self.checked_header(token)?;
        Ok(Prechecked {
            header,
            alg,
            started,
        })
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
        let outcome = self
            .prechecked(token)
            .and_then(|pre| self.verify_timed(token, pre.header, pre.alg, keys));
        metrics::verification(started.elapsed());
        outcome
    }

    /// Finishes a verification begun by [`prechecked`](Self::prechecked) of the same token;
    /// records its latency from the start of the precheck.
    pub(crate) fn verify_prechecked(
        &self,
        token: &str,
        pre: Prechecked,
        keys: &KeySet,
    ) -> Result<Verified, AuthError> {
        let started = pre.started;
        let outcome = self.verify_timed(token, pre.header, pre.alg, keys);
        metrics::verification(started.elapsed());
        outcome
    }

    fn verify_timed(
        &self,
        token: &str,
        header: JoseHeader,
        alg: Algorithm,
        keys: &KeySet,
    ) -> Result<Verified, AuthError> {
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

        // The signature, with jsonwebtoken's crypto (one verifier per candidate key).
        let malformed = || {
            AuthError::invalid_token(
                Reason::Malformed,
                "the access token is not a well-formed JWT",
            )
        };
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let mut signed = false;
        for key in candidates {
            match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg) {
                Ok(true) => {
                    signed = true;
                    break;
                }
                Ok(false) => {}
                Err(e) if matches!(e.kind(), JwtErrorKind::Base64(_)) => return Err(malformed()),
                Err(_) => {} // this key cannot verify it: try the next one
            }
        }
        if !signed {
            return Err(AuthError::invalid_token(
                Reason::BadSignature,
                "the token signature is invalid",
            ));
        }
        // The claims: decoded and parsed once.
        let payload = message
            .split_once('.')
            .map(|(_, p)| p)
            .ok_or_else(malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
        if has_duplicate_members(&payload) {
            return Err(malformed());
        }
        let claims: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| malformed())?;
        self.check_time_and_audience(&claims)?;
        self.finish(claims)
    }

    /// `exp` (required), `iss` and `aud` (required when configured), then `nbf`, expiry,
    /// issuer and audience values, in this order, with the configured leeway.
    fn check_time_and_audience(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        let e = AuthError::invalid_token;
        let exp = match claims.get("exp").map(numeric_date) {
            Some(Some(exp)) => exp,
            _ => return Err(e(Reason::MissingExpiry, "the token has no exp claim")),
        };
        let issuer = match (&self.issuer, claims.get("iss")) {
            (None, _) => None,
            (Some(_), Some(Value::String(iss))) => Some(iss.as_str()),
            (Some(_), _) => return Err(e(Reason::WrongIssuer, "the token has no valid iss claim")),
        };
        let audiences: Option<Vec<&str>> = if self.audiences.is_empty() {
            None
        } else {
            match claims.get("aud") {
                Some(Value::String(aud)) => Some(vec![aud.as_str()]),
                Some(Value::Array(items)) => match items.iter().map(Value::as_str).collect() {
                    Some(list) => Some(list),
                    None => {
                        return Err(e(Reason::WrongAudience, "the token has no valid aud claim"))
                    }
                },
                _ => return Err(e(Reason::WrongAudience, "the token has no valid aud claim")),
            }
        };
        let nbf = match claims.get("nbf") {
            None => None,
            Some(v) => match numeric_date(v) {
                Some(nbf) => Some(nbf),
                None => {
                    return Err(e(
                        Reason::InvalidClaims,
                        "a time claim is not a valid number",
                    ))
                }
            },
        };
        let now = jsonwebtoken::get_current_timestamp();
        if exp < now.saturating_sub(self.leeway) {
            return Err(e(Reason::Expired, "the access token has expired"));
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(e(Reason::NotYetValid, "the access token is not valid yet"));
        }
        if let (Some(expected), Some(iss)) = (&self.issuer, issuer) {
            if iss != expected {
                return Err(e(
                    Reason::WrongIssuer,
                    "the token was not issued by the expected issuer",
                ));
            }
        }
        if let Some(audiences) = audiences {
            if !audiences
                .iter()
                .any(|a| self.audiences.iter().any(|c| c == a))
            {
                return Err(e(
                    Reason::WrongAudience,
                    "the token is not meant for this audience",
                ));
            }
        }
        Ok(())
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

/// RFC 7519 NumericDate as jsonwebtoken reads it: a non-negative integer, or a finite
/// non-negative number below 2^64 (rounded).
fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f.round() as u64)
    })
}
