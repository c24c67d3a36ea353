//! Token verification: size limit, header checks, signature (aws-lc-rs), claims.
//!
//! Order: the size limit is checked before any decoding; then the compact form, the JOSE header
//! (duplicate names, `crit`, `typ`, `alg` allowlist; a header that this thread checked for the same
//! verifier before is not decoded again, see `SeenHeaders`), key selection by `alg` and `kid`, and
//! the signature against the key prepared when it was loaded (the algorithms and parameters of
//! jsonwebtoken's aws-lc-rs backend, without parsing the key again per token; see [`Key`]). The
//! payload is then decoded and parsed once: the standard claims are read and duplicate member names
//! refused in the same pass, and the rest of the claims are only parsed into a map if someone asks
//! for them ([`Verified::claims`], a `Principal<C>`, a configured scope path). `exp`/`iss`/`aud`
//! presence, `nbf`, expiry, issuer and audience follow, in jsonwebtoken's order and with the
//! configured leeway; `iat` in the future and claim types are checked last.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::DecodeSliceError;
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::claims::{ClaimRules, RoleSource, ScopeSource, StandardClaims, Verified};
use crate::error::{AuthError, Reason};
use crate::json::{has_duplicate_members, unique, MemberName, Names, NoDuplicates};
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
    /// `aud`, or `client_id` ([`AuthConfigBuilder::audience_from_client_id`](crate::AuthConfigBuilder::audience_from_client_id)).
    pub(crate) audience_claim: &'static str,
    pub(crate) keys: KeySet,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: u64,
    pub(crate) typ: TypPolicy,
    /// Certificate-bound tokens (RFC 8705) are accepted: the TLS terminator checks the binding.
    pub(crate) certificate_bound: bool,
    pub(crate) max_token_bytes: usize,
    pub(crate) scopes: ScopeSource,
    pub(crate) roles: RoleSource,
    /// Names this verifier's settings in the per-thread memo of checked headers
    /// ([`SeenHeaders`]): unique per built verifier, shared by its clones, whose settings are
    /// the same (a verifier is never changed after it is built).
    pub(crate) id: u64,
    /// The issuer's position in its configuration ([`crate::issuer`]).
    pub(crate) index: u16,
    /// The issuer's configured name.
    pub(crate) name: Arc<str>,
    /// Whether the configuration has several issuers (metrics then carry the name).
    pub(crate) labelled: bool,
}

/// A fresh [`Verifier::id`].
pub(crate) fn verifier_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A token whose key-less checks passed: its `kid`, its algorithm, and when checking began.
pub(crate) struct Prechecked {
    kid: Option<String>,
    alg: Algorithm,
    started: Instant,
}

impl Prechecked {
    /// The token's `kid`.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// The JOSE header members we read, borrowed from the decoded header where JSON allows. It
/// must be a JSON object (RFC 7515 §4) without a repeated member name, at any depth.
struct JoseHeader<'a> {
    alg: MemberName<'a>,
    kid: Option<MemberName<'a>>,
    typ: Option<MemberName<'a>>,
    crit: bool,
    /// `enc`: the header of a JWE (RFC 7516 §9), whatever its compact form says.
    enc: bool,
    /// `cty: JWT`: a nested JWT (RFC 7519 §5.2), whose payload is another token, not claims.
    nested: bool,
}

