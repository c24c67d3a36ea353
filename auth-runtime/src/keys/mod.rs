//! Verification keys.
//!
//! Each [`Key`] is bound to exactly one algorithm (RFC 8725 §3.1): a token whose `alg` differs
//! is never checked against it. Keys come from configuration only; `jku`, `x5u` and `jwk`
//! token headers are ignored.

pub mod remote;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use serde_json::Value;

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// PEM or DER that does not parse as the expected kind of key.
    #[error("invalid {kind} key: {detail}")]
    Invalid {
        /// What was expected (`RSA public`, `EC public`, …).
        kind: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The algorithm cannot be used with this kind of key.
    #[error("algorithm {alg:?} cannot be used with {kind} keys")]
    AlgorithmMismatch {
        /// The algorithm asked for.
        alg: Algorithm,
        /// The kind of key given.
        kind: &'static str,
    },
    /// An HMAC secret shorter than the hash output (RFC 7518 §3.2).
    #[error("an {alg:?} secret must be at least {min} bytes long, got {got}")]
    WeakSecret {
        /// The algorithm.
        alg: Algorithm,
        /// Minimum length in bytes.
        min: usize,
        /// Given length.
        got: usize,
    },
    /// A JWK or JWKS document that cannot be used.
    #[error("unusable JWK: {0}")]
    Jwk(String),
}

/// A verification key bound to one algorithm, optionally with a key id (`kid`).
#[derive(Clone)]
pub struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) prepared: Arc<Prepared>,
}

/// A key in the form the signature check uses, prepared once when the key is loaded.
///
/// The algorithms and parameters are exactly those of jsonwebtoken's aws-lc-rs backend
/// (RSA keys of 2048–8192 bits, fixed-size ECDSA signatures, constant-time HMAC
/// comparison); what differs is that `jsonwebtoken::crypto::verify` parses the public key
/// (and sets up its arithmetic) again on every call.
// One per loaded key, behind an `Arc`: the size of the HMAC state does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Prepared {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

impl Prepared {
    fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self, KeyError> {
        use Algorithm::*;
        let public = |alg: &'static dyn sig::VerificationAlgorithm, bytes: &[u8], kind| {
            ParsedPublicKey::new(alg, bytes)
                .map(Prepared::Public)
                .map_err(|e| KeyError::Invalid {
                    kind,
                    detail: e.to_string(),
                })
        };
        let rsa: &'static sig::RsaParameters = match alg {
            HS256 | HS384 | HS512 => {
                let hmac_alg = match alg {
                    HS256 => hmac::HMAC_SHA256,
                    HS384 => hmac::HMAC_SHA384,
                    _ => hmac::HMAC_SHA512,
                };
                let secret = key.try_get_as_bytes().map_err(|e| invalid("HMAC", e))?;
                return Ok(Prepared::Hmac(hmac::Key::new(hmac_alg, secret)));
            }
            ES256 | ES384 | EdDSA => {
                let (verification, kind): (&'static dyn sig::VerificationAlgorithm, _) = match alg {
                    ES256 => (&sig::ECDSA_P256_SHA256_FIXED, "EC public"),
                    ES384 => (&sig::ECDSA_P384_SHA384_FIXED, "EC public"),
                    _ => (&sig::ED25519, "Ed25519 public"),
                };
                let bytes = key.try_get_as_bytes().map_err(|e| invalid(kind, e))?;
                return public(verification, bytes, kind);
            }
            RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            _ => {
                return Err(KeyError::AlgorithmMismatch {
                    alg,
                    kind: "any supported",
                })
            }
        };
        match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => public(rsa, der, "RSA public"),
            DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(rsa)
                .map(Prepared::Public)
                .map_err(|e| KeyError::Invalid {
                    kind: "RSA public",
                    detail: e.to_string(),
                }),
        }
    }

    /// Whether `signature` (decoded) signs `message` under this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Prepared::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Prepared::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

