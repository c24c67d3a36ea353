//! Verification keys.
//!
//! Each [`Key`] is bound to exactly one algorithm (RFC 8725 §3.1): a token whose `alg` differs
//! is never checked against it. Keys come from configuration only; `jku`, `x5u` and `jwk`
//! token headers are ignored.

#[cfg(feature = "remote")]
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
    /// SHA-256 of the JWK's identifying members (`kty`, `crv`, key parameters, resolved
    /// `alg`, `kid`), for keys read from a JWK: tells a refresh that returned the same
    /// keys from one that changed them.
    fingerprint: Option<[u8; 32]>,
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
        check_secret_length(alg, secret.len())?;
        Key::prepare(None, alg, &DecodingKey::from_secret(secret))
    }

    /// An RSA public key in PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`) for `RS*` or `PS*`.
    pub fn rsa_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        require_family(alg, AlgorithmFamily::Rsa, "RSA")?;
        let decoding = DecodingKey::from_rsa_pem(pem).map_err(|e| invalid("RSA public", e))?;
        check_rsa_modulus(&decoding)?;
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
        Self::from_jwk_value_for(value, Algorithm::RS256)
    }

    /// [`from_jwk_value`](Self::from_jwk_value), an RSA JWK without `alg` bound to
    /// `rsa_without_alg` (an RSA algorithm).
    fn from_jwk_value_for(value: &Value, rsa_without_alg: Algorithm) -> Result<Self, KeyError> {
        let obj = value
            .as_object()
            .ok_or_else(|| KeyError::Jwk("a JWK must be a JSON object".into()))?;
        if let Some(u) = obj.get("use") {
            if u.as_str() != Some("sig") {
                return Err(KeyError::Jwk(format!("key use {u} is not \"sig\"")));
            }
        }
        // RFC 7517 §4.3: a key whose operations are listed but do not include "verify" is
        // not for checking signatures.
        if let Some(ops) = obj.get("key_ops") {
            let verify = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !verify {
                return Err(KeyError::Jwk(format!(
                    "key_ops {ops} does not include \"verify\""
                )));
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
            AlgorithmParameters::RSA(_) => rsa_without_alg,
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
        match alg.family() {
            AlgorithmFamily::Hmac => {
                let len = decoding.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
                check_secret_length(alg, len)?;
            }
            AlgorithmFamily::Ec => check_ec_point(alg, &decoding)?,
            AlgorithmFamily::Rsa => check_rsa_modulus(&decoding)?,
            _ => {}
        }
        let mut key = Key::prepare(jwk.common.key_id.clone(), alg, &decoding)?;
        key.fingerprint = Some(fingerprint(obj, alg, key.kid.as_deref()));
        Ok(key)
    }

    fn prepare(kid: Option<String>, alg: Algorithm, key: &DecodingKey) -> Result<Self, KeyError> {
        Ok(Key {
            kid,
            alg,
            prepared: Arc::new(Prepared::new(alg, key)?),
            fingerprint: None,
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

/// RFC 7518 §3.2: an HMAC secret at least as long as the hash output.
fn check_secret_length(alg: Algorithm, len: usize) -> Result<(), KeyError> {
    let min = match alg {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => return Err(KeyError::AlgorithmMismatch { alg, kind: "HMAC" }),
    };
    if len < min {
        return Err(KeyError::WeakSecret { alg, min, got: len });
    }
    Ok(())
}

/// The uncompressed point length tells the curve: 65 bytes for P-256, 97 for P-384.
fn check_ec_point(alg: Algorithm, key: &DecodingKey) -> Result<(), KeyError> {
    let (expected, curve) = if alg == Algorithm::ES256 {
        (65, "P-256")
    } else {
        (97, "P-384")
    };
    match key.try_get_as_bytes() {
        Ok(point) if point.len() == expected => Ok(()),
        _ => Err(KeyError::Invalid {
            kind: "EC public",
            detail: format!("{alg:?} needs a {curve} key"),
        }),
    }
}

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// Refuses RSA keys under [`MIN_RSA_BITS`] when they are loaded, so that such a key never
/// enters a key set (where its `kid` would count as known).
fn check_rsa_modulus(key: &DecodingKey) -> Result<(), KeyError> {
    let bits = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, .. } => unsigned_bits(n),
        DecodingKeyKind::SecretOrDer(der) => {
            // An RSAPublicKey (PKCS #1) DER: SEQUENCE { INTEGER n, INTEGER e }.
            rsa_modulus_from_der(der).map_or(0, unsigned_bits)
        }
    };
    if bits < MIN_RSA_BITS {
        return Err(KeyError::Invalid {
            kind: "RSA public",
            detail: format!("a {bits}-bit modulus is below the minimum of {MIN_RSA_BITS} bits"),
        });
    }
    Ok(())
}

/// The number of significant bits of a big-endian unsigned integer.
fn unsigned_bits(be: &[u8]) -> usize {
    let be = &be[be.iter().take_while(|&&b| b == 0).count()..];
    be.first()
        .map_or(0, |first| be.len() * 8 - first.leading_zeros() as usize)
}

/// The modulus of a PKCS #1 `RSAPublicKey` in DER, or `None` when it is not one.
fn rsa_modulus_from_der(der: &[u8]) -> Option<&[u8]> {
    // One DER TLV: tag, length (short or long form), value.
    fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        if t != tag {
            return None;
        }
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let (sequence, _) = tlv(der, 0x30)?;
    let (modulus, _) = tlv(sequence, 0x02)?;
    Some(modulus)
}

/// SHA-256 over the JWK members that identify the key, in a fixed order.
fn fingerprint(
    jwk: &serde_json::Map<String, Value>,
    alg: Algorithm,
    kid: Option<&str>,
) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for name in ["kty", "crv", "n", "e", "x", "y", "k"] {
        let value = jwk.get(name).and_then(Value::as_str).unwrap_or("");
        ctx.update(name.as_bytes());
        ctx.update(&(value.len() as u64).to_be_bytes());
        ctx.update(value.as_bytes());
    }
    ctx.update(format!("{alg:?}").as_bytes());
    match kid {
        Some(kid) => {
            ctx.update(&[1]);
            ctx.update(kid.as_bytes());
        }
        None => ctx.update(&[0]),
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
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
        Self::parse_jwks(json, true, Algorithm::RS256)
    }

    /// [`from_jwks_json`](Self::from_jwks_json) for a set fetched from a provider: symmetric
    /// (`oct`) keys are skipped too, since a published key is public by definition.
    /// An RSA JWK without `alg` is bound to `rsa_without_alg`.
    pub(crate) fn from_remote_jwks_json(
        json: &str,
        rsa_without_alg: Algorithm,
    ) -> Result<Self, KeyError> {
        Self::parse_jwks(json, false, rsa_without_alg)
    }

    fn parse_jwks(
        json: &str,
        symmetric: bool,
        rsa_without_alg: Algorithm,
    ) -> Result<Self, KeyError> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| KeyError::Jwk(format!("JWKS is not JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Jwk("JWKS has no \"keys\" array".into()))?;
        let mut set = KeySet::new();
        for (i, k) in keys.iter().enumerate() {
            let key = if !symmetric && k.get("kty").and_then(Value::as_str) == Some("oct") {
                Err(KeyError::Jwk(
                    "a symmetric (oct) key in a published key set is never used".into(),
                ))
            } else {
                Key::from_jwk_value_for(k, rsa_without_alg)
            };
            match key {
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

    /// Whether a key has exactly this `kid` (a key without `kid` matches none).
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Whether both sets hold the same keys (read from JWKs), in any order.
    pub(crate) fn same_keys(&self, other: &KeySet) -> bool {
        let prints = |set: &KeySet| {
            let mut prints: Option<Vec<[u8; 32]>> =
                set.keys.iter().map(|k| k.fingerprint).collect();
            if let Some(p) = &mut prints {
                p.sort_unstable();
            }
            prints
        };
        match (prints(self), prints(other)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    /// A 1024-bit RSA public key (generated for this test), as SPKI and as PKCS #1.
    const RSA_1024_SPKI: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDdzIZPGUVMgDs5rCSFqYsVJV7S\n8lhD70T6JxHRXqbI6G8V7RmJXSOxzvvDSJecqrkMsj4cVkypjT3mhk2X3DpxsCwX\nICMMqYODwFQbBz46HG4Qu3CoBSO6MPf200qFoA27Uv17avJp3oVSlhimm02eb8js\nc5gb2k4ZNULMKrJzFwIDAQAB\n-----END PUBLIC KEY-----\n";
    const RSA_1024_PKCS1: &str = "-----BEGIN RSA PUBLIC KEY-----\nMIGJAoGBAN3Mhk8ZRUyAOzmsJIWpixUlXtLyWEPvRPonEdFepsjobxXtGYldI7HO\n+8NIl5yquQyyPhxWTKmNPeaGTZfcOnGwLBcgIwypg4PAVBsHPjocbhC7cKgFI7ow\n9/bTSoWgDbtS/Xtq8mnehVKWGKabTZ5vyOxzmBvaThk1QswqsnMXAgMBAAE=\n-----END RSA PUBLIC KEY-----\n";
    const RSA_2048_SPKI: &[u8] = include_bytes!("../../../tests/keys/rsa-public.pem");

    #[test]
    fn rsa_keys_under_2048_bits_are_refused_in_every_form() {
        for pem in [RSA_1024_SPKI, RSA_1024_PKCS1] {
            let err = Key::rsa_pem(Algorithm::RS256, pem.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("1024-bit modulus"), "{err}");
        }
        assert!(Key::rsa_pem(Algorithm::PS256, RSA_2048_SPKI).is_ok());
        let modulus = |bits: usize| {
            let mut n = vec![0u8; bits.div_ceil(8)];
            n[0] = 1 << ((bits - 1) % 8);
            URL_SAFE_NO_PAD.encode(n)
        };
        let jwk = |n: String| serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB"});
        let err = Key::from_jwk_value(&jwk(modulus(2047))).unwrap_err();
        assert!(err.to_string().contains("2047-bit"), "{err}");
        // A leading zero byte does not count.
        let mut padded = vec![0u8];
        padded.extend(URL_SAFE_NO_PAD.decode(modulus(2040)).unwrap());
        let err = Key::from_jwk_value(&jwk(URL_SAFE_NO_PAD.encode(padded))).unwrap_err();
        assert!(err.to_string().contains("2040-bit"), "{err}");
    }

    #[test]
    fn significant_bits_of_big_endian_integers() {
        assert_eq!(unsigned_bits(&[]), 0);
        assert_eq!(unsigned_bits(&[0, 0]), 0);
        assert_eq!(unsigned_bits(&[0, 1]), 1);
        assert_eq!(unsigned_bits(&[0x80, 0]), 16);
        assert_eq!(unsigned_bits(&[0, 0x7f, 0xff]), 15);
        assert_eq!(
            rsa_modulus_from_der(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            Some(&[5u8][..])
        );
        assert_eq!(rsa_modulus_from_der(&[0x30, 0x05, 0x02, 0x01]), None);
        assert_eq!(rsa_modulus_from_der(&[0x31, 0x03, 0x02, 0x01, 0x05]), None);
    }

    fn ec_jwk(kid: Option<&str>) -> serde_json::Value {
        // The P-256 public point of RFC 7515 Appendix A.3.
        let mut jwk = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        if let Some(kid) = kid {
            jwk["kid"] = kid.into();
        }
        jwk
    }

    #[test]
    fn key_sets_compare_by_their_keys_in_any_order() {
        let set = |jwks: &[serde_json::Value]| {
            let doc = serde_json::json!({ "keys": jwks }).to_string();
            KeySet::from_remote_jwks_json(&doc, Algorithm::RS256).unwrap()
        };
        let a = set(&[ec_jwk(Some("a")), ec_jwk(Some("b"))]);
        assert!(a.same_keys(&set(&[ec_jwk(Some("b")), ec_jwk(Some("a"))])));
        assert!(!a.same_keys(&set(&[ec_jwk(Some("a"))])));
        assert!(!a.same_keys(&set(&[ec_jwk(Some("a")), ec_jwk(Some("c"))])));
        assert!(!a.same_keys(&set(&[ec_jwk(Some("a")), ec_jwk(None)])));
        // Keys built in code have no JWK to compare: never "the same".
        let built = KeySet::new().with(Key::rsa_pem(Algorithm::RS256, RSA_2048_SPKI).unwrap());
        assert!(!built.same_keys(&built.clone()));
    }

    #[test]
    fn only_an_exact_kid_is_known() {
        let set = KeySet::from_remote_jwks_json(
            &serde_json::json!({ "keys": [ec_jwk(None), ec_jwk(Some("k1"))] }).to_string(),
            Algorithm::RS256,
        )
        .unwrap();
        assert!(set.has_kid("k1"));
        assert!(!set.has_kid("k2"));
        assert!(!set.has_kid(""));
    }

    #[test]
    fn published_sets_skip_symmetric_keys_and_keys_not_for_verifying() {
        let oct = serde_json::json!({"kty": "oct", "alg": "HS256", "kid": "s",
            "k": URL_SAFE_NO_PAD.encode([1u8; 32])});
        let mut enc = ec_jwk(Some("enc"));
        enc["key_ops"] = serde_json::json!(["encrypt"]);
        let mut verify = ec_jwk(Some("v"));
        verify["key_ops"] = serde_json::json!(["verify"]);
        let doc = serde_json::json!({ "keys": [oct, enc, verify] }).to_string();
        let remote = KeySet::from_remote_jwks_json(&doc, Algorithm::RS256).unwrap();
        assert_eq!(remote.keys().len(), 1);
        assert_eq!(remote.keys()[0].kid(), Some("v"));
        assert_eq!(remote.skipped().len(), 2);
        // A configured inline JWKS may hold an HMAC secret.
        assert_eq!(KeySet::from_jwks_json(&doc).unwrap().keys().len(), 2);
    }
}