impl<'de> Deserialize<'de> for JoseHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = JoseHeader<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JoseHeader<'de>, A::Error> {
                let (mut alg, mut kid, mut typ) = (None, None, None);
                let (mut crit, mut enc, mut nested) = (false, false, false);
                let mut names = Names::new();
                while let Some(name) = map.next_key::<MemberName<'de>>()? {
                    match name.as_str() {
                        "alg" => alg = Some(map.next_value::<MemberName<'de>>()?),
                        "kid" => kid = map.next_value::<Option<MemberName<'de>>>()?,
                        "typ" => typ = map.next_value::<Option<MemberName<'de>>>()?,
                        // Present unless null, whatever it holds.
                        "crit" => crit = map.next_value::<Option<NoDuplicates>>()?.is_some(),
                        "enc" => enc = map.next_value::<Option<NoDuplicates>>()?.is_some(),
                        // A media type: compared without case (RFC 7519 §5.2).
                        "cty" => {
                            nested =
                                map.next_value::<Option<MemberName<'de>>>()?
                                    .is_some_and(|cty| {
                                        let cty = cty.as_str();
                                        cty.eq_ignore_ascii_case("JWT")
                                            || cty.eq_ignore_ascii_case("application/jwt")
                                    });
                        }
                        _ => {
                            map.next_value::<NoDuplicates>()?;
                        }
                    }
                    names.push(name);
                }
                unique(&mut names)?;
                let alg = alg.ok_or_else(|| de::Error::missing_field("alg"))?;
                Ok(JoseHeader {
                    alg,
                    kid,
                    typ,
                    crit,
                    enc,
                    nested,
                })
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
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
        self.checked_header(token, |kid, _| Ok(kid.map(str::to_owned)))
    }

    /// [`precheck`](Self::precheck) that keeps what it parsed, so that the verification that
    /// follows (once keys are at hand) does not parse the header again.
    pub(crate) fn prechecked(&self, token: &str) -> Result<Prechecked, AuthError> {
        let started = Instant::now();
        self.checked_header(token, |kid, alg| {
            Ok(Prechecked {
                kid: kid.map(str::to_owned),
                alg,
                started,
            })
        })
    }

    /// Hands the token's `kid` and algorithm to `then`, the `kid` borrowed from the decoded
    /// header.
    pub(crate) fn checked_header<R>(
        &self,
        token: &str,
        then: impl FnOnce(Option<&str>, Algorithm) -> Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::too_large());
        }
        self.check_header(token, then)
    }

    /// The claim checks that need no key (`exp`, `nbf`, `iss`, `aud`), on the unverified
    /// payload. Run before any key fetch, so that only tokens that could be ours ever cause
    /// one: a token of another issuer, for another audience or expired is refused without
    /// touching the network. Never a reason to accept: the signature is checked later.
    pub(crate) fn check_unverified_claims(&self, token: &str) -> Result<(), AuthError> {
        let malformed = || {
            AuthError::new(
                Reason::Malformed,
                "the access token is not a well-formed JWT",
            )
        };
        let payload = token.split('.').nth(1).ok_or_else(malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
        let mut claims = StandardClaims::default();
        claims.fill(&payload).map_err(|_| malformed())?;
        claims.check(&self.rules(), jsonwebtoken::get_current_timestamp())
    }

    /// Verifies a token against `keys`.
    pub fn verify_with(&self, token: &str, keys: &KeySet) -> Result<Verified, AuthError> {
        let started = Instant::now();
        let outcome =
            self.checked_header(token, |kid, alg| self.verify_timed(token, kid, alg, keys));
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
        let outcome = self.verify_timed(token, pre.kid.as_deref(), pre.alg, keys);
        metrics::verification(started.elapsed());
        outcome
    }

    fn verify_timed(
        &self,
        token: &str,
        kid: Option<&str>,
        alg: Algorithm,
        keys: &KeySet,
    ) -> Result<Verified, AuthError> {
        if !keys.keys.iter().any(|k| k.alg == alg) {
            return Err(AuthError::new(
                Reason::AlgorithmNotAllowed,
                "no key accepts the token's signing algorithm",
            ));
        }
        let candidate = |k: &&Key| {
            k.alg == alg && kid.is_none_or(|kid| k.kid.as_deref().is_none_or(|k| k == kid))
        };
        let mut candidates = keys.keys.iter().filter(candidate).peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::new(
                Reason::UnknownKeyId,
                "no known key has the token's key id",
            ));
        }

        // The signature, decoded once and checked against each candidate's prepared key.
        let malformed = || {
            AuthError::new(
                Reason::Malformed,
                "the access token is not a well-formed JWT",
            )
        };
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        // Large enough for an RSA-4096 signature; larger ones (up to RSA-8192) go to the heap.
        let mut buf = [0u8; 512];
        let signature = decode_segment(signature, &mut buf).ok_or_else(malformed)?;
        let signed = candidates.any(|key| key.prepared.verify(message.as_bytes(), &signature));
        if !signed {
            return Err(AuthError::new(
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
        // One pass reads the standard claims and refuses duplicate member names, except
        // inside the values of the members it reads: a token where one of those holds an
        // object (a `cnf`, or one that fails anyway) gets the full check first, so the
        // answer stays "malformed" and no member is read twice differently.
        let mut claims = StandardClaims::default();
        claims.fill(&payload).map_err(|_| malformed())?;
        if claims.has_objects() && has_duplicate_members(&payload) {
            return Err(malformed());
        }
        let now = jsonwebtoken::get_current_timestamp();
        let rules = self.rules();
        claims.check(&rules, now)?;
        let mut verified = Verified::from_claims(&mut claims, payload, &self.scopes, &rules, now)?;
        verified.issuer_index = self.index;
        verified.trusted_issuer = Some(self.name.clone());
        verified.labelled = self.labelled;
        Ok(verified)
    }

    /// The caller of an active introspection response (`payload`, a JSON object), checked
    /// against this issuer's rules as a token's claims are.
    #[cfg(feature = "remote")]
    pub(crate) fn verify_introspected(&self, payload: Vec<u8>) -> Result<Verified, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let mut verified = Verified::from_introspection(payload, &self.scopes, &self.rules(), now)?;
        verified.issuer_index = self.index;
        verified.trusted_issuer = Some(self.name.clone());
        verified.labelled = self.labelled;
        Ok(verified)
    }

    /// What the claims are checked against.
    fn rules(&self) -> ClaimRules<'_> {
        ClaimRules {
            issuer: self.issuer.as_deref(),
            audiences: &self.audiences,
            audience_claim: self.audience_claim,
            leeway: self.leeway,
            roles: &self.roles,
            certificate_bound: self.certificate_bound,
        }
    }

    /// The compact form and the JOSE header (`alg` allowlist, `crit`, `typ`); hands the
    /// header's `kid` and algorithm to `then`.
    fn check_header<R>(
        &self,
        token: &str,
        then: impl FnOnce(Option<&str>, Algorithm) -> Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        let malformed = || {
            AuthError::new(
                Reason::Malformed,
                "the access token is not a well-formed JWT",
            )
        };
        // Three segments: two dots, found with memchr rather than counted byte by byte (the
        // signature segment alone is hundreds of bytes).
        let dot = |from: usize| token[from..].find('.').map(|i| from + i);
        let first = dot(0);
        let second = first.and_then(|f| dot(f + 1));
        let third = second.and_then(|s| dot(s + 1));
        let encoded = match (first, second, third) {
            (Some(first), Some(_), None) => &token[..first],
            _ if token.bytes().filter(|&b| b == b'.').count() == 4 => {
                return Err(AuthError::new(
                    Reason::Encrypted,
                    "encrypted (JWE) access tokens are not accepted",
                ))
            }
            _ => return Err(malformed()),
        };
        // A header this thread checked for this verifier before: the same answer, at once.
        let mut then = Some(then);
        let seen = SEEN.try_with(|seen| {
            let seen = seen.try_borrow().ok()?;
            let (kid, alg) = seen.find(self.id, encoded)?;
            then.take().map(|then| then(kid, alg))
        });
        let then = match (seen, then) {
            (Ok(Some(outcome)), _) => return outcome,
            (_, Some(then)) => then,
            // Unreachable: `then` is only taken on a hit, which returned.
            (_, None) => return Err(malformed()),
        };
        // Headers are a few dozen bytes: decoded on the stack, unless one is unusually large.
        let mut buf = [0u8; 256];
        let raw = decode_segment(encoded, &mut buf).ok_or_else(malformed)?;
        let header: JoseHeader = serde_json::from_slice(&raw).map_err(|_| malformed())?;
        if header.enc {
            return Err(AuthError::new(
                Reason::Encrypted,
                "encrypted (JWE) access tokens are not accepted",
            ));
        }
        if header.nested {
            return Err(AuthError::new(
                Reason::Malformed,
                "nested JWTs (cty JWT) are not accepted as access tokens",
            ));
        }
        if header.crit {
            return Err(AuthError::new(
                Reason::UnsupportedCritical,
                "the token header marks extensions as critical that this service does not understand",
            ));
        }
        if !self
            .typ
            .accepts(header.typ.as_ref().map(MemberName::as_str))
        {
            return Err(AuthError::new(
                Reason::RejectedType,
                "the token's typ header is not accepted for access tokens",
            ));
        }
        let alg = algorithm(header.alg.as_str())
            .filter(|a| self.algorithms.contains(a))
            .ok_or_else(|| {
                AuthError::new(
                    Reason::AlgorithmNotAllowed,
                    "the token's signing algorithm is not accepted",
                )
            })?;
        let kid = header.kid.as_ref().map(MemberName::as_str);
        let _ = SEEN.try_with(|seen| {
            if let Ok(mut seen) = seen.try_borrow_mut() {
                seen.remember(self.id, encoded, kid, alg);
            }
        });
        then(kid, alg)
    }
}