impl fmt::Debug for Key {
    // Never print key material: an HMAC key is a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// An HMAC secret for `HS256`, `HS384` or `HS512`; at least as long as the hash output.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        let min = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => return Err(KeyError::AlgorithmMismatch { alg, kind: "HMAC" }),
        };
        if secret.len() < min {
            return Err(KeyError::WeakSecret {
                alg,
                min,
                got: secret.len(),
            });
        }
        Key::prepare(None, alg, &DecodingKey::from_secret(secret))
    }

    /// An RSA public key in PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`) for `RS*` or `PS*`.
    pub fn rsa_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        require_family(alg, AlgorithmFamily::Rsa, "RSA")?;
        let decoding = DecodingKey::from_rsa_pem(pem).map_err(|e| invalid("RSA public", e))?;
        Key::prepare(None, alg, &decoding)
    }

    /// An EC public key in PEM: P-256 for `ES256`, P-384 for `ES384`.
    pub fn ec_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        require_family(alg, AlgorithmFamily::Ec, "EC")?;
        let decoding = DecodingKey::from_ec_pem(pem).map_err(|e| invalid("EC public", e))?;
        check_ec_point(alg, &decoding)?;
        Key::prepare(None, alg, &decoding)
    }

    /// An Ed25519 public key in PEM, for `EdDSA`.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let decoding = DecodingKey::from_ed_pem(pem).map_err(|e| invalid("Ed25519 public", e))?;
        Key::prepare(None, Algorithm::EdDSA, &decoding)
    }

    /// A public key from one JWK (RFC 7517) as JSON text.
    ///
    /// The algorithm is the JWK's `alg`; when absent it follows from the key: `RS256` for
    /// RSA, `ES256`/`ES384` for P-256/P-384, `EdDSA` for Ed25519. Symmetric (`oct`) JWKs
    /// need an explicit `alg`.
    pub fn from_jwk_json(json: &str) -> Result<Self, KeyError> {
        let value: Value = serde_json::from_str(json).map_err(|e| KeyError::Jwk(e.to_string()))?;
        Self::from_jwk_value(&value)
    }

    pub(crate) fn from_jwk_value(value: &Value) -> Result<Self, KeyError> {
        let obj = value
            .as_object()
            .ok_or_else(|| KeyError::Jwk("a JWK must be a JSON object".into()))?;
        if let Some(u) = obj.get("use") {
            if u.as_str() != Some("sig") {
                return Err(KeyError::Jwk(format!("key use {u} is not \"sig\"")));
            }
        }
        let jwk: Jwk =
            serde_json::from_value(value.clone()).map_err(|e| KeyError::Jwk(e.to_string()))?;
        let declared = match obj.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(
                Algorithm::from_str(a)
                    .map_err(|_| KeyError::Jwk(format!("unsupported alg {a:?}")))?,
            ),
            Some(_) => return Err(KeyError::Jwk("alg must be a string".into())),
        };
        let inferred = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err(KeyError::Jwk("unsupported EC curve".into())),
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => Algorithm::EdDSA,
                _ => return Err(KeyError::Jwk("unsupported OKP curve".into())),
            },
            AlgorithmParameters::OctetKey(_) => declared
                .ok_or_else(|| KeyError::Jwk("a symmetric JWK needs an explicit alg".into()))?,
            _ => return Err(KeyError::Jwk("unsupported kty".into())),
        };
        let alg = declared.unwrap_or(inferred);
        if alg.family() != inferred.family()
            || (alg.family() == AlgorithmFamily::Ec && alg != inferred)
        {
            return Err(KeyError::Jwk(format!(
                "alg {alg:?} does not match the key type"
            )));
        }
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Jwk(e.to_string()))?;
        if alg.family() == AlgorithmFamily::Hmac {
            let len = decoding.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
            Key::hmac(alg, &vec![0; len])?;
        }
        if alg.family() == AlgorithmFamily::Ec {
            check_ec_point(alg, &decoding)?;
        }
        Key::prepare(jwk.common.key_id.clone(), alg, &decoding)
    }

    fn prepare(kid: Option<String>, alg: Algorithm, key: &DecodingKey) -> Result<Self, KeyError> {
        Ok(Key {
            kid,
            alg,
            prepared: Arc::new(Prepared::new(alg, key)?),
        })
    }

    /// Sets the key id matched against a token's `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn require_family(
    alg: Algorithm,
    family: AlgorithmFamily,
    kind: &'static str,
) -> Result<(), KeyError> {
    if alg.family() == family {
        Ok(())
    } else {
        Err(KeyError::AlgorithmMismatch { alg, kind })
    }
}

fn invalid(kind: &'static str, e: jsonwebtoken::errors::Error) -> KeyError {
    KeyError::Invalid {
        kind,
        detail: e.to_string(),
    }
}

/// The uncompressed point length tells the curve: 65 bytes for P-256, 97 for P-384.
fn check_ec_point(alg: Algorithm, key: &DecodingKey) -> Result<(), KeyError> {
    let expected = if alg == Algorithm::ES256 { 65 } else { 97 };
    match key.try_get_as_bytes() {
        Ok(point) if point.len() == expected => Ok(()),
        _ => Err(KeyError::AlgorithmMismatch {
            alg,
            kind: "EC keys on another curve; the",
        }),
    }
}

/// A set of verification keys.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub(crate) keys: Vec<Key>,
    skipped: Vec<String>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    pub fn with(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Parses a JWKS document (RFC 7517 §5). Keys this library cannot use (`use` other than
    /// `sig`, unsupported `kty`, `crv` or `alg`, broken parameters) are skipped and listed in
    /// [`skipped`](Self::skipped); the document fails only when it is not a JWKS at all.
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| KeyError::Jwk(format!("JWKS is not JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Jwk("JWKS has no \"keys\" array".into()))?;
        let mut set = KeySet::new();
        for (i, k) in keys.iter().enumerate() {
            match Key::from_jwk_value(k) {
                Ok(key) => set.keys.push(key),
                Err(e) => {
                    let kid = k.get("kid").and_then(Value::as_str).unwrap_or("-");
                    tracing::warn!(target: "endpoint_auth", index = i, kid, error = %e, "skipping unusable JWK");
                    set.skipped.push(format!("key {i} (kid {kid:?}): {e}"));
                }
            }
        }
        Ok(set)
    }

    /// The keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Why keys of the parsed document were skipped.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The distinct algorithms of the keys.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut out = Vec::new();
        for k in &self.keys {
            if !out.contains(&k.alg) {
                out.push(k.alg);
            }
        }
        out
    }
}