thread_local! {
    static SEEN: RefCell<SeenHeaders> = const { RefCell::new(SeenHeaders::new()) };
}

/// The headers this thread checked last, with what checking them found: their `kid` and
/// algorithm. Checking a header is a function of the encoded header alone and of settings
/// that never change after a verifier is built, so an exact match of both (the full
/// encoded text, compared byte for byte, and the verifier's id) has the same answer, without
/// decoding and parsing the header again. An issuer signs all its tokens with a handful of
/// keys, so its tokens share a handful of headers: a few entries per thread serve them all.
/// Only headers that passed are kept, none longer than [`SeenHeaders::MAX_BYTES`]; a
/// token with a new header evicts the oldest entry. Per thread, so that readers never
/// contend: actix-web runs each worker on its own thread.
struct SeenHeaders {
    entries: Vec<SeenHeader>,
    /// The entry the next new header replaces, once all are taken.
    next: usize,
}

struct SeenHeader {
    verifier: u64,
    encoded: Box<str>,
    kid: Option<Box<str>>,
    alg: Algorithm,
}

impl SeenHeaders {
    const ENTRIES: usize = 8;
    const MAX_BYTES: usize = 256;

    const fn new() -> Self {
        SeenHeaders {
            entries: Vec::new(),
            next: 0,
        }
    }

    fn find(&self, verifier: u64, encoded: &str) -> Option<(Option<&str>, Algorithm)> {
        self.entries
            .iter()
            .find(|e| e.verifier == verifier && *e.encoded == *encoded)
            .map(|e| (e.kid.as_deref(), e.alg))
    }

    fn remember(&mut self, verifier: u64, encoded: &str, kid: Option<&str>, alg: Algorithm) {
        if encoded.len() > Self::MAX_BYTES {
            return;
        }
        let entry = SeenHeader {
            verifier,
            encoded: encoded.into(),
            kid: kid.map(Into::into),
            alg,
        };
        if self.entries.len() < Self::ENTRIES {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % Self::ENTRIES;
        }
    }
}

/// A base64url segment decoded into `buf`, or onto the heap when it does not fit; `None` when
/// it is not base64url.
fn decode_segment<'b>(encoded: &str, buf: &'b mut [u8]) -> Option<Cow<'b, [u8]>> {
    match URL_SAFE_NO_PAD.decode_slice(encoded, buf) {
        Ok(len) => Some(Cow::Borrowed(&buf[..len])),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            URL_SAFE_NO_PAD.decode(encoded).ok().map(Cow::Owned)
        }
        Err(DecodeSliceError::DecodeError(_)) => None,
    }
}

/// The algorithm an `alg` header value names: exactly a registered name (RFC 7518 §3.1, RFC
/// 8037), no case folding, so `None`, `nOnE` and friends are simply unknown.
fn algorithm(name: &str) -> Option<Algorithm> {
    use Algorithm::*;
    const NAMES: [(&str, Algorithm); 12] = [
        ("HS256", HS256),
        ("HS384", HS384),
        ("HS512", HS512),
        ("RS256", RS256),
        ("RS384", RS384),
        ("RS512", RS512),
        ("PS256", PS256),
        ("PS384", PS384),
        ("PS512", PS512),
        ("ES256", ES256),
        ("ES384", ES384),
        ("EdDSA", EdDSA),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, alg)| alg)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::{AuthConfig, Key};

    const SECRET: &[u8] = b"a 32-byte secret for HS256 tests";

    fn config(strict_typ: bool) -> AuthConfig {
        let mut builder = AuthConfig::builder()
            .realm("test")
            .issuer("https://issuer.example")
            .audience("api")
            .key(Key::hmac(Algorithm::HS256, SECRET).unwrap());
        if strict_typ {
            builder = builder.strict_typ();
        }
        builder.build().unwrap()
    }

    fn token(typ: Option<&str>, kid: Option<&str>, sub: &str) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        header.kid = kid.map(str::to_owned);
        let exp = jsonwebtoken::get_current_timestamp() + 300;
        let claims =
            json!({ "iss": "https://issuer.example", "aud": "api", "sub": sub, "exp": exp });
        encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    fn seen() -> Vec<(u64, String)> {
        SEEN.with(|seen| {
            let seen = seen.borrow();
            seen.entries
                .iter()
                .map(|e| (e.verifier, e.encoded.to_string()))
                .collect()
        })
    }

    fn header_of(token: &str) -> String {
        token.split('.').next().unwrap().to_owned()
    }

    #[test]
    fn a_header_passed_for_one_verifier_is_checked_again_for_another() {
        let (lenient, strict) = (config(false), config(true));
        let t = token(Some("JWT"), None, "a");
        // Either order: what one verifier found never answers for the other.
        for _ in 0..2 {
            assert!(lenient.verifier().verify(&t).is_ok());
            let err = strict.verifier().verify(&t).unwrap_err();
            assert_eq!(err.reason(), Reason::RejectedType);
        }
        assert!(seen().contains(&(lenient.verifier().id, header_of(&t))));
        assert!(!seen().iter().any(|(id, _)| *id == strict.verifier().id));
        // A clone is the same verifier, with the same answers.
        let clone = lenient.verifier().clone();
        assert!(clone.verify(&t).is_ok());
        assert!(strict.verifier().clone().verify(&t).is_err());
    }

    #[test]
    fn a_remembered_header_still_leaves_the_signature_and_claims_to_be_checked() {
        let config = config(false);
        let verifier = config.verifier();
        let first = token(None, Some("k"), "first");
        let second = token(None, Some("k"), "second");
        assert_eq!(header_of(&first), header_of(&second));
        assert_eq!(verifier.verify(&first).unwrap().subject(), Some("first"));
        // The header is remembered; the second token's own claims are read.
        assert!(seen().contains(&(verifier.id, header_of(&first))));
        assert_eq!(verifier.verify(&second).unwrap().subject(), Some("second"));
        // Its signature too: the first token's signature on the second token's claims.
        let (message, _) = second.rsplit_once('.').unwrap();
        let (_, signature) = first.rsplit_once('.').unwrap();
        let forged = format!("{message}.{signature}");
        let err = verifier.verify(&forged).unwrap_err();
        assert_eq!(err.reason(), Reason::BadSignature);
        // And the token's own form: a fourth segment behind a remembered header.
        let err = verifier.verify(&format!("{second}.x")).unwrap_err();
        assert_eq!(err.reason(), Reason::Malformed);
    }

    #[test]
    fn remembered_headers_are_bounded_and_an_evicted_one_is_checked_again() {
        let config = config(false);
        let verifier = config.verifier();
        let tokens: Vec<String> = (0..3 * SeenHeaders::ENTRIES)
            .map(|i| token(None, Some(&format!("kid-{i}")), "s"))
            .collect();
        for t in &tokens {
            assert!(verifier.verify(t).is_ok());
        }
        let entries = seen();
        assert_eq!(entries.len(), SeenHeaders::ENTRIES);
        let newest: Vec<String> = tokens[tokens.len() - SeenHeaders::ENTRIES..]
            .iter()
            .map(|t| header_of(t))
            .collect();
        assert!(entries.iter().all(|(_, h)| newest.contains(h)));
        assert!(verifier.verify(&tokens[0]).is_ok());
        assert!(seen().contains(&(verifier.id, header_of(&tokens[0]))));
    }

    #[test]
    fn long_headers_and_refused_headers_are_not_remembered() {
        let config = config(true);
        let verifier = config.verifier();
        let long = token(Some("at+jwt"), Some(&"k".repeat(300)), "s");
        assert!(header_of(&long).len() > SeenHeaders::MAX_BYTES);
        assert!(verifier.verify(&long).is_ok());
        let refused = token(Some("JWT"), None, "s");
        assert!(verifier.verify(&refused).is_err());
        let kept = seen();
        assert!(!kept.iter().any(|(_, h)| *h == header_of(&long)));
        assert!(!kept.iter().any(|(_, h)| *h == header_of(&refused)));
    }
}
